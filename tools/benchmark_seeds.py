# Copyright (c) oksnet-mmpose contributors.
"""Seed-noise benchmark of the main job: repeat it over several seeds and
print mean +- std of every number.

Example::

    python tools/benchmark_seeds.py --seeds 0 1 2
    python tools/benchmark_seeds.py --seeds 0 1 2 --schedule scratch

Each seed runs in work_dirs/synthetic_seeds[_scratch][_P]/seed_N with its
data in data/synthetic_coco[_P]_seed_N (reused when present). Runs already
finished are reused, so an interrupted benchmark continues where it
stopped. See :mod:`oksnet_mmpose.benchmark.seeds`.
"""
import argparse
import sys

from oksnet_mmpose.benchmark.main_job import SCHEDULES, MainJobError
from oksnet_mmpose.benchmark.seeds import run_seeds, seeds_table
from oksnet_mmpose.synthetic import PROFILES
from oksnet_mmpose.utils import check_output_file, write_text_atomic


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--schedule', default='finetune', choices=SCHEDULES)
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


def main(argv=None):
    args = parse_args(argv)
    if args.out:
        try:  # before the hours of training, not after
            check_output_file(args.out, '--out')
        except ValueError as err:
            print(f'[seeds] {err}', file=sys.stderr)
            return 1
    profile = '' if args.profile is None else f'_{args.profile}'
    schedule = '' if args.schedule == 'finetune' else f'_{args.schedule}'
    work_dir = args.work_dir or f'work_dirs/synthetic_seeds{schedule}{profile}'
    data_dir = args.data_dir or f'data/synthetic_coco{profile}_seed'
    try:
        runs = run_seeds(args.seeds, work_dir, data_dir, args.schedule,
                         args.profile)
    except MainJobError as err:
        print(f'[seeds] FAILED: {err}', file=sys.stderr)
        return 1
    result = (f'Synthetic benchmark over seeds {args.seeds}, schedule '
              f'{args.schedule} (mean ± std over {len(runs)} runs; AP as '
              'fractions)\n\n' + seeds_table(runs))
    print(result)
    if args.out:
        write_text_atomic(result + '\n', args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
