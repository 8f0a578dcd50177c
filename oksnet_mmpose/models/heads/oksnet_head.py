# Copyright (c) oksnet-mmpose contributors.
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmpose.evaluation.functional import pose_pck_accuracy
from mmpose.models.heads import HeatmapHead
from mmpose.registry import MODELS
from mmpose.utils.tensor_utils import to_numpy
from mmpose.utils.typing import (ConfigType, OptConfigType, OptSampleList,
                                 Predictions)
from torch import Tensor

from .pose_quality_mixin import PoseQualityMixin

OptIntSeq = Optional[Sequence[int]]


@MODELS.register_module()
class OKSNetHead(PoseQualityMixin, HeatmapHead):
    """:class:`HeatmapHead` with an OKS-net branch that predicts the OKS of
    each decoded pose (`Learning to Acquire the Quality of Human Pose
    Estimation`, Zhao et al.).

    Heatmaps are computed exactly as by :class:`HeatmapHead`, with the same
    parameter names, so the head drops into any stock top-down heatmap
    config and a stock checkpoint loads with only ``oks_net.*`` missing. The
    branch ``oks_net`` reads the *pose feature*: the tensor the final heatmap
    layer reads (the backbone output for HRNet, the last deconv output for
    SimpleBaseline).

    Args:
        in_channels, out_channels, deconv_out_channels, deconv_kernel_sizes,
        conv_out_channels, conv_kernel_sizes, final_layer, loss, decoder,
        init_cfg: As in :class:`HeatmapHead`.
        oks_net (dict): Extra arguments of :class:`OKSNet` (``attention``,
            ``structure``, ...). ``in_channels`` and ``feature_size`` are
            derived from the head. Defaults to ``dict()``.
        loss_oks (dict): Config of the OKS loss; its ``loss_weight`` is the
            paper's lambda_OKS (see :class:`OKSLossSwitchHook`). Defaults to
            :class:`HardMinedOKSLoss`.
        metainfo (str | dict): Dataset metainfo (file) with the keypoint
            ``sigmas`` of the OKS, as in MMPose's ``OKSLoss``. Defaults to
            COCO's ``'configs/_base_/datasets/coco.py'``.
    """

    def __init__(self,
                 in_channels: Union[int, Sequence[int]],
                 out_channels: int,
                 deconv_out_channels: OptIntSeq = (256, 256, 256),
                 deconv_kernel_sizes: OptIntSeq = (4, 4, 4),
                 conv_out_channels: OptIntSeq = None,
                 conv_kernel_sizes: OptIntSeq = None,
                 final_layer: dict = dict(kernel_size=1),
                 loss: ConfigType = dict(
                     type='KeypointMSELoss', use_target_weight=True),
                 decoder: OptConfigType = None,
                 init_cfg: OptConfigType = None,
                 oks_net: dict = dict(),
                 loss_oks: ConfigType = dict(type='HardMinedOKSLoss'),
                 metainfo: Union[str,
                                 dict] = 'configs/_base_/datasets/coco.py'):
        super().__init__(
            in_channels=in_channels,
            out_channels=out_channels,
            deconv_out_channels=deconv_out_channels,
            deconv_kernel_sizes=deconv_kernel_sizes,
            conv_out_channels=conv_out_channels,
            conv_kernel_sizes=conv_kernel_sizes,
            final_layer=final_layer,
            loss=loss,
            decoder=decoder,
            init_cfg=init_cfg)
        if conv_out_channels:
            pose_feature_channels = conv_out_channels[-1]
        elif deconv_out_channels:
            pose_feature_channels = deconv_out_channels[-1]
        else:
            pose_feature_channels = in_channels
        self._init_pose_quality(oks_net, loss_oks, metainfo,
                                pose_feature_channels)

    def forward_pose_feature(self, feats: Tuple[Tensor]) -> Tensor:
        """The pose feature: what the final heatmap layer reads."""
        return self.conv_layers(self.deconv_layers(feats[-1]))

    def forward_heatmaps_and_pose_feature(
            self, feats: Tuple[Tensor]) -> Tuple[List[Tensor], Tensor]:
        """The heatmaps (a one-stage list) and the pose feature the OKS-net
        branch reads, computed once."""
        pose_feature = self.forward_pose_feature(feats)
        return [self.final_layer(pose_feature)], pose_feature

    def forward(self, feats: Tuple[Tensor]) -> Tensor:
        """Forward the network; the output is the heatmaps, as in
        :class:`HeatmapHead`."""
        return self.final_layer(self.forward_pose_feature(feats))

    def predict(self,
                feats: Union[Tuple[Tensor], list],
                batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> Predictions:
        """Predict keypoints as :meth:`HeatmapHead.predict` does, and add
        ``pose_quality`` (the predicted OKS; with ``flip_test`` the mean of
        the original and flipped input's) to each ``InstanceData``."""
        if test_cfg.get('flip_test', False):
            # TTA: flip test -> feats = [orig, flipped]
            assert isinstance(feats, list) and len(feats) == 2
            pose_features = [self.forward_pose_feature(f) for f in feats]
        else:
            pose_features = [self.forward_pose_feature(feats)]
        return self.predict_from_pose_features(
            pose_features, self.final_layer, batch_data_samples, test_cfg)

    def loss(self,
             feats: Tuple[Tensor],
             batch_data_samples: OptSampleList,
             train_cfg: ConfigType = {}) -> dict:
        """Heatmap loss (as :meth:`HeatmapHead.loss`) plus ``loss_oks``
        against the online GT OKS of the decoded heatmaps."""
        pose_feature = self.forward_pose_feature(feats)
        pred_heatmaps = self.final_layer(pose_feature)
        gt_heatmaps = torch.stack(
            [d.gt_fields.heatmaps for d in batch_data_samples])
        keypoint_weights = torch.cat([
            d.gt_instance_labels.keypoint_weights for d in batch_data_samples
        ])

        losses = dict(
            loss_kpt=self.loss_module(pred_heatmaps, gt_heatmaps,
                                      keypoint_weights))
        losses.update(
            self.quality_loss(pose_feature, pred_heatmaps,
                              batch_data_samples))

        if train_cfg.get('compute_acc', True):
            _, avg_acc, _ = pose_pck_accuracy(
                # float(): numpy has no bfloat16 (bf16 autocast on CPU)
                output=to_numpy(pred_heatmaps.float()),
                target=to_numpy(gt_heatmaps),
                mask=to_numpy(keypoint_weights) > 0)
            losses.update(
                acc_pose=torch.tensor(avg_acc, device=gt_heatmaps.device))

        return losses
