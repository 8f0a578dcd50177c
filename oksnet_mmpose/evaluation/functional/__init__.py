# Copyright (c) oksnet-mmpose contributors.
from .oks import compute_oks, keypoint_similarities

__all__ = ['compute_oks', 'keypoint_similarities']
