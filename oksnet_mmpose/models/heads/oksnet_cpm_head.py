# Copyright (c) oksnet-mmpose contributors.
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmpose.evaluation.functional import pose_pck_accuracy
from mmpose.models.heads import CPMHead
from mmpose.registry import MODELS
from mmpose.utils.tensor_utils import to_numpy
from mmpose.utils.typing import (ConfigType, MultiConfig, OptConfigType,
                                 OptSampleList, Predictions)
from torch import Tensor, nn

from .pose_quality_mixin import PoseQualityMixin

OptIntSeq = Optional[Sequence[int]]


@MODELS.register_module()
class OKSNetCPMHead(PoseQualityMixin, CPMHead):
    """Multi-stage heatmap head (:class:`CPMHead`, e.g. for stacked
    hourglass, ``HourglassNet(num_stacks=N)``) with intermediate supervision
    and an OKS-net branch on the last stage's pose feature.

    Args:
        in_channels, out_channels, num_stages, deconv_out_channels,
        deconv_kernel_sizes, final_layer, loss, decoder, init_cfg: As in
        :class:`CPMHead` (a heatmap loss per stage).
        oks_net, loss_oks, metainfo: As in :class:`OKSNetHead`.
    """

    def __init__(self,
                 in_channels: Union[int, Sequence[int]],
                 out_channels: int,
                 num_stages: int,
                 deconv_out_channels: OptIntSeq = None,
                 deconv_kernel_sizes: OptIntSeq = None,
                 final_layer: dict = dict(kernel_size=1),
                 loss: MultiConfig = dict(
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
            num_stages=num_stages,
            deconv_out_channels=deconv_out_channels,
            deconv_kernel_sizes=deconv_kernel_sizes,
            final_layer=final_layer,
            loss=loss,
            decoder=decoder,
            init_cfg=init_cfg)
        pose_feature_channels = (
            deconv_out_channels[-1] if deconv_out_channels else in_channels)
        self._init_pose_quality(oks_net, loss_oks, metainfo,
                                pose_feature_channels)

    def forward_pose_features(self, feats: Sequence[Tensor]) -> List[Tensor]:
        """The pose feature of each stage: what its heatmap layer reads."""
        assert len(feats) == self.num_stages, (
            f'The length of feature maps did not match the '
            f'`num_stages` in {self.__class__.__name__}')
        return [
            deconv(feat)
            for deconv, feat in zip(self.multi_deconv_layers, feats)
        ]

    def forward_heatmaps_and_pose_feature(
            self, feats: Sequence[Tensor]) -> Tuple[List[Tensor], Tensor]:
        """The heatmaps of every stage and the pose feature the OKS-net
        branch reads (the last stage's), computed once."""
        pose_features = self.forward_pose_features(feats)
        heatmaps = [
            final(pose_feature) for final, pose_feature in zip(
                self.multi_final_layers, pose_features)
        ]
        return heatmaps, pose_features[-1]

    def forward(self, feats: Sequence[Tensor]) -> List[Tensor]:
        """Forward the network; the output is the heatmaps of every stage,
        as in :class:`CPMHead`."""
        return self.forward_heatmaps_and_pose_feature(feats)[0]

    def predict(self,
                feats: Union[Sequence[Tensor], list],
                batch_data_samples: OptSampleList,
                test_cfg: OptConfigType = {}) -> Predictions:
        """Predict keypoints from the last stage as :meth:`CPMHead.predict`
        does, and add ``pose_quality`` (flip-averaged with ``flip_test``)."""
        if test_cfg.get('flip_test', False):
            assert isinstance(feats, list) and len(feats) == 2
            pose_features = [
                self.forward_pose_features(f)[-1] for f in feats
            ]
        else:
            pose_features = [self.forward_pose_features(feats)[-1]]
        return self.predict_from_pose_features(pose_features,
                                               self.multi_final_layers[-1],
                                               batch_data_samples, test_cfg)

    def loss(self,
             feats: Sequence[Tensor],
             batch_data_samples: OptSampleList,
             train_cfg: OptConfigType = {}) -> dict:
        """A heatmap loss per stage (as :meth:`CPMHead.loss`) plus
        ``loss_oks`` on the last stage."""
        multi_stage_heatmaps, pose_feature = \
            self.forward_heatmaps_and_pose_feature(feats)
        gt_heatmaps = torch.stack(
            [d.gt_fields.heatmaps for d in batch_data_samples])
        keypoint_weights = torch.cat([
            d.gt_instance_labels.keypoint_weights for d in batch_data_samples
        ])

        loss_kpt = 0.
        for i, heatmaps in enumerate(multi_stage_heatmaps):
            loss_func = (
                self.loss_module[i] if isinstance(
                    self.loss_module, nn.ModuleList) else self.loss_module)
            loss_kpt = loss_kpt + loss_func(heatmaps, gt_heatmaps,
                                            keypoint_weights)
        losses = dict(loss_kpt=loss_kpt)
        losses.update(
            self.quality_loss(pose_feature, multi_stage_heatmaps[-1],
                              batch_data_samples))

        _, avg_acc, _ = pose_pck_accuracy(
            output=to_numpy(multi_stage_heatmaps[-1].float()),
            target=to_numpy(gt_heatmaps),
            mask=to_numpy(keypoint_weights) > 0)
        losses.update(
            acc_pose=torch.tensor(avg_acc, device=gt_heatmaps.device))
        return losses
