# Copyright (c) oksnet-mmpose contributors.
from .hard_mined_oks_loss import HardMinedOKSLoss
from .keypoint_oks_loss import KeypointOKSLoss

__all__ = ['HardMinedOKSLoss', 'KeypointOKSLoss']
