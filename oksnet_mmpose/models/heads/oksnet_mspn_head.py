# Copyright (c) oksnet-mmpose contributors.
from typing import Tuple

from mmpose.models.heads import MSPNHead
from mmpose.registry import MODELS
from torch import nn

from .pose_quality_mixin import PoseQualityMixin


@MODELS.register_module()
class OKSNetMSPNHead(PoseQualityMixin, MSPNHead):
    """Multi-stage multi-unit heatmap head (:class:`MSPNHead`: MSPN, RSN)
    with its per-stage, per-unit losses as stock, and an OKS-net branch on
    the pose feature of the last unit of the last stage, the unit MMPose
    predicts from: what its final keypoint conv reads (``unit_channels``
    channels, before the resize to ``out_shape`` and the optional PRM).

    Args:
        *args, **kwargs: As in :class:`MSPNHead`.
        oks_net, loss_oks, metainfo, pose_feature: See
            :class:`PoseQualityMixin`.
    """

    @property
    def keypoint_layer(self) -> nn.Module:
        return self.predict_layers[-1].conv_layers[-1]

    @property
    def encoded_output_layers(self) -> Tuple[nn.Module, ...]:
        return (self.predict_layers[-1], )

    def keypoint_layer_input_shape(self, stock_args: dict) -> tuple:
        # the last unit works at the output resolution in MMPose's MSPN/RSN
        # configs; another size is pooled by the branch
        height, width = stock_args['out_shape']
        return stock_args['unit_channels'], (width, height)
