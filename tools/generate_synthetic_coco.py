# Copyright (c) oksnet-mmpose contributors.
"""Generate the synthetic COCO-format person-keypoint dataset.

Example::

    python tools/generate_synthetic_coco.py --out-dir data/synthetic_coco \
        --num-train 3000 --num-val 500

See :func:`oksnet_mmpose.synthetic.generate_synthetic_coco`.
"""
import argparse
import sys
from typing import List, Optional

from oksnet_mmpose.synthetic import (DEFAULT_PROFILE, PROFILES,
                                     generate_synthetic_coco)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate a deterministic synthetic COCO-format '
        'person-keypoint dataset (images, keypoint annotations and person '
        'detections for the val split)')
    parser.add_argument(
        '--out-dir',
        default='data/synthetic_coco',
        help='dataset root (default: %(default)s)')
    parser.add_argument(
        '--num-train',
        type=int,
        default=3000,
        help='number of training images (default: %(default)s)')
    parser.add_argument(
        '--num-val',
        type=int,
        default=500,
        help='number of validation images (default: %(default)s)')
    parser.add_argument(
        '--seed', type=int, default=0, help='random seed (default: 0)')
    parser.add_argument(
        '--image-size',
        type=int,
        nargs=2,
        default=(256, 256),
        metavar=('W', 'H'),
        help='image width and height (default: 256 256)')
    parser.add_argument(
        '--profile',
        default=DEFAULT_PROFILE,
        choices=sorted(PROFILES),
        help='data profile (default: %(default)s)')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='delete an existing (or partial) dataset in --out-dir first')
    parser.add_argument(
        '--num-workers',
        type=int,
        default=None,
        help='worker processes, 0 to draw in this process; the data does '
        'not depend on it (default: the number of CPUs, at most 8)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    try:
        paths = generate_synthetic_coco(
            args.out_dir,
            args.num_train,
            args.num_val,
            seed=args.seed,
            image_size=tuple(args.image_size),
            overwrite=args.overwrite,
            profile=args.profile,
            num_workers=args.num_workers)
    except (OSError, ValueError) as err:
        # An existing dataset, a bad directory or bad sizes: the message
        # says what to do, a traceback would only bury it.
        sys.exit(f'error: {err}')
    for name, path in paths.items():
        print(f'{name}: {path}')


if __name__ == '__main__':
    main()
