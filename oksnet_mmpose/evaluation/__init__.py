# Copyright (c) oksnet-mmpose contributors.
from .functional import compute_oks
from .metrics import QualityCocoMetric

__all__ = ['compute_oks', 'QualityCocoMetric']
