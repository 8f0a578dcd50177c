# Copyright (c) oksnet-mmpose contributors.
from .oksnet_inferencer import OKSNetInferencer
from .oksnet_pose2d_inferencer import OKSNetPose2DInferencer

__all__ = ['OKSNetInferencer', 'OKSNetPose2DInferencer']
