# Copyright (c) oksnet-mmpose contributors.
"""Person boxes from a boxes JSON file, as the ``bboxes`` argument of
:class:`OKSNetInferencer` / :class:`OKSNetPose2DInferencer` takes them.

The file is in the COCO detection results format (what MMPose's
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
"""
import json
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

# category_id of a person in COCO (and in COCO detection results)
COCO_PERSON_CATEGORY_ID = 1


def _read_json(path: str, what: str):
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f'{what} {path} is not valid JSON: {err}')


def _image_ids(image_names: List[str],
               ann_file: Optional[str]) -> Dict[object, str]:
    """``image_id`` -> input image base name."""
    if ann_file is None:
        # COCO names its images by their id: 000000000785.jpg is 785
        return {
            int(osp.splitext(name)[0]): name
            for name in image_names if osp.splitext(name)[0].isdigit()
        }
    ann = _read_json(ann_file, 'annotation file')
    if not isinstance(ann, dict) or not isinstance(ann.get('images'), list):
        raise ValueError(f'annotation file {ann_file} has no `images` '
                         'list (COCO format expected)')
    return {
        image['id']: osp.basename(image['file_name'])
        for image in ann['images']
        if isinstance(image, dict) and {'id', 'file_name'} <= set(image)
    }


def _entry_image(entry: dict, where: str, known: set, ids: dict,
                 id_source: str) -> str:
    """The input image base name an entry names."""
    if 'file_name' in entry:
        name = osp.basename(str(entry['file_name']))
        if name not in known:
            raise ValueError(f'{where}: file_name {entry["file_name"]!r} is '
                             f'not one of the {len(known)} input images '
                             f'({sorted(known)[:3]}...)')
        return name
    if 'image_id' not in entry:
        raise ValueError(f'{where}: has neither "file_name" nor "image_id"')
    name = ids.get(entry['image_id'])
    if name is None:
        raise ValueError(f'{where}: image_id {entry["image_id"]!r} names no '
                         f'image (ids are mapped by {id_source})')
    if name not in known:
        raise ValueError(f'{where}: image_id {entry["image_id"]!r} is image '
                         f'{name!r}, which is not one of the {len(known)} '
                         'input images')
    return name


def load_boxes_file(boxes_file: str,
                    image_paths: Sequence[str],
                    ann_file: Optional[str] = None) -> List[np.ndarray]:
    """Read and validate a boxes JSON file (see the module docstring).

    Args:
        boxes_file (str): The boxes JSON file.
        image_paths (Sequence[str]): The input images; every entry of the
            file must name one of them.
        ann_file (str, optional): A COCO annotation file whose ``images``
            map ``image_id`` to ``file_name``. Defaults to None (COCO's
            file naming).

    Returns:
        list[np.ndarray]: Per input image, in order, its person boxes
        ``x1, y1, x2, y2, score``, shape (N, 5), N >= 0: the ``bboxes``
        argument of the OKS-net inferencers.

    Raises:
        FileNotFoundError: If ``boxes_file`` or ``ann_file`` does not exist.
        ValueError: If the file is not valid JSON in this format, or an
            entry names an image that is not an input image; the message
            names the file and the entry.
    """
    entries = _read_json(boxes_file, 'boxes file')
    if not isinstance(entries, list):
        raise ValueError(
            f'boxes file {boxes_file}: expected a list of detections '
            '[{"image_id" or "file_name", "bbox": [x, y, w, h], "score", '
            f'"category_id"}}, ...], got a {type(entries).__name__}')
    image_names = [osp.basename(p) for p in image_paths]
    ids = _image_ids(image_names, ann_file)
    id_source = (f'the images of {ann_file}' if ann_file else
                 'COCO file naming (000000000785.jpg is 785); pass an '
                 'annotation file to map other ids')

    boxes = {name: [] for name in image_names}
    for index, entry in enumerate(entries):
        where = f'boxes file {boxes_file}, entry {index}'
        if not isinstance(entry, dict):
            raise ValueError(f'{where}: expected a dict, got {entry!r}')
        name = _entry_image(entry, where, set(boxes), ids, id_source)
        bbox = entry.get('bbox')
        if (not isinstance(bbox, (list, tuple)) or len(bbox) != 4 or not all(
                isinstance(v, (int, float)) and math.isfinite(v)
                for v in bbox) or bbox[2] <= 0 or bbox[3] <= 0):
            raise ValueError(f'{where}: "bbox" must be [x, y, w, h] with '
                             f'w, h > 0, got {bbox!r}')
        score = entry.get('score', 1.)
        if not isinstance(score, (int, float)) or not math.isfinite(score):
            raise ValueError(
                f'{where}: "score" must be a number, got {score!r}')
        if entry.get('category_id',
                     COCO_PERSON_CATEGORY_ID) != COCO_PERSON_CATEGORY_ID:
            continue
        x, y, w, h = bbox
        boxes[name].append([x, y, x + w, y + h, score])
    return [
        np.asarray(boxes[name], dtype=np.float32).reshape(-1, 5)
        for name in image_names
    ]
