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

NAMES = ('heatmap', 'oksnet', 'rescorenet', 'gt_oks')


def _stat(values) -> str:
    values = np.asarray([v for v in values if v is not None], dtype=float)
    if len(values) == 0:
        return 'n/a'
    std = values.std(ddof=1) if len(values) > 1 else 0.
    return f'{values.mean():.3f} ± {std:.3f}'


def _diff(a: list, b: list) -> list:
    return [x - y for x, y in zip(a, b) if x is not None and y is not None]


def _row(label: str, values: dict, gt: str = '-') -> str:
    return (f'| {label} | {_stat(values["heatmap"])} | '
            f'{_stat(values["oksnet"])} | {_stat(values["rescorenet"])} | '
            f'{gt} | {_stat(_diff(values["oksnet"], values["heatmap"]))} | '
            f'{_stat(_diff(values["rescorenet"], values["heatmap"]))} | '
            f'{_stat(_diff(values["oksnet"], values["rescorenet"]))} |')


def seeds_table(runs: Sequence[dict]) -> str:
    """Mean +- std (sample std over seeds) of every reported number of
    :func:`run_main_job` results, one Markdown table."""
    rows = [
        '| number | heatmap-mean | OKS-net | RescoreNet | GT OKS | '
        'OKS-net - heatmap | RescoreNet - heatmap | OKS-net - '
        'RescoreNet |', '|---|---|---|---|---|---|---|---|'
    ]
    for key in ('pearson', 'spearman', 'ece') + AP_NAMES:
        values = {
            name: [r['summary'][name][key] for r in runs]
            for name in NAMES
        }
        gt = _stat(values['gt_oks']) if key in AP_NAMES else '-'
        rows.append(_row(f'{key} (GT boxes)', values, gt))
    closed = {
        name: _stat([r['summary'][name]['gap_closed'] for r in runs])
        for name in ('oksnet', 'rescorenet')
    }
    rows.append(f'| share of AP gap closed | - | {closed["oksnet"]} | '
                f'{closed["rescorenet"]} | - | - | - | - |')
    for key in ('base_ap', 'median_gt_oks'):
        rows.append(f'| {key} (base model) | '
                    f'{_stat([r["summary"][key] for r in runs])} | - | - | '
                    '- | - | - | - |')
    for key in AP_NAMES:
        values = {
            name: [r['detector_boxes'][name][key] for r in runs]
            for name in NAMES[:-1]
        }
        rows.append(_row(f'{key} (detector boxes)', values))
    quality_only = [r['summary'].get('quality_only') for r in runs]
    if all(quality_only):
        for key in ('ap', 'pearson', 'gap_closed'):
            heatmap = [q['heatmap'][key] for q in quality_only]
            oksnet = [q['oksnet'][key] for q in quality_only]
            rows.append(f'| quality-only {key} (GT boxes) | {_stat(heatmap)} '
                        f'| {_stat(oksnet)} | - | - | '
                        f'{_stat(_diff(oksnet, heatmap))} | - | - |')
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
