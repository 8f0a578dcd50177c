# Copyright (c) oksnet-mmpose contributors.
"""How long does tools/analyze_quality.py take on N poses? (A benchmark
script, not a test.)

Builds a COCO annotation file by repeating the images of --ann-file
(default: the sample val2017 annotations in tests/data/coco, run from the
repository root) and a results file with N poses (noisy copies of the GT
instances, several per instance, random scores), then times
``analyze_quality`` on them, writing the full output. The machinery is
:mod:`oksnet_mmpose.benchmark.analysis_timing`.
"""
import argparse
import sys

from oksnet_mmpose.benchmark.analysis_timing import (SAMPLE_ANN_FILE,
                                                     time_analyze_quality)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument(
        '--ann-file',
        default=SAMPLE_ANN_FILE,
        help='COCO keypoint annotations whose images are repeated')
    parser.add_argument(
        '--num-poses', type=int, default=10000, help='poses analysed')
    parser.add_argument(
        '--poses-per-gt',
        type=int,
        default=2,
        help='predictions per labelled GT instance')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        result = time_analyze_quality(args.ann_file, args.num_poses,
                                      args.poses_per_gt)
    except (OSError, ValueError) as err:
        sys.exit(f'benchmark_analyze_quality: {err}')
    print(f'{result["num_poses"]} poses on {result["num_images"]} images '
          f'({args.poses_per_gt} per GT instance): analyze_quality with all '
          f'outputs in {result["seconds"]:.1f} s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
