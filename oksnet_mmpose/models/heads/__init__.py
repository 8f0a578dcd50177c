# Copyright (c) oksnet-mmpose contributors.
from .forward_recorder import ForwardRecorderMixin
from .keypoint_oks_net import KeypointOKSNet
from .oks_net import OKSNet
from .oks_target import OKSTargetMixin
from .oksnet_cpm_head import OKSNetCPMHead
from .oksnet_head import OKSNetHead
from .oksnet_mspn_head import OKSNetMSPNHead
from .oksnet_rtmcc_head import OKSNetRTMCCHead
from .oksnet_simcc_head import OKSNetSimCCHead
from .oksnet_vipnas_head import OKSNetViPNASHead
from .pose_quality_mixin import PoseQualityMixin
from .registered_heads import (oksnet_head, oksnet_head_of_stock_head,
                               oksnet_head_types, stock_head_type)
from .untrained_branch_guard import UntrainedBranchGuardMixin

__all__ = [
    'OKSNet', 'KeypointOKSNet', 'OKSNetHead', 'OKSNetCPMHead', 'OKSNetMSPNHead',
    'OKSNetViPNASHead', 'OKSNetRTMCCHead', 'OKSNetSimCCHead',
    'PoseQualityMixin', 'ForwardRecorderMixin', 'OKSTargetMixin',
    'UntrainedBranchGuardMixin', 'oksnet_head', 'oksnet_head_types',
    'oksnet_head_of_stock_head', 'stock_head_type'
]
