# Copyright (c) oksnet-mmpose contributors.
"""Top-down pose estimation with each pose's predicted OKS: a thin wrapper
over :class:`oksnet_mmpose.apis.OKSNetInferencer`.

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

Outputs in ``--out-dir`` (each written under a temporary name and renamed
when complete; a video's only once its last frame is done):

- an image input ``NAME.jpg``: ``NAME.json`` and the drawn ``NAME.jpg``;
- a video input ``NAME.avi``: ``NAME.json`` (one file, one entry per frame)
  and the drawn ``NAME.mp4``.

The JSON of an image::

    {"image": "in/000000000785.jpg", "width": 640, "height": 425,
     "box_source": "detector", "quality_thr": 0.5,
     "status": "ok",                   # or "no_person_detected"
     "num_person_boxes": 3,            # boxes given to the pose model
     "num_below_quality_thr": 1,       # of them, poses dropped by quality_thr
     "instances": [{"keypoints": [[x, y], ...], "keypoint_scores": [...],
                    "bbox": [[x1, y1, x2, y2]], "bbox_score": 0.99,
                    "pose_quality": 0.83}, ...]}

With ``"status": "no_person_detected"`` the box source gave no person box
for the image (``num_person_boxes`` 0, no instances) and ``"message"`` says
why. A video's JSON has ``"video"``, ``"fps"``, ``"width"``, ``"height"``,
``"num_frames"``, ``"box_source"``, ``"quality_thr"`` and ``"frames"``: per
frame ``"frame_id"`` (from 0) and the fields from ``"status"`` on.

Exit status: 0 done; 1 an error (the message names the file and what is
wrong; nothing is written for it); 3 done, but the box source gave no person
box for some images or frames (listed, and warned about).
"""
import argparse
import itertools
import logging
import mimetypes
import os
import os.path as osp
import sys
from typing import List, Optional, Tuple

import cv2
import torch
from mmengine.logging import print_log
from mmpose.structures import PoseDataSample

from oksnet_mmpose.apis import (OKSNetInferencer, check_quality_thr,
                                load_boxes_file, split_instances_with_quality)
from oksnet_mmpose.utils import check_output_dir, dump_json_atomic

EXIT_NO_PERSON = 3
STATUS_OK = 'ok'
STATUS_NO_PERSON = 'no_person_detected'


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


def _media_type(path: str) -> Optional[str]:
    mime = mimetypes.guess_type(path)[0]
    return mime.split('/')[0] if mime else None


def _check_file(path: Optional[str], what: str) -> None:
    # URLs are left to MMEngine's checkpoint loader
    if path is not None and '://' not in path and not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')


def list_inputs(input_path: str) -> Tuple[str, List[str]]:
    """``('images', sorted image paths)`` for an image or a folder of
    images (not recursive), ``('video', [input_path])`` for a video or a
    webcam (``webcam`` or ``webcam:ID``, read by MMPose's inferencer)."""
    if input_path.lower().startswith('webcam'):
        return 'video', [input_path]
    if osp.isdir(input_path):
        images = sorted(
            osp.join(input_path, name) for name in os.listdir(input_path)
            if _media_type(name) == 'image'
            and osp.isfile(osp.join(input_path, name)))
        if not images:
            raise ValueError(f'input folder {input_path} has no image files')
        return 'images', images
    if not osp.exists(input_path):
        raise FileNotFoundError(f'input not found: {input_path}')
    kind = _media_type(input_path)
    if kind in ('image', 'video'):
        return ('images' if kind == 'image' else 'video'), [input_path]
    raise ValueError(f'input {input_path} is neither an image, a video nor '
                     'a folder (judged by its file extension)')


def check_images(paths: List[str], out_dir: str, draw: bool) -> None:
    """Refuse, before any output, images whose outputs would collide or
    overwrite an input, and files OpenCV cannot decode."""
    stems = [osp.splitext(osp.basename(p))[0] for p in paths]
    if len(set(stems)) != len(stems):
        raise ValueError('the input images must have distinct names '
                         '(without extension): their JSON files would '
                         'overwrite each other')
    inputs = {osp.abspath(p) for p in paths}
    if draw and any(
            osp.abspath(osp.join(out_dir, osp.basename(p))) in inputs
            for p in paths):
        raise ValueError(f'--out-dir {out_dir} holds the input images: '
                         'the drawn images would overwrite them')
    # a header check: an image whose data is corrupt after a valid header
    # stops the run at that image
    unreadable = [p for p in paths if not cv2.haveImageReader(p)]
    if unreadable:
        raise ValueError(f'cannot read image {unreadable[0]} (not an image '
                         f'OpenCV can decode; {len(unreadable)} such input '
                         'files)')


def video_fps(path: str, out_dir: str) -> float:
    """The frame rate of a video OpenCV can open (25 when unknown)."""
    capture = cv2.VideoCapture(path)
    try:
        if not capture.isOpened():
            raise ValueError(f'cannot open video {path}: not a video file, '
                             'or OpenCV has no decoder for it')
        fps = capture.get(cv2.CAP_PROP_FPS) or 25.
    finally:
        capture.release()
    stem = osp.splitext(osp.basename(path))[0]
    if osp.abspath(osp.join(out_dir, f'{stem}.mp4')) == osp.abspath(path):
        raise ValueError(f'the drawn video would overwrite the input '
                         f'{path}: choose another --out-dir')
    return fps


def run(args: argparse.Namespace) -> Tuple[str, List[dict], List[str]]:
    """Check the inputs, then run the inferencer and write the JSON files.

    Returns:
        tuple: ``'images'`` or ``'video'``, the JSON record of each image or
        frame (from ``"status"`` on) and its name (``VIDEO#frame N`` for a
        frame).
    """
    kind, paths = list_inputs(args.input)
    check_quality_thr(args.quality_thr)
    check_output_dir(args.out_dir, '--out-dir')
    if args.boxes is not None and kind == 'video':
        raise ValueError(f'a boxes file names images; for the video '
                         f'{args.input} use a detector or the whole image')
    _check_file(args.det_config, 'detector config')
    _check_file(args.det_checkpoint, 'detector checkpoint')
    _check_file(args.pose_config, 'pose config')
    _check_file(args.pose_checkpoint, 'pose checkpoint')
    bboxes = fps = None
    if kind == 'video':
        if not paths[0].lower().startswith('webcam'):
            fps = video_fps(paths[0], args.out_dir)
    else:
        if args.boxes is not None:
            bboxes = load_boxes_file(args.boxes, paths, args.boxes_ann)
        check_images(paths, args.out_dir, draw=not args.no_draw)

    if args.det_config is not None:
        box_source = 'detector'
        no_box_reason = (f'the detector {args.det_config} found no person '
                         f'(label {args.det_cat_id}) scoring above '
                         f'bbox_thr={args.bbox_thr}')
    elif args.boxes is not None:
        box_source = 'boxes_file'
        no_box_reason = (f'the boxes file {args.boxes} has no person box '
                         f'scoring above bbox_thr={args.bbox_thr} for it')
    else:
        box_source, no_box_reason = 'whole_image', ''
    inferencer = OKSNetInferencer(args.pose_config,
                                  args.pose_checkpoint,
                                  device=args.device,
                                  det_model=args.det_config or 'whole_image',
                                  det_weights=args.det_checkpoint,
                                  det_cat_ids=args.det_cat_id)
    detector = inferencer.inferencer.detector
    classes = None if detector is None else (detector.model.dataset_meta
                                             or {}).get('classes')
    if classes is not None and not 0 <= args.det_cat_id < len(classes):
        raise ValueError(
            f'--det-cat-id {args.det_cat_id} is not a class of the detector '
            f'{args.det_config} ({len(classes)} classes: {classes[:5]}...)')

    results = inferencer(
        paths if kind == 'images' else paths[0],
        return_datasamples=True,
        bboxes=bboxes,
        whole_image_fallback=box_source == 'whole_image',
        bbox_thr=args.bbox_thr,
        nms_thr=args.nms_thr,
        quality_thr=args.quality_thr,
        kpt_thr=args.kpt_thr,
        draw_bbox=True,
        # the trailing separator: a folder even if its name has a dot
        vis_out_dir='' if args.no_draw else osp.join(args.out_dir, ''))
    source = dict(box_source=box_source, quality_thr=args.quality_thr)
    records = []
    for path, result in zip(
            paths if kind == 'images' else itertools.repeat(paths[0]),
            results):
        (sample, ) = result['predictions']
        height, width = sample.metainfo['ori_shape']
        records.append(_record(sample, no_box_reason))
        if kind == 'images':
            if records[-1]['status'] == STATUS_NO_PERSON:
                print_log(
                    f'{path}: no person found: {no_box_reason}; its JSON '
                    f'says "status": "{STATUS_NO_PERSON}"',
                    logger='current',
                    level=logging.WARNING)
            dump_json_atomic(
                dict(image=path, width=width, height=height, **source,
                     **records[-1]), _json_path(args.out_dir, path))
    if kind == 'images':
        return kind, records, paths
    if not records:
        raise ValueError(f'no frame could be read from video {paths[0]}')
    if fps is None:  # a webcam: the rate MMPose's inferencer found
        fps = inferencer.video_info['fps']
    frames = [dict(frame_id=i, **r) for i, r in enumerate(records)]
    dump_json_atomic(
        dict(video=paths[0], fps=fps, width=width, height=height,
             num_frames=len(frames), **source, frames=frames),
        _json_path(args.out_dir, inferencer.video_info['name']))
    return kind, records, [f'{paths[0]}#frame {i}' for i in range(len(frames))]


def _record(sample: PoseDataSample, no_box_reason: str) -> dict:
    """The JSON record of an image or frame, from ``"status"`` on."""
    record = dict(status=STATUS_OK)
    if sample.metainfo['num_person_boxes'] == 0:
        record = dict(status=STATUS_NO_PERSON, message=no_box_reason)
    return dict(record,
                num_person_boxes=sample.metainfo['num_person_boxes'],
                num_below_quality_thr=sample.metainfo['num_below_quality_thr'],
                instances=split_instances_with_quality(sample.pred_instances))


def _json_path(out_dir: str, input_path: str) -> str:
    return osp.join(out_dir,
                    osp.splitext(osp.basename(input_path))[0] + '.json')


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        kind, records, names = run(args)
    except (OSError, ValueError) as err:
        # the message names the file and what is wrong; a traceback would
        # only bury it
        print(f'error: {err}', file=sys.stderr)
        return 1
    unit = 'frames' if kind == 'video' else 'images'
    no_person = [
        name for name, record in zip(names, records)
        if record['status'] == STATUS_NO_PERSON
    ]
    if no_person and unit == 'frames':
        print_log(
            f'{args.input}: no person found in {len(no_person)} of '
            f'{len(records)} frames; their entries say "status": '
            f'"{STATUS_NO_PERSON}"',
            logger='current',
            level=logging.WARNING)
    num_poses = sum(len(r['instances']) for r in records)
    thr = ('' if args.quality_thr is None else
           f', {sum(r["num_below_quality_thr"] for r in records)} below '
           f'--quality-thr {args.quality_thr}')
    print(f'{len(records)} {unit}: {num_poses} poses written{thr}; outputs '
          f'in {args.out_dir}')
    if no_person:
        print(f'no person box in {len(no_person)} of {len(records)} {unit}: '
              + ', '.join(no_person))
        return EXIT_NO_PERSON
    return 0


if __name__ == '__main__':
    sys.exit(main())
