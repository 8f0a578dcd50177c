# Copyright (c) oksnet-mmpose contributors.
"""The offline main job: generate the synthetic COCO-format people, train
OKS-net with ``mim train``, evaluate with ``mim test`` (GT boxes, then
detector boxes) and report whether the OKS-net score beats the heatmap-mean
score (correlation with GT OKS, COCO AP, share of the upper-bound gap).

It drives the real user path (``mim`` -> MMPose's tools -> MMEngine), so it
is also the project's end-to-end regression benchmark.
"""
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

from oksnet_mmpose.analysis.analyze import analyze_quality
from oksnet_mmpose.analysis.keypoint_eval import AP_NAMES
from oksnet_mmpose.analysis.quality_analysis import gap_closed
from oksnet_mmpose.datasets.synthetic_people import generate_synthetic_coco
from oksnet_mmpose.utils import check_output_dir

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(REPO_ROOT, 'configs', 'synthetic',
                          'oksnet_td-hm_res18_1xb32-14e_synthetic-128x96.py')
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
                                cwd=REPO_ROOT,
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
    with open(path, 'w') as f:
        json.dump(state, f, indent=2)


def _metrics_of_test(test_dir: str) -> Dict[str, float]:
    """The metrics MMEngine's LoggerHook wrote for a ``mim test`` run."""
    files = sorted(glob.glob(osp.join(test_dir, '*', '*.json')))
    if not files:
        raise MainJobError(f'no metrics JSON written under {test_dir}')
    with open(files[-1]) as f:
        return json.load(f)


def run_main_job(work_dir: str,
                 data_dir: str,
                 config: str = DEFAULT_CONFIG,
                 seed: int = 0,
                 num_train: int = 2400,
                 num_val: int = 400,
                 image_size: Sequence[int] = (256, 256),
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
    work_dir, data_dir = osp.abspath(work_dir), osp.abspath(data_dir)
    for path, what in ((work_dir, 'work dir'), (data_dir, 'data dir')):
        try:
            check_output_dir(path, what)
        except ValueError as err:
            raise MainJobError(str(err)) from None
    state = dict(config=osp.abspath(config),
                 seed=seed,
                 data_dir=data_dir,
                 num_train=num_train,
                 num_val=num_val,
                 image_size=list(image_size),
                 max_epochs=max_epochs,
                 switch_epoch=switch_epoch,
                 extra_options=list(extra_options))
    _check_state(work_dir, state, overwrite)

    _say(f"step 'generate': {num_train} train + {num_val} val images in "
         f'{data_dir}')
    try:
        paths = generate_synthetic_coco(data_dir,
                                        num_train=num_train,
                                        num_val=num_val,
                                        seed=seed,
                                        image_size=tuple(image_size))
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
        ]
    }
    for name, test_options in test_runs.items():
        test_dir = osp.join(work_dir, f'test_{name}')
        shutil.rmtree(test_dir, ignore_errors=True)
        _run(f'test ({name} boxes)', [
            mim, 'test', 'mmpose', config, '--checkpoint', final, '--gpus',
            '0', '--work-dir', test_dir, '--cfg-options', *options,
            f'test_evaluator.outfile_prefix={test_dir}/results', *test_options
        ], osp.join(work_dir, f'test_{name}.log'))

    _say("step 'report' ...")
    return write_report(work_dir, paths['val_ann_file'], state)


def write_report(work_dir: str, ann_file: str, state: dict) -> dict:
    """``report.md``, ``summary.json``, ``summary_det.json`` in ``work_dir``
    and the full quality analysis of each test run in ``analysis_gt/`` and
    ``analysis_det/`` (``tools/analyze_quality.py``); prints the summary."""
    summary = analyze_quality(
        ann_file, osp.join(work_dir, 'test_gt', 'results.keypoints.json'),
        osp.join(work_dir, 'analysis_gt'))
    analyze_quality(ann_file,
                    osp.join(work_dir, 'test_det', 'results.keypoints.json'),
                    osp.join(work_dir, 'analysis_det'))
    with open(osp.join(work_dir, 'analysis_det', 'details.json')) as f:
        rescoring = json.load(f)['rescoring']
    # detector boxes: bbox score x pose score, then OKS-NMS, as
    # QualityCocoMetric(nms_mode='oks_nms') reports them
    detector = {
        name: {
            k: rescoring[row][k]
            for k in AP_NAMES
        }
        for name, row in (('heatmap', 'OKS-NMS'), ('oksnet',
                                                   'OKS-net + OKS-NMS'))
    }
    with open(osp.join(work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    with open(osp.join(work_dir, 'summary_det.json'), 'w') as f:
        json.dump(detector, f, indent=2)

    gap = gap_closed(summary)
    with open(osp.join(work_dir, 'analysis_gt', 'report.md')) as f:
        analysis = f.read().split('\n', 1)[1]  # without its title
    lines = [
        '# OKS-net main job: synthetic benchmark (synthetic data)', '',
        'Held-out val split of the synthetic COCO-format people; '
        f"settings: `{json.dumps(state)}`.", '',
        '## COCO AP with detector boxes (bbox score x pose score, '
        'OKS-NMS; x100)', '',
        '| score | ' + ' | '.join(k.upper() for k in AP_NAMES) + ' |',
        '|---|---|---|---|---|---|---|'
    ]
    for name, label in (('heatmap', 'heatmap-mean'), ('oksnet', 'OKS-net')):
        lines.append(f'| {label} | ' +
                     ' | '.join(f'{detector[name][k] * 100:.1f}'
                                for k in AP_NAMES) + ' |')
    lines += [
        '', 'All analyses of the detector-box run: '
        '`analysis_det/report.md`.', '', '# GT boxes', '', analysis,
        '## Figures (GT boxes)', ''
    ] + [
        f'![{name}](analysis_gt/{name}.png)\n'
        for name in ('scatter_score_vs_gt_oks', 'histograms', 'reliability',
                     'occlusion_pr', 'scoring_errors', 'selection')
    ]
    with open(osp.join(work_dir, 'report.md'), 'w') as f:
        f.write('\n'.join(lines))

    h, o, g = summary['heatmap'], summary['oksnet'], summary['gt_oks']

    def fmt(v):
        return 'n/a' if v is None else f'{v:.3f}'

    _say('summary (synthetic val split, GT boxes):')
    print(f"    Pearson  heatmap {fmt(h['pearson'])}  OKS-net "
          f"{fmt(o['pearson'])}")
    print(f"    Spearman heatmap {fmt(h['spearman'])}  OKS-net "
          f"{fmt(o['spearman'])}")
    print(f"    AP       heatmap {h['ap'] * 100:.1f}  OKS-net "
          f"{o['ap'] * 100:.1f}  GT-OKS bound {g['ap'] * 100:.1f}  "
          f"gap closed {'n/a' if gap is None else f'{gap * 100:.0f} %'}")
    print(f"    AP (detector boxes) heatmap "
          f"{detector['heatmap']['ap'] * 100:.1f}  OKS-net "
          f"{detector['oksnet']['ap'] * 100:.1f}")
    _say(f'report: {osp.join(work_dir, "report.md")}')
    return dict(summary=summary, detector_boxes=detector, gap_closed=gap)
