# Copyright (c) oksnet-mmpose contributors.
"""The offline main job (README command 1): generate the synthetic
COCO-format people, train OKS-net with ``mim train``, evaluate with ``mim
test`` (GT boxes, then detector boxes) and report whether the OKS-net score
beats the heatmap-mean score and a post-hoc rescorer (correlation with GT
OKS, COCO AP, share of the upper-bound gap).

It drives the real user path (``mim`` -> MMPose's tools -> MMEngine), so it
is also the project's end-to-end regression benchmark. Run it from the
repository root (the default ``--config`` is relative to it).
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

import torch

from oksnet_mmpose.analysis.benchmark_report import (summary_lines,
                                                     write_report)
from oksnet_mmpose.analysis.rescorenet import (add_rescorenet_scores,
                                               train_rescorenet)
from oksnet_mmpose.synthetic import (DEFAULT_PROFILE, PROFILES,
                                     generate_synthetic_coco)
from oksnet_mmpose.utils import (atomic_path, check_output_dir,
                                 dump_json_atomic)

# relative to the directory the job runs in (the repository root)
DEFAULT_CONFIG = ('configs/synthetic/'
                  'oksnet_td-hm_res18_1xb32-12e_synthetic-128x96.py')
STATE_FILE = 'main_job.json'
_SHOWN = re.compile(r'Epoch\(|lambda_OKS|Evaluating|coco[-a-z]*/AP:|'
                    r'quality/|WARNING|Error|error:')


class MainJobError(RuntimeError):
    """A step of the main job failed; the message says which and how to go
    on."""


def _say(message: str) -> None:
    print(f'[main job] {message}', flush=True)


def _run(step: str, command: List[str], log_file: str) -> None:
    """Run one command, its output shown and kept in ``log_file``."""
    _say(f"step '{step}': {' '.join(command[:4])} ... (log: {log_file})")
    start = time.time()
    with open(log_file, 'w') as log:
        proc = subprocess.Popen(command,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT,
                                text=True,
                                env=dict(os.environ, PYTHONWARNINGS='ignore'))
        for line in proc.stdout:
            log.write(line)
            log.flush()  # the log can be followed while the step runs
            # progress, results and errors keep the run visible; the rest
            # (config dump, hook table) stays in the log
            if _SHOWN.search(line):
                sys.stdout.write('    ' + line)
                sys.stdout.flush()
        proc.wait()
    if proc.returncode != 0:
        raise MainJobError(
            f"step '{step}' failed (exit status {proc.returncode}); see "
            f'{log_file}')
    _say(f"step '{step}' done ({time.time() - start:.0f} s)")


def _data_options(data_root: str) -> List[str]:
    """--cfg-options pointing every loader and evaluator at ``data_root``."""
    data_root = data_root.rstrip('/') + '/'
    options = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options.append(f'{loader}.dataset.data_root={data_root}')
    for evaluator in ('val_evaluator', 'test_evaluator'):
        options.append(f'{evaluator}.ann_file={data_root}'
                       'annotations/person_keypoints_val.json')
    return options


def _check_state(work_dir: str, state: dict, overwrite: bool) -> None:
    """Refuse to mix a run with one made with other settings."""
    path = osp.join(work_dir, STATE_FILE)
    if osp.exists(path):
        with open(path) as f:
            previous = json.load(f)
        if previous != state:
            if not overwrite:
                raise MainJobError(
                    f'{work_dir} holds a main-job run with other settings '
                    f'({previous}); use another --work-dir or pass '
                    '--overwrite to delete it')
            shutil.rmtree(work_dir)
    elif osp.isdir(work_dir) and os.listdir(work_dir):
        if not overwrite:
            raise MainJobError(
                f'{work_dir} is not empty and holds no main-job state; use '
                'another --work-dir or pass --overwrite to delete it')
        shutil.rmtree(work_dir)
    os.makedirs(work_dir, exist_ok=True)
    dump_json_atomic(state, path)


def run_main_job(work_dir: str,
                 data_dir: str,
                 config: str = DEFAULT_CONFIG,
                 seed: int = 0,
                 num_train: int = 2400,
                 num_val: int = 400,
                 image_size: Sequence[int] = (256, 256),
                 profile: str = DEFAULT_PROFILE,
                 max_epochs: Optional[int] = None,
                 switch_epoch: Optional[int] = None,
                 extra_options: Sequence[str] = (),
                 overwrite: bool = False) -> Dict[str, dict]:
    """Generate -> train -> test (GT boxes, detector boxes) -> report.

    Re-running with the same settings reuses what is done (the dataset, a
    finished training) and resumes an interrupted training; other settings
    in the same ``work_dir`` are refused unless ``overwrite``.

    Returns:
        dict: The content of ``summary.json`` (GT boxes), with the detector
        box APs under ``'detector_boxes'`` of ``summary_det.json``.
    """
    if not osp.isfile(config):
        raise MainJobError(
            f'config {config} not found; run the job from the repository '
            'root or pass --config')
    work_dir, data_dir = osp.abspath(work_dir), osp.abspath(data_dir)
    for path, what in ((work_dir, 'work dir'), (data_dir, 'data dir')):
        try:  # before the data and the training, not after
            check_output_dir(path, what)
        except ValueError as err:
            raise MainJobError(str(err)) from None
    state = dict(config=osp.abspath(config),
                 profile=profile,
                 seed=seed,
                 data_dir=data_dir,
                 num_train=num_train,
                 num_val=num_val,
                 image_size=list(image_size),
                 max_epochs=max_epochs,
                 switch_epoch=switch_epoch,
                 extra_options=list(extra_options))
    _check_state(work_dir, state, overwrite)

    _say(f"step 'generate': {num_train} train + {num_val} val images "
         f"(profile '{profile}') in {data_dir}")
    try:
        paths = generate_synthetic_coco(data_dir,
                                        num_train=num_train,
                                        num_val=num_val,
                                        seed=seed,
                                        image_size=tuple(image_size),
                                        profile=profile)
    except (FileExistsError, OSError, ValueError) as err:
        raise MainJobError(f"step 'generate' failed: {err}") from err

    mim = shutil.which('mim') or osp.join(osp.dirname(sys.executable), 'mim')
    options = _data_options(paths['data_root']) + [
        f'randomness.seed={seed}', 'randomness.deterministic=False'
    ]
    if max_epochs is not None:
        options += [
            f'train_cfg.max_epochs={max_epochs}',
            f'train_cfg.val_interval={max_epochs}'
        ]
    if switch_epoch is not None:
        options.append(f'custom_hooks.0.switch_epoch={switch_epoch}')
    options += list(extra_options)

    train_dir = osp.join(work_dir, 'train')
    final = osp.join(train_dir, 'final.pth')
    if osp.isfile(final):
        _say("step 'train': already done, reusing " + final)
    else:
        resume = glob.glob(osp.join(train_dir, 'epoch_*.pth'))
        if resume:
            _say("step 'train': resuming the interrupted training")
        _run('train', [
            mim, 'train', 'mmpose', config, '--gpus', '0', '--work-dir',
            train_dir, *(['--resume'] if resume else []), '--cfg-options',
            *options
        ], osp.join(work_dir, 'train.log'))
        with open(osp.join(train_dir, 'last_checkpoint')) as f:
            shutil.copyfile(f.read().strip(), final)

    test_runs = {
        'gt': [],
        # every pose is written (no NMS), so the analysis can compare
        # OKS-NMS with each score and soft-OKS-NMS on the same poses
        'det': [
            f"test_dataloader.dataset.bbox_file={paths['val_bbox_file']}",
            'test_evaluator.nms_mode=none'
        ],
        # the training split with GT boxes: the RescoreNet peer's training
        # data, as DEKR makes it (the model's own predictions on the
        # training images against their GT OKS)
        'train': [
            'test_dataloader.dataset.ann_file='
            'annotations/person_keypoints_train.json',
            'test_dataloader.dataset.data_prefix.img=train/',
            f"test_evaluator.ann_file={paths['train_ann_file']}"
        ]
    }
    for name, test_options in test_runs.items():
        test_dir = osp.join(work_dir, f'test_{name}')
        shutil.rmtree(test_dir, ignore_errors=True)
        _run(
            f'test ({name} boxes)'
            if name != 'train' else 'test (training split, GT boxes)', [
                mim, 'test', 'mmpose', config, '--checkpoint', final, '--gpus',
                '0', '--work-dir', test_dir, '--cfg-options', *options,
                f'test_evaluator.outfile_prefix={test_dir}/results',
                *test_options
            ], osp.join(work_dir, f'test_{name}.log'))

    _train_rescorenet(work_dir, seed)
    _say("step 'report' ...")
    result = write_report(work_dir, paths['val_ann_file'], state,
                          RESCORED_RESULTS)
    _say(f"summary (synthetic val split, profile '{profile}', GT boxes):")
    for line in summary_lines(result):
        print('    ' + line)
    _say(f'report: {osp.join(work_dir, "report.md")}')
    return result


RESULTS = 'results.keypoints.json'
# the val results with the peer's score added
RESCORED_RESULTS = 'results_rescorenet.keypoints.json'


def _train_rescorenet(work_dir: str, seed: int) -> None:
    """Train the RescoreNet peer on the training split's poses and add its
    score to the val results (GT and detector boxes)."""
    start = time.time()
    _say("step 'rescorenet': training DEKR's RescoreNet on the training "
         "split's poses")
    with open(osp.join(work_dir, 'test_train', RESULTS)) as f:
        train_poses = json.load(f)
    try:
        net, log = train_rescorenet(train_poses, seed=seed)
    except ValueError as err:
        raise MainJobError(f"step 'rescorenet' failed: {err}") from err
    with atomic_path(osp.join(work_dir, 'rescorenet.pth')) as tmp:
        torch.save(net.state_dict(), tmp)
    dump_json_atomic(log, osp.join(work_dir, 'rescorenet_log.json'))
    for name in ('gt', 'det'):
        test_dir = osp.join(work_dir, f'test_{name}')
        add_rescorenet_scores(net, osp.join(test_dir, RESULTS),
                              osp.join(test_dir, RESCORED_RESULTS))
    mse = log['held_out_mse']
    _say(f"step 'rescorenet' done ({time.time() - start:.0f} s; "
         f"{log['num_poses']} poses, {log['num_held_out']} of them held out "
         f"to choose the length: net of step {log['num_steps']} kept, "
         f"held-out MSE {'n/a' if mse is None else f'{mse:.4f}'})")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--work-dir', default='work_dirs/synthetic_main_job')
    parser.add_argument('--data-dir',
                        default='data/synthetic_coco',
                        help='where the dataset is generated (reused when '
                        'present with the same settings)')
    parser.add_argument('--config',
                        default=DEFAULT_CONFIG,
                        help='the model config (default: %(default)s, '
                        'relative to the repository root)')
    parser.add_argument('--profile',
                        default=DEFAULT_PROFILE,
                        choices=sorted(PROFILES),
                        help='synthetic data profile (default: '
                        '%(default)s)')
    parser.add_argument('--seed',
                        type=int,
                        default=0,
                        help='seed of the data and of the training')
    parser.add_argument('--num-train', type=int, default=2400)
    parser.add_argument('--num-val', type=int, default=400)
    parser.add_argument('--max-epochs', type=int, default=None)
    parser.add_argument('--switch-epoch',
                        type=int,
                        default=None,
                        help='epoch from which lambda_OKS = 1')
    parser.add_argument('--quick',
                        action='store_true',
                        help='a tiny run (few images, 3 short epochs) that '
                        'checks the whole path (every step, no accuracy)')
    parser.add_argument('--overwrite',
                        action='store_true',
                        help='delete a work dir made with other settings')
    parser.add_argument('--cfg-options',
                        nargs='*',
                        default=[],
                        help='more --cfg-options for mim train/test')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.quick:
        args.num_train, args.num_val = 48, 16
        args.max_epochs, args.switch_epoch = 3, 1
        # a few iterations only: no LR warm-up, and every keypoint counts
        # in the heatmap-mean score (stock threshold: 0.2)
        args.cfg_options += [
            'param_scheduler.0.end=1', 'val_evaluator.keypoint_score_thr=0.',
            'test_evaluator.keypoint_score_thr=0.'
        ]
        if args.data_dir == 'data/synthetic_coco':
            args.data_dir = 'data/synthetic_coco_quick'
        if args.work_dir == 'work_dirs/synthetic_main_job':
            args.work_dir = 'work_dirs/synthetic_main_job_quick'
    try:
        run_main_job(args.work_dir,
                     args.data_dir,
                     config=args.config,
                     seed=args.seed,
                     num_train=args.num_train,
                     num_val=args.num_val,
                     profile=args.profile,
                     max_epochs=args.max_epochs,
                     switch_epoch=args.switch_epoch,
                     extra_options=args.cfg_options,
                     overwrite=args.overwrite)
    except MainJobError as err:
        print(f'[main job] FAILED: {err}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
