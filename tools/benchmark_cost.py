# Copyright (c) oksnet-mmpose contributors.
"""Cost benchmark of OKS-net: for each network of the shipped configs, the
parameters and FLOPs of the base model and of the ``oks_net`` branch, CPU
inference latency without vs. with the branch, and training-step time
without vs. with the OKS target and loss (paper Sec. V-E).

Example (from the repository root)::

    python tools/benchmark_cost.py                      # every config
    python tools/benchmark_cost.py --configs configs/oksnet_hrnet.py
    python tools/benchmark_cost.py --no-timing          # params/FLOPs only

Configs that build the same network share one row. Timings are medians of
A/B runs interleaved in one process, by default the process CPU time of
single-threaded runs (ratios are what to read: a machine shared with other
jobs slows both variants alike). Writes ``cost.md`` and ``cost.json`` to
``--out-dir`` and prints the table. The machinery is
:mod:`oksnet_mmpose.benchmark.cost`.
"""
import argparse
import sys

import torch

from oksnet_mmpose.benchmark.cost import (SAMPLE_ANN_FILE, SAMPLE_DATA_ROOT,
                                          SAMPLE_IMG_PREFIX,
                                          find_config_files,
                                          run_cost_benchmark)
from oksnet_mmpose.benchmark.cost_report import format_markdown


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument(
        '--configs',
        nargs='+',
        default=None,
        help='config files (paths, or names in configs/); default: every '
        'OKS-net config (oksnet_*.py) in configs/ plus configs/synthetic/ '
        '(run from the repository root)')
    parser.add_argument(
        '--data-root',
        default=SAMPLE_DATA_ROOT,
        help='COCO-format tree whose images feed the training steps')
    parser.add_argument(
        '--ann-file',
        default=SAMPLE_ANN_FILE,
        help='annotation file, relative to --data-root')
    parser.add_argument(
        '--img-prefix',
        default=SAMPLE_IMG_PREFIX,
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



def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    inference_schedule = train_schedule = None
    if not args.no_timing:
        inference_schedule = dict(
            batch_size=args.batch_size,
            repeats=args.repeats,
            max_seconds=args.max_seconds,
            min_repeats=min(2, args.repeats),
            clock=args.clock)
        train_schedule = dict(
            batch_size=args.train_batch_size,
            repeats=args.train_repeats,
            max_seconds=args.train_max_seconds,
            min_repeats=1,
            clock=args.clock)
    try:
        rows, settings, markdown_path, json_path = run_cost_benchmark(
            find_config_files(args.configs),
            args.out_dir,
            data_root=args.data_root,
            ann_file=args.ann_file,
            img_prefix=args.img_prefix,
            inference_schedule=inference_schedule,
            train_schedule=train_schedule)
    except (FileNotFoundError, ValueError) as err:
        sys.exit(f'benchmark_cost: {err}')
    print(format_markdown(rows, settings))
    print(f'written: {markdown_path}, {json_path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
