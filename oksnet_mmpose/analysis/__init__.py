# Copyright (c) oksnet-mmpose contributors.
from .analyze import analyze_quality
from .keypoint_eval import KeypointEvaluator
from .quality_analysis import (SCORE_FIELDS, correlations, gap_closed,
                               load_results)

__all__ = [
    'SCORE_FIELDS', 'KeypointEvaluator', 'analyze_quality', 'correlations',
    'gap_closed', 'load_results'
]
