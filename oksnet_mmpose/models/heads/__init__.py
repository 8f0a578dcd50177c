# Copyright (c) oksnet-mmpose contributors.
from .oks_net import OKSNet
from .oksnet_cpm_head import OKSNetCPMHead
from .oksnet_head import OKSNetHead
from .pose_quality_mixin import PoseQualityMixin

__all__ = ['OKSNet', 'OKSNetHead', 'OKSNetCPMHead', 'PoseQualityMixin']
