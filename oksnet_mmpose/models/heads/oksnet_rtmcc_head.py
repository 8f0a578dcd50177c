# Copyright (c) oksnet-mmpose contributors.
from typing import Tuple

from mmpose.models.heads import RTMCCHead
from mmpose.registry import MODELS
from torch import nn

from .pose_quality_mixin import PoseQualityMixin


@MODELS.register_module()
class OKSNetRTMCCHead(PoseQualityMixin, RTMCCHead):
    """:class:`RTMCCHead` (RTMPose) with an OKS-net branch. Its keypoint
    layer is ``final_layer``, the large-kernel conv that turns the backbone
    feature into one map per keypoint, which the MLP, the gated attention
    unit and the SimCC classifiers then read. By default the branch reads
    that conv's input (the backbone output, ``in_featuremap_size``);
    ``pose_feature='keypoint_layer_output'`` reads the keypoint maps.

    Its ``pose_quality`` is a predicted OKS in [0, 1], unlike RTMPose's
    keypoint scores (SimCC maxima, which can exceed 1).

    Args:
        *args, **kwargs: As in :class:`RTMCCHead`.
        oks_net, loss_oks, metainfo, pose_feature: See
            :class:`PoseQualityMixin`.
    """

    encoded_output_names = ('simcc_x', 'simcc_y')

    @property
    def keypoint_layer(self) -> nn.Module:
        return self.final_layer

    @property
    def encoded_output_layers(self) -> Tuple[nn.Module, ...]:
        return (self.cls_x, self.cls_y)

    def keypoint_layer_input_shape(self, stock_args: dict) -> tuple:
        return stock_args['in_channels'], stock_args['in_featuremap_size']
