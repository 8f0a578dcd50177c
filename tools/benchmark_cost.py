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
"""
import argparse
import glob
import os
import os.path as osp
import platform
import sys
import time

import torch
from mmengine.logging import print_log

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


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
    # imported after parsing: -h answers without importing MMPose
    from oksnet_mmpose.analysis.cost import (benchmark_architecture,
                                             format_markdown,
                                             group_configs_by_architecture,
                                             point_train_data_at, row_sort_key,
                                             save_results)
    from oksnet_mmpose.utils import check_output_dir
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
