# Copyright (c) oksnet-mmpose contributors.
from .quality_analysis import (SCORE_FIELDS, coco_ap, correlations, gap_closed,
                               load_results, summarize)

__all__ = [
    'SCORE_FIELDS', 'coco_ap', 'correlations', 'gap_closed', 'load_results',
    'summarize'
]
