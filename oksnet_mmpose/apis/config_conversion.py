# Copyright (c) oksnet-mmpose contributors.
"""Turn any MMPose top-down config into its OKS-net variant.

The generated config inherits the source config (``_base_``) and says only
what OKS-net changes, deriving everything else from the base through
MMEngine's ``_base_.xxx`` references, so codec flags (``use_udp``, DARK...),
augmentations and hooks are never restated:

- ``model.head.type``: the OKS-net head of the same family
  (:data:`OKSNET_HEADS`), with ``loss_oks`` (lambda_OKS) and ``metainfo``
  (the keypoint sigmas of the train dataset's metainfo);
- the last transform of every train pipeline (stage 2 included):
  ``PackOKSPoseInputs`` instead of ``PackPoseInputs``;
- ``custom_hooks``: the base's, with ``OKSLossSwitchHook`` (or
  ``FreezeExceptOKSNetHook``) appended;
- the evaluators: ``QualityCocoMetric`` with the base ``CocoMetric``'s
  settings (``use_area``, ``iou_type``, NMS...);
- the schedule (``scratch``, ``finetune``, ``quality-only``).

Not imported by ``import oksnet_mmpose``: a tool-side API.
"""
import os.path as osp
import tempfile
import warnings
from typing import List, Optional, Sequence

from mmengine.config import Config

from oksnet_mmpose.utils import atomic_path

# stock MMPose top-down head -> the OKS-net head of its family
OKSNET_HEADS = {
    'HeatmapHead': 'OKSNetHead',
    'CPMHead': 'OKSNetCPMHead',
    'MSPNHead': 'OKSNetMSPNHead',
    'ViPNASHead': 'OKSNetViPNASHead',
    'RTMCCHead': 'OKSNetRTMCCHead',
    'SimCCHead': 'OKSNetSimCCHead',
}
SCHEDULES = ('scratch', 'finetune', 'quality-only')
# OKS-net paper, Sec. IV-A: lambda_OKS switches on after 200 of 250 epochs
SWITCH_FRACTION = 0.8
# OKS-net paper, Sec. IV-A: lambda_heatmap = 2000 on the heatmap MSE loss
HEATMAP_MSE_LOSS_WEIGHT = 2000.
# OKS-net paper, Tab. XI strategy 3: 50 epochs, LR 1e-4, x0.1 after 20
FINETUNE_EPOCHS, FINETUNE_LR, FINETUNE_MILESTONE = 50, '1e-4', 20
COCO_TEST_DEV = dict(
    ann_file='annotations/image_info_test-dev2017.json',
    bbox_file='data/coco/person_detection_results/'
    'COCO_test-dev2017_detections_AP_H_609_person.json',
    img='test2017/',
    gt_file='data/coco/annotations/image_info_test-dev2017.json')


class ConfigConversionError(ValueError):
    """The source config cannot be converted; the message is one line that
    names the config key to look at."""


def _is_pack(transform) -> bool:
    return isinstance(transform, dict) and str(transform.get(
        'type', '')).split('.')[-1] == 'PackPoseInputs'


def _plain(obj):
    """A config value without MMEngine's ``_scope_`` bookkeeping keys."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items() if k != '_scope_'}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_plain(v) for v in obj)
    return obj


def _load(src: str) -> Config:
    """Load ``src`` (a file or an ``mmpose::`` name) as a config that
    inherits it, so its values are what the generated config's ``_base_``
    will see."""
    if '::' not in src:
        if not osp.isfile(src):
            raise ConfigConversionError(f'{src}: no such config file')
        src = osp.abspath(src)
    with tempfile.TemporaryDirectory() as tmp:
        wrapper = osp.join(tmp, 'src_config.py')
        with open(wrapper, 'w', encoding='utf-8') as f:
            f.write(f'_base_ = [{src!r}]\n')
        try:
            return Config.fromfile(wrapper)
        except FileNotFoundError as e:
            raise ConfigConversionError(f'{src}: {e}') from None


def _dataset_metainfo(cfg: Config) -> tuple:
    """The train dataset's metainfo: (python expression for the generated
    config, the metainfo dict, where it came from)."""
    from mmpose.registry import DATASETS
    from mmpose.utils import register_all_modules
    register_all_modules(init_default_scope=False)

    dataset = cfg.train_dataloader.get('dataset', {})
    if dataset.get('metainfo') is not None:
        return ('_base_.train_dataloader.dataset.metainfo',
                dataset.metainfo, 'train_dataloader.dataset.metainfo')
    dataset_type = dataset.get('type')
    dataset_cls = DATASETS.get(dataset_type) if dataset_type else None
    metainfo = getattr(dataset_cls, 'METAINFO', None)
    if not metainfo:
        raise ConfigConversionError(
            f'train_dataloader.dataset ({dataset_type}) has no metainfo with '
            'keypoint sigmas: set `train_dataloader.dataset.metainfo` (or '
            '`model.head.metainfo`) to a dataset metainfo with `sigmas`')
    return _literal(metainfo), dict(metainfo), f'{dataset_type}.METAINFO'


def _check_sigmas(metainfo: dict, source: str, num_keypoints: int) -> None:
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    try:
        with warnings.catch_warnings():  # the found-in-mmpose notice
            warnings.simplefilter('ignore', UserWarning)
            sigmas = parse_pose_metainfo(dict(metainfo))['sigmas']
    except AssertionError:  # parse_pose_metainfo asserts the keys
        sigmas = []
    if sigmas is None or len(sigmas) == 0:
        raise ConfigConversionError(
            f'the dataset metainfo ({source}: {metainfo}) has no keypoint '
            'sigmas: set `train_dataloader.dataset.metainfo` (or '
            '`model.head.metainfo`) to a metainfo with `sigmas`, one per '
            'keypoint')
    if num_keypoints is not None and len(sigmas) != num_keypoints:
        raise ConfigConversionError(
            f'the dataset metainfo ({source}) has {len(sigmas)} keypoint '
            f'sigmas but `model.head.out_channels` is {num_keypoints}')


def _pack_expr(pipeline: list, expr: str, key: str) -> str:
    """``expr`` (a base pipeline) with its PackPoseInputs replaced."""
    if not pipeline or not _is_pack(pipeline[-1]):
        last = pipeline[-1].get('type') if pipeline else None
        raise ConfigConversionError(
            f'`{key}` ends with {last!r}, not PackPoseInputs: OKS-net needs '
            'the train pipeline to end with the pack transform')
    if set(_plain(pipeline[-1])) == {'type'}:
        pack = "dict(type='PackOKSPoseInputs')"
    else:  # keep the base's pack arguments (meta_keys, ...)
        pack = f"dict({expr}[-1], type='PackOKSPoseInputs')"
    return f'{expr}[:-1] + [{pack}]'


def _literal(value) -> str:
    """``value`` as config code: dicts as ``dict(key=...)`` calls."""
    value = _plain(value)
    if isinstance(value, dict) and all(
            isinstance(k, str) and k.isidentifier() for k in value):
        return 'dict(' + ', '.join(f'{k}={_literal(v)}'
                                   for k, v in value.items()) + ')'
    if isinstance(value, (list, tuple)):
        items = ', '.join(_literal(v) for v in value)
        return f'[{items}]' if isinstance(value, list) else f'({items},)'
    return repr(value)


class _ConfigWriter:
    """Collects the generated config's sections (comment + code)."""

    def __init__(self):
        self.sections: List[str] = []

    def add(self, code: str, comment: str = '') -> None:
        lines = [f'# {line}' if line else '#' for line in comment.splitlines()]
        self.sections.append('\n'.join(lines + [code.rstrip()]))

    def text(self) -> str:
        return '\n\n'.join(self.sections) + '\n'


def convert_config(src: str,
                   schedule: str = 'scratch',
                   load_from: Optional[str] = None,
                   switch_epoch: Optional[int] = None,
                   max_epochs: Optional[int] = None,
                   lr_milestones: Optional[Sequence[int]] = None,
                   test_dev: bool = False,
                   base_ref: Optional[str] = None,
                   command: Optional[str] = None) -> str:
    """The text of the OKS-net variant of the top-down config ``src``.

    Args:
        src (str): The source config: a file or an ``mmpose::`` name.
        schedule (str): ``'scratch'`` (the base's schedule; lambda_OKS 0 ->
            1 at ``switch_epoch``), ``'finetune'`` (paper Tab. XI, strategy
            3: 50 epochs, LR 1e-4, x0.1 after 20, lambda_OKS = 1) or
            ``'quality-only'`` (as finetune, training only the OKS-net
            branch: ``FreezeExceptOKSNetHook``).
        load_from (str, optional): Checkpoint to start from (finetune,
            quality-only).
        switch_epoch (int, optional): Scratch: first epoch with lambda_OKS
            = 1. Defaults to 80 % of the training (the paper's 200 of 250).
        max_epochs (int, optional): Scratch: train this many epochs instead
            of the base's; the ``end`` of the base's epoch-based LR
            schedulers that ended at its last epoch moves with it.
        lr_milestones (Sequence[int], optional): Scratch: milestones of the
            base's ``MultiStepLR``.
        test_dev (bool): Test on COCO test-dev2017 (results written for the
            evaluation server, no local GT).
        base_ref (str, optional): How the generated config names ``src`` in
            its ``_base_`` (e.g. a path relative to it). Defaults to ``src``.
        command (str, optional): The command line that generates the file,
            quoted in its header.

    Returns:
        str: The config text.

    Raises:
        ConfigConversionError: ``src`` cannot be converted (one line naming
            the config key).
    """
    if schedule not in SCHEDULES:
        raise ConfigConversionError(
            f'unknown schedule {schedule!r}; choose one of {SCHEDULES}')
    scratch = schedule == 'scratch'
    if not scratch and (switch_epoch is not None or max_epochs is not None
                        or lr_milestones):
        raise ConfigConversionError(
            'switch_epoch / max_epochs / lr_milestones are options of the '
            f'scratch schedule, not of {schedule!r}')
    cfg = _load(src)
    model = cfg.get('model', {})
    head = model.get('head') if isinstance(model, dict) else None
    if not isinstance(head, dict) or model.get(
            'type') != 'TopdownPoseEstimator':
        raise ConfigConversionError(
            f'{src}: `model.type` is {model.get("type")!r} and `model.head` '
            f'is {type(head).__name__}: OKS-net needs a top-down config '
            "(model.type='TopdownPoseEstimator' with a head)")
    head_type = str(head.get('type')).split('.')[-1]
    if head_type in OKSNET_HEADS.values():
        # an OKS-net config: only its test-dev variant can be derived
        if not test_dev or not scratch or switch_epoch is not None or \
                max_epochs is not None or lr_milestones or load_from:
            raise ConfigConversionError(
                f'{src}: `model.head.type` is {head_type!r}, already '
                'OKS-net: only its test-dev variant (test_dev) can be '
                'derived from it')
        return _test_dev_variant(cfg, src, base_ref, command)
    if head_type not in OKSNET_HEADS:
        raise ConfigConversionError(
            f'{src}: `model.head.type` is {head_type!r}; the converter '
            f'knows {", ".join(OKSNET_HEADS)}')

    meta_expr, metainfo, meta_source = _dataset_metainfo(cfg)
    _check_sigmas(metainfo, meta_source, head.get('out_channels'))

    out = _ConfigWriter()
    header = _header(f'OKS-net on {_name(src)} ({schedule} schedule).',
                     command)
    header += ('\nOnly what OKS-net changes is set here; everything else '
               '(codec, pipelines,\nhooks, ...) comes from the base.')
    out.add(f'_base_ = [{(base_ref or src)!r}]', header)
    imports = ['oksnet_mmpose']
    imports_expr = repr(imports)
    if cfg.get('custom_imports'):
        imports_expr = f'_base_.custom_imports.imports + {imports_expr}'
    out.add(f'custom_imports = dict(imports={imports_expr}, '
            'allow_failed_imports=False)')

    # -- schedule ---------------------------------------------------------
    base_epochs = cfg.train_cfg.get('max_epochs')
    epochs = base_epochs
    if scratch:
        schedule_code = _scratch_schedule(cfg, max_epochs, lr_milestones)
        if schedule_code:
            epochs = max_epochs or base_epochs
            out.add(schedule_code, 'schedule: the base\'s, '
                    f'{epochs} epochs')
        if switch_epoch is None:
            switch_epoch = int(round(SWITCH_FRACTION * epochs))
        if not 0 <= switch_epoch < epochs:
            raise ConfigConversionError(
                f'switch_epoch={switch_epoch} is outside the {epochs} '
                'training epochs (`train_cfg.max_epochs`)')
    else:
        epochs = FINETUNE_EPOCHS
        code = []
        if load_from is None:
            code.append('load_from = None  # set: a checkpoint trained with '
                        'the base recipe')
        else:
            code.append(f'load_from = {load_from!r}')
        code.append(f'train_cfg = dict(max_epochs={epochs})\n'
                    f'optim_wrapper = dict(optimizer=dict(lr={FINETUNE_LR}))\n'
                    'param_scheduler = [\n'
                    "    dict(type='MultiStepLR', begin=0, end="
                    f'{epochs}, milestones=[{FINETUNE_MILESTONE}],\n'
                    '         gamma=0.1, by_epoch=True)\n]')
        out.add(
            '\n'.join(code),
            'OKS-net paper, Tab. XI strategy 3: fine-tune a trained model '
            f'for {epochs}\nepochs, LR {FINETUNE_LR}, x0.1 after '
            f'{FINETUNE_MILESTONE} epochs, lambda_OKS = 1 throughout.')

    # -- head -------------------------------------------------------------
    head_lines = [f'type={OKSNET_HEADS[head_type]!r},']
    loss = head.get('loss')
    if isinstance(loss, dict) and loss.get('type') == 'KeypointMSELoss':
        head_lines.append("# lambda_heatmap = 2000 (paper Sec. IV-A) on the base's "
                          'KeypointMSELoss')
        head_lines.append(f'loss=dict(loss_weight={HEATMAP_MSE_LOSS_WEIGHT}),')
    oks_weight = 0. if scratch else 1.
    head_lines.append(
        f"loss_oks=dict(type='HardMinedOKSLoss', loss_weight={oks_weight}),")
    head_lines.append(f'# keypoint sigmas of the OKS: {meta_source}')
    head_lines.append(f'metainfo={meta_expr})')
    body = '\n'.join('        ' + line for line in head_lines)
    out.add(f'model = dict(\n    head=dict(\n{body})',
            '' if not scratch else
            'lambda_OKS (the loss_oks weight) = 0: the keypoints are trained '
            f'alone until\nepoch {switch_epoch}, then '
            'OKSLossSwitchHook sets it to 1 (paper Sec. IV-A).')

    # -- train pipelines and hooks ------------------------------------------
    dataset = cfg.train_dataloader.dataset
    if _plain(cfg.get('train_pipeline')) == _plain(dataset.get('pipeline')):
        expr, key = '_base_.train_pipeline', 'train_pipeline'
    else:
        expr = key = '_base_.train_dataloader.dataset.pipeline'
        key = key[len('_base_.'):]
    out.add(
        f'train_pipeline = {_pack_expr(dataset.get("pipeline"), expr, key)}\n'
        'train_dataloader = dict(dataset=dict(pipeline=train_pipeline))',
        "the base's train pipeline, ending with PackOKSPoseInputs (it packs "
        'the\ntransformed GT keypoints and areas the online OKS target needs)')
    out.add(*_hooks(cfg, schedule, switch_epoch, epochs, base_epochs))
    if schedule == 'quality-only':
        out.add(
            "model_wrapper_cfg = dict(\n    type='MMDistributedDataParallel',"
            ' find_unused_parameters=True)',
            'the DDP wrapper is built before the hook freezes the pose '
            'network')

    # -- evaluators ---------------------------------------------------------
    out.add(*_evaluators(cfg, test_dev))
    if test_dev:
        out.add(*_test_dev(cfg))
    return out.text()


def _name(src: str) -> str:
    return osp.basename(src.split('::')[-1])


def _header(title: str, command: Optional[str]) -> str:
    return f'{title}\nGenerated by: {command}' if command else title


def _test_dev_variant(cfg: Config, src: str, base_ref: Optional[str],
                      command: Optional[str]) -> str:
    """The test-dev variant of an OKS-net config: only the test set."""
    out = _ConfigWriter()
    out.add(f'_base_ = [{(base_ref or src)!r}]',
            _header(f'COCO test-dev2017 variant of {_name(src)}.', command))
    out.add(*_test_dev(cfg))
    return out.text()


def _scratch_schedule(cfg: Config, max_epochs: Optional[int],
                      lr_milestones: Optional[Sequence[int]]) -> str:
    """``train_cfg`` / ``param_scheduler`` lines for a longer schedule or
    other LR milestones; '' to keep the base's."""
    if max_epochs is None and not lr_milestones:
        return ''
    base_epochs = cfg.train_cfg.get('max_epochs')
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    lines = []
    changed = False
    for i, scheduler in enumerate(schedulers):
        updates = []
        if (max_epochs is not None and scheduler.get('by_epoch', True)
                and scheduler.get('end') == base_epochs):
            updates.append(f'end={max_epochs}')
        if lr_milestones and scheduler.get('type') == 'MultiStepLR':
            updates.append(f'milestones={list(lr_milestones)}')
            changed = True
        ref = f'_base_.param_scheduler[{i}]'
        lines.append(f'dict({ref}, {", ".join(updates)})' if updates else ref)
    if lr_milestones and not changed:
        raise ConfigConversionError(
            '`param_scheduler` has no MultiStepLR whose milestones '
            'lr_milestones could set')
    code = []
    if max_epochs is not None:
        code.append(f'train_cfg = dict(max_epochs={max_epochs})')
    code.append('param_scheduler = [\n' +
                ''.join(f'    {line},\n' for line in lines) + ']')
    return '\n'.join(code)


def _hooks(cfg: Config, schedule: str, switch_epoch: Optional[int],
           epochs: int, base_epochs: Optional[int]) -> tuple:
    """The ``custom_hooks`` section: the base's hooks (a PipelineSwitchHook
    switching to the stage-2 pipeline with PackOKSPoseInputs), plus the
    OKS-net hook of the schedule."""
    hooks = cfg.get('custom_hooks') or []
    code, items, changed = [], [], False
    for i, hook in enumerate(hooks):
        ref = f'_base_.custom_hooks[{i}]'
        hook_type = str(hook.get('type', '')).split('.')[-1]
        if hook_type != 'PipelineSwitchHook':
            items.append(f'{ref},  # {hook_type}')
            continue
        changed = True
        stage2 = hook.get('switch_pipeline')
        if _plain(cfg.get('train_pipeline_stage2')) == _plain(stage2):
            expr = '_base_.train_pipeline_stage2'
            key = 'train_pipeline_stage2'
        else:
            expr = f'{ref}.switch_pipeline'
            key = f'custom_hooks[{i}].switch_pipeline'
        code.append(f'train_pipeline_stage2 = {_pack_expr(stage2, expr, key)}')
        updates = 'switch_pipeline=train_pipeline_stage2'
        if schedule != 'scratch' and base_epochs:
            # keep the base's number of stage-2 epochs at the end
            stage2_epochs = base_epochs - hook.get('switch_epoch', 0)
            updates += f', switch_epoch={max(epochs - stage2_epochs, 0)}'
        items.append(f'dict({ref}, {updates}),')
    if schedule == 'scratch':
        extra = f"dict(type='OKSLossSwitchHook', switch_epoch={switch_epoch})"
        comment = 'the base\'s hooks, plus the lambda_OKS switch'
    elif schedule == 'quality-only':
        extra = "dict(type='FreezeExceptOKSNetHook')"
        comment = ("the base's hooks, plus the freeze of everything but the "
                   'OKS-net branch:\nkeypoints and keypoint scores stay '
                   "bit-identical to load_from's")
    else:
        extra, comment = None, "the base's hooks"
    if changed:
        comment += ';\nthe stage-2 pipeline ends with PackOKSPoseInputs too'
        if extra:
            items.append(f'{extra},')
        code.append('custom_hooks = [\n' +
                    ''.join(f'    {item}\n' for item in items) + ']')
    elif extra:
        if hooks:
            code.append(f'custom_hooks = _base_.custom_hooks + [\n    {extra}\n]')
        else:
            code.append(f'custom_hooks = [{extra}]')
    else:
        return '# ' + comment + ': unchanged', ''
    return '\n'.join(code), comment


def _convert_metric(cfg: Config, key: str) -> Optional[str]:
    evaluator = cfg.get(key)
    if not isinstance(evaluator, dict) or str(evaluator.get(
            'type', '')).split('.')[-1] != 'CocoMetric':
        return None
    for converter in ('pred_converter', 'gt_converter'):
        if evaluator.get(converter):
            raise ConfigConversionError(
                f'`{key}.{converter}` is set: QualityCocoMetric does not '
                'support keypoint-layout converters')
    return "dict(type='QualityCocoMetric')"


def _evaluators(cfg: Config, test_dev: bool) -> tuple:
    val = _convert_metric(cfg, 'val_evaluator')
    test = _convert_metric(cfg, 'test_evaluator')
    if val is None and test is None:
        return ('# the base evaluators are kept: they are not CocoMetric, '
                'which QualityCocoMetric extends', '')
    code = []
    if val is not None:
        code.append(f'val_evaluator = {val}')
    if test is not None and not test_dev:
        same = _plain(cfg.test_evaluator) == _plain(cfg.val_evaluator)
        code.append('test_evaluator = val_evaluator' if same and val else
                    f'test_evaluator = {test}')
    return ('\n'.join(code),
            'pose score = bbox score x predicted OKS, with the base '
            "CocoMetric's settings;\nthe base's "
            'heatmap-mean AP is reported too (<prefix>-heatmap/AP)')


def _test_dev(cfg: Config) -> tuple:
    dataset_type = cfg.test_dataloader.dataset.get('type')
    metric_type = str(cfg.test_evaluator.get('type', '')).split('.')[-1]
    if dataset_type != 'CocoDataset' or metric_type not in (
            'CocoMetric', 'QualityCocoMetric'):
        raise ConfigConversionError(
            'test_dev needs a COCO config (`test_dataloader.dataset.type` '
            f"'CocoDataset', a CocoMetric `test_evaluator`), got "
            f'{dataset_type!r}')
    bbox_dir, bbox_name = osp.split(COCO_TEST_DEV['bbox_file'])
    return ('test_dataloader = dict(\n    dataset=dict(\n'
            f"        ann_file={COCO_TEST_DEV['ann_file']!r},\n"
            f"        bbox_file={bbox_dir + '/'!r}\n"
            f'        {bbox_name!r},\n'
            f"        data_prefix=dict(img={COCO_TEST_DEV['img']!r})))\n"
            'test_evaluator = dict(\n'
            "    type='QualityCocoMetric',\n"
            f"    ann_file={COCO_TEST_DEV['gt_file']!r},\n"
            '    format_only=True,\n'
            "    outfile_prefix='work_dirs/{{fileBasenameNoExtension}}/"
            "test-dev')",
            'COCO test-dev2017 with the person detections the stock MMPose '
            'recipes\nuse; results are written for the evaluation server '
            '(no local GT).')


def base_reference(src: str, out: str) -> str:
    """How a config written to ``out`` names ``src`` in its ``_base_``: an
    ``mmpose::`` name as it is, a file relative to ``out``'s folder."""
    if '::' in src:
        return src
    ref = osp.relpath(osp.abspath(src), osp.dirname(osp.abspath(out)))
    return ref if ref.startswith('.') else './' + ref


def add_oksnet(src: str, out: str, **options) -> str:
    """Write the OKS-net variant of ``src`` to ``out`` (see
    :func:`convert_config` for ``options``).

    A local ``src`` is referenced relative to ``out``. The text is loaded
    with ``Config.fromfile`` before it replaces ``out`` (atomically), so a
    failed conversion writes nothing.

    Returns:
        str: The config text written.
    """
    text = convert_config(src, base_ref=base_reference(src, out), **options)
    with atomic_path(out) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(text)
        try:
            Config.fromfile(tmp)
        except Exception as e:  # a converter bug, never a user error
            raise RuntimeError(
                f'the generated config does not load: {e}') from e
    return text
