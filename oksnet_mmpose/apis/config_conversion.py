# Copyright (c) oksnet-mmpose contributors.
"""Turn any MMPose top-down config into its OKS-net variant.

The generated config inherits the source config (``_base_``) and says only
what OKS-net changes, deriving everything else from the base through
MMEngine's ``_base_.xxx`` references, so codec flags (``use_udp``, DARK...),
augmentations and hooks are never restated:

- ``model.head.type``: the registered OKS-net head that extends the stock
  head (:func:`oksnet_head_of_stock_head`), with ``loss_oks`` (lambda_OKS)
  and ``metainfo`` (the keypoint sigmas of the train dataset's metainfo);
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
from typing import Optional, Sequence

from mmengine.config import Config

from oksnet_mmpose.models import oksnet_head_of_stock_head
from oksnet_mmpose.utils import atomic_path
from .config_sections import (DEFAULT_VARIANT, FINETUNE_EPOCHS,
                              ConfigConversionError, ConfigWriter,
                              config_name, evaluators_section,
                              finetune_schedule, head_section, header,
                              hooks_section, literal, scratch_schedule,
                              VARIANTS, test_dev_section,
                              train_pipeline_section)

SCHEDULES = ('scratch', 'finetune', 'quality-only')
# OKS-net paper, Sec. IV-A: lambda_OKS switches on after 200 of 250 epochs
SWITCH_FRACTION = 0.8


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
        except Exception as e:  # a missing mmpose:: name, a syntax error
            lines = str(e).strip().splitlines() or ['']
            raise ConfigConversionError(
                f'{src} does not load: {type(e).__name__}: '
                f'{lines[-1]}') from None


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
    return literal(metainfo), dict(metainfo), f'{dataset_type}.METAINFO'


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


def convert_config(src: str,
                   schedule: str = 'scratch',
                   load_from: Optional[str] = None,
                   switch_epoch: Optional[int] = None,
                   max_epochs: Optional[int] = None,
                   lr_milestones: Optional[Sequence[int]] = None,
                   variant: str = DEFAULT_VARIANT,
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
        variant (str): The branch, a key of :data:`VARIANTS`: ``'paper'``
            (:class:`OKSNet`, paper Fig. 8), ``'keypoint'``
            (:class:`KeypointOKSNet`: reads the keypoint statistics and the
            pooled pose feature too, predicts per-keypoint OKS terms) or
            ``'pooled'`` (that branch without the paper's attention and
            convs). Defaults to :data:`DEFAULT_VARIANT`.
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
    head = _top_down_head(cfg, src)
    head_type = str(head.get('type')).split('.')[-1]
    oksnet_heads = oksnet_head_of_stock_head()
    if head_type in oksnet_heads.values():
        # an OKS-net config: only its test-dev variant can be derived
        if not test_dev or not scratch or switch_epoch is not None or \
                max_epochs is not None or lr_milestones or load_from:
            raise ConfigConversionError(
                f'{src}: `model.head.type` is {head_type!r}, already '
                'OKS-net: only its test-dev variant (test_dev) can be '
                'derived from it')
        return _test_dev_variant(cfg, src, base_ref, command)
    if head_type not in oksnet_heads:
        raise ConfigConversionError(
            f'{src}: `model.head.type` is {head_type!r}; the converter '
            f'knows {", ".join(oksnet_heads)}')
    meta_expr, metainfo, meta_source = _dataset_metainfo(cfg)
    _check_sigmas(metainfo, meta_source, head.get('out_channels'))
    base_epochs = cfg.train_cfg.get('max_epochs')
    if not base_epochs:
        raise ConfigConversionError(
            f'{src}: no `train_cfg.max_epochs`: the converter handles '
            'epoch-based configs')

    out = ConfigWriter()
    out.add(
        f'_base_ = [{(base_ref or src)!r}]',
        header(f'OKS-net on {config_name(src)} ({schedule} schedule).', command) +
        '\nOnly what OKS-net changes is set here; everything else (codec, '
        'pipelines,\nhooks, ...) comes from the base.')
    base_imports = (cfg.get('custom_imports') or {}).get('imports') or []
    if 'oksnet_mmpose' not in base_imports:  # else the base imports it
        imports_expr = "['oksnet_mmpose']"
        if base_imports:
            imports_expr = f'_base_.custom_imports.imports + {imports_expr}'
        out.add(f'custom_imports = dict(imports={imports_expr}, '
                'allow_failed_imports=False)')
    if scratch:
        epochs = max_epochs or base_epochs
        if switch_epoch is None:
            switch_epoch = int(round(SWITCH_FRACTION * epochs))
        if not 0 <= switch_epoch < epochs:
            raise ConfigConversionError(
                f'switch_epoch={switch_epoch} is outside the {epochs} '
                'training epochs (`train_cfg.max_epochs`)')
        schedule_code = scratch_schedule(cfg, max_epochs, lr_milestones)
        if schedule_code:
            out.add(schedule_code, "the base's schedule, with these epochs / "
                    'LR milestones')
    else:
        epochs = FINETUNE_EPOCHS
        out.add(*finetune_schedule(load_from, variant))
    out.add(*head_section(head, schedule, switch_epoch, meta_expr,
                           meta_source, variant))
    out.add(*train_pipeline_section(cfg))
    out.add(*hooks_section(cfg, schedule, switch_epoch, epochs, base_epochs))
    if schedule == 'quality-only':
        out.add(
            "model_wrapper_cfg = dict(\n    type='MMDistributedDataParallel',"
            ' find_unused_parameters=True)',
            'the DDP wrapper is built before the hook freezes the pose '
            'network')

    # -- evaluators ---------------------------------------------------------
    out.add(*evaluators_section(cfg, test_dev))
    if test_dev:
        out.add(*test_dev_section(cfg))
    return out.text()


def _test_dev_variant(cfg: Config, src: str, base_ref: Optional[str],
                      command: Optional[str]) -> str:
    """The test-dev variant of an OKS-net config: only the test set."""
    out = ConfigWriter()
    out.add(f'_base_ = [{(base_ref or src)!r}]',
            header(f'COCO test-dev2017 variant of {config_name(src)}.', command))
    out.add(*test_dev_section(cfg))
    return out.text()


def _top_down_head(cfg: Config, src: str) -> dict:
    """``model.head`` of a top-down config (else the error)."""
    model = cfg.get('model') or {}
    head = model.get('head')
    if not isinstance(head, dict) or model.get(
            'type') != 'TopdownPoseEstimator':
        raise ConfigConversionError(
            f'{src}: `model.type` is {model.get("type")!r} and `model.head` '
            f'is {type(head).__name__}: OKS-net needs a top-down config '
            "(model.type='TopdownPoseEstimator' with a head)")
    return head


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
