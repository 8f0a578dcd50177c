# Copyright (c) oksnet-mmpose contributors.
"""Seed noise of the main job: repeat it over several seeds (of the val data
and of the training; with the ``finetune`` schedule the base model is the
same for every seed) and tabulate mean +- std of every number, so that a
gain can be judged against the noise. ``tools/benchmark_seeds.py`` is its
command line."""
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np

from oksnet_mmpose.analysis.keypoint_eval import AP_NAMES
from .main_job import run_main_job

NAMES = ('heatmap', 'oksnet', 'rescorenet', 'ccnet', 'gt_oks')
# the post-hoc peers, each compared with the heatmap mean and with OKS-net
PEERS = (('rescorenet', 'RescoreNet'), ('ccnet', 'CCNet'))
# the table's difference columns: (minuend, subtrahend)
DIFFS = (('oksnet', 'heatmap'), ) + tuple(
    (peer, 'heatmap') for peer, _ in PEERS) + tuple(
        ('oksnet', peer) for peer, _ in PEERS)
LABELS = dict(heatmap='heatmap', oksnet='OKS-net', **dict(PEERS))


def _stat(values) -> str:
    values = np.asarray([v for v in values if v is not None], dtype=float)
    if len(values) == 0:
        return 'n/a'
    std = values.std(ddof=1) if len(values) > 1 else 0.
    return f'{values.mean():.3f} ± {std:.3f}'


def _diff(a: list, b: list) -> list:
    return [x - y for x, y in zip(a, b) if x is not None and y is not None]


def _value(entry: Optional[dict], key: str):
    """A score's number; None when the run lacks the score (a run made
    before the peer existed)."""
    return None if entry is None else entry.get(key)


def _row(label: str, values: dict, gt: str = '-') -> str:
    cells = [_stat(values[name]) for name in NAMES[:-1]] + [gt] + [
        _stat(_diff(values[a], values[b])) for a, b in DIFFS
    ]
    return f'| {label} | ' + ' | '.join(cells) + ' |'


def _dashes(first: str, *cells: str) -> str:
    """A row with ``first``, then ``cells``, the rest of the columns '-'."""
    columns = len(NAMES) + len(DIFFS)
    cells = list(cells) + ['-'] * (columns - len(cells))
    return f'| {first} | ' + ' | '.join(cells) + ' |'


def seeds_table(runs: Sequence[dict]) -> str:
    """Mean +- std (sample std over seeds) of every reported number of
    :func:`run_main_job` results, one Markdown table."""
    header = ['heatmap-mean', 'OKS-net'] + [label for _, label in PEERS] + [
        'GT OKS'
    ] + [f'{LABELS[a]} - {LABELS[b]}' for a, b in DIFFS]
    rows = [
        '| number | ' + ' | '.join(header) + ' |',
        '|---|' + '---|' * len(header)
    ]
    for key in ('pearson', 'spearman', 'ece') + AP_NAMES:
        values = {
            name: [_value(r['summary'].get(name), key) for r in runs]
            for name in NAMES
        }
        gt = _stat(values['gt_oks']) if key in AP_NAMES else '-'
        rows.append(_row(f'{key} (GT boxes)', values, gt))
    rows.append(
        _dashes(
            'share of AP gap closed', '-', *[
                _stat([
                    _value(r['summary'].get(name), 'gap_closed')
                    for r in runs
                ]) for name in NAMES[1:-1]
            ]))
    for key in ('base_ap', 'median_gt_oks'):
        rows.append(
            _dashes(f'{key} (base model)',
                    _stat([r['summary'][key] for r in runs])))
    for key in AP_NAMES:
        values = {
            name: [_value(r['detector_boxes'].get(name), key) for r in runs]
            for name in NAMES[:-1]
        }
        rows.append(_row(f'{key} (detector boxes)', values))
    quality_only = [r['summary'].get('quality_only') for r in runs]
    if all(quality_only):
        for key in ('ap', 'pearson', 'gap_closed'):
            heatmap = [q['heatmap'][key] for q in quality_only]
            oksnet = [q['oksnet'][key] for q in quality_only]
            rows.append(
                _dashes(f'quality-only {key} (GT boxes)', _stat(heatmap),
                        _stat(oksnet), *['-'] * (len(NAMES) - 2),
                        _stat(_diff(oksnet, heatmap))))
    return '\n'.join(rows)


def run_seeds(seeds: Sequence[int],
              work_dir: str,
              data_dir: str,
              schedule: str = 'finetune',
              profile: Optional[str] = None) -> List[dict]:
    """The main job for each seed, in ``<work_dir>/seed_N`` with its data in
    ``<data_dir>_N`` (finished runs and present data are reused, so an
    interrupted benchmark continues where it stopped)."""
    kwargs = {} if profile is None else dict(profile=profile)
    runs = []
    for seed in seeds:
        print(f'[seeds] seed {seed} ...', flush=True)
        runs.append(
            run_main_job(osp.join(work_dir, f'seed_{seed}'),
                         f'{data_dir}_{seed}',
                         schedule=schedule,
                         seed=seed,
                         **kwargs))
    return runs
