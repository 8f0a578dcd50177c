# Copyright (c) oksnet-mmpose contributors.
"""One synthetic image: people placed (sizes, crowds, overlap, truncation),
objects in front of them, painted far to near, labelled as COCO does, and
the person detector's boxes for it.

Every image is drawn from its own RNG seeded with ``(seed, split, index)``,
so a dataset does not depend on the order (or the processes) it is made in.
"""
import math
import os.path as osp
from typing import List, Sequence, Tuple

import cv2
import numpy as np

from .person import PART_BITS, Person
from .profiles import SyntheticProfile
from .rendering import background, degrade, paint_textured, random_shape

SPLIT_IDS = {'train': 0, 'val': 1}
# Image ids of a split start here, so that ids are unique across splits and
# do not depend on the size of the other split.
SPLIT_ID_BASE = 10_000_000
# Annotation id = image id * this + person index.
_MAX_PEOPLE_PER_IMAGE = 100
# Visible silhouettes smaller than this are not annotated, as in COCO, where
# such slivers of people are left out.
_MIN_ANNOTATED_AREA = 64


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _place_people(rng: np.random.Generator, img_w: int, img_h: int,
                  profile: SyntheticProfile) -> List[Person]:
    """Mostly one to four people (sometimes a crowd), mostly of COCO's
    medium and large sizes, some overlapping and some cut by the image
    border."""
    side = min(img_w, img_h)
    num_p = profile.num_people_p
    num = int(rng.choice(np.arange(1, len(num_p) + 1), p=num_p))
    crowd = num >= profile.crowd_min
    people: List[Person] = []
    for _ in range(num):
        if crowd:
            rel = _log_uniform(rng, *profile.crowd_rel_height)
        elif rng.random() < profile.small_p:
            # Far away: COCO's small people.
            rel = _log_uniform(rng, *profile.small_rel_height)
        else:
            # up to close-ups larger than the image, cut by the border
            rel = _log_uniform(rng, *profile.rel_height)
        person = Person(rng, rel * side, profile)
        size = person.size
        lo = size / 2
        hi = np.array([img_w, img_h]) - size / 2
        target = rng.uniform(np.minimum(lo, hi), np.maximum(lo, hi))
        if people and rng.random() < (profile.crowd_overlap_p
                                      if crowd else profile.overlap_p):
            # Next to (and overlapping) someone already placed.
            ref = people[rng.integers(len(people))]
            dx = rng.choice([-1, 1]) * rng.uniform(0.2, 1.) * max(
                size[0], ref.size[0])
            target = np.array([
                ref.center[0] + dx,
                ref.extent[3] - size[1] / 2 + rng.normal(0, 0.1) * size[1]
            ]).clip(0, [img_w, img_h])
        elif rng.random() < profile.truncation_p:
            # Cut by one image border, 15-85% of it staying inside.
            axis, far = rng.integers(2), rng.random() < 0.5
            inside = rng.uniform(0.15, 0.85) * size[axis]
            beyond = size[axis] / 2 - inside  # of the centre, past the border
            target[axis] = [img_w, img_h][axis] + beyond if far else -beyond
        person.shift(target - person.center)
        # Bigger is nearer, with some slack for people of different heights.
        person.scene_depth = math.log(person.height) + rng.normal(0, 0.15)
        people.append(person)
    return people


def _occluders(rng: np.random.Generator, people: List[Person], img_w: int,
               img_h: int,
               profile: SyntheticProfile) -> List[Tuple[float, tuple]]:
    """Objects in front of people: (scene depth, shape) of each."""
    out = []
    count_p = profile.occluder_count_p
    for _ in range(int(rng.choice(np.arange(len(count_p)), p=count_p))):
        target = people[rng.integers(len(people))]
        h = target.height
        kpt = target.xy[rng.integers(17)]
        kind = rng.choice(['band', 'pole', 'wall', 'blob'],
                          p=profile.occluder_kind_p)
        if kind == 'wall':
            # A wall, a door or a car from one side, hiding most of a person.
            x = target.center[0] + rng.uniform(-0.4, 0.3) * target.size[0]
            if rng.random() < 0.5:
                x0, x1 = -1., x
            else:
                x0, x1 = 2 * target.center[0] - x, img_w + 1.
            y0 = target.extent[1] + rng.uniform(-0.2, 0.5) * target.size[1]
            shape = ('poly',
                     np.array([[x0, y0], [x1, y0], [x1, img_h + 1.],
                               [x0, img_h + 1.]]))
        elif kind == 'band':
            # A table, a car or a fence hiding the lower body.
            y = target.xy[rng.choice([11, 13, 15])][1] + rng.normal(0, .05) * h
            w = rng.uniform(0.6, 2.) * target.size[0]
            bh = rng.uniform(0.2, 0.5) * h
            x = target.center[0] + rng.normal(0, 0.3) * target.size[0]
            shape = ('poly',
                     np.array([[x - w / 2, y - bh * 0.3],
                               [x + w / 2, y - bh * 0.3],
                               [x + w / 2, y + bh * 0.7],
                               [x - w / 2, y + bh * 0.7]]))
        elif kind == 'pole':
            w = rng.uniform(0.06, 0.22) * h
            x = kpt[0] + rng.normal(0, 0.05) * h
            shape = ('poly',
                     np.array([[x - w / 2, -1.], [x + w / 2, -1.],
                               [x + w / 2, img_h + 1.],
                               [x - w / 2, img_h + 1.]]))
        else:
            shape = random_shape(rng, kpt + rng.normal(0, 0.08, 2) * h,
                                 rng.uniform(0.15, 0.55) * h)
        out.append((target.scene_depth + rng.uniform(0.02, 0.3), shape))
    return out


def _detections(rng: np.random.Generator, image_id: int,
                people: Sequence[tuple], distractors: List[List[float]],
                img_w: int, img_h: int) -> List[dict]:
    """Person detector output for one image.

    Boxes are jittered around the annotated people (more for small and
    occluded ones), scored from their IoU with the truth and the person's
    visibility plus noise; hard people are missed more often, some are
    detected twice, and background clutter gives low-scored false positives.

    Args:
        people (Sequence[tuple]): (bbox xywh, visible-keypoint share, area)
            of each annotated person.
        distractors (list): xyxy boxes of the person-like clutter.
    """

    def clip_box(x0, y0, x1, y1):
        x0, x1 = np.clip([x0, x1], 0, img_w)
        y0, y1 = np.clip([y0, y1], 0, img_h)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        return [x0, y0, x1, y1]

    def iou(a, b):
        iw = max(0., min(a[2], b[2]) - max(a[0], b[0]))
        ih = max(0., min(a[3], b[3]) - max(a[1], b[1]))
        inter = iw * ih
        union = ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) *
                 (b[3] - b[1]) - inter)
        return inter / union if union > 0 else 0.

    def record(box, score):
        return dict(image_id=image_id,
                    category_id=1,
                    bbox=[
                        round(float(v), 2)
                        for v in (box[0], box[1], box[2] - box[0],
                                  box[3] - box[1])
                    ],
                    score=round(float(np.clip(score, 0.001, 1.)), 4))

    dets = []
    for (x, y, w, h), q, area in people:
        small = area < 32**2
        if rng.random() < 0.02 + 0.3 * (1 - q)**2 + 0.15 * small:
            continue
        gt = [x, y, x + w, y + h]
        for dup in range(1 + (rng.random() < 0.08)):
            sigma = (0.03 + 0.08 * (1 - q) + 0.04 * small) * (1 + dup)
            box = clip_box(*(np.array(gt) +
                             rng.normal(0, sigma, 4) * np.array([w, h, w, h])))
            if box is None:
                continue
            logit = (-4 + 6 * iou(box, gt) + 2.5 * q + rng.normal(0, 0.8) -
                     1.5 * dup)
            dets.append(record(box, 1 / (1 + math.exp(-logit))))
    for _ in range(int(rng.poisson(0.5))):
        if distractors and rng.random() < 0.7:
            d = distractors[rng.integers(len(distractors))]
            cx, cy = (d[0] + d[2]) / 2, (d[1] + d[3]) / 2
            bh = max(d[3] - d[1], d[2] - d[0]) * rng.uniform(1., 1.6)
        else:
            cx, cy = rng.uniform(0, img_w), rng.uniform(0, img_h)
            bh = rng.uniform(0.15, 0.6) * img_h
        bw = bh / rng.uniform(1.5, 3.)
        box = clip_box(cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2)
        if box is not None:
            dets.append(record(box, 1 / (1 + math.exp(-rng.normal(-2.2, 1.)))))
    return dets


def generate_image(
        task: Tuple[int, str, int, int, int, str, SyntheticProfile]) -> dict:
    """Draw, label and save one image.

    Args:
        task (tuple): (seed, split, index, width, height, image dir,
            profile).

    Returns:
        dict: ``image`` (COCO image entry), ``annotations`` and, for the val
        split, ``detections``.
    """
    seed, split, index, img_w, img_h, img_dir, profile = task
    split_id = SPLIT_IDS[split]
    rng = np.random.default_rng([seed, split_id, index])
    image_id = split_id * SPLIT_ID_BASE + index + 1

    img, distractors = background(rng, img_w, img_h, profile)
    people = _place_people(rng, img_w, img_h, profile)
    layers = [(p.scene_depth, 0, i) for i, p in enumerate(people)]
    occluders = _occluders(rng, people, img_w, img_h, profile)
    layers += [(d, 1, i) for i, (d, _) in enumerate(occluders)]
    owner = np.zeros((img_h, img_w), dtype=np.uint16)
    ranks = {}
    for layer, (_, is_occluder, i) in enumerate(sorted(layers)):
        if is_occluder:
            paint_textured(rng, img, owner, (layer + 1) << PART_BITS,
                           occluders[i][1])
        else:
            people[i].layer = layer
            ranks[i] = people[i].draw(img, owner)

    layer_map = owner >> PART_BITS
    annotations, det_people = [], []
    for i, person in enumerate(people):
        vis = person.label(rng, owner, ranks[i])
        sil = layer_map == person.layer + 1
        area = int(sil.sum())
        if area < _MIN_ANNOTATED_AREA:
            continue
        labelled = vis > 0
        kpts = np.round(person.xy[:17], 2)
        cols = np.flatnonzero(sil.any(0))
        rows = np.flatnonzero(sil.any(1))
        # The visible silhouette's box, grown to hold occluded keypoints that
        # an annotator placed (COCO boxes hold the labelled keypoints too).
        x0, y0 = float(cols[0]), float(rows[0])
        x1, y1 = float(cols[-1] + 1), float(rows[-1] + 1)
        if labelled.any():
            x0 = min(x0, math.floor(kpts[labelled, 0].min()))
            y0 = min(y0, math.floor(kpts[labelled, 1].min()))
            x1 = max(x1, math.ceil(kpts[labelled, 0].max()))
            y1 = max(y1, math.ceil(kpts[labelled, 1].max()))
        bbox = [x0, y0, min(float(img_w), x1) - x0, min(float(img_h), y1) - y0]
        keypoints = []
        for k in range(17):
            keypoints += ([float(kpts[k, 0]),
                           float(kpts[k, 1]),
                           int(vis[k])] if vis[k] else [0, 0, 0])
        annotations.append(
            dict(id=image_id * _MAX_PEOPLE_PER_IMAGE + i,
                 image_id=image_id,
                 category_id=1,
                 keypoints=keypoints,
                 num_keypoints=int(labelled.sum()),
                 area=float(area),
                 bbox=bbox,
                 iscrowd=0))
        det_people.append((bbox, float((vis == 2).mean()), area))

    img, quality = degrade(rng, img, profile)
    file_name = f'{image_id:012d}.jpg'
    path = osp.join(img_dir, file_name)
    if not cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, quality]):
        raise OSError(f'cannot write the image {path}')
    result = dict(image=dict(id=image_id,
                             file_name=file_name,
                             width=img_w,
                             height=img_h),
                  annotations=annotations)
    if split == 'val':
        # A stream of its own, so that the images do not depend on whether
        # detections are made.
        det_rng = np.random.default_rng([seed, split_id, index, 1])
        result['detections'] = _detections(det_rng, image_id, det_people,
                                           distractors, img_w, img_h)
    return result
