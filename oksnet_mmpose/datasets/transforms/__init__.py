# Copyright (c) oksnet-mmpose contributors.
from .formatting import PackOKSPoseInputs

__all__ = ['PackOKSPoseInputs']
