# Copyright (c) oksnet-mmpose contributors.
"""What the OKS-net branch costs: parameters and FLOPs of the base model and
of the branch, CPU inference latency and training-step time with and without
the branch (paper Sec. V-E: the branch adds 2.7M / 4.7M parameters and 0.1 /
0.2 GFLOPs at 256x192 / 384x288).

The logic of ``tools/benchmark_cost.py``. Timings are always taken as ratios
of two variants measured interleaved in the same process on the same inputs,
so a machine shared with other jobs slows both variants alike.
"""
import copy
import json
import os.path as osp
import random
import re
import statistics
import time
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.config import Config, ConfigDict
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.utils import mkdir_or_exist
from mmpose.models.heads import CPMHead, HeatmapHead
from mmpose.registry import DATASETS, MODELS
from torch import Tensor, nn

__all__ = [
    'architecture_key', 'group_configs_by_architecture', 'point_train_data_at',
    'build_cost_model', 'HeatmapForward', 'HeatmapQualityForward',
    'count_flops', 'model_complexity', 'interleaved_timing',
    'make_train_batch', 'train_step', 'inference_latency', 'train_step_time',
    'describe_model', 'benchmark_architecture', 'row_sort_key',
    'format_markdown', 'save_results'
]

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


class HeatmapForward(nn.Module):
    """The base network: backbone, neck and ``head.forward`` (the heatmaps,
    every stage's for a multi-stage head), as a stock heatmap model runs it
    in tensor mode; the ``oks_net`` branch is not called.

    Args:
        model (nn.Module): A ``TopdownPoseEstimator`` with an OKS-net head.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        heatmaps = self.model.head.forward(self.model.extract_feat(inputs))
        # a tuple either way: what jit tracing (the FLOP counter) accepts
        return tuple(heatmaps) if isinstance(heatmaps, list) else (heatmaps, )


class HeatmapQualityForward(nn.Module):
    """The base network plus the ``oks_net`` branch on the pose feature: the
    heatmaps of every stage and the predicted OKS, shape (B, ).

    Args:
        model (nn.Module): A ``TopdownPoseEstimator`` with an OKS-net head.
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        head = self.model.head
        heatmaps, pose_feature = head.forward_heatmaps_and_pose_feature(
            self.model.extract_feat(inputs))
        return (*heatmaps, head.oks_net(pose_feature))


def count_flops(module: nn.Module, inputs: Tuple[Tensor, ...]) -> int:
    """FLOPs of one forward pass, counted by MMEngine's :class:`FlopAnalyzer`
    (the counter behind ``get_model_complexity_info``): one fused
    multiply-add counts as one FLOP; element-wise operations (activations,
    the attention's re-weighting, additions) are not counted.

    Args:
        module (nn.Module): The module, in the mode to analyse.
        inputs (tuple[Tensor]): The positional inputs of its forward.

    Returns:
        int: The FLOP count.
    """
    analyzer = FlopAnalyzer(module, inputs)
    # elementwise ops are knowingly not counted; the branch's modules are
    # not called by the base forward on purpose
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return int(analyzer.total())


def _input_size(model: nn.Module) -> Tuple[int, int]:
    """The model input size (w, h), from the head's codec."""
    return tuple(model.head.decoder.input_size)


def model_complexity(model: nn.Module) -> Dict[str, Any]:
    """Parameters and FLOPs (one image) of the base network and of the
    ``oks_net`` branch alone.

    The branch is analysed on its own, with a pose feature of its input
    shape; the base network is :class:`HeatmapForward`.

    Args:
        model (nn.Module): A ``TopdownPoseEstimator`` with an OKS-net head.

    Returns:
        dict: ``input_size`` (w, h), ``pose_feature_shape`` (C, H, W),
        ``base_params``, ``base_flops``, ``branch_params``, ``branch_flops``
        (counts, not millions).
    """
    training = model.training
    model.eval()
    width, height = _input_size(model)
    oks_net = model.head.oks_net
    feature_width, feature_height = oks_net.feature_size
    pose_feature_shape = (oks_net.in_channels, feature_height, feature_width)
    with torch.no_grad():
        base_flops = count_flops(
            HeatmapForward(model), (torch.zeros(1, 3, height, width), ))
        branch_flops = count_flops(oks_net,
                                   (torch.zeros(1, *pose_feature_shape), ))
    model.train(training)
    # parameter_count: '' is the whole model, every submodule by its name
    params = parameter_count(model)
    return dict(
        input_size=(width, height),
        pose_feature_shape=pose_feature_shape,
        base_params=params[''] - params['head.oks_net'],
        base_flops=base_flops,
        branch_params=params['head.oks_net'],
        branch_flops=branch_flops)


def interleaved_timing(run_a: Callable[[], Any],
                       run_b: Callable[[], Any],
                       repeats: int,
                       warmup: int = 1,
                       max_seconds: Optional[float] = None,
                       min_repeats: int = 1,
                       clock: str = 'cpu') -> Dict[str, Any]:
    """Time two variants interleaved: after ``warmup`` runs of each, pairs
    A B, B A, A B, ... so that slow drifts and other jobs on the machine hit
    both alike, and the order within a pair favours neither.

    Args:
        run_a (Callable): The reference variant.
        run_b (Callable): The variant compared with it.
        repeats (int): Timed runs of each variant (pairs), at most.
        warmup (int): Untimed runs of each variant first (allocator, oneDNN
            kernels, optimizer state). Defaults to 1.
        max_seconds (float, optional): Stop starting new pairs once the
            timed pairs took this long (the heaviest models then get fewer
            pairs, at least ``min_repeats``). ``None``: no limit.
            Defaults to ``None``.
        min_repeats (int): Pairs taken whatever ``max_seconds`` says.
            Defaults to 1.
        clock (str): What a run's time is: ``'cpu'``, the CPU time of this
            process (:func:`time.process_time`, all its threads), or
            ``'wall'``, the elapsed time (:func:`time.perf_counter`). On a
            machine shared with other jobs the CPU time of a single-threaded
            run barely changes with their load, while its wall time grows
            with every time slice the others get. ``max_seconds`` is always
            wall time. Defaults to ``'cpu'``.

    Returns:
        dict: ``clock``, ``seconds_a``/``seconds_b`` (each timed run, by
        ``clock``), ``wall_seconds_a``/``wall_seconds_b`` (the same runs'
        wall time), ``repeats`` (pairs taken), ``median_a``/``median_b``
        (seconds, by ``clock``), ``ratio``: the median of the per-pair
        ratios b/a (a pair's two runs share the machine's state, so its
        ratio is free of slow drifts), ``pair_ratio_quartiles``: their
        25/50/75 % quantiles (the spread shows the noise), and
        ``ratio_of_medians`` = median_b / median_a.
    """
    if not 1 <= min_repeats <= repeats:
        raise ValueError('need 1 <= min_repeats <= repeats, got '
                         f'min_repeats={min_repeats}, repeats={repeats}')
    clocks = dict(cpu=time.process_time, wall=time.perf_counter)
    if clock not in clocks:
        raise ValueError(f"clock must be 'cpu' or 'wall', got {clock!r}")
    for _ in range(warmup):
        run_a()
        run_b()
    seconds = dict(a=[], b=[])
    wall_seconds = dict(a=[], b=[])
    start_all = time.perf_counter()
    for index in range(repeats):
        if (index >= min_repeats and max_seconds is not None
                and time.perf_counter() - start_all >= max_seconds):
            break
        order = (('a', run_a), ('b', run_b))
        if index % 2:
            order = order[::-1]
        for name, run in order:
            start, start_wall = clocks[clock](), time.perf_counter()
            run()
            seconds[name].append(clocks[clock]() - start)
            wall_seconds[name].append(time.perf_counter() - start_wall)
    median_a = statistics.median(seconds['a'])
    median_b = statistics.median(seconds['b'])
    pair_ratios = np.asarray(seconds['b']) / np.asarray(seconds['a'])
    return dict(
        clock=clock,
        seconds_a=seconds['a'],
        seconds_b=seconds['b'],
        wall_seconds_a=wall_seconds['a'],
        wall_seconds_b=wall_seconds['b'],
        repeats=len(seconds['a']),
        median_a=median_a,
        median_b=median_b,
        ratio=float(np.median(pair_ratios)),
        pair_ratio_quartiles=np.quantile(pair_ratios,
                                         [0.25, 0.5, 0.75]).tolist(),
        ratio_of_medians=median_b / median_a)


def inference_latency(model: nn.Module,
                      batch_size: int = 1,
                      repeats: int = 20,
                      max_seconds: Optional[float] = 10.,
                      min_repeats: int = 2,
                      warmup: int = 1,
                      clock: str = 'cpu') -> Dict[str, Any]:
    """CPU latency of one forward pass of the base network
    (:class:`HeatmapForward`) vs. the base network plus the branch
    (:class:`HeatmapQualityForward`), interleaved, without flip test or
    decoding (both would add the same time to both variants, so leaving
    them out makes the measured overhead an upper bound).

    The input is random: the networks have no data-dependent control flow.

    Args:
        model (nn.Module): A ``TopdownPoseEstimator`` with an OKS-net head.
        batch_size (int): Images per forward pass. Defaults to 1.
        repeats, max_seconds, min_repeats, warmup, clock: Passes of each
            variant and their clock, see :func:`interleaved_timing`.
            Default to 20, 10 s, 2, 1 and ``'cpu'``.

    Returns:
        dict: As :func:`interleaved_timing`, A = base, B = base + OKS-net,
        plus ``batch_size``.
    """
    model.eval()
    width, height = _input_size(model)
    inputs = torch.randn(
        batch_size,
        3,
        height,
        width,
        generator=torch.Generator().manual_seed(0))
    base, with_branch = HeatmapForward(model), HeatmapQualityForward(model)
    with torch.no_grad():
        timing = interleaved_timing(
            lambda: base(inputs),
            lambda: with_branch(inputs),
            repeats=repeats,
            warmup=warmup,
            max_seconds=max_seconds,
            min_repeats=min_repeats,
            clock=clock)
    return dict(batch_size=batch_size, **timing)


def make_train_batch(cfg: Config,
                     model: nn.Module,
                     batch_size: int,
                     seed: int = 0) -> Dict[str, Any]:
    """One training batch: samples of the config's train dataset through its
    train pipeline (random augmentation seeded), collated and put through
    the model's data preprocessor.

    Args:
        cfg (Config): The config, its train dataset readable (see
            :func:`point_train_data_at`).
        model (nn.Module): The model (for its data preprocessor).
        batch_size (int): Samples in the batch; the dataset is cycled when
            it has fewer.
        seed (int): Seed of the augmentation. Defaults to 0.

    Returns:
        dict: ``inputs`` (B, 3, H, W) and ``data_samples``, as the model's
        ``loss`` takes them.
    """
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    if len(dataset) == 0:
        raise ValueError('the train dataset of the config is empty')
    samples = [dataset[index % len(dataset)] for index in range(batch_size)]
    return model.data_preprocessor(pseudo_collate(samples), training=True)


def _stock_head_loss(head: nn.Module) -> Callable:
    """The ``loss`` of the stock MMPose head an OKS-net head extends, bound
    to ``head``: the heatmap loss (per stage) and accuracy, with no OKS
    target, branch or OKS loss."""
    # CPMHead first: it is not a HeatmapHead, but check the order anyway
    for stock_class in (CPMHead, HeatmapHead):
        if isinstance(head, stock_class):
            return stock_class.loss.__get__(head)
    raise TypeError(f'{type(head).__name__} extends neither HeatmapHead nor '
                    'CPMHead')


def train_step(model: nn.Module, optim_wrapper: OptimWrapper,
               batch: Dict[str, Any], with_oks_net: bool) -> Tensor:
    """One optimizer step, as ``TopdownPoseEstimator.loss`` and
    ``BaseModel.train_step`` run it after the data preprocessor: forward,
    losses, backward, step, zero grad.

    Args:
        model (nn.Module): A ``TopdownPoseEstimator`` with an OKS-net head.
        optim_wrapper (OptimWrapper): Its optimizer wrapper.
        batch (dict): From :func:`make_train_batch`.
        with_oks_net (bool): ``True``: the OKS-net head's ``loss`` (heatmap
            loss, online OKS target, branch, OKS loss). ``False``: the stock
            head's ``loss`` on the same head (heatmap loss only); the branch
            then gets no gradient, and the optimizer skips its parameters as
            it would for a model without them.

    Returns:
        Tensor: The total loss.
    """
    feats = model.extract_feat(batch['inputs'])
    head_loss = (
        model.head.loss if with_oks_net else _stock_head_loss(model.head))
    losses = head_loss(feats, batch['data_samples'], train_cfg=model.train_cfg)
    loss, _ = model.parse_losses(losses)
    optim_wrapper.update_params(loss)
    return loss.detach()


def train_step_time(cfg: Config,
                    model: nn.Module,
                    batch_size: int = 2,
                    repeats: int = 10,
                    max_seconds: Optional[float] = 30.,
                    min_repeats: int = 1,
                    warmup: int = 1,
                    clock: str = 'cpu') -> Dict[str, Any]:
    """Time of a training step with the stock heatmap loss only vs. with the
    OKS target and loss (lambda_OKS = 1), interleaved, on the same batch of
    real images, with the config's optimizer.

    Data loading and the data preprocessor are left out of both variants
    (they cost the same in both), so the measured overhead is an upper bound
    of a training iteration's.

    Args:
        cfg (Config): The config (train data readable, see
            :func:`point_train_data_at`).
        model (nn.Module): The model built from it.
        batch_size (int): Samples per step. Defaults to 2.
        repeats, max_seconds, min_repeats, warmup, clock: Steps of each
            variant and their clock, see :func:`interleaved_timing`; the
            warm-up steps also create the optimizer state. Default to 10,
            30 s, 1, 1 and ``'cpu'``.

    Returns:
        dict: As :func:`interleaved_timing`, A = heatmap loss only, B = with
        the OKS target and loss, plus ``batch_size``.
    """
    model.train()
    batch = make_train_batch(cfg, model, batch_size)
    optim_wrapper = build_optim_wrapper(model,
                                        copy.deepcopy(cfg.optim_wrapper))
    timing = interleaved_timing(
        lambda: train_step(model, optim_wrapper, batch, with_oks_net=False),
        lambda: train_step(model, optim_wrapper, batch, with_oks_net=True),
        repeats=repeats,
        warmup=warmup,
        max_seconds=max_seconds,
        min_repeats=min_repeats,
        clock=clock)
    return dict(batch_size=batch_size, **timing)


def describe_model(model: nn.Module) -> str:
    """A short name of the network, e.g. ``HRNet-W32``,
    ``SimpleBaseline ResNet-50``, ``Hourglass 2-stack``.

    Args:
        model (nn.Module): A ``TopdownPoseEstimator``.

    Returns:
        str: The name.
    """
    backbone = model.backbone
    name = type(backbone).__name__
    if name == 'HRNet':
        return f'HRNet-W{backbone.extra["stage2"]["num_channels"][0]}'
    if name == 'HourglassNet':
        return f'Hourglass {backbone.num_stacks}-stack'
    if hasattr(backbone, 'depth'):  # ResNet and its variants
        description = f'SimpleBaseline {name[:-3]}Net-{backbone.depth}'
        if getattr(backbone, 'base_channels', 64) != 64:
            description += f' ({backbone.base_channels} base channels)'
        return description
    return name


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
            :func:`inference_latency`; ``None`` skips it.
            Defaults to ``dict()``.
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


def row_sort_key(row: Dict[str, Any]) -> tuple:
    """Sort key of benchmark rows: by model name with numbers compared as
    numbers (ResNet-50 before ResNet-101), then by input size."""
    name_parts = [
        int(part) if part.isdigit() else part
        for part in re.split(r'(\d+)', row['model'])
    ]
    width, height = row['input_size']
    return (name_parts, width * height)


def _overhead(timing: Optional[Dict[str, Any]]) -> str:
    """``+x.x % [q25, q75] (n)`` from a timing dict: the overhead by the
    median pair ratio, its interquartile range and the number of pairs; or
    ``-``."""
    if timing is None:
        return '-'
    q25, _, q75 = (100 * (q - 1) for q in timing['pair_ratio_quartiles'])
    return (f'{100 * (timing["ratio"] - 1):+.1f} % '
            f'[{q25:+.1f}, {q75:+.1f}] ({timing["repeats"]})')


def _milliseconds(timing: Optional[Dict[str, Any]], key: str) -> str:
    """A median time of a timing dict in ms, or ``-``."""
    return '-' if timing is None else f'{1000 * timing[key]:.0f}'


def format_markdown(rows: Sequence[Dict[str, Any]],
                    settings: Dict[str, Any]) -> str:
    """The benchmark as Markdown: the settings, one table row per network,
    and the config files of each row.

    Args:
        rows (Sequence[dict]): From :func:`benchmark_architecture`.
        settings (dict): The run's settings (threads, batch sizes, ...),
            printed above the table.

    Returns:
        str: The Markdown text.
    """
    lines = [
        'Settings: ' + ', '.join(f'{k}={v}' for k, v in settings.items()),
        '',
        '| # | model | input (HxW) | base params (M) | base GFLOPs | '
        'OKS-net params (M) | OKS-net GFLOPs | infer base (ms) | '
        'infer + OKS-net (ms) | infer overhead [IQR] (pairs) | '
        'train step base (ms) | train step + OKS (ms) | '
        'train overhead [IQR] (pairs) |',
        '|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|',
    ]
    for index, row in enumerate(rows, 1):
        width, height = row['input_size']
        inference, train = row['inference'], row['train_step']
        lines.append(f'| {index} | {row["model"]} | {height}x{width} | '
                     f'{row["base_params"] / 1e6:.1f} | '
                     f'{row["base_flops"] / 1e9:.2f} | '
                     f'{row["branch_params"] / 1e6:.2f} | '
                     f'{row["branch_flops"] / 1e9:.3f} | '
                     f'{_milliseconds(inference, "median_a")} | '
                     f'{_milliseconds(inference, "median_b")} | '
                     f'{_overhead(inference)} | '
                     f'{_milliseconds(train, "median_a")} | '
                     f'{_milliseconds(train, "median_b")} | '
                     f'{_overhead(train)} |')
    lines += ['', 'Config files per row:', '']
    for index, row in enumerate(rows, 1):
        lines.append(f'{index}. ' + ', '.join(f'`{c}`'
                                              for c in row['configs']))
    return '\n'.join(lines) + '\n'


def save_results(rows: Sequence[Dict[str, Any]], settings: Dict[str, Any],
                 out_dir: str) -> Tuple[str, str]:
    """Write ``cost.md`` (see :func:`format_markdown`) and ``cost.json``
    (settings and rows, every timed run included) to ``out_dir``.

    Args:
        rows (Sequence[dict]): From :func:`benchmark_architecture`.
        settings (dict): The run's settings.
        out_dir (str): The output folder (created if missing).

    Returns:
        tuple[str, str]: The Markdown and JSON paths.
    """
    mkdir_or_exist(out_dir)
    markdown_path = osp.join(out_dir, 'cost.md')
    json_path = osp.join(out_dir, 'cost.json')
    with open(markdown_path, 'w') as f:
        f.write(format_markdown(rows, settings))
    with open(json_path, 'w') as f:
        json.dump(dict(settings=settings, rows=list(rows)), f, indent=1)
    return markdown_path, json_path
