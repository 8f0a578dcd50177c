# Copyright (c) oksnet-mmpose contributors.
import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.models.backbones.resnet import BasicBlock
from mmpose.registry import MODELS
from mmpose.utils.typing import OptConfigType
from torch import Tensor, nn


class ChannelAttention(nn.Module):
    """Re-weight the channels of the pose feature (paper Fig. 8): global
    max-pooling, one FC layer and a sigmoid give one weight per channel.

    Channels of the pose feature respond to keypoint types, and channels of
    occluded keypoints respond weakly, so the weights let the branch score a
    pose mostly from its visible keypoints.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.fc = nn.Linear(channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        weights = torch.sigmoid(self.fc(x.amax(dim=(2, 3))))
        return x * weights[:, :, None, None]


class SpatialAttention(nn.Module):
    """Re-weight the locations of the pose feature (paper Tab. VII, strategy
    3): channel-wise max and mean, a 7x7 conv and a sigmoid give one weight
    per location."""

    def __init__(self, kernel_size: int = 7):
        super().__init__()
        self.conv = nn.Conv2d(
            2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        pooled = torch.cat([x.amax(dim=1, keepdim=True),
                            x.mean(dim=1, keepdim=True)],
                           dim=1)
        return x * torch.sigmoid(self.conv(pooled))


@MODELS.register_module()
class OKSNet(BaseModule):
    """The OKS-net branch: regress the OKS of the decoded pose from the pose
    feature (paper Sec. III-C, Fig. 8).

    attention -> 3 x (conv k3 stride 2, ``conv_channels``, BN, ReLU) ->
    flatten -> FC ``fc_channels`` -> FC ``fc_channels`` -> FC 1 -> sigmoid.

    The first FC layer reads a fixed grid: the down-sampled ``feature_size``.
    A pose feature of another size (a head fed other feature sizes than its
    config's, or built without a decoder) is adaptively average-pooled to
    that grid after down-sampling, as the fully convolutional heatmap layer
    it sits beside accepts any size. At ``feature_size`` nothing is pooled:
    the paper's geometry.

    Args:
        in_channels (int): Channels of the pose feature.
        feature_size (Sequence[int], optional): Size ``(w, h)`` of the pose
            feature (the heatmap size), which fixes the first FC layer's
            input. ``None`` (size unknown): the grid of the paper's 256x192
            COCO geometry, ``(48, 64)``. Defaults to ``None``.
        attention (str): ``'channel'`` (paper), ``'spatial'`` or ``'none'``
            (ablation of Tab. VII). Defaults to ``'channel'``.
        structure (str): Down-sampling structure: ``'conv'`` (paper),
            ``'maxpool'`` (one max-pooling layer) or ``'residual'`` (residual
            blocks), the ablation of Tab. X / Fig. 14. Defaults to ``'conv'``.
        num_downsamples (int): Number of stride-2 stages. Defaults to 3.
        conv_channels (int): Channels of the conv layers. Defaults to 32.
        fc_channels (int): Width of the two hidden FC layers.
            Defaults to 1024.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    # the heatmap size of the 256x192 COCO configs the paper uses
    default_feature_size = (48, 64)
    # the paper's branch reads the pose feature alone (see KeypointOKSNet)
    reads_keypoint_statistics = False

    def __init__(self,
                 in_channels: int,
                 feature_size: Optional[Sequence[int]] = None,
                 attention: str = 'channel',
                 structure: str = 'conv',
                 num_downsamples: int = 3,
                 conv_channels: int = 32,
                 fc_channels: int = 1024,
                 init_cfg: OptConfigType = None):
        super().__init__(init_cfg)
        if attention == 'channel':
            self.attention = ChannelAttention(in_channels)
        elif attention == 'spatial':
            self.attention = SpatialAttention()
        elif attention == 'none':
            self.attention = nn.Identity()
        else:
            raise ValueError(f'OKSNet: unknown attention "{attention}", '
                             "expected 'channel', 'spatial' or 'none'")

        if structure == 'conv':
            layers, out_channels = [], in_channels
            for _ in range(num_downsamples):
                layers.append(
                    ConvModule(
                        out_channels,
                        conv_channels,
                        kernel_size=3,
                        stride=2,
                        padding=1,
                        norm_cfg=dict(type='BN')))
                out_channels = conv_channels
            self.downsample = nn.Sequential(*layers)
        elif structure == 'maxpool':
            stride = 2**num_downsamples
            self.downsample = nn.MaxPool2d(stride, stride, ceil_mode=True)
            out_channels = in_channels
        elif structure == 'residual':
            layers, out_channels = [], in_channels
            for _ in range(num_downsamples):
                layers.append(
                    BasicBlock(
                        out_channels,
                        conv_channels,
                        stride=2,
                        downsample=ConvModule(
                            out_channels,
                            conv_channels,
                            kernel_size=1,
                            stride=2,
                            norm_cfg=dict(type='BN'),
                            act_cfg=None)))
                out_channels = conv_channels
            self.downsample = nn.Sequential(*layers)
        else:
            raise ValueError(f'OKSNet: unknown structure "{structure}", '
                             "expected 'conv', 'maxpool' or 'residual'")

        self.in_channels = in_channels
        self.feature_size = None if feature_size is None else tuple(
            feature_size)
        # every down-sampling structure maps a side of n pixels to
        # ceil(n / 2**num_downsamples)
        w, h = (math.ceil(s / 2**num_downsamples)
                for s in (feature_size or self.default_feature_size))
        self.grid_size = (w, h)
        # what the first FC layer reads per pose
        self.flat_channels = out_channels * w * h
        self.fc = nn.Sequential(
            nn.Flatten(),
            nn.Linear(self.flat_channels, fc_channels),
            nn.ReLU(inplace=True),
            nn.Linear(fc_channels, fc_channels),
            nn.ReLU(inplace=True),
            nn.Linear(fc_channels, 1),
        )

    def forward(self, pose_feature: Tensor) -> Tensor:
        """Predict the OKS of each pose.

        Args:
            pose_feature (Tensor): The feature the keypoint layer reads, in
                shape (B, C, H, W); any (W, H), ``feature_size`` for the
                paper's geometry.

        Returns:
            Tensor: Predicted OKS in [0, 1], shape (B, ).
        """
        return torch.sigmoid(self.fc(self.downsampled(pose_feature))).squeeze(1)

    def downsampled(self, pose_feature: Tensor) -> Tensor:
        """Attention and down-sampling of the pose feature: what the FC
        layers read, (B, C', h, w) at :attr:`grid_size`."""
        # the checks are eager-only: an ONNX trace fixes the shape anyway and
        # would warn that the comparison is frozen into the graph
        tracing = torch.jit.is_tracing()
        if not tracing and pose_feature.shape[1] != self.in_channels:
            raise ValueError(
                f'{type(self).__name__} expects a pose feature with '
                f'{self.in_channels} channels, got shape '
                f'{tuple(pose_feature.shape)}')
        x = self.attention(pose_feature)
        x = self.downsample(x)
        if not tracing and tuple(x.shape[:1:-1]) != self.grid_size:
            x = F.adaptive_avg_pool2d(x, self.grid_size[::-1])
        return x

    def extra_repr(self) -> str:
        return (f'feature_size={self.feature_size}, '
                f'grid_size={self.grid_size}')
