# Copyright (c) oksnet-mmpose contributors.
"""A deterministic synthetic COCO-format person-keypoint dataset, for the
offline benchmark (``tools/synthetic_benchmark.py``).

Not imported by ``import oksnet_mmpose`` (which only registers the plugin):
import ``oksnet_mmpose.synthetic`` to generate data.

Real COCO cannot be downloaded where this project is tested, so the
end-to-end runs use images of articulated 17-keypoint figures that carry
what makes the heatmap-mean pose score wrong according to the OKS-net
paper: occlusion by objects and by other people, truncation at the image
border, overlapping people (swap errors), subtle left/right cues
(inversions), small people and low image quality, on cluttered backgrounds
with limb-like distractors; how much of each is set by a data profile
(:mod:`.profiles`).

One concept per module:

- :mod:`.body_model`: the 3D stick skeleton and its postures;
- :mod:`.rendering`: drawing primitives, background, degradations;
- :mod:`.person`: a figure placed in an image, painted and labelled
  (COCO visibility from an owner map of who painted each pixel);
- :mod:`.scene`: one image (people, occluders, detector boxes);
- :mod:`.profiles`: the data profiles;
- :mod:`.writing`: the dataset on disk and its completion marker;
- :mod:`.statistics`: the annotated people's statistics, for comparison
  with COCO's.
"""
from .profiles import (DEFAULT_PROFILE, PROFILES, SyntheticProfile,
                       get_profile)
from .writing import (COCO_KEYPOINT_NAMES, COCO_SKELETON, GENERATOR_VERSION,
                      generate_synthetic_coco)

__all__ = [
    'COCO_KEYPOINT_NAMES', 'COCO_SKELETON', 'DEFAULT_PROFILE',
    'GENERATOR_VERSION', 'PROFILES', 'SyntheticProfile', 'get_profile',
    'generate_synthetic_coco'
]
