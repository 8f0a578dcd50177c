# Copyright (c) oksnet-mmpose contributors.
from .hard_mined_oks_loss import HardMinedOKSLoss

__all__ = ['HardMinedOKSLoss']
