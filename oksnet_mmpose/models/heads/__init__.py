# Copyright (c) oksnet-mmpose contributors.
from .oks_net import OKSNet
from .oksnet_cpm_head import OKSNetCPMHead
from .oksnet_head import OKSNetHead
from .oksnet_mspn_head import OKSNetMSPNHead
from .oksnet_rtmcc_head import OKSNetRTMCCHead
from .oksnet_simcc_head import OKSNetSimCCHead
from .oksnet_vipnas_head import OKSNetViPNASHead
from .pose_quality_mixin import PoseQualityMixin

__all__ = [
    'OKSNet', 'OKSNetHead', 'OKSNetCPMHead', 'OKSNetMSPNHead',
    'OKSNetViPNASHead', 'OKSNetRTMCCHead', 'OKSNetSimCCHead',
    'PoseQualityMixin'
]
