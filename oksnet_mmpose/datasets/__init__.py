# Copyright (c) oksnet-mmpose contributors.
from .synthetic_people import generate_synthetic_coco
from .transforms import *  # noqa: F401,F403

__all__ = ['generate_synthetic_coco']
