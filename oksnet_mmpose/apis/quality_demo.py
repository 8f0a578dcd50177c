# Copyright (c) oksnet-mmpose contributors.
"""The quality-aware top-down demo behind ``tools/demo.py``: person boxes
(detector, boxes JSON or whole image) -> poses with their predicted OKS ->
an optional quality threshold -> drawn images (or video) and JSON.

Outputs in ``out_dir``:

- an image input ``NAME.jpg``: ``NAME.json`` and the drawn ``NAME.jpg``;
- a video input ``NAME.avi``: ``NAME.json`` (one file, one entry per frame)
  and the drawn ``NAME.mp4``.

Every file is written under a temporary name and renamed when complete; a
video's files only once its last frame is done.

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
why; such an image is also reported by a warning and in the summary. A
video's JSON has ``"video"``, ``"fps"``, ``"width"``, ``"height"``,
``"num_frames"``, ``"box_source"``, ``"quality_thr"`` and ``"frames"``: per
frame ``"frame_id"`` (from 0) and the fields from ``"status"`` on.
"""
import logging
import mimetypes
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import cv2
import mmcv
import numpy as np
from mmengine.logging import print_log
from mmpose.apis import inference_topdown, init_model
from mmpose.registry import VISUALIZERS
from mmpose.structures import PoseDataSample, merge_data_samples

from ..utils import check_output_dir
from .person_boxes import (BoxesFileBoxes, DetectorBoxes, PersonBoxSource,
                           WholeImageBoxes)
from .pose_quality_results import (check_quality_thr, dump_json_atomic,
                                   filter_by_quality,
                                   split_instances_with_quality)
from .pose_quality_visualization import draw_poses_with_quality

STATUS_OK = 'ok'
STATUS_NO_PERSON = 'no_person_detected'
# the container and codec of the drawn video (as MMPose's inferencers)
OUTPUT_VIDEO_EXT = '.mp4'
OUTPUT_VIDEO_FOURCC = 'mp4v'


@dataclass
class QualityDemoSummary:
    """What a demo run did.

    Attributes:
        unit (str): ``'images'`` or ``'frames'`` (of a video).
        num_images (int): Images (or video frames) processed.
        num_poses (int): Poses written (at or above the quality threshold).
        num_below_quality_thr (int): Poses dropped by the quality threshold.
        no_person (list[str]): The images (``VIDEO#frame N`` for a video)
            for which the box source gave no person box.
        outputs (list[str]): The files written.
    """
    unit: str = 'images'
    num_images: int = 0
    num_poses: int = 0
    num_below_quality_thr: int = 0
    no_person: List[str] = field(default_factory=list)
    outputs: List[str] = field(default_factory=list)


def list_demo_inputs(input_path: str) -> Tuple[str, List[str]]:
    """Classify the demo input.

    Args:
        input_path (str): An image, a folder of images (not recursive) or a
            video file.

    Returns:
        tuple: ``('images', image_paths)`` (sorted) or
        ``('video', [input_path])``.

    Raises:
        FileNotFoundError: If ``input_path`` does not exist.
        ValueError: If it is neither an image, a video nor a folder with
            images.
    """
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
    if kind == 'image':
        return 'images', [input_path]
    if kind == 'video':
        return 'video', [input_path]
    raise ValueError(f'input {input_path} is neither an image, a video nor '
                     'a folder (judged by its file extension)')


def _media_type(path: str) -> Optional[str]:
    mime = mimetypes.guess_type(path)[0]
    return mime.split('/')[0] if mime else None


def _check_file(path: Optional[str], what: str) -> None:
    # URLs are left to MMEngine's checkpoint loader
    if path is not None and '://' not in path and not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')


def _write_image_atomic(image_bgr: np.ndarray, path: str) -> None:
    """Encode ``image_bgr`` by the extension of ``path`` and write it through
    a temporary file, so ``path`` is never a partial image."""
    ok, data = cv2.imencode(osp.splitext(path)[1] or '.jpg', image_bgr)
    if not ok:
        raise ValueError(f'OpenCV cannot encode an image as {path}')
    tmp = osp.join(osp.dirname(path),
                   f'.{osp.basename(path)}.{os.getpid()}.tmp')
    try:
        with open(tmp, 'wb') as f:
            f.write(data.tobytes())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


class TopdownQualityDemo:
    """A top-down OKS-net model, its person boxes and its drawing.

    Args:
        pose_config (str): The OKS-net config file.
        pose_checkpoint (str): Its checkpoint.
        box_source (PersonBoxSource): Gives the person boxes of an image
            (see :mod:`oksnet_mmpose.apis.person_boxes`).
        quality_thr (float, optional): Keep the poses with predicted OKS at
            least this. Defaults to None (keep all).
        device (str): Device of the pose model. Defaults to ``'cpu'``.
        draw (bool): Draw the poses (images, video). Defaults to True.
        kpt_thr (float): Keypoints scoring below it are not drawn.
            Defaults to 0.3.

    Raises:
        FileNotFoundError: If the config or checkpoint does not exist.
        ValueError: If the model has no OKS-net head, or ``quality_thr`` is
            not in [0, 1].
    """

    def __init__(self,
                 pose_config: str,
                 pose_checkpoint: str,
                 box_source: PersonBoxSource,
                 quality_thr: Optional[float] = None,
                 device: str = 'cpu',
                 draw: bool = True,
                 kpt_thr: float = 0.3):
        check_quality_thr(quality_thr)
        _check_file(pose_config, 'pose config')
        _check_file(pose_checkpoint, 'pose checkpoint')
        self.model = init_model(pose_config, pose_checkpoint, device=device)
        if not hasattr(getattr(self.model, 'head', None), 'oks_net'):
            raise ValueError(
                f'the model of {pose_config} has no OKS-net branch '
                '(`head.oks_net`); the demo needs an OKSNetHead or '
                'OKSNetCPMHead config (see configs/)')
        self.box_source = box_source
        self.quality_thr = quality_thr
        self.kpt_thr = kpt_thr
        self.visualizer = None
        if draw:
            # a fresh instance: VISUALIZERS.build would return the global
            # one of that name, with another run's image and settings
            cfg = dict(self.model.cfg.visualizer)
            visualizer_cls = VISUALIZERS.get(cfg.pop('type'))
            cfg.pop('vis_backends', None)  # the demo writes its own files
            cfg.pop('_scope_', None)
            cfg['name'] = 'oksnet_quality_demo'
            self.visualizer = visualizer_cls(**cfg)
            self.visualizer.set_dataset_meta(self.model.dataset_meta)

    def predict(self, image: np.ndarray,
                image_path: str) -> Tuple[Optional[PoseDataSample], Dict]:
        """Poses and predicted OKS of one image.

        Args:
            image (np.ndarray): The image, BGR.
            image_path (str): Its path (or a name for a video frame).

        Returns:
            tuple: The data sample of the kept poses (``None`` when there
            is no person box) and the JSON record of the image: ``status``,
            ``message`` (no person only), ``num_person_boxes``,
            ``num_below_quality_thr`` and ``instances``.
        """
        boxes = self.box_source(image, image_path)
        if len(boxes) == 0:
            # inference_topdown would fall back to the whole image: no call
            return None, dict(status=STATUS_NO_PERSON,
                              message=self.box_source.no_box_reason(),
                              num_person_boxes=0,
                              num_below_quality_thr=0,
                              instances=[])
        data_sample = merge_data_samples(
            inference_topdown(self.model, image, boxes[:, :4]))
        # inference_topdown scores every box 1
        data_sample.pred_instances.bbox_scores = boxes[:, 4].copy()
        kept = filter_by_quality(data_sample.pred_instances, self.quality_thr)
        data_sample.pred_instances = kept
        return data_sample, dict(status=STATUS_OK,
                                 num_person_boxes=len(boxes),
                                 num_below_quality_thr=len(boxes) - len(kept),
                                 instances=split_instances_with_quality(kept))

    def draw(self, image: np.ndarray, data_sample: Optional[PoseDataSample],
             record: Dict) -> np.ndarray:
        """The image (BGR) with its poses and their predicted OKS."""
        notice = ('no person detected'
                  if record['status'] == STATUS_NO_PERSON else None)
        drawn = draw_poses_with_quality(self.visualizer,
                                        mmcv.bgr2rgb(image),
                                        data_sample,
                                        kpt_thr=self.kpt_thr,
                                        notice=notice)
        return mmcv.rgb2bgr(drawn)

    def _count(self, summary: QualityDemoSummary, record: Dict,
               name: str) -> None:
        summary.num_images += 1
        summary.num_poses += len(record['instances'])
        summary.num_below_quality_thr += record['num_below_quality_thr']
        if record['status'] == STATUS_NO_PERSON:
            summary.no_person.append(name)

    def run_images(self, image_paths: List[str],
                   out_dir: str) -> QualityDemoSummary:
        """Process images: ``out_dir/NAME.json`` and, when drawing, the drawn
        ``out_dir/NAME.EXT`` per image ``NAME.EXT``.

        Args:
            image_paths (list[str]): The images.
            out_dir (str): The output folder.

        Returns:
            QualityDemoSummary: What was done.

        Raises:
            ValueError: If an output would overwrite an input, two inputs
                share a name, or an image cannot be read; nothing is
                written then (an image whose data is corrupt after a valid
                header stops the run at that image).
        """
        stems = [osp.splitext(osp.basename(p))[0] for p in image_paths]
        if len(set(stems)) != len(stems):
            raise ValueError('the input images must have distinct names '
                             '(without extension): their JSON files would '
                             'overwrite each other')
        inputs = {osp.abspath(p) for p in image_paths}
        if self.visualizer is not None and any(
                osp.abspath(osp.join(out_dir, osp.basename(p))) in inputs
                for p in image_paths):
            raise ValueError(f'--out-dir {out_dir} holds the input images: '
                             'the drawn images would overwrite them')
        # a header check of every image before any output: a bad file is
        # named before the run has written half of its results
        unreadable = [p for p in image_paths if not cv2.haveImageReader(p)]
        if unreadable:
            raise ValueError(f'cannot read image {unreadable[0]} (not an '
                             f'image OpenCV can decode; {len(unreadable)} '
                             'such input files)')
        os.makedirs(out_dir, exist_ok=True)

        summary = QualityDemoSummary()
        for path, stem in zip(image_paths, stems):
            image = mmcv.imread(path)
            if image is None:
                raise ValueError(f'cannot read image {path}')
            data_sample, record = self.predict(image, path)
            self._count(summary, record, path)
            if record['status'] == STATUS_NO_PERSON:
                print_log(
                    f'{path}: no person found: {record["message"]}; its '
                    f'JSON says "status": "{STATUS_NO_PERSON}"',
                    logger='current',
                    level=logging.WARNING)
            if self.visualizer is not None:
                out_image = osp.join(out_dir, osp.basename(path))
                _write_image_atomic(self.draw(image, data_sample, record),
                                    out_image)
                summary.outputs.append(out_image)
            h, w = image.shape[:2]
            out_json = osp.join(out_dir, f'{stem}.json')
            dump_json_atomic(
                dict(image=path,
                     width=w,
                     height=h,
                     box_source=self.box_source.name,
                     quality_thr=self.quality_thr,
                     **record), out_json)
            summary.outputs.append(out_json)
        return summary

    def run_video(self, video_path: str, out_dir: str) -> QualityDemoSummary:
        """Process a video: ``out_dir/NAME.json`` with one entry per frame
        and, when drawing, the drawn ``out_dir/NAME.mp4``; both appear only
        once the whole video is done.

        Args:
            video_path (str): The video file.
            out_dir (str): The output folder.

        Returns:
            QualityDemoSummary: What was done (``num_images`` counts frames).

        Raises:
            ValueError: If the video cannot be opened, has no readable
                frame, or the output video cannot be written.
        """
        capture = cv2.VideoCapture(video_path)
        if not capture.isOpened():
            capture.release()
            raise ValueError(
                f'cannot open video {video_path}: not a video file, or '
                'OpenCV has no decoder for it')
        stem = osp.splitext(osp.basename(video_path))[0]
        out_video = osp.join(out_dir, stem + OUTPUT_VIDEO_EXT)
        if osp.abspath(out_video) == osp.abspath(video_path):
            capture.release()
            raise ValueError(f'the drawn video would overwrite the input '
                             f'{video_path}: choose another --out-dir')
        os.makedirs(out_dir, exist_ok=True)
        # the container is chosen by the extension: keep it in the temp name
        tmp_video = osp.join(out_dir, f'.{stem}.partial{OUTPUT_VIDEO_EXT}')
        fps = capture.get(cv2.CAP_PROP_FPS) or 25.
        summary, frames, writer = QualityDemoSummary(unit='frames'), [], None
        try:
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                frame_id = len(frames)
                if frame_id == 0:
                    first_frame_shape = frame.shape
                name = f'{video_path}#frame {frame_id}'
                data_sample, record = self.predict(frame, name)
                self._count(summary, record, name)
                frames.append(dict(frame_id=frame_id, **record))
                if self.visualizer is not None:
                    if writer is None:
                        writer = cv2.VideoWriter(
                            tmp_video,
                            cv2.VideoWriter_fourcc(*OUTPUT_VIDEO_FOURCC), fps,
                            (frame.shape[1], frame.shape[0]))
                        if not writer.isOpened():
                            raise ValueError(
                                f'OpenCV cannot write {OUTPUT_VIDEO_FOURCC} '
                                f'video {out_video}; use --no-draw')
                    writer.write(self.draw(frame, data_sample, record))
            if not frames:
                raise ValueError(
                    f'no frame could be read from video {video_path}')
            if writer is not None:
                writer.release()
                writer = None
                os.replace(tmp_video, out_video)
                summary.outputs.append(out_video)
        finally:
            capture.release()
            if writer is not None:
                writer.release()
            if osp.exists(tmp_video):
                os.remove(tmp_video)
        if summary.no_person:
            print_log(
                f'{video_path}: no person found in {len(summary.no_person)} '
                f'of {len(frames)} frames; their entries say "status": '
                f'"{STATUS_NO_PERSON}"',
                logger='current',
                level=logging.WARNING)
        height, width = first_frame_shape[:2]
        out_json = osp.join(out_dir, f'{stem}.json')
        dump_json_atomic(
            dict(video=video_path,
                 fps=fps,
                 width=width,
                 height=height,
                 num_frames=len(frames),
                 box_source=self.box_source.name,
                 quality_thr=self.quality_thr,
                 frames=frames), out_json)
        summary.outputs.append(out_json)
        return summary


def run_quality_demo(input_path: str,
                     pose_config: str,
                     pose_checkpoint: str,
                     out_dir: str,
                     det_config: Optional[str] = None,
                     det_checkpoint: Optional[str] = None,
                     boxes_file: Optional[str] = None,
                     boxes_ann_file: Optional[str] = None,
                     quality_thr: Optional[float] = None,
                     bbox_thr: float = 0.3,
                     nms_thr: float = 0.3,
                     det_cat_id: int = 0,
                     kpt_thr: float = 0.3,
                     device: str = 'cpu',
                     draw: bool = True) -> QualityDemoSummary:
    """Run the quality-aware demo on an image, a folder of images or a
    video (see the module docstring for the outputs).

    Person boxes come from the detector when ``det_config`` is given, else
    from ``boxes_file``, else the whole image is the person box.

    Args:
        input_path (str): An image, a folder of images or a video.
        pose_config (str): The OKS-net config file.
        pose_checkpoint (str): Its checkpoint.
        out_dir (str): The output folder.
        det_config (str, optional): An MMDetection config. Defaults to None.
        det_checkpoint (str, optional): Its checkpoint (needed with
            ``det_config``). Defaults to None.
        boxes_file (str, optional): A boxes JSON (COCO detection results,
            see :mod:`oksnet_mmpose.apis.person_boxes`). Images only.
            Defaults to None.
        boxes_ann_file (str, optional): A COCO annotation file mapping the
            ``image_id`` of ``boxes_file`` to file names. Defaults to None.
        quality_thr (float, optional): Keep the poses with predicted OKS at
            least this. Defaults to None.
        bbox_thr (float): Keep the person boxes scoring above it (detector
            and boxes file). Defaults to 0.3.
        nms_thr (float): IoU threshold of the box NMS. Defaults to 0.3.
        det_cat_id (int): The detector's person label. Defaults to 0.
        kpt_thr (float): Keypoints scoring below it are not drawn.
            Defaults to 0.3.
        device (str): The device. Defaults to ``'cpu'``.
        draw (bool): Write drawn images / video. Defaults to True.

    Returns:
        QualityDemoSummary: What was done; ``no_person`` lists the images
        (frames) without a person box.

    Raises:
        FileNotFoundError: If an input, config, checkpoint or boxes file does
            not exist.
        ValueError: If an input or the boxes file is invalid (the message
            names the file and what is wrong); nothing is written for it.
    """
    kind, paths = list_demo_inputs(input_path)
    check_quality_thr(quality_thr)
    check_output_dir(out_dir, '--out-dir')
    if det_config is not None and boxes_file is not None:
        raise ValueError('give a detector or a boxes file, not both')
    if det_config is not None:
        if det_checkpoint is None:
            raise ValueError(f'the detector {det_config} needs a checkpoint')
        _check_file(det_config, 'detector config')
        _check_file(det_checkpoint, 'detector checkpoint')
    if boxes_file is not None and kind == 'video':
        raise ValueError(f'a boxes file names images; for the video '
                         f'{input_path} use a detector or the whole image')
    # the model files are checked before the (slower) detector is built
    _check_file(pose_config, 'pose config')
    _check_file(pose_checkpoint, 'pose checkpoint')

    if det_config is not None:
        box_source = DetectorBoxes(det_config, det_checkpoint, device,
                                   det_cat_id, bbox_thr, nms_thr)
    elif boxes_file is not None:
        box_source = BoxesFileBoxes(boxes_file, paths, boxes_ann_file,
                                    bbox_thr, nms_thr)
    else:
        box_source = WholeImageBoxes()
    demo = TopdownQualityDemo(pose_config,
                              pose_checkpoint,
                              box_source,
                              quality_thr=quality_thr,
                              device=device,
                              draw=draw,
                              kpt_thr=kpt_thr)
    if kind == 'video':
        return demo.run_video(paths[0], out_dir)
    return demo.run_images(paths, out_dir)
