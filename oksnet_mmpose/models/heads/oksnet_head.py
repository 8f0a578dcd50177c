# Copyright (c) oksnet-mmpose contributors.
from typing import Optional, Sequence, Tuple

from mmpose.models.heads import HeatmapHead
from mmpose.registry import MODELS
from torch import nn

from .pose_quality_mixin import PoseQualityMixin


def heatmap_size_of(decoder) -> Optional[Tuple[int, int]]:
    """The heatmap size (w, h) of a heatmap codec; None without one."""
    size = getattr(decoder, 'heatmap_size', None)
    return None if size is None else tuple(size)


@MODELS.register_module()
class OKSNetHead(PoseQualityMixin, HeatmapHead):
    """:class:`HeatmapHead` (SimpleBaseline, HRNet, ...) with an OKS-net
    branch that predicts the OKS of each decoded pose (`Learning to Acquire
    the Quality of Human Pose Estimation`, Zhao et al.).

    The branch reads the pose feature: what the final heatmap layer reads
    (the backbone output for HRNet, the last deconv output for
    SimpleBaseline), at the decoder's heatmap size.

    Args:
        *args, **kwargs: As in :class:`HeatmapHead`.
        oks_net, loss_oks, metainfo, pose_feature: See
            :class:`PoseQualityMixin`.
    """

    @property
    def keypoint_layer(self) -> nn.Module:
        return self.final_layer

    @property
    def encoded_output_layers(self) -> Tuple[nn.Module, ...]:
        return (self.final_layer, )

    def keypoint_layer_input_shape(self, stock_args: dict) -> tuple:
        channels: Sequence[int] = (stock_args['conv_out_channels']
                                   or stock_args['deconv_out_channels']
                                   or [stock_args['in_channels']])
        return channels[-1], heatmap_size_of(self.decoder)
