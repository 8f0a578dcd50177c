# Copyright (c) oksnet-mmpose contributors.
"""The offline main job (README command 1) on synthetic COCO-format people.

With the default ``finetune`` schedule it does what a user does with a
model-zoo checkpoint: it adds OKS-net to the zoo's base model
(:data:`.model_zoo.BASE_MODEL`) with the converter (``tools/add_oksnet.py
--schedule finetune --load-from``, and ``--schedule quality-only`` for a
second row whose pose network stays frozen), fine-tunes with ``mim train``,
evaluates with ``mim test`` (GT boxes, detector boxes, and the training
split for the post-hoc peers; the main model's runs also record each pose's
pose feature, for CCNet), trains the peers (RescoreNet, CCNet) and writes
the report. The ``scratch`` schedule trains a from-scratch OKS-net config
instead (the earlier benchmark).

It drives the real user path (``mim`` -> MMPose's tools -> MMEngine), so it
is also the project's end-to-end regression benchmark. It runs in the
repository root (the configs and the zoo checkpoint are relative to it).
"""
import glob
import json
import os
import os.path as osp
import shlex
import shutil
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config

from oksnet_mmpose.apis.config_conversion import (DEFAULT_VARIANT,
                                                  ConfigConversionError,
                                                  add_oksnet)
from oksnet_mmpose.synthetic import DEFAULT_PROFILE, generate_synthetic_coco
from oksnet_mmpose.utils import dump_json_atomic
from .model_zoo import (BASE_MODEL, ZooCheckpointError, ZooModel,
                        check_zoo_checkpoint)
from .peers import (FEATURES, RESCORED_RESULTS, RESULTS, feature_config,
                    train_ccnet_step, train_rescorenet_step)
from .report import summary_lines, train_split_quality, write_report
from .steps import (StepError, check_job_dirs, data_options, mim_command,
                    run_step, say)

# the from-scratch OKS-net config of the ``scratch`` schedule
SCRATCH_CONFIG = ('configs/synthetic/'
                  'oksnet_td-hm_res18_1xb32-12e_synthetic-128x96.py')
SCHEDULES = ('finetune', 'scratch')
# fine-tuning lengths of command 1 (the paper fine-tunes 50 COCO epochs;
# these fit the 15-minute budget), LR x0.1 for the last epoch
FINETUNE_EPOCHS = 6
QUALITY_ONLY_EPOCHS = 4
STATE_FILE = 'main_job.json'
JOB = 'main job'


class MainJobError(StepError):
    """A step of the main job failed; the message says which and how to go
    on."""


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


def _schedule_options(epochs: int) -> List[str]:
    """``--cfg-options`` that shorten the converter's fine-tuning schedule
    (50 epochs, LR x0.1 after 40) to ``epochs``, LR x0.1 for the last."""
    return [
        f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs}',
        f'param_scheduler.0.end={epochs}',
        f'param_scheduler.0.milestones=[{max(1, epochs - 1)}]'
    ]


def _switch_epoch_option(config: str, switch_epoch: int) -> str:
    """The ``--cfg-options`` item that moves the config's lambda_OKS
    switch (``OKSLossSwitchHook``, wherever it is in ``custom_hooks``)."""
    hooks = Config.fromfile(config).get('custom_hooks', [])
    index = [i for i, hook in enumerate(hooks)
             if hook.get('type') == 'OKSLossSwitchHook']
    if len(index) != 1:
        raise MainJobError(
            f'{config}: --switch-epoch needs one OKSLossSwitchHook in '
            f'`custom_hooks`, found {len(index)}')
    return f'custom_hooks.{index[0]}.switch_epoch={switch_epoch}'


def _convert(work_dir: str, base: ZooModel, schedule: str, checkpoint: str,
             variant: str) -> str:
    """Write the OKS-net config of ``schedule`` for the zoo model, as
    ``tools/add_oksnet.py`` does (the step prints that command)."""
    out = osp.join(work_dir, f'oksnet_{schedule.replace("-", "_")}.py')
    say(JOB, "step 'convert': python tools/add_oksnet.py " + shlex.join([
        base.config, '--out', out, '--schedule', schedule, '--load-from',
        checkpoint, '--variant', variant
    ]))
    try:
        add_oksnet(osp.abspath(base.config), out, schedule=schedule,
                   load_from=checkpoint, variant=variant)
    except ConfigConversionError as err:
        raise MainJobError(f"step 'convert' failed: {err}") from err
    return out


def _train(config: str, train_dir: str, options: List[str], log_file: str,
           step: str) -> str:
    """``mim train`` (resumed when interrupted; reused when finished).

    Returns:
        str: The final checkpoint.
    """
    final = osp.join(train_dir, 'final.pth')
    if osp.isfile(final):
        say(JOB, f"step '{step}': already done, reusing {final}")
        return final
    resume = glob.glob(osp.join(train_dir, 'epoch_*.pth'))
    if resume:
        say(JOB, f"step '{step}': resuming the interrupted training")
    run_step(JOB, step, [
        mim_command(), 'train', 'mmpose', config, '--gpus', '0',
        '--work-dir', train_dir, *(['--resume'] if resume else []),
        '--cfg-options', *options
    ], log_file)
    with open(osp.join(train_dir, 'last_checkpoint')) as f:
        shutil.copyfile(f.read().strip(), final)
    return final


def _test(config: str, checkpoint: str, test_dir: str, options: List[str],
          log_file: str, step: str) -> None:
    shutil.rmtree(test_dir, ignore_errors=True)
    run_step(JOB, step, [
        mim_command(), 'test', 'mmpose', config, '--checkpoint', checkpoint,
        '--gpus', '0', '--work-dir', test_dir, '--cfg-options', *options,
        f'test_evaluator.outfile_prefix={test_dir}/results'
    ], log_file)


def _test_runs(paths: Dict[str, str], with_train: bool) -> Dict[str, list]:
    """The ``mim test`` runs of a model: val with GT boxes, val with the
    detector boxes (every pose written, no NMS: the analysis compares
    OKS-NMS with each score on the same poses) and, for the peer's training
    data, the training split with GT boxes (the model's own predictions on
    the training images, as DEKR makes them)."""
    runs = {
        'gt': [],
        'det': [
            f"test_dataloader.dataset.bbox_file={paths['val_bbox_file']}",
            'test_evaluator.nms_mode=none'
        ]
    }
    if with_train:
        runs['train'] = [
            'test_dataloader.dataset.ann_file='
            'annotations/person_keypoints_train.json',
            'test_dataloader.dataset.data_prefix.img=train/',
            f"test_evaluator.ann_file={paths['train_ann_file']}"
        ]
    return runs


def _test_all(config: str,
              checkpoint: str,
              run_dir: str,
              paths: dict,
              options: List[str],
              with_train: bool,
              record_features: bool = False) -> None:
    """The model's ``mim test`` runs (:func:`_test_runs`) into
    ``run_dir/test_<name>/``; with ``record_features`` each with a derived
    config (``run_dir/test_<name>_config.py``) that also writes the poses'
    pose features (:data:`FEATURES`)."""
    for name, test_options in _test_runs(paths, with_train).items():
        step = (f'test ({name} boxes)'
                if name != 'train' else 'test (training split, GT boxes)')
        test_dir = osp.join(run_dir, f'test_{name}')
        test_config = feature_config(
            config, osp.join(run_dir, f'test_{name}_config.py'),
            osp.join(test_dir, FEATURES)) if record_features else config
        _test(test_config, checkpoint, test_dir, options + test_options,
              osp.join(run_dir, f'test_{name}.log'), step)


def run_main_job(work_dir: str,
                 data_dir: str,
                 schedule: str = 'finetune',
                 seed: int = 0,
                 num_train: int = 2400,
                 num_val: int = 400,
                 image_size: Sequence[int] = (256, 256),
                 profile: str = DEFAULT_PROFILE,
                 base_model: ZooModel = BASE_MODEL,
                 config: Optional[str] = None,
                 max_epochs: Optional[int] = None,
                 switch_epoch: Optional[int] = None,
                 quality_only_epochs: Optional[int] = None,
                 variant: str = DEFAULT_VARIANT,
                 extra_options: Sequence[str] = (),
                 overwrite: bool = False) -> dict:
    """Generate -> (convert) -> train -> test (GT boxes, detector boxes,
    training split) -> peers (RescoreNet, CCNet) -> report.

    ``seed`` draws the data (the val split) and seeds the training; with
    ``finetune`` the base model is the same for every seed. Re-running with
    the same settings reuses what is done (the dataset, a finished
    training) and resumes an interrupted training; other settings in the
    same ``work_dir`` are refused unless ``overwrite``.

    Args:
        schedule (str): ``'finetune'`` (OKS-net added to the zoo's base
            model; plus the quality-only row in ``quality_only/``) or
            ``'scratch'`` (``config`` trained from scratch).
        config (str, optional): Scratch: the OKS-net config (default:
            :data:`SCRATCH_CONFIG`). Fine-tuning derives its configs from
            ``base_model.config``.
        max_epochs (int, optional): Training epochs (fine-tuning: default
            :data:`FINETUNE_EPOCHS`; scratch: the config's).
        switch_epoch (int, optional): Scratch: the first epoch with
            lambda_OKS = 1.
        quality_only_epochs (int, optional): Epochs of the quality-only row
            (default :data:`QUALITY_ONLY_EPOCHS`).
        variant (str): Fine-tuning: the branch the converter adds
            (a key of ``VARIANTS``; default the converter's).

    Returns:
        dict: ``summary`` (``summary.json``), ``detector_boxes``
        (``summary_det.json``) and ``gap_closed``.
    """
    if schedule not in SCHEDULES:
        raise MainJobError(f'unknown schedule {schedule!r}; choose one of '
                           f'{SCHEDULES}')
    finetune = schedule == 'finetune'
    if finetune and (config is not None or switch_epoch is not None):
        raise MainJobError('--config and --switch-epoch are options of the '
                           'scratch schedule; the finetune schedule converts '
                           'the zoo config')
    config = config or SCRATCH_CONFIG
    if not finetune and not osp.isfile(config):
        raise MainJobError(
            f'config {config} not found; run the job from the repository '
            'root or pass --config')
    work_dir, data_dir = osp.abspath(work_dir), osp.abspath(data_dir)
    check_job_dirs(work_dir, data_dir, MainJobError)
    base_checkpoint = None
    if finetune:
        try:  # never a silent retrain, never a random model
            checkpoint = osp.abspath(check_zoo_checkpoint(base_model))
        except ZooCheckpointError as err:
            raise MainJobError(str(err)) from None
        base_checkpoint = dict(path=base_model.checkpoint,
                               sha256=base_model.sha256)
    epochs = max_epochs or (FINETUNE_EPOCHS if finetune else None)
    state = dict(schedule=schedule,
                 config=(base_model.config if finetune else
                         osp.abspath(config)),
                 base_checkpoint=base_checkpoint,
                 profile=profile,
                 seed=seed,
                 data_dir=data_dir,
                 num_train=num_train,
                 num_val=num_val,
                 image_size=list(image_size),
                 max_epochs=epochs,
                 switch_epoch=switch_epoch,
                 quality_only_epochs=(quality_only_epochs
                                      or QUALITY_ONLY_EPOCHS)
                 if finetune else None,
                 variant=variant if finetune else None,
                 extra_options=list(extra_options))
    _check_state(work_dir, state, overwrite)
    summary_file = osp.join(work_dir, 'summary.json')
    if osp.isfile(summary_file):  # written last: the run is complete
        say(JOB, f'already done with these settings, reusing {summary_file} '
            '(--overwrite runs it again)')
        with open(summary_file) as f:
            summary = json.load(f)
        with open(osp.join(work_dir, 'summary_det.json')) as f:
            detector = json.load(f)
        return dict(summary=summary, detector_boxes=detector,
                    gap_closed=summary['oksnet']['gap_closed'])

    say(JOB, f"step 'generate': {num_train} train + {num_val} val images "
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

    options = data_options(paths['data_root']) + [
        f'randomness.seed={seed}', 'randomness.deterministic=False'
    ]
    if finetune:
        train_config = _convert(work_dir, base_model, 'finetune', checkpoint,
                                variant)
        train_options = options + _schedule_options(epochs)
    else:
        train_config = config
        train_options = list(options)
        if epochs is not None:
            train_options += [
                f'train_cfg.max_epochs={epochs}',
                f'train_cfg.val_interval={epochs}'
            ]
        if switch_epoch is not None:
            train_options.append(_switch_epoch_option(config, switch_epoch))
    train_options += list(extra_options)
    final = _train(train_config, osp.join(work_dir, 'train'), train_options,
                   osp.join(work_dir, 'train.log'),
                   'fine-tune' if finetune else 'train')
    _test_all(train_config, final, work_dir, paths,
              options + list(extra_options), with_train=True,
              record_features=True)
    train_rescorenet_step(work_dir, seed, JOB, MainJobError)
    train_ccnet_step(work_dir, seed, paths['train_ann_file'], JOB,
                     MainJobError)

    quality_only = None
    if finetune:
        # the pose network frozen: the zoo model's own poses, scored by a
        # branch trained on them (paper Tab. XIV's setting)
        run_dir = osp.join(work_dir, 'quality_only')
        os.makedirs(run_dir, exist_ok=True)
        qo_config = _convert(run_dir, base_model, 'quality-only', checkpoint,
                             variant)
        qo_final = _train(
            qo_config, osp.join(run_dir, 'train'),
            options + _schedule_options(state['quality_only_epochs']) +
            list(extra_options), osp.join(run_dir, 'train.log'),
            'quality-only')
        _test_all(qo_config, qo_final, run_dir, paths,
                  options + list(extra_options), with_train=False)
        quality_only = run_dir

    say(JOB, "step 'report' ...")
    train_split = train_split_quality(
        paths['train_ann_file'], osp.join(work_dir, 'test_train', RESULTS))
    result = write_report(work_dir, paths['val_ann_file'], state,
                          RESCORED_RESULTS, train_split=train_split,
                          quality_only_dir=quality_only,
                          quality_only_results=RESULTS)
    say(JOB, f"summary (synthetic val split, profile '{profile}', "
        f'schedule {schedule}, GT boxes):')
    for line in summary_lines(result):
        print('    ' + line)
    say(JOB, f'report: {osp.join(work_dir, "report.md")}')
    return result
