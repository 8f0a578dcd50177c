# Copyright (c) oksnet-mmpose contributors.
"""Seed-noise benchmark of the main job: repeat it over several seeds (of
the synthetic data and of the training) and print mean +- std of every
number, so that a gain can be judged against the noise.

Example::

    python tools/benchmark_seeds.py --seeds 0 1 2

Each seed runs in work_dirs/synthetic_seeds/seed_N with its data in
data/synthetic_coco_seed_N (reused when present; with ``--profile P`` in
work_dirs/synthetic_seeds_P and data/synthetic_coco_P_seed_N). Runs already
finished are reused, so an interrupted benchmark continues where it
stopped.
"""
import argparse
import os.path as osp
import sys

import numpy as np

from oksnet_mmpose.analysis.keypoint_eval import AP_NAMES
from oksnet_mmpose.synthetic import PROFILES
from oksnet_mmpose.utils import check_output_file, write_text_atomic
# the main job's tool, next to this one (the script's directory is on
# sys.path when it runs)
from synthetic_benchmark import MainJobError, run_main_job  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--work-dir', default=None)
    parser.add_argument('--data-dir', default=None,
                        help='prefix of the per-seed data directories')
    parser.add_argument('--profile',
                        default=None,
                        choices=sorted(PROFILES),
                        help='synthetic data profile (default: the main '
                        "job's)")
    parser.add_argument('--out',
                        default=None,
                        help='also write the table (Markdown) here')
    return parser.parse_args(argv)


def _stat(values):
    values = np.asarray([v for v in values if v is not None], dtype=float)
    if len(values) == 0:
        return 'n/a'
    std = values.std(ddof=1) if len(values) > 1 else 0.
    return f'{values.mean():.3f} ± {std:.3f}'


def _gain(values, name):
    return [
        v - h for v, h in zip(values[name], values['heatmap'])
        if v is not None and h is not None
    ]


def table(runs):
    """Mean +- std (sample std over seeds) of every reported number."""
    rows = [
        '| number | heatmap-mean | OKS-net | RescoreNet | GT OKS | '
        'OKS-net - heatmap | RescoreNet - heatmap | OKS-net - '
        'RescoreNet |', '|---|---|---|---|---|---|---|---|'
    ]
    names = ('heatmap', 'oksnet', 'rescorenet', 'gt_oks')
    for key in ('pearson', 'spearman', 'ece') + AP_NAMES:
        values = {
            name: [r['summary'][name][key] for r in runs]
            for name in names
        }
        gt = _stat(values['gt_oks']) if key in AP_NAMES else '-'
        peer_gain = [
            o - p for o, p in zip(values['oksnet'], values['rescorenet'])
            if o is not None and p is not None
        ]
        rows.append(f'| {key} (GT boxes) | {_stat(values["heatmap"])} | '
                    f'{_stat(values["oksnet"])} | '
                    f'{_stat(values["rescorenet"])} | {gt} | '
                    f'{_stat(_gain(values, "oksnet"))} | '
                    f'{_stat(_gain(values, "rescorenet"))} | '
                    f'{_stat(peer_gain)} |')
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
            for name in names[:-1]
        }
        peer_gain = [
            o - p for o, p in zip(values['oksnet'], values['rescorenet'])
        ]
        rows.append(f'| {key} (detector boxes) | '
                    f'{_stat(values["heatmap"])} | '
                    f'{_stat(values["oksnet"])} | '
                    f'{_stat(values["rescorenet"])} | - | '
                    f'{_stat(_gain(values, "oksnet"))} | '
                    f'{_stat(_gain(values, "rescorenet"))} | '
                    f'{_stat(peer_gain)} |')
    return '\n'.join(rows)


def main(argv=None):
    args = parse_args(argv)
    if args.out:
        try:  # before the hours of training, not after
            check_output_file(args.out, '--out')
        except ValueError as err:
            print(f'[seeds] {err}', file=sys.stderr)
            return 1
    suffix = '' if args.profile is None else f'_{args.profile}'
    work_dir = args.work_dir or f'work_dirs/synthetic_seeds{suffix}'
    data_dir = args.data_dir or f'data/synthetic_coco{suffix}_seed'
    runs = []
    for seed in args.seeds:
        print(f'[seeds] seed {seed} ...', flush=True)
        try:
            kwargs = {} if args.profile is None else dict(profile=args.profile)
            runs.append(
                run_main_job(osp.join(work_dir, f'seed_{seed}'),
                             f'{data_dir}_{seed}',
                             seed=seed,
                             **kwargs))
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
