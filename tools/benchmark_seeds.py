# Copyright (c) oksnet-mmpose contributors.
"""Seed-noise benchmark of the main job: repeat it over several seeds (of
the synthetic data and of the training) and print mean +- std of every
number, so that a gain can be judged against the noise.

Example::

    python tools/benchmark_seeds.py --seeds 0 1 2

Each seed runs in work_dirs/synthetic_seeds/seed_N with its data in
data/synthetic_coco_seed_N (reused when present). Runs already finished are
reused, so an interrupted benchmark continues where it stopped.
"""
import argparse
import os.path as osp
import sys

import numpy as np

from oksnet_mmpose.analysis.keypoint_eval import AP_NAMES
from oksnet_mmpose.apis.synthetic_benchmark import MainJobError, run_main_job
from oksnet_mmpose.utils import check_output_file, write_text_atomic


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--work-dir', default='work_dirs/synthetic_seeds')
    parser.add_argument('--data-dir', default='data/synthetic_coco_seed')
    parser.add_argument('--out', default=None,
                        help='also write the table (Markdown) here')
    return parser.parse_args(argv)


def _stat(values):
    values = np.asarray([v for v in values if v is not None], dtype=float)
    if len(values) == 0:
        return 'n/a'
    std = values.std(ddof=1) if len(values) > 1 else 0.
    return f'{values.mean():.3f} ± {std:.3f}'


def table(runs):
    """Mean +- std (sample std over seeds) of every reported number."""
    rows = ['| number | heatmap-mean | OKS-net | GT OKS | OKS-net - heatmap |',
            '|---|---|---|---|---|']
    for key in ('pearson', 'spearman') + AP_NAMES:
        values = {
            name: [r['summary'][name][key] for r in runs]
            for name in ('heatmap', 'oksnet', 'gt_oks')
        }
        gain = [o - h for o, h in zip(values['oksnet'], values['heatmap'])
                if o is not None and h is not None]
        gt = _stat(values['gt_oks']) if key in AP_NAMES else '-'
        rows.append(f'| {key} (GT boxes) | {_stat(values["heatmap"])} | '
                    f'{_stat(values["oksnet"])} | {gt} | {_stat(gain)} |')
    closed = [r['gap_closed'] for r in runs]
    rows.append(f'| share of AP gap closed | - | {_stat(closed)} | - | - |')
    for key in AP_NAMES:
        h = [r['detector_boxes']['heatmap'][key] for r in runs]
        o = [r['detector_boxes']['oksnet'][key] for r in runs]
        rows.append(f'| {key} (detector boxes) | {_stat(h)} | {_stat(o)} | '
                    f'- | {_stat([b - a for a, b in zip(h, o)])} |')
    return '\n'.join(rows)


def main(argv=None):
    args = parse_args(argv)
    if args.out:
        try:  # before the hours of training, not after
            check_output_file(args.out, '--out')
        except ValueError as err:
            print(f'[seeds] {err}', file=sys.stderr)
            return 1
    runs = []
    for seed in args.seeds:
        print(f'[seeds] seed {seed} ...', flush=True)
        try:
            runs.append(
                run_main_job(
                    osp.join(args.work_dir, f'seed_{seed}'),
                    f'{args.data_dir}_{seed}', seed=seed))
        except MainJobError as err:
            print(f'[seeds] FAILED on seed {seed}: {err}', file=sys.stderr)
            return 1
    result = (f'Synthetic benchmark over seeds {args.seeds} '
              f'(mean ± std over {len(runs)} runs; AP as fractions)\n\n' +
              table(runs))
    print(result)
    if args.out:
        write_text_atomic(result + '\n', args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
