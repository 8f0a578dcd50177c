# Copyright (c) oksnet-mmpose contributors.
"""Top-down pose estimation with each pose's predicted OKS: a thin wrapper
over :func:`oksnet_mmpose.apis.infer_files` (which runs
:class:`oksnet_mmpose.apis.OKSNetInferencer`; its docstring gives the
JSON format).

Examples::

    # person boxes from an MMDetection detector
    python tools/demo.py photos/ configs/oksnet_hrnet.py epoch_250.pth \
        --det-config rtmdet_m.py --det-checkpoint rtmdet_m.pth \
        --out-dir demo_out --quality-thr 0.5
    # person boxes from a COCO detection results JSON
    python tools/demo.py data/coco/val2017 configs/oksnet_hrnet.py \
        epoch_250.pth --boxes person_detection_results.json --out-dir out
    # the whole image (or video frame) as the person box
    python tools/demo.py clip.mp4 configs/oksnet_hrnet.py epoch_250.pth \
        --out-dir out

Writes one JSON per image (per video: one JSON with an entry per frame)
and the drawn images or video to ``--out-dir``.

Exit status: 0 done; 1 an error (the message names the file and what is
wrong; nothing is written for it); 3 done, but the box source gave no person
box for some images or frames (listed, and warned about).
"""
import argparse
import sys
from typing import List, Optional

import torch

from oksnet_mmpose.apis import infer_files

EXIT_NO_PERSON = 3


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Run an OKS-net top-down model on images, a folder or '
        'a video: draws each pose with its predicted OKS and writes one '
        'JSON per image (per video: one JSON with an entry per frame).',
        epilog='Exit status: 0 done, 1 error, 3 done but some images or '
        'frames had no person box (their JSON says "status": '
        '"no_person_detected").')
    parser.add_argument('input',
                        help='an image, a folder of images, a video file '
                        'or webcam[:ID]')
    parser.add_argument('pose_config', help='OKS-net config file')
    parser.add_argument('pose_checkpoint', help='OKS-net checkpoint')
    boxes = parser.add_mutually_exclusive_group()
    boxes.add_argument(
        '--det-config',
        help='MMDetection config for person boxes (with --det-checkpoint)')
    parser.add_argument('--det-checkpoint', help='its checkpoint')
    boxes.add_argument(
        '--boxes',
        help='person boxes JSON, COCO detection results format: '
        '[{"image_id" or "file_name", "bbox": [x, y, w, h], "score", '
        '"category_id"}, ...] (images only); without --det-config and '
        '--boxes the whole image is the person box')
    parser.add_argument(
        '--boxes-ann',
        help='COCO annotation file mapping the image_id of --boxes to file '
        'names (default: COCO file naming, 000000000785.jpg is 785)')
    parser.add_argument('--out-dir',
                        required=True,
                        help='output folder (created)')
    parser.add_argument(
        '--quality-thr',
        type=float,
        default=None,
        help='drop the poses whose predicted OKS is below it, in [0, 1] '
        '(default: keep all)')
    parser.add_argument(
        '--bbox-thr',
        type=float,
        default=0.3,
        help='keep the person boxes scoring above it (detector and '
        '--boxes; default: %(default)s)')
    parser.add_argument(
        '--nms-thr',
        type=float,
        default=0.3,
        help='IoU threshold of the person box NMS (default: %(default)s)')
    parser.add_argument(
        '--det-cat-id',
        type=int,
        default=0,
        help="the detector's person class index (default: %(default)s, "
        'COCO-trained detectors)')
    parser.add_argument('--kpt-thr',
                        type=float,
                        default=0.3,
                        help='keypoints scoring below it are not drawn '
                        '(default: %(default)s)')
    parser.add_argument(
        '--device',
        default='cuda:0' if torch.cuda.is_available() else 'cpu',
        help='device (default: %(default)s)')
    parser.add_argument('--no-draw',
                        action='store_true',
                        help='write the JSON only, no drawn images or video')
    args = parser.parse_args(argv)
    if (args.det_config is None) != (args.det_checkpoint is None):
        parser.error('--det-config and --det-checkpoint go together')
    if args.boxes_ann is not None and args.boxes is None:
        parser.error('--boxes-ann needs --boxes')
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        result = infer_files(args.input,
                             args.pose_config,
                             args.pose_checkpoint,
                             args.out_dir,
                             det_config=args.det_config,
                             det_checkpoint=args.det_checkpoint,
                             det_cat_id=args.det_cat_id,
                             boxes=args.boxes,
                             boxes_ann=args.boxes_ann,
                             bbox_thr=args.bbox_thr,
                             nms_thr=args.nms_thr,
                             quality_thr=args.quality_thr,
                             kpt_thr=args.kpt_thr,
                             device=args.device,
                             draw=not args.no_draw)
    except (OSError, ValueError) as err:
        # the message names the file and what is wrong; a traceback would
        # only bury it
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(result.summary())
    if result.no_person:
        unit = 'frames' if result.kind == 'video' else 'images'
        print(f'no person box in {len(result.no_person)} of '
              f'{len(result.records)} {unit}: ' + ', '.join(result.no_person))
        return EXIT_NO_PERSON
    return 0


if __name__ == '__main__':
    sys.exit(main())
