# Copyright (c) oksnet-mmpose contributors.
"""The report of the cost benchmark (:mod:`.cost`): the rows' names and
order, ``cost.md`` and ``cost.json``."""
import os.path as osp
import re
from typing import Any, Dict, Optional, Sequence, Tuple

from torch import nn

from ..utils import dump_json_atomic, write_text_atomic


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
        rows (Sequence[dict]): From
            :func:`~.cost.benchmark_architecture`.
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
        rows (Sequence[dict]): From
            :func:`~.cost.benchmark_architecture`.
        settings (dict): The run's settings.
        out_dir (str): The output folder (created if missing).

    Returns:
        tuple[str, str]: The Markdown and JSON paths.
    """
    markdown_path = osp.join(out_dir, 'cost.md')
    json_path = osp.join(out_dir, 'cost.json')
    write_text_atomic(format_markdown(rows, settings), markdown_path)
    dump_json_atomic(
        dict(settings=settings, rows=list(rows)), json_path, indent=1)
    return markdown_path, json_path
