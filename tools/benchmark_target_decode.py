# Copyright (c) oksnet-mmpose contributors.
"""Cost of the online OKS target's decoding per codec (MSRA, DARK, UDP,
SimCC): the batched ``decode_keypoints_batched`` and the codec's own
per-instance ``decode`` on the host, each as a ratio to the batched MSRA
path, timed side by side in one run.

Example::

    python tools/benchmark_target_decode.py              # CPU (+ CUDA fp16)
    python tools/benchmark_target_decode.py --devices cpu --batch-size 32

On CPU a run's time is the process CPU time of single-threaded runs (robust
to other jobs on a shared machine); on CUDA the wall time after a
synchronize, with the outputs in float16 and the decoding under
``torch.autocast``. The machinery is
:mod:`oksnet_mmpose.benchmark.target_decode`.
"""
import argparse
import os

import torch

from oksnet_mmpose.benchmark.target_decode import (benchmark_target_decode,
                                                   format_target_decode_table)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument(
        '--devices',
        nargs='+',
        default=None,
        help='devices to time on; default: cpu, and cuda when available')
    parser.add_argument(
        '--repeats', type=int, default=30, help='timed pairs, at most')
    parser.add_argument(
        '--max-seconds',
        type=float,
        default=20.,
        help='no new pair after this many seconds (at least 5 are timed)')
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch intra-op threads on CPU (torch.set_num_threads)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    devices = args.devices or (['cpu', 'cuda']
                               if torch.cuda.is_available() else ['cpu'])
    for device in devices:
        on_cuda = device.startswith('cuda')
        if on_cuda and not torch.cuda.is_available():
            raise SystemExit('benchmark_target_decode: --devices cuda, but '
                             'torch.cuda.is_available() is False')
        try:
            rows = benchmark_target_decode(
                batch_size=args.batch_size,
                device=device,
                autocast_dtype=torch.float16 if on_cuda else None,
                repeats=args.repeats,
                max_seconds=args.max_seconds,
                clock='wall' if on_cuda else 'cpu')
        except ValueError as err:
            raise SystemExit(f'benchmark_target_decode: {err}')
        name = (torch.cuda.get_device_name(device) + ', fp16 autocast, '
                'wall time' if on_cuda else
                f'CPU, {torch.get_num_threads()} thread(s), process CPU '
                f'time, load average {os.getloadavg()[0]:.1f}')
        pairs = [row[v]['repeats'] for row in rows
                 for v in ('batched', 'per_instance')]
        print(f'\n{device} ({name}), torch {torch.__version__}, '
              f'{min(pairs)}-{max(pairs)} pairs per variant\n')
        print(format_target_decode_table(rows, args.batch_size))


if __name__ == '__main__':
    main()
