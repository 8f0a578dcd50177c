# Copyright (c) oksnet-mmpose contributors.
"""Add OKS-net to an MMPose top-down config: write a short config that
inherits SRC_CONFIG and changes only what OKS-net needs (head type, the pack
transform of every train pipeline, the hooks appended to the base's, the
evaluator, the keypoint sigmas of the config's own dataset).

Examples:
    python tools/add_oksnet.py \\
        mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w32_udp-8xb64-210e_coco-256x192.py \\
        --out configs/my_oksnet_hrnet-w32_udp.py
    python tools/add_oksnet.py my_rtmpose.py --out my_rtmpose_oksnet_ft.py \\
        --schedule finetune --load-from work_dirs/my_rtmpose/best.pth

Exit status: 0 written; 1 the config cannot be converted (one line on
stderr naming the config key; nothing is written); 2 bad arguments.
"""
import argparse
import shlex
import sys

from oksnet_mmpose.apis.config_sections import DEFAULT_VARIANT, VARIANTS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n\n'.join(__doc__.split('\n\n')[1:]))
    parser.add_argument(
        'src', metavar='SRC_CONFIG',
        help='a top-down config file, or an mmpose::... config name')
    parser.add_argument('--out', required=True, help='the config to write')
    parser.add_argument(
        '--schedule', default='scratch',
        choices=['scratch', 'finetune', 'quality-only'],
        help="scratch: the base's schedule, lambda_OKS 0 -> 1 at "
        '--switch-epoch; finetune: 50 epochs from --load-from, LR 1e-4, '
        'lambda_OKS 1 (paper Tab. XI, 3); quality-only: finetune training '
        'only the OKS-net branch (default: scratch)')
    parser.add_argument('--load-from', metavar='CKPT',
                        help='checkpoint for finetune / quality-only')
    parser.add_argument(
        '--switch-epoch', type=int, metavar='N',
        help='scratch: first epoch with lambda_OKS = 1 (default: 80%% of '
        'the epochs, as the paper\'s 200 of 250)')
    parser.add_argument('--max-epochs', type=int, metavar='N',
                        help='scratch: train N epochs instead of the base\'s')
    parser.add_argument('--lr-milestones', type=int, nargs='+',
                        metavar='EPOCH',
                        help="scratch: milestones of the base's MultiStepLR")
    parser.add_argument(
        '--variant', default=None, choices=list(VARIANTS),
        help="the branch: paper (OKS-net as published), keypoint (also "
        'reads the keypoint statistics and the pooled pose feature, '
        'predicts per-keypoint OKS terms) or pooled (keypoint without the '
        "paper's attention and convs: the cheapest); see docs/heads.md "
        f'(default: {DEFAULT_VARIANT})')
    parser.add_argument(
        '--test-dev', action='store_true',
        help='test on COCO test-dev2017 (format-only, for the server)')
    return parser.parse_args(argv)


def conversion_options(args) -> dict:
    """The keyword arguments of ``convert_config`` / ``add_oksnet``."""
    return dict(
        schedule=args.schedule,
        load_from=args.load_from,
        switch_epoch=args.switch_epoch,
        max_epochs=args.max_epochs,
        lr_milestones=args.lr_milestones,
        test_dev=args.test_dev,
        **({} if args.variant is None else dict(variant=args.variant)))


def main(argv=None) -> int:
    args = parse_args(argv)
    from oksnet_mmpose.apis.config_conversion import (ConfigConversionError,
                                                      add_oksnet)
    command = 'python tools/add_oksnet.py ' + shlex.join(
        sys.argv[1:] if argv is None else argv)
    try:
        add_oksnet(
            args.src, args.out, command=command, **conversion_options(args))
    except ConfigConversionError as e:
        print(f'add_oksnet: error: {e}', file=sys.stderr)
        return 1
    print(args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
