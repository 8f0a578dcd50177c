# Copyright (c) oksnet-mmpose contributors.
from .oks import compute_oks

__all__ = ['compute_oks']
