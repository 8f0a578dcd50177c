# Copyright (c) oksnet-mmpose contributors.
from .freeze_except_oksnet_hook import FreezeExceptOKSNetHook
from .oks_loss_switch_hook import OKSLossSwitchHook

__all__ = ['OKSLossSwitchHook', 'FreezeExceptOKSNetHook']
