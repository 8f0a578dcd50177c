# Copyright (c) oksnet-mmpose contributors.
"""Cost benchmark of OKS-net: for each network of the shipped configs, the
parameters and FLOPs of the base model and of the ``oks_net`` branch, CPU
inference latency without vs. with the branch, and training-step time
without vs. with the OKS target and loss (paper Sec. V-E).

Example::

    python tools/benchmark_cost.py                      # every config
    python tools/benchmark_cost.py --configs configs/oksnet_hrnet.py
    python tools/benchmark_cost.py --no-timing          # params/FLOPs only

Configs that build the same network (from scratch, fine-tune, test-dev,
quality-only) share one row. Timings are medians of A/B runs interleaved in
one process, by default the process CPU time of single-threaded runs (ratios
are what to read: a machine shared with other jobs slows both variants
alike). Writes ``cost.md`` and ``cost.json`` to ``--out-dir``
and prints the table.

The counting is the package's (``oksnet_mmpose.analysis.complexity``); the
timing harness and the report are the modules ``benchmark_cost_timing.py``
and ``benchmark_cost_report.py`` beside this tool.
"""
import argparse
import copy
import glob
import json
import os
import os.path as osp
import platform
import sys
import time
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS
from torch import nn

from oksnet_mmpose.analysis.complexity import model_complexity
from oksnet_mmpose.utils import check_output_dir

# a tool finds the checkout it lives in; its helper modules sit beside it
# (tools/ is not a package: put it on the path when imported by the tests)
TOOLS_DIR = osp.dirname(osp.abspath(__file__))
REPO_ROOT = osp.dirname(TOOLS_DIR)
if TOOLS_DIR not in sys.path:
    sys.path.insert(0, TOOLS_DIR)
from benchmark_cost_report import (describe_model, format_markdown,  # noqa
                                   row_sort_key, save_results)
from benchmark_cost_timing import inference_latency, train_step_time  # noqa

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
        TypeError: If the head has no ``oks_net`` branch.
    """
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    model_cfg = copy.deepcopy(cfg.model)
    if 'init_cfg' in model_cfg.backbone:
        model_cfg.backbone.init_cfg = None
    model = MODELS.build(model_cfg)
    if not hasattr(model.head, 'oks_net'):
        raise TypeError(f'the head {type(model.head).__name__} of the config '
                        'has no `oks_net` branch (not an OKS-net config?)')
    model.head.loss_oks.loss_weight = 1.0
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
            :func:`inference_latency`; ``None`` skips it. Defaults to
            ``dict()``.
        train_kwargs (dict, optional): Arguments of :func:`train_step_time`;
            ``None`` skips it. Defaults to ``dict()``.

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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument(
        '--configs',
        nargs='+',
        default=None,
        help='config files (paths, or names in configs/); default: every '
        'config in configs/ plus configs/synthetic/')
    parser.add_argument(
        '--data-root',
        default=osp.join(REPO_ROOT, 'tests', 'data', 'coco'),
        help='COCO-format tree whose images feed the training steps')
    parser.add_argument(
        '--ann-file',
        default='annotations/person_keypoints_val2017_sample.json',
        help='annotation file, relative to --data-root')
    parser.add_argument(
        '--img-prefix',
        default='val2017/',
        help='image folder, relative to --data-root')
    parser.add_argument(
        '--batch-size',
        type=int,
        default=1,
        help='images per inference pass (1: the latency of one person)')
    parser.add_argument(
        '--repeats',
        type=int,
        default=20,
        help='timed inference passes per variant, at most')
    parser.add_argument(
        '--max-seconds',
        type=float,
        default=10.,
        help='no new inference pair after this many seconds (at least 2 '
        'pairs are timed)')
    parser.add_argument(
        '--train-batch-size',
        type=int,
        default=2,
        help='samples per training step')
    parser.add_argument(
        '--train-repeats',
        type=int,
        default=10,
        help='timed training steps per variant, at most')
    parser.add_argument(
        '--train-max-seconds',
        type=float,
        default=30.,
        help='no new training pair after this many seconds (at least 1 '
        'pair is timed)')
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch intra-op threads (torch.set_num_threads); 1 keeps the '
        'CPU time of a run independent of other jobs on the machine')
    parser.add_argument(
        '--clock',
        choices=('cpu', 'wall'),
        default='cpu',
        help="a run's time: 'cpu' = CPU time of this process (robust to "
        "other jobs on a shared machine), 'wall' = elapsed time")
    parser.add_argument(
        '--no-timing',
        action='store_true',
        help='only count parameters and FLOPs')
    parser.add_argument(
        '--out-dir',
        default='work_dirs/benchmark_cost',
        help='where cost.md and cost.json go')
    return parser.parse_args(argv)


def resolve_configs(configs):
    """Config paths from the arguments (a path, or a name in configs/)."""
    if configs is None:
        return (sorted(glob.glob(osp.join(REPO_ROOT, 'configs', '*.py'))) +
                sorted(
                    glob.glob(
                        osp.join(REPO_ROOT, 'configs', 'synthetic', '*.py'))))
    paths = []
    for config in configs:
        path = config if osp.isfile(config) else osp.join(
            REPO_ROOT, 'configs', config)
        if not osp.isfile(path):
            sys.exit(f'benchmark_cost: no config file {config}')
        paths.append(path)
    return paths


def cpu_name():
    """The CPU model (from /proc/cpuinfo on Linux), for the record."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv=None):
    args = parse_args(argv)
    try:  # before the minutes of measuring, not after
        check_output_dir(args.out_dir, '--out-dir')
    except ValueError as err:
        sys.exit(f'benchmark_cost: {err}')
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    load_before = os.getloadavg()
    groups = group_configs_by_architecture(resolve_configs(args.configs))
    print_log(
        f'[cost] {sum(len(files) for _, files in groups)} configs, '
        f'{len(groups)} networks',
        logger='current')

    inference_kwargs = None if args.no_timing else dict(
        batch_size=args.batch_size,
        repeats=args.repeats,
        max_seconds=args.max_seconds,
        min_repeats=min(2, args.repeats),
        clock=args.clock)
    train_kwargs = None if args.no_timing else dict(
        batch_size=args.train_batch_size,
        repeats=args.train_repeats,
        max_seconds=args.train_max_seconds,
        min_repeats=1,
        clock=args.clock)
    rows = []
    for cfg, files in groups:
        cfg = point_train_data_at(cfg, args.data_root, args.ann_file,
                                  args.img_prefix)
        row = benchmark_architecture(cfg, files, inference_kwargs,
                                     train_kwargs)
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
    if not args.no_timing:
        settings.update(
            clock=args.clock,
            inference_batch=args.batch_size,
            repeats=args.repeats,
            max_seconds=args.max_seconds,
            train_batch=args.train_batch_size,
            train_repeats=args.train_repeats,
            train_max_seconds=args.train_max_seconds,
            load_avg_1min_before=round(load_before[0], 2),
            load_avg_1min_after=round(os.getloadavg()[0], 2),
            wall_s=round(time.perf_counter() - start))
    markdown_path, json_path = save_results(rows, settings, args.out_dir)
    print(format_markdown(rows, settings))
    print(f'written: {markdown_path}, {json_path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
