# Copyright (c) oksnet-mmpose contributors.
from .batched_decode import (decode_keypoints_batched, decode_megvii_heatmaps,
                             decode_msra_heatmaps, decode_per_instance,
                             decode_regression, decode_simcc,
                             decode_udp_heatmaps, has_batched_decode)

__all__ = [
    'decode_keypoints_batched', 'decode_msra_heatmaps', 'decode_udp_heatmaps',
    'decode_megvii_heatmaps', 'decode_simcc', 'decode_regression',
    'decode_per_instance', 'has_batched_decode'
]
