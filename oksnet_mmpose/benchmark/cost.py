# Copyright (c) oksnet-mmpose contributors.
"""The cost benchmark of OKS-net (paper Sec. V-E): for each network of the
shipped configs, the parameters and FLOPs of the base model and of the
``oks_net`` branch, CPU inference latency without vs. with the branch, and
training-step time without vs. with the OKS target and loss.

Configs that build the same network (from scratch, fine-tune, test-dev,
quality-only) share one row. The counting is
:mod:`oksnet_mmpose.analysis.complexity`'s, the timings are
:mod:`.cost_timing`'s (A/B pairs interleaved in one process: their ratios
are what to read) and the report is :mod:`.cost_report`'s.

Run by ``tools/benchmark_cost.py`` from the repository root: the default
configs and data are paths relative to it.
"""
import copy
import glob
import json
import os
import os.path as osp
import time
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS
from torch import nn

from ..analysis.complexity import model_complexity
from ..models import oksnet_head
from ..utils import check_output_dir
from .cost_report import describe_model, row_sort_key, save_results
from .cost_timing import inference_latency, train_step_time
from .timing import cpu_name

# where the benchmark finds its inputs, relative to the repository root
CONFIG_DIR = 'configs'
SAMPLE_DATA_ROOT = osp.join('tests', 'data', 'coco')
SAMPLE_ANN_FILE = 'annotations/person_keypoints_val2017_sample.json'
SAMPLE_IMG_PREFIX = 'val2017/'

# Model config keys that do not change the network that is run: pretrained
# weights (``init_cfg``, ``pretrained``) and loss weights (lambda_OKS is 0 or
# 1 depending on the schedule; the benchmark sets it to 1 either way).
IGNORED_MODEL_KEYS = ('init_cfg', 'pretrained', 'loss_weight')


def _strip_keys(obj: Any, ignored: Sequence[str]) -> Any:
    """A copy of nested dicts/lists without the keys in ``ignored``, with
    ConfigDicts turned into plain dicts and tuples into lists (a config
    written ``(192, 256)`` equals one written ``[192, 256]``)."""
    if isinstance(obj, dict):
        return {
            key: _strip_keys(value, ignored)
            for key, value in obj.items() if key not in ignored
        }
    if isinstance(obj, (list, tuple)):
        return [_strip_keys(value, ignored) for value in obj]
    return obj


def architecture_key(model_cfg: dict,
                     ignored: Sequence[str] = IGNORED_MODEL_KEYS) -> str:
    """A canonical string of a model config that is equal for two configs
    exactly when they build the same network.

    Args:
        model_cfg (dict): The ``model`` field of a config.
        ignored (Sequence[str]): Keys dropped at any depth. Defaults to
            :data:`IGNORED_MODEL_KEYS`.

    Returns:
        str: JSON with sorted keys.
    """
    if isinstance(model_cfg, ConfigDict):
        model_cfg = model_cfg.to_dict()
    return json.dumps(
        _strip_keys(model_cfg, ignored), sort_keys=True, default=str)


def group_configs_by_architecture(config_files: Sequence[str]
                                  ) -> List[Tuple[Config, List[str]]]:
    """Load configs and group those that build the same network.

    The from-scratch, fine-tune, test-dev and quality-only configs of one
    model differ only in schedule, data, pretrained weights and lambda_OKS,
    so they share one row of the cost benchmark.

    Args:
        config_files (Sequence[str]): Config file paths.

    Returns:
        list[tuple[Config, list[str]]]: One entry per distinct network, in
        the order of its first config: the first config (loaded) and every
        config file that builds the same network.
    """
    groups: 'OrderedDict[str, Tuple[Config, List[str]]]' = OrderedDict()
    for config_file in config_files:
        cfg = Config.fromfile(config_file)
        key = architecture_key(cfg.model)
        if key not in groups:
            groups[key] = (cfg, [])
        groups[key][1].append(config_file)
    return list(groups.values())


def point_train_data_at(cfg: Config, data_root: str, ann_file: str,
                        img_prefix: str) -> Config:
    """A copy of ``cfg`` whose train dataset reads a local COCO-format tree,
    with no pretrained weights to download.

    Args:
        cfg (Config): A top-down config.
        data_root (str): The dataset root, e.g. ``tests/data/coco``.
        ann_file (str): The annotation file, relative to ``data_root``.
        img_prefix (str): The image folder, relative to ``data_root``.

    Returns:
        Config: The modified copy.
    """
    cfg = copy.deepcopy(cfg)
    dataset = cfg.train_dataloader.dataset
    dataset.data_root = data_root
    dataset.ann_file = ann_file
    dataset.data_prefix = dict(img=img_prefix)
    # the train split of the stock recipes has no bbox_file; a quality
    # config might, and the sample tree has none
    dataset.pop('bbox_file', None)
    if 'init_cfg' in cfg.model.backbone:
        cfg.model.backbone.init_cfg = None
    cfg.load_from = None
    return cfg


def build_cost_model(cfg: Config) -> nn.Module:
    """Build the model of an OKS-net config with randomly initialized weights
    (no checkpoint or pretrained backbone is loaded), on the CPU.

    The OKS loss weight is set to 1 (the paper's lambda_OKS after the
    switch), whatever the config's schedule starts with.

    Args:
        cfg (Config): The config.

    Returns:
        nn.Module: The ``TopdownPoseEstimator``.

    Raises:
        ValueError: The model has no OKS-net head (the message names the
            registered ones).
    """
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    model_cfg = copy.deepcopy(cfg.model)
    if 'init_cfg' in model_cfg.backbone:
        model_cfg.backbone.init_cfg = None
    model = MODELS.build(model_cfg)
    # the cost of the branch is measured with it on (lambda_OKS = 1)
    head = oksnet_head(model, needed_by='the cost benchmark')
    head.loss_oks.loss_weight = 1.0
    return model


def benchmark_architecture(
    cfg: Config,
    config_files: Sequence[str],
    inference_kwargs: Optional[Dict[str, Any]] = dict(),
    train_kwargs: Optional[Dict[str, Any]] = dict()
) -> Dict[str, Any]:
    """Every cost measure of one network (one row of the benchmark).

    Args:
        cfg (Config): A config of the network, its train data readable (see
            :func:`point_train_data_at`).
        config_files (Sequence[str]): All config files of this network.
        inference_kwargs (dict, optional): Arguments of
            :func:`~.cost_timing.inference_latency`; ``None`` skips it.
            Defaults to ``dict()``.
        train_kwargs (dict, optional): Arguments of
            :func:`~.cost_timing.train_step_time`; ``None`` skips it.
            Defaults to ``dict()``.

    Returns:
        dict: ``model``, ``configs`` (file names), the entries of
        :func:`model_complexity`, ``inference`` and ``train_step`` (``None``
        when skipped).
    """
    # the same random weights in every run of the benchmark
    torch.manual_seed(0)
    model = build_cost_model(cfg)
    row = dict(
        model=describe_model(model),
        configs=[osp.basename(f) for f in config_files],
        **model_complexity(model))
    row['inference'] = (None if inference_kwargs is None else
                        inference_latency(model, **inference_kwargs))
    row['train_step'] = (None if train_kwargs is None else train_step_time(
        cfg, model, **train_kwargs))
    return row


def find_config_files(configs: Optional[Sequence[str]] = None,
                      config_dir: str = CONFIG_DIR) -> List[str]:
    """The config files to benchmark.

    Args:
        configs (Sequence[str], optional): Config paths, or file names in
            ``config_dir``. ``None``: every OKS-net config (``oksnet_*``)
            in ``config_dir`` and in ``config_dir/synthetic`` (not the
            model zoo's base config there). Defaults to ``None``.
        config_dir (str): The configs folder. Defaults to ``'configs'``
            (run from the repository root).

    Returns:
        list[str]: The config paths.

    Raises:
        FileNotFoundError: If a config is not found, or ``config_dir`` has
            none.
    """
    if configs is None:
        paths = (
            sorted(glob.glob(osp.join(config_dir, 'oksnet_*.py'))) +
            sorted(glob.glob(osp.join(config_dir, 'synthetic',
                                      'oksnet_*.py'))))
        if not paths:
            raise FileNotFoundError(
                f'no config files in {config_dir}/ (run from the '
                'repository root, or name the configs)')
        return paths
    paths = []
    for config in configs:
        path = config if osp.isfile(config) else osp.join(config_dir, config)
        if not osp.isfile(path):
            raise FileNotFoundError(f'no config file {config} (a path, or a '
                                    f'file name in {config_dir}/)')
        paths.append(path)
    return paths


def _check_schedule(name: str, schedule: Dict[str, Any]) -> None:
    repeats = schedule.get('repeats')
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f'{name}: repeats must be an int >= 1, got '
                         f'{repeats!r}')
    if not 1 <= schedule.get('min_repeats', 1) <= repeats:
        raise ValueError(f'{name}: need 1 <= min_repeats <= repeats, got '
                         f'min_repeats={schedule["min_repeats"]}, '
                         f'repeats={repeats}')
    if schedule.get('batch_size', 1) < 1:
        raise ValueError(f'{name}: batch_size must be >= 1, got '
                         f'{schedule["batch_size"]}')


def run_cost_benchmark(
    config_files: Sequence[str],
    out_dir: str,
    data_root: str = SAMPLE_DATA_ROOT,
    ann_file: str = SAMPLE_ANN_FILE,
    img_prefix: str = SAMPLE_IMG_PREFIX,
    inference_schedule: Optional[Dict[str, Any]] = None,
    train_schedule: Optional[Dict[str, Any]] = None
) -> Tuple[List[Dict[str, Any]], Dict[str, Any], str, str]:
    """Benchmark every network of ``config_files``: one row each, written
    to ``out_dir/cost.md`` and ``out_dir/cost.json``.

    Args:
        config_files (Sequence[str]): The config files (see
            :func:`find_config_files`); those building the same network
            share a row.
        out_dir (str): Where ``cost.md`` and ``cost.json`` go; checked
            before any measuring.
        data_root (str): A COCO-format tree whose images feed the training
            steps. Defaults to the sample images in ``tests/data/coco``.
        ann_file (str): Its annotation file, relative to ``data_root``.
        img_prefix (str): Its image folder, relative to ``data_root``.
        inference_schedule (dict, optional): ``batch_size`` and the
            arguments of :func:`~.timing.interleaved_timing` (``repeats``,
            ``max_seconds``, ``min_repeats``, ``clock``) of the inference
            timing. ``None`` with ``train_schedule`` ``None``: parameters
            and FLOPs only. Defaults to ``None``.
        train_schedule (dict, optional): The same for the training-step
            timing. Defaults to ``None``.

    Returns:
        tuple: The rows (sorted by :func:`~.cost_report.row_sort_key`),
        the run's settings, and the paths of ``cost.md`` and ``cost.json``.

    Raises:
        ValueError: If ``out_dir`` cannot be a folder, or a schedule has
            no timed run.
    """
    # before the minutes of measuring
    check_output_dir(out_dir, 'out_dir')
    for name, schedule in (('inference_schedule', inference_schedule),
                           ('train_schedule', train_schedule)):
        if schedule is not None:
            _check_schedule(name, schedule)
    start = time.perf_counter()
    load_before = os.getloadavg()
    groups = group_configs_by_architecture(config_files)
    print_log(
        f'[cost] {sum(len(files) for _, files in groups)} configs, '
        f'{len(groups)} networks',
        logger='current')
    rows = []
    for cfg, files in groups:
        cfg = point_train_data_at(cfg, data_root, ann_file, img_prefix)
        row = benchmark_architecture(cfg, files, inference_schedule,
                                     train_schedule)
        rows.append(row)
        message = (f'[cost] {row["model"]} {row["input_size"]}: base '
                   f'{row["base_flops"] / 1e9:.2f} GFLOPs, OKS-net '
                   f'{row["branch_flops"] / 1e9:.3f} GFLOPs')
        for name in ('inference', 'train_step'):
            if row[name] is not None:
                message += (f', {name} x{row[name]["ratio"]:.3f} '
                            f'({row[name]["repeats"]} pairs)')
        print_log(message, logger='current')
    rows.sort(key=row_sort_key)

    settings = dict(
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        cpus=os.cpu_count(),
        cpu=cpu_name())
    # the keys of the earlier runs' records
    if inference_schedule is not None:
        settings.update(
            clock=inference_schedule.get('clock', 'cpu'),
            inference_batch=inference_schedule.get('batch_size', 1),
            repeats=inference_schedule['repeats'],
            max_seconds=inference_schedule.get('max_seconds'))
    if train_schedule is not None:
        settings.update(
            clock=train_schedule.get('clock', 'cpu'),
            train_batch=train_schedule.get('batch_size', 2),
            train_repeats=train_schedule['repeats'],
            train_max_seconds=train_schedule.get('max_seconds'))
    if inference_schedule is not None or train_schedule is not None:
        settings.update(
            load_avg_1min_before=round(load_before[0], 2),
            load_avg_1min_after=round(os.getloadavg()[0], 2),
            wall_s=round(time.perf_counter() - start))
    markdown_path, json_path = save_results(rows, settings, out_dir)
    return rows, settings, markdown_path, json_path
