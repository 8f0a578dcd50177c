# Copyright (c) oksnet-mmpose contributors.
from typing import Tuple

from mmpose.models.heads import SimCCHead
from mmpose.registry import MODELS
from torch import nn

from .pose_quality_mixin import PoseQualityMixin


@MODELS.register_module()
class OKSNetSimCCHead(PoseQualityMixin, SimCCHead):
    """:class:`SimCCHead` with an OKS-net branch. Its keypoint layer is the
    final conv that outputs one map per keypoint (that of the deconv head,
    or ``final_layer`` without deconvolutions), whose flattened maps the
    SimCC classifiers ``mlp_head_x`` / ``mlp_head_y`` read. By default the
    branch reads that conv's input (the deconv output, or the backbone
    output); ``pose_feature='keypoint_layer_output'`` reads the keypoint
    maps.

    Args:
        *args, **kwargs: As in :class:`SimCCHead`.
        oks_net, loss_oks, metainfo, pose_feature: See
            :class:`PoseQualityMixin`.
    """

    encoded_output_names = ('simcc_x', 'simcc_y')

    @property
    def keypoint_layer(self) -> nn.Module:
        if self.deconv_head is not None:
            return self.deconv_head.final_layer
        return self.final_layer

    @property
    def encoded_output_layers(self) -> Tuple[nn.Module, ...]:
        return (self.mlp_head_x, self.mlp_head_y)

    def keypoint_layer_input_shape(self, stock_args: dict) -> tuple:
        if self.deconv_head is None:
            if self.final_layer is None:
                # the classifiers read the backbone output: give the branch
                # a layer to hook it at; the stock forward applies a final
                # layer when there is one, and an identity changes nothing
                self.final_layer = nn.Identity()
            return stock_args['in_channels'], tuple(self.heatmap_size)
        channels = (stock_args['conv_out_channels']
                    or stock_args['deconv_out_channels'])
        return channels[-1], tuple(self.heatmap_size)
