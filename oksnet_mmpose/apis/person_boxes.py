# Copyright (c) oksnet-mmpose contributors.
"""Where the person boxes of a top-down model come from: an MMDetection
detector, a boxes JSON file, or the whole image.

Each source is called with an image (BGR, as read by ``mmcv.imread``) and its
path and returns the person boxes as an array of shape (N, 5): ``x1, y1, x2,
y2, score``; N may be 0 (no person box for that image).

The boxes JSON is the COCO detection results format (what MMPose's
``bbox_file`` reads)::

    [{"image_id": 785, "bbox": [x, y, w, h], "score": 0.99,
      "category_id": 1}, ...]

- ``bbox`` (required): the box, top-left corner, width and height, in
  pixels; ``w`` and ``h`` are positive.
- ``file_name`` or ``image_id`` (one is required) names the image:
  ``file_name`` by its base name; ``image_id`` through the ``images`` of a
  COCO annotation file when one is given (``ann_file``), otherwise by COCO's
  file naming, the number in the file name (``000000000785.jpg`` is 785).
  Every entry must name one of the input images.
- ``score`` (optional, default 1): the box score.
- ``category_id`` (optional): entries of a category other than COCO's person
  (1) are skipped.

Boxes from a detector and from a file get the same selection: score above
``bbox_thr``, then NMS at IoU ``nms_thr`` (as MMPose's
``demo/topdown_demo_with_mmdet.py`` does for detector boxes).
"""
import json
import math
import os.path as osp
from abc import ABCMeta, abstractmethod
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmdet.apis import inference_detector, init_detector
from mmpose.evaluation.functional import nms
from mmpose.utils import adapt_mmdet_pipeline

# category_id of a person in COCO (and in COCO detection results)
COCO_PERSON_CATEGORY_ID = 1


def select_person_boxes(boxes: np.ndarray, bbox_thr: float,
                        nms_thr: float) -> np.ndarray:
    """Keep the boxes with ``score > bbox_thr``, then apply NMS.

    Args:
        boxes (np.ndarray): Boxes in shape (N, 5), ``x1, y1, x2, y2,
            score``.
        bbox_thr (float): Keep the boxes scoring above it.
        nms_thr (float): IoU threshold of the NMS.

    Returns:
        np.ndarray: The kept boxes, shape (M, 5), highest score first.
    """
    boxes = boxes[boxes[:, 4] > bbox_thr]
    if len(boxes) == 0:
        return boxes
    return boxes[nms(boxes, nms_thr)]


class PersonBoxSource(metaclass=ABCMeta):
    """A source of person boxes; ``name`` is written in the demo's JSON."""

    name: str = ''

    @abstractmethod
    def __call__(self, image: np.ndarray, image_path: str) -> np.ndarray:
        """The person boxes of an image.

        Args:
            image (np.ndarray): The image, BGR.
            image_path (str): Its path (a name for a video frame).

        Returns:
            np.ndarray: Boxes in shape (N, 5), ``x1, y1, x2, y2, score``.
        """

    @abstractmethod
    def no_box_reason(self) -> str:
        """Why an image got no person box, for messages."""


class WholeImageBoxes(PersonBoxSource):
    """The whole image as the one person box (score 1), as MMPose does when
    no box is given."""

    name = 'whole_image'

    def __call__(self, image: np.ndarray, image_path: str) -> np.ndarray:
        """The box ``[0, 0, w, h, 1]`` of ``image`` (shape (1, 5))."""
        h, w = image.shape[:2]
        return np.array([[0, 0, w, h, 1]], dtype=np.float32)

    def no_box_reason(self) -> str:
        # never asked: every image gets a box
        return 'the image has no box'


class DetectorBoxes(PersonBoxSource):
    """Person boxes from an MMDetection detector.

    Args:
        det_config (str): The detector config file.
        det_checkpoint (str): The detector checkpoint.
        device (str): The device to run it on. Defaults to ``'cpu'``.
        det_cat_id (int): The detector's label of a person (its class
            index; 0 for the COCO-trained detectors). Defaults to 0.
        bbox_thr (float): Keep the boxes scoring above it. Defaults to 0.3.
        nms_thr (float): IoU threshold of the NMS. Defaults to 0.3.
    """

    name = 'detector'

    def __init__(self,
                 det_config: str,
                 det_checkpoint: str,
                 device: str = 'cpu',
                 det_cat_id: int = 0,
                 bbox_thr: float = 0.3,
                 nms_thr: float = 0.3):
        self.detector = init_detector(det_config,
                                      det_checkpoint,
                                      device=device)
        self.detector.cfg = adapt_mmdet_pipeline(self.detector.cfg)
        classes = (self.detector.dataset_meta or {}).get('classes')
        if classes is not None and not 0 <= det_cat_id < len(classes):
            raise ValueError(
                f'det_cat_id={det_cat_id} is not a class of the detector '
                f'{det_config} ({len(classes)} classes: {classes[:5]}...)')
        self.det_config = det_config
        self.det_cat_id = det_cat_id
        self.bbox_thr = bbox_thr
        self.nms_thr = nms_thr

    def no_box_reason(self) -> str:
        return (f'the detector {self.det_config} found no person (label '
                f'{self.det_cat_id}) scoring above bbox_thr={self.bbox_thr}')

    def __call__(self, image: np.ndarray, image_path: str) -> np.ndarray:
        """The person boxes the detector finds in ``image``, shape (N, 5)."""
        pred = inference_detector(self.detector, image).pred_instances
        pred = pred.cpu().numpy()
        boxes = np.concatenate([pred.bboxes, pred.scores[:, None]], axis=1)
        boxes = boxes[pred.labels == self.det_cat_id]
        return select_person_boxes(boxes, self.bbox_thr, self.nms_thr)


class BoxesFileBoxes(PersonBoxSource):
    """Person boxes from a boxes JSON file (COCO detection results format,
    see the module docstring), validated against the input images when
    loaded.

    Args:
        boxes_file (str): The boxes JSON file.
        image_paths (Sequence[str]): The input images; every entry of the
            file must name one of them.
        ann_file (str, optional): A COCO annotation file whose ``images``
            map ``image_id`` to ``file_name``. Defaults to None (COCO's
            file naming).
        bbox_thr (float): Keep the boxes scoring above it. Defaults to 0.3.
        nms_thr (float): IoU threshold of the NMS. Defaults to 0.3.

    Raises:
        FileNotFoundError: If ``boxes_file`` or ``ann_file`` does not exist.
        ValueError: If the file is not valid JSON in this format, or an
            entry names an image that is not an input image; the message
            names the file and the entry.
    """

    name = 'boxes_file'

    def __init__(self,
                 boxes_file: str,
                 image_paths: Sequence[str],
                 ann_file: Optional[str] = None,
                 bbox_thr: float = 0.3,
                 nms_thr: float = 0.3):
        self.boxes_file = boxes_file
        self.bbox_thr = bbox_thr
        self.nms_thr = nms_thr
        self._boxes = self._load(boxes_file, image_paths, ann_file)

    def __call__(self, image: np.ndarray, image_path: str) -> np.ndarray:
        """The selected person boxes of ``image_path``, shape (N, 5); no
        entry for the image gives no box."""
        boxes = self._boxes.get(osp.basename(image_path))
        if boxes is None:
            return np.zeros((0, 5), dtype=np.float32)
        return select_person_boxes(boxes, self.bbox_thr, self.nms_thr)

    def no_box_reason(self) -> str:
        return (f'the boxes file {self.boxes_file} has no person box scoring '
                f'above bbox_thr={self.bbox_thr} for it')

    @staticmethod
    def _read_json(path: str, what: str):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what} not found: {path}')
        try:
            with open(path) as f:
                return json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f'{what} {path} is not valid JSON: {err}')

    @classmethod
    def _image_ids(cls, image_names: List[str],
                   ann_file: Optional[str]) -> Dict[object, str]:
        """``image_id`` -> input image base name."""
        if ann_file is None:
            # COCO names its images by their id: 000000000785.jpg is 785
            return {
                int(osp.splitext(name)[0]): name
                for name in image_names if osp.splitext(name)[0].isdigit()
            }
        ann = cls._read_json(ann_file, 'annotation file')
        if not isinstance(ann, dict) or not isinstance(ann.get('images'),
                                                       list):
            raise ValueError(f'annotation file {ann_file} has no `images` '
                             'list (COCO format expected)')
        ids = {}
        for image in ann['images']:
            if isinstance(image, dict) and {'id', 'file_name'} <= set(image):
                ids[image['id']] = osp.basename(image['file_name'])
        return ids

    @classmethod
    def _load(cls, boxes_file: str, image_paths: Sequence[str],
              ann_file: Optional[str]) -> Dict[str, np.ndarray]:
        """Validate the file and group its person boxes (x1, y1, x2, y2,
        score) by image base name."""
        entries = cls._read_json(boxes_file, 'boxes file')
        if not isinstance(entries, list):
            raise ValueError(
                f'boxes file {boxes_file}: expected a list of detections '
                '[{"image_id" or "file_name", "bbox": [x, y, w, h], "score", '
                f'"category_id"}}, ...], got a {type(entries).__name__}')
        image_names = [osp.basename(p) for p in image_paths]
        known = set(image_names)
        ids = cls._image_ids(image_names, ann_file)
        id_source = (f'the images of {ann_file}' if ann_file else
                     'COCO file naming (000000000785.jpg is 785); pass an '
                     'annotation file to map other ids')

        boxes = defaultdict(list)
        for index, entry in enumerate(entries):
            where = f'boxes file {boxes_file}, entry {index}'
            if not isinstance(entry, dict):
                raise ValueError(f'{where}: expected a dict, got {entry!r}')
            if 'file_name' in entry:
                name = osp.basename(str(entry['file_name']))
                if name not in known:
                    raise ValueError(
                        f'{where}: file_name {entry["file_name"]!r} is not '
                        f'one of the {len(known)} input images '
                        f'({sorted(known)[:3]}...)')
            elif 'image_id' in entry:
                name = ids.get(entry['image_id'])
                if name is None:
                    raise ValueError(
                        f'{where}: image_id {entry["image_id"]!r} names no '
                        f'image (ids are mapped by {id_source})')
                if name not in known:
                    raise ValueError(
                        f'{where}: image_id {entry["image_id"]!r} is image '
                        f'{name!r}, which is not one of the {len(known)} '
                        'input images')
            else:
                raise ValueError(f'{where}: has neither "file_name" nor '
                                 '"image_id"')
            bbox = entry.get('bbox')
            if (not isinstance(bbox, (list, tuple)) or len(bbox) != 4
                    or not all(
                        isinstance(v, (int, float)) and math.isfinite(v)
                        for v in bbox) or bbox[2] <= 0 or bbox[3] <= 0):
                raise ValueError(f'{where}: "bbox" must be [x, y, w, h] with '
                                 f'w, h > 0, got {bbox!r}')
            score = entry.get('score', 1.)
            if not isinstance(score, (int, float)) or not math.isfinite(score):
                raise ValueError(
                    f'{where}: "score" must be a number, got {score!r}')
            category = entry.get('category_id', COCO_PERSON_CATEGORY_ID)
            if category != COCO_PERSON_CATEGORY_ID:
                continue
            x, y, w, h = bbox
            boxes[name].append([x, y, x + w, y + h, score])
        return {
            name: np.asarray(b, dtype=np.float32)
            for name, b in boxes.items()
        }
