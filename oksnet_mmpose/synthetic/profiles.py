# Copyright (c) oksnet-mmpose contributors.
"""Data profiles: how many people an image holds, how large, how crowded,
occluded, truncated and degraded they are.

``coco_like`` (the default) is chosen so that the shares of visible,
occluded and unlabelled keypoints, the person scales and the crowding of the
annotated people resemble COCO person_keypoints val2017 (the targets and how
they were chosen are in :data:`COCO_LIKE_TARGETS` and docs/benchmark.md);
``occlusion_stress`` is the harder data of generator versions <= 1.2
(crowds, close-ups cut by the border, many occluders), kept as an occlusion
stress test: with the same seed it draws exactly the images version 1.2 drew.
"""
from dataclasses import asdict, dataclass, replace
from typing import Dict, Tuple


@dataclass(frozen=True)
class SyntheticProfile:
    """The knobs of the scene generator. The defaults are
    ``occlusion_stress``'s.

    Probabilities are per image (``num_people_p``, ``occluder_count_p``,
    degradations), per person (sizes, placement, views, poses) or per
    keypoint; ranges are (low, high) of a uniform (log-uniform for sizes)
    draw, sizes as a fraction of the shorter image side.
    """
    name: str = 'occlusion_stress'
    # P(1, 2, ... len people) per image; crowds are images with at least
    # ``crowd_min`` people, drawn smaller and overlapping more.
    num_people_p: Tuple[float, ...] = (.44, .3, .13, .07, .03, .02, .01)
    crowd_min: int = 5
    crowd_rel_height: Tuple[float, float] = (0.3, 0.8)
    small_p: float = 0.08
    small_rel_height: Tuple[float, float] = (0.2, 0.35)
    rel_height: Tuple[float, float] = (0.5, 1.4)
    overlap_p: float = 0.3
    crowd_overlap_p: float = 0.75
    truncation_p: float = 0.3
    # P(0, 1, 2, 3 occluding objects) per image and the kinds' shares
    # ('band', 'pole', 'wall', 'blob').
    occluder_count_p: Tuple[float, ...] = (.6, .28, .09, .03)
    occluder_kind_p: Tuple[float, ...] = (0.3, 0.12, 0.13, 0.45)
    # views: near-frontal share (yaw ~ N(0, 20 deg)), the rest any yaw;
    # in-plane roll: share of people at any angle (acrobatics, lying)
    frontal_p: float = 0.5
    any_roll_p: float = 0.03
    # postures ('stand', 'walk', 'sit', 'bend', 'squat', 'free')
    pose_kind_p: Tuple[float, ...] = (0.28, 0.25, 0.12, 0.1, 0.08, 0.17)
    # background clutter: [low, high) shapes, at most n-1 limb-like sticks
    # and head-like blobs
    clutter_shapes: Tuple[int, int] = (3, 14)
    limb_distractors: int = 3
    head_distractors: int = 3
    # image quality
    low_contrast_p: float = 0.15
    blur_p: float = 0.15
    motion_blur_p: float = 0.1
    strong_noise_p: float = 0.2
    low_jpeg_p: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)


OCCLUSION_STRESS = SyntheticProfile()

# Our choices (see COCO_LIKE_TARGETS): mostly one or two people and rare
# crowds, fewer close-ups cut by the border and fewer occluders, mostly
# near-frontal views and everyday postures, milder degradations.
COCO_LIKE = replace(OCCLUSION_STRESS,
                    name='coco_like',
                    num_people_p=(.45, .3, .13, .07, .03, .015, .005),
                    rel_height=(0.5, 1.1),
                    small_rel_height=(0.22, 0.35),
                    overlap_p=0.15,
                    crowd_overlap_p=0.4,
                    truncation_p=0.15,
                    occluder_count_p=(.85, .13, .02, 0.),
                    occluder_kind_p=(0.35, 0.15, 0.05, 0.45),
                    frontal_p=0.85,
                    any_roll_p=0.01,
                    pose_kind_p=(0.4, 0.35, 0.08, 0.06, 0.04, 0.07),
                    clutter_shapes=(3, 10),
                    limb_distractors=2,
                    head_distractors=2,
                    low_contrast_p=0.05,
                    blur_p=0.05,
                    motion_blur_p=0.05,
                    strong_noise_p=0.05,
                    low_jpeg_p=0.03)

# What the coco_like profile must give, as (low, high) per statistic of
# :func:`.statistics.keypoint_statistics`; the tests check a 150-image set
# against them. The ranges are our choice: they hold the COCO val2017 sample
# (4 images, 12 people; docs/benchmark.md) where a 256 x 256 image with
# mostly one or two people can (3 people per image, 58 % large do not fit
# there), and a share of people with few labelled keypoints and small
# people, which the sample lacks but COCO has (Ronchi & Perona's 1-5
# benchmark).
COCO_LIKE_TARGETS = {
    'people_per_image': (1.5, 3.0),
    'visible': (0.6, 0.85),
    'occluded': (0.05, 0.2),
    'unlabelled': (0.08, 0.25),
    'median_num_keypoints': (14, 17),
    'num_keypoints_1-5': (0.02, 0.12),
    'num_keypoints_16-17': (0.35, 0.65),
    'area_small': (0.03, 0.15),
    'area_large': (0.12, 0.6),
    'crowded': (0.2, 0.6),
}

PROFILES: Dict[str, SyntheticProfile] = {
    p.name: p
    for p in (COCO_LIKE, OCCLUSION_STRESS)
}
DEFAULT_PROFILE = 'coco_like'


def get_profile(name: str) -> SyntheticProfile:
    """The profile called ``name``; an unknown name is an error listing the
    known ones."""
    if name not in PROFILES:
        raise ValueError(f'unknown synthetic data profile {name!r}; choose '
                         f'one of {sorted(PROFILES)}')
    return PROFILES[name]
