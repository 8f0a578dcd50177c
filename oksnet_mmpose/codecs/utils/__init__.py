# Copyright (c) oksnet-mmpose contributors.
from .post_processing import (gaussian_blur, gaussian_blur1d_scale,
                              gaussian_blur_reflect, gaussian_blur_scale,
                              get_heatmap_maximum, get_simcc_maximum)
from .refinement import (refine_keypoints, refine_keypoints_dark,
                         refine_keypoints_dark_udp, refine_simcc_dark)

__all__ = [
    'gaussian_blur', 'gaussian_blur1d_scale', 'gaussian_blur_reflect',
    'gaussian_blur_scale', 'get_heatmap_maximum', 'get_simcc_maximum',
    'refine_keypoints', 'refine_keypoints_dark', 'refine_keypoints_dark_udp',
    'refine_simcc_dark'
]
