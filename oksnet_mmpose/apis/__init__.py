# Copyright (c) oksnet-mmpose contributors.
# What users import: the inferencers, ONNX export and the conversion of a
# top-down config to its OKS-net variant. Not imported by ``oksnet_mmpose``
# itself (importing this package registers ``OKSNetPose2DInferencer`` in
# MMPose's INFERENCERS).
from .config_conversion import (ConfigConversionError, add_oksnet,
                                convert_config)
from .inferencers import (FileInferenceResult, OKSNetInferencer,
                          OKSNetPose2DInferencer, check_quality_thr,
                          filter_by_quality, infer_files, load_boxes_file,
                          split_instances_with_quality)
from .onnx_export import (PoseQualityExportWrapper, export_onnx,
                          init_export_model, onnx_parity, run_onnx)

__all__ = [
    'add_oksnet', 'convert_config', 'ConfigConversionError',
    'FileInferenceResult', 'OKSNetInferencer', 'OKSNetPose2DInferencer',
    'PoseQualityExportWrapper', 'check_quality_thr', 'export_onnx',
    'filter_by_quality', 'infer_files', 'init_export_model',
    'load_boxes_file', 'onnx_parity', 'run_onnx',
    'split_instances_with_quality'
]
