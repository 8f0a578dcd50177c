# Copyright (c) oksnet-mmpose contributors.
from .boxes_file import load_boxes_file
from .file_inference import FileInferenceResult, infer_files
from .oksnet_inferencer import OKSNetInferencer
from .oksnet_pose2d_inferencer import OKSNetPose2DInferencer
from .pose_quality_results import (check_quality_thr, filter_by_quality,
                                   split_instances_with_quality)

__all__ = [
    'FileInferenceResult', 'OKSNetInferencer', 'OKSNetPose2DInferencer',
    'check_quality_thr', 'filter_by_quality', 'infer_files',
    'load_boxes_file', 'split_instances_with_quality'
]
