# Copyright (c) oksnet-mmpose contributors.
"""Top-down pose estimation with each pose's predicted OKS on image, folder,
video or webcam inputs, written to files: :class:`OKSNetInferencer` with
the inputs checked before any output, and one JSON record per image (per
video: one JSON with an entry per frame) that says where the person boxes
came from and whether there was one. What ``tools/demo.py`` runs.

Outputs in ``out_dir`` (each written under a temporary name and renamed
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
"""
import itertools
import logging
import mimetypes
import os
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Tuple

import cv2
from mmengine.logging import print_log
from mmpose.structures import PoseDataSample

from ...utils import check_output_dir, dump_json_atomic
from .boxes_file import load_boxes_file
from .oksnet_inferencer import OKSNetInferencer
from .pose_quality_results import (check_quality_thr,
                                   split_instances_with_quality)

STATUS_OK = 'ok'
STATUS_NO_PERSON = 'no_person_detected'


@dataclass
class FileInferenceResult:
    """What :func:`infer_files` did.

    Attributes:
        kind (str): ``'images'`` or ``'video'``.
        records (list[dict]): The JSON record of each image or frame, from
            ``"status"`` on.
        names (list[str]): Each record's image, or ``VIDEO#frame N``.
        quality_thr (float, optional): The quality threshold applied.
        out_dir (str): Where the outputs are.
    """
    kind: str
    records: List[dict]
    names: List[str]
    quality_thr: Optional[float]
    out_dir: str

    @property
    def no_person(self) -> List[str]:
        """The images or frames for which the box source gave no person."""
        return [
            name for name, record in zip(self.names, self.records)
            if record['status'] == STATUS_NO_PERSON
        ]

    def summary(self) -> str:
        """One line: how many poses were written, and dropped."""
        unit = 'frames' if self.kind == 'video' else 'images'
        num_poses = sum(len(r['instances']) for r in self.records)
        dropped = ('' if self.quality_thr is None else
                   f', {sum(r["num_below_quality_thr"] for r in self.records)}'
                   f' below quality_thr {self.quality_thr}')
        return (f'{len(self.records)} {unit}: {num_poses} poses written'
                f'{dropped}; outputs in {self.out_dir}')


def _media_type(path: str) -> Optional[str]:
    mime = mimetypes.guess_type(path)[0]
    return mime.split('/')[0] if mime else None


def _check_file(path: Optional[str], what: str) -> None:
    # URLs are left to MMEngine's checkpoint loader
    if path is not None and '://' not in path and not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')


def list_inputs(inputs: str) -> Tuple[str, List[str]]:
    """The inputs of :func:`infer_files`, judged by file extension.

    Args:
        inputs (str): An image, a folder of images (not recursive), a video
            or a webcam (``webcam`` or ``webcam:ID``, read by MMPose's
            inferencer).

    Returns:
        tuple[str, list[str]]: ``('images', sorted image paths)`` or
        ``('video', [inputs])``.

    Raises:
        FileNotFoundError: If ``inputs`` does not exist.
        ValueError: If it is neither an image, a video nor a folder with
            images.
    """
    if inputs.lower().startswith('webcam'):
        return 'video', [inputs]
    if osp.isdir(inputs):
        images = sorted(
            osp.join(inputs, name) for name in os.listdir(inputs)
            if _media_type(name) == 'image'
            and osp.isfile(osp.join(inputs, name)))
        if not images:
            raise ValueError(f'input folder {inputs} has no image files')
        return 'images', images
    if not osp.exists(inputs):
        raise FileNotFoundError(f'input not found: {inputs}')
    kind = _media_type(inputs)
    if kind in ('image', 'video'):
        return ('images' if kind == 'image' else 'video'), [inputs]
    raise ValueError(f'input {inputs} is neither an image, a video nor a '
                     'folder (judged by its file extension)')


def check_images(paths: List[str], out_dir: str, draw: bool) -> None:
    """Refuse, before any output, images whose outputs would collide or
    overwrite an input, and files OpenCV cannot decode.

    Raises:
        ValueError: Naming the first such image.
    """
    stems = [osp.splitext(osp.basename(p))[0] for p in paths]
    if len(set(stems)) != len(stems):
        raise ValueError('the input images must have distinct names '
                         '(without extension): their JSON files would '
                         'overwrite each other')
    inputs = {osp.abspath(p) for p in paths}
    if draw and any(
            osp.abspath(osp.join(out_dir, osp.basename(p))) in inputs
            for p in paths):
        raise ValueError(f'the output folder {out_dir} holds the input '
                         'images: the drawn images would overwrite them')
    # a header check: an image whose data is corrupt after a valid header
    # stops the run at that image
    unreadable = [p for p in paths if not cv2.haveImageReader(p)]
    if unreadable:
        raise ValueError(f'cannot read image {unreadable[0]} (not an image '
                         f'OpenCV can decode; {len(unreadable)} such input '
                         'files)')


def video_fps(path: str, out_dir: str) -> float:
    """The frame rate of a video OpenCV can open (25 when unknown).

    Raises:
        ValueError: If OpenCV cannot open it, or its drawing would
            overwrite it.
    """
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
                         f'{path}: choose another output folder')
    return fps


def infer_files(inputs: str,
                pose_config: str,
                pose_checkpoint: str,
                out_dir: str,
                det_config: Optional[str] = None,
                det_checkpoint: Optional[str] = None,
                det_cat_id: int = 0,
                boxes: Optional[str] = None,
                boxes_ann: Optional[str] = None,
                bbox_thr: float = 0.3,
                nms_thr: float = 0.3,
                quality_thr: Optional[float] = None,
                kpt_thr: float = 0.3,
                device: Optional[str] = None,
                draw: bool = True) -> FileInferenceResult:
    """Check the inputs, run :class:`OKSNetInferencer` and write a JSON
    record per image (per video, one JSON with a record per frame) and,
    with ``draw``, the drawn images or video (see the module's docstring
    for the format).

    The person boxes come from a detector (``det_config`` and
    ``det_checkpoint``), a COCO detection results file (``boxes``, images
    only) or, with neither, the whole image.

    Args:
        inputs (str): An image, a folder of images, a video file or
            ``webcam[:ID]``.
        pose_config (str): The OKS-net config file.
        pose_checkpoint (str): Its checkpoint.
        out_dir (str): The output folder (created).
        det_config (str, optional): An MMDetection config for person boxes.
        det_checkpoint (str, optional): Its checkpoint.
        det_cat_id (int): The detector's person class index. Defaults to 0.
        boxes (str, optional): A person boxes file, as
            :func:`load_boxes_file` reads it.
        boxes_ann (str, optional): The COCO annotation file mapping its
            image ids to file names.
        bbox_thr (float): Keep the person boxes scoring above it.
            Defaults to 0.3.
        nms_thr (float): IoU threshold of the person box NMS.
            Defaults to 0.3.
        quality_thr (float, optional): Drop the poses whose predicted OKS is
            below it. Defaults to None (keep all).
        kpt_thr (float): Keypoints scoring below it are not drawn.
            Defaults to 0.3.
        device (str, optional): As in :class:`OKSNetInferencer`.
        draw (bool): Also write the drawn images or video.
            Defaults to True.

    Returns:
        FileInferenceResult: The records written.

    Raises:
        FileNotFoundError: If an input, config or checkpoint is missing.
        ValueError: If the arguments do not go together, or an input
            cannot be read or its outputs would overwrite an input; nothing
            is written then.
    """
    if (det_config is None) != (det_checkpoint is None):
        raise ValueError('det_config and det_checkpoint go together')
    if det_config is not None and boxes is not None:
        raise ValueError('person boxes come from a detector or a boxes '
                         'file, not both')
    if boxes_ann is not None and boxes is None:
        raise ValueError('boxes_ann maps the image ids of a boxes file: '
                         'it needs boxes')
    kind, paths = list_inputs(inputs)
    check_quality_thr(quality_thr)
    check_output_dir(out_dir, 'output folder')
    if boxes is not None and kind == 'video':
        raise ValueError(f'a boxes file names images; for the video '
                         f'{inputs} use a detector or the whole image')
    _check_file(det_config, 'detector config')
    _check_file(det_checkpoint, 'detector checkpoint')
    _check_file(pose_config, 'pose config')
    _check_file(pose_checkpoint, 'pose checkpoint')
    bboxes = fps = None
    if kind == 'video':
        if not paths[0].lower().startswith('webcam'):
            fps = video_fps(paths[0], out_dir)
    else:
        if boxes is not None:
            bboxes = load_boxes_file(boxes, paths, boxes_ann)
        check_images(paths, out_dir, draw=draw)

    if det_config is not None:
        box_source = 'detector'
        no_box_reason = (f'the detector {det_config} found no person '
                         f'(label {det_cat_id}) scoring above '
                         f'bbox_thr={bbox_thr}')
    elif boxes is not None:
        box_source = 'boxes_file'
        no_box_reason = (f'the boxes file {boxes} has no person box '
                         f'scoring above bbox_thr={bbox_thr} for it')
    else:
        box_source, no_box_reason = 'whole_image', ''
    inferencer = OKSNetInferencer(pose_config,
                                  pose_checkpoint,
                                  device=device,
                                  det_model=det_config or 'whole_image',
                                  det_weights=det_checkpoint,
                                  det_cat_ids=det_cat_id)
    detector = inferencer.inferencer.detector
    classes = None if detector is None else (detector.model.dataset_meta
                                             or {}).get('classes')
    if classes is not None and not 0 <= det_cat_id < len(classes):
        raise ValueError(
            f'det_cat_id {det_cat_id} is not a class of the detector '
            f'{det_config} ({len(classes)} classes: {classes[:5]}...)')

    results = inferencer(
        paths if kind == 'images' else paths[0],
        return_datasamples=True,
        bboxes=bboxes,
        whole_image_fallback=box_source == 'whole_image',
        bbox_thr=bbox_thr,
        nms_thr=nms_thr,
        quality_thr=quality_thr,
        kpt_thr=kpt_thr,
        draw_bbox=True,
        # the trailing separator: a folder even if its name has a dot
        vis_out_dir=osp.join(out_dir, '') if draw else '')
    source = dict(box_source=box_source, quality_thr=quality_thr)
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
                     **records[-1]), _json_path(out_dir, path))
    if kind == 'images':
        return FileInferenceResult(kind, records, paths, quality_thr, out_dir)
    if not records:
        raise ValueError(f'no frame could be read from video {paths[0]}')
    if fps is None:  # a webcam: the rate MMPose's inferencer found
        fps = inferencer.video_info['fps']
    frames = [dict(frame_id=i, **r) for i, r in enumerate(records)]
    dump_json_atomic(
        dict(video=paths[0], fps=fps, width=width, height=height,
             num_frames=len(frames), **source, frames=frames),
        _json_path(out_dir, inferencer.video_info['name']))
    result = FileInferenceResult(
        kind, records, [f'{paths[0]}#frame {i}' for i in range(len(frames))],
        quality_thr, out_dir)
    if result.no_person:
        print_log(
            f'{paths[0]}: no person found in {len(result.no_person)} of '
            f'{len(records)} frames; their entries say "status": '
            f'"{STATUS_NO_PERSON}"',
            logger='current',
            level=logging.WARNING)
    return result


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
