# Copyright (c) oksnet-mmpose contributors.
"""Statistics of the annotated people of a COCO keypoint file, to compare a
synthetic profile with COCO: the shares of visible / occluded / unlabelled
keypoints, Ronchi & Perona's occlusion buckets, COCO's scale ranges and the
crowding of the people whose keypoints COCO's AP evaluates."""
import json
from collections import defaultdict
from typing import Dict

import numpy as np

# Ronchi & Perona's occlusion benchmarks (labelled keypoints per person)
NUM_KEYPOINT_BUCKETS = (('1-5', 1, 5), ('6-10', 6, 10), ('11-15', 11, 15),
                        ('16-17', 16, 17))
# COCO's scale ranges of the ``area`` field
AREA_RANGES = (('small', 0, 32**2), ('medium', 32**2, 96**2), ('large', 96**2,
                                                               float('inf')))
# boxes overlapping at least this IoU count as crowded (Ronchi & Perona's
# lowest overlap level)
CROWD_IOU = 0.1


def _box_iou(boxes: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (N, 4) xywh boxes."""
    x0, y0 = boxes[:, 0], boxes[:, 1]
    x1, y1 = x0 + boxes[:, 2], y0 + boxes[:, 3]
    iw = np.clip(
        np.minimum(x1[:, None], x1) - np.maximum(x0[:, None], x0), 0, None)
    ih = np.clip(
        np.minimum(y1[:, None], y1) - np.maximum(y0[:, None], y0), 0, None)
    inter = iw * ih
    area = boxes[:, 2] * boxes[:, 3]
    return inter / np.maximum(area[:, None] + area - inter, 1e-9)


def keypoint_statistics(ann_file: str) -> Dict[str, float]:
    """Statistics of the people with at least one labelled keypoint (those
    COCO's keypoint AP evaluates) of a COCO keypoint annotation file.

    Returns:
        dict: ``num_images`` (with such a person), ``num_people``,
        ``people_per_image``, ``visible`` / ``occluded`` / ``unlabelled``
        (shares of their keypoints with v = 2 / 1 / 0),
        ``median_num_keypoints``, ``num_keypoints_<bucket>`` (share of the
        people in each occlusion bucket), ``area_<range>`` (share in each
        COCO scale range) and ``crowded`` (share of people whose box
        overlaps another such person's box at IoU >= 0.1).
    """
    with open(ann_file, encoding='utf-8') as f:
        anns = [
            a for a in json.load(f)['annotations']
            if a.get('num_keypoints', 0) > 0 and not a.get('iscrowd', 0)
        ]
    if not anns:
        raise ValueError(f'{ann_file} holds no person with labelled '
                         'keypoints')
    flags = np.array([a['keypoints'][2::3] for a in anns])
    num_kpts = (flags > 0).sum(1)
    areas = np.array([a['area'] for a in anns], dtype=np.float64)
    by_image = defaultdict(list)
    for a in anns:
        by_image[a['image_id']].append(a['bbox'])
    crowded = 0
    for boxes in by_image.values():
        if len(boxes) > 1:
            iou = _box_iou(np.asarray(boxes, dtype=np.float64))
            np.fill_diagonal(iou, 0)
            crowded += int((iou.max(1) >= CROWD_IOU).sum())
    stats = dict(num_images=len(by_image),
                 num_people=len(anns),
                 people_per_image=len(anns) / len(by_image),
                 visible=float((flags == 2).mean()),
                 occluded=float((flags == 1).mean()),
                 unlabelled=float((flags == 0).mean()),
                 median_num_keypoints=float(np.median(num_kpts)))
    for name, low, high in NUM_KEYPOINT_BUCKETS:
        stats[f'num_keypoints_{name}'] = float(
            ((num_kpts >= low) & (num_kpts <= high)).mean())
    for name, low, high in AREA_RANGES:
        stats[f'area_{name}'] = float(((areas >= low) & (areas < high)).mean())
    stats['crowded'] = crowded / len(anns)
    return stats
