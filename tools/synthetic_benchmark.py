# Copyright (c) oksnet-mmpose contributors.
"""The main job on synthetic data: generate -> mim train -> mim test (GT
boxes, detector boxes) -> report. See README "Quick start"."""
import argparse
import sys

from oksnet_mmpose.apis.synthetic_benchmark import (DEFAULT_CONFIG,
                                                    MainJobError, run_main_job)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--work-dir', default='work_dirs/synthetic_main_job')
    parser.add_argument('--data-dir', default='data/synthetic_coco',
                        help='where the dataset is generated (reused when '
                        'present with the same settings)')
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the data and of the training')
    parser.add_argument('--num-train', type=int, default=2400)
    parser.add_argument('--num-val', type=int, default=400)
    parser.add_argument('--max-epochs', type=int, default=None)
    parser.add_argument('--switch-epoch', type=int, default=None,
                        help='epoch from which lambda_OKS = 1')
    parser.add_argument('--quick', action='store_true',
                        help='a tiny run (few images, 3 short epochs) that '
                        'checks the whole path in about a minute')
    parser.add_argument('--overwrite', action='store_true',
                        help='delete a work dir made with other settings')
    parser.add_argument('--cfg-options', nargs='*', default=[],
                        help='more --cfg-options for mim train/test')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.quick:
        args.num_train, args.num_val = 48, 16
        args.max_epochs, args.switch_epoch = 3, 1
        # a few iterations only: no LR warm-up, and every keypoint counts
        # in the heatmap-mean score (stock threshold: 0.2)
        args.cfg_options += [
            'param_scheduler.0.end=1', 'val_evaluator.keypoint_score_thr=0.',
            'test_evaluator.keypoint_score_thr=0.'
        ]
        if args.data_dir == 'data/synthetic_coco':
            args.data_dir = 'data/synthetic_coco_quick'
        if args.work_dir == 'work_dirs/synthetic_main_job':
            args.work_dir = 'work_dirs/synthetic_main_job_quick'
    try:
        run_main_job(
            args.work_dir, args.data_dir, config=args.config, seed=args.seed,
            num_train=args.num_train, num_val=args.num_val,
            max_epochs=args.max_epochs, switch_epoch=args.switch_epoch,
            extra_options=args.cfg_options, overwrite=args.overwrite)
    except MainJobError as err:
        print(f'[main job] FAILED: {err}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
