# Copyright (c) oksnet-mmpose contributors.
# Not imported by ``oksnet_mmpose`` itself: inference, ONNX export, config
# conversion and the main job are tools on top of the registered modules
# (importing this package registers ``OKSNetPose2DInferencer`` in MMPose's INFERENCERS).
from .config_conversion import (ConfigConversionError, add_oksnet,
                                convert_config)
from .inferencers import OKSNetInferencer, OKSNetPose2DInferencer
from .onnx_export import (PoseQualityExportWrapper, export_onnx,
                          init_export_model, onnx_parity, run_onnx)
from .person_boxes import (BoxesFileBoxes, DetectorBoxes, PersonBoxSource,
                           WholeImageBoxes)
from .pose_quality_results import (filter_by_quality,
                                   split_instances_with_quality)
from .quality_demo import (QualityDemoSummary, TopdownQualityDemo,
                           run_quality_demo)

__all__ = [
    'add_oksnet', 'convert_config', 'ConfigConversionError',
    'OKSNetInferencer', 'OKSNetPose2DInferencer', 'PoseQualityExportWrapper',
    'export_onnx', 'init_export_model', 'onnx_parity', 'run_onnx',
    'BoxesFileBoxes', 'DetectorBoxes', 'PersonBoxSource', 'WholeImageBoxes',
    'filter_by_quality', 'split_instances_with_quality',
    'QualityDemoSummary', 'TopdownQualityDemo', 'run_quality_demo'
]
