# Copyright (c) oksnet-mmpose contributors.
"""The offline main job (README command 1): add OKS-net to the model zoo's
base model (``--schedule finetune``, the default) or train it from scratch
(``--schedule scratch``) on synthetic COCO-format people, evaluate with
``mim test`` (GT boxes, detector boxes), train the post-hoc peer and write
the report. Run it from the repository root.

See :mod:`oksnet_mmpose.benchmark.main_job`.
"""
import argparse
import sys

from oksnet_mmpose.apis.config_sections import DEFAULT_VARIANT, VARIANTS
from oksnet_mmpose.benchmark.main_job import (SCHEDULES, MainJobError,
                                              run_main_job)
from oksnet_mmpose.synthetic import DEFAULT_PROFILE, PROFILES


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/synthetic_main_job')
    parser.add_argument('--data-dir',
                        default='data/synthetic_coco',
                        help='where the dataset is generated (reused when '
                        'present with the same settings)')
    parser.add_argument('--schedule',
                        default='finetune',
                        choices=SCHEDULES,
                        help='finetune: OKS-net added to the zoo checkpoint '
                        '(plus a quality-only row); scratch: --config '
                        'trained from scratch (default: %(default)s)')
    parser.add_argument('--config',
                        default=None,
                        help='scratch: the OKS-net config (default: the '
                        '12-epoch synthetic config)')
    parser.add_argument('--profile',
                        default=DEFAULT_PROFILE,
                        choices=sorted(PROFILES),
                        help='synthetic data profile (default: '
                        '%(default)s)')
    parser.add_argument('--seed',
                        type=int,
                        default=0,
                        help='seed of the data (its val split) and of the '
                        'training')
    parser.add_argument('--num-train', type=int, default=2400)
    parser.add_argument('--num-val', type=int, default=400)
    parser.add_argument('--max-epochs', type=int, default=None)
    parser.add_argument('--quality-only-epochs', type=int, default=None)
    parser.add_argument(
        '--variant', default=None, choices=list(VARIANTS),
        help='finetune: the branch tools/add_oksnet.py adds (default: its '
        f'default, {DEFAULT_VARIANT})')
    parser.add_argument('--switch-epoch',
                        type=int,
                        default=None,
                        help='scratch: epoch from which lambda_OKS = 1')
    parser.add_argument('--quick',
                        action='store_true',
                        help='a tiny run (few images, short trainings) that '
                        'checks the whole path (every step, no accuracy)')
    parser.add_argument('--overwrite',
                        action='store_true',
                        help='delete a work dir made with other settings')
    parser.add_argument('--cfg-options',
                        nargs='*',
                        default=[],
                        help='more --cfg-options for mim train/test')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.quick:
        args.num_train, args.num_val = 48, 16
        if args.schedule == 'finetune':
            args.max_epochs = args.quality_only_epochs = 1
        else:
            args.max_epochs, args.switch_epoch = 3, 1
            # a few iterations from scratch: no LR warm-up, and every
            # keypoint counts in the heatmap-mean score (stock threshold:
            # 0.2)
            args.cfg_options += [
                'param_scheduler.0.end=1',
                'val_evaluator.keypoint_score_thr=0.',
                'test_evaluator.keypoint_score_thr=0.'
            ]
        if args.data_dir == 'data/synthetic_coco':
            args.data_dir = 'data/synthetic_coco_quick'
        if args.work_dir == 'work_dirs/synthetic_main_job':
            args.work_dir = 'work_dirs/synthetic_main_job_quick'
    try:
        run_main_job(args.work_dir,
                     args.data_dir,
                     schedule=args.schedule,
                     config=args.config,
                     seed=args.seed,
                     num_train=args.num_train,
                     num_val=args.num_val,
                     profile=args.profile,
                     max_epochs=args.max_epochs,
                     switch_epoch=args.switch_epoch,
                     quality_only_epochs=args.quality_only_epochs,
                     **({} if args.variant is None else dict(
                         variant=args.variant)),
                     extra_options=args.cfg_options,
                     overwrite=args.overwrite)
    except MainJobError as err:
        print(f'[main job] FAILED: {err}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
