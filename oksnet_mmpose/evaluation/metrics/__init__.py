# Copyright (c) oksnet-mmpose contributors.
from .quality_coco_metric import QualityCocoMetric

__all__ = ['QualityCocoMetric']
