# Copyright (c) oksnet-mmpose contributors.
from typing import Tuple

from mmpose.models.heads import CPMHead
from mmpose.registry import MODELS
from torch import nn

from .oksnet_head import heatmap_size_of
from .pose_quality_mixin import PoseQualityMixin


@MODELS.register_module()
class OKSNetCPMHead(PoseQualityMixin, CPMHead):
    """Multi-stage heatmap head (:class:`CPMHead`: CPM, stacked hourglass)
    with intermediate supervision as stock, and an OKS-net branch on the
    last stage's pose feature, the stage MMPose predicts from.

    Args:
        *args, **kwargs: As in :class:`CPMHead`.
        oks_net, loss_oks, metainfo, pose_feature: See
            :class:`PoseQualityMixin`.
    """

    @property
    def keypoint_layer(self) -> nn.Module:
        return self.multi_final_layers[-1]

    @property
    def encoded_output_layers(self) -> Tuple[nn.Module, ...]:
        return (self.multi_final_layers[-1], )

    def keypoint_layer_input_shape(self, stock_args: dict) -> tuple:
        channels = (stock_args['deconv_out_channels']
                    or [stock_args['in_channels']])
        return channels[-1], heatmap_size_of(self.decoder)
