# Copyright (c) oksnet-mmpose contributors.
from typing import Dict, List, Tuple, Union

import numpy as np
import torch
from mmengine.structures import PixelData
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.models.utils.tta import flip_heatmaps
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptSampleList, Predictions
from torch import Tensor, nn

from oksnet_mmpose.codecs import decode_keypoints_batched
from oksnet_mmpose.evaluation.functional import compute_oks


class PoseQualityMixin:
    """The OKS-net part shared by :class:`OKSNetHead` and
    :class:`OKSNetCPMHead`: the ``oks_net`` branch, its online GT-OKS target,
    its loss and its flip-averaged prediction.

    The host head must provide ``self.decoder`` (the codec used at test time),
    ``self.out_channels`` and ``forward_heatmaps_and_pose_feature(feats)``
    (the heatmaps of every stage and the pose feature the branch reads, for
    tools that run the network outside ``predict``: ONNX export, the cost
    benchmark).
    """

    def _init_pose_quality(self, oks_net: ConfigType, loss_oks: ConfigType,
                           metainfo: Union[str, dict],
                           pose_feature_channels: int) -> None:
        """Build ``self.oks_net``, ``self.loss_oks`` and the sigmas."""
        cfg = dict(type='OKSNet', in_channels=pose_feature_channels)
        cfg.update(oks_net)
        if 'feature_size' not in cfg:
            if self.decoder is None:
                raise ValueError(
                    f'{type(self).__name__}: `oks_net.feature_size` is '
                    'needed when the head has no `decoder`')
            # the final heatmap layer is a 1x1 conv: the pose feature has
            # the heatmap size
            cfg['feature_size'] = tuple(self.decoder.heatmap_size)
        self.oks_net = MODELS.build(cfg)
        self.loss_oks = MODELS.build(loss_oks)

        if isinstance(metainfo, str):
            metainfo = dict(from_file=metainfo)
        sigmas = parse_pose_metainfo(metainfo).get('sigmas')
        if sigmas is None or len(sigmas) != self.out_channels:
            raise ValueError(
                f'{type(self).__name__}: the dataset metainfo {metainfo} '
                f'has {0 if sigmas is None else len(sigmas)} keypoint sigmas '
                f'but the head predicts out_channels={self.out_channels} '
                'keypoints; they must match')
        # not persistent: it comes from the dataset metainfo, and stock
        # checkpoints must load with only `oks_net.*` missing
        self.register_buffer(
            'sigmas', torch.as_tensor(sigmas, dtype=torch.float32),
            persistent=False)

    def decode_keypoints(self, heatmaps: Tensor) -> Tensor:
        """Decode keypoints (input image space) from a batch of heatmaps with
        the test-time codec, without gradient, batched on the heatmaps'
        device (see :func:`decode_keypoints_batched`)."""
        if self.decoder is None:
            raise ValueError(f'{type(self).__name__} needs a `decoder` to '
                             'compute the OKS targets')
        return decode_keypoints_batched(self.decoder, heatmaps)

    @torch.no_grad()
    def get_oks_targets(self, heatmaps: Tensor,
                        batch_data_samples: OptSampleList
                        ) -> Tuple[Tensor, Tensor]:
        """The GT OKS of the poses decoded from ``heatmaps`` (paper Eq. 1).

        Computed in the model input frame: the GT keypoints after the
        affine transform and the annotation area scaled by the same factor
        squared (both packed by :class:`PackOKSPoseInputs`).

        Returns:
            tuple: ``gt_oks`` (B, ) and per-sample loss ``weights`` (B, ),
            0 for an instance with no labelled keypoint.
        """
        # float32 even under AMP: bf16 coordinates would be ~1 px coarse
        heatmaps = heatmaps.float()
        if not torch.isfinite(heatmaps).all():
            bad = (~torch.isfinite(heatmaps)).flatten(1).any(1)
            raise FloatingPointError(
                f'{type(self).__name__}: the predicted heatmaps of batch '
                f'samples {bad.nonzero().flatten().tolist()} contain NaN/Inf; '
                'the OKS targets cannot be computed (training diverged?)')
        gt_instances = [d.gt_instances for d in batch_data_samples]
        for name in ('transformed_keypoints', 'transformed_areas'):
            if name not in gt_instances[0]:
                raise KeyError(
                    f'{type(self).__name__} needs `gt_instances.{name}` to '
                    'compute the OKS targets: end the train pipeline with '
                    "dict(type='PackOKSPoseInputs') instead of "
                    'PackPoseInputs')
        gt_keypoints = heatmaps.new_tensor(
            np.concatenate([g.transformed_keypoints
                            for g in gt_instances])[..., :2])
        gt_visible = heatmaps.new_tensor(
            np.concatenate([g.keypoints_visible for g in gt_instances]))
        areas = heatmaps.new_tensor(
            np.concatenate([g.transformed_areas for g in gt_instances]))
        if gt_keypoints.shape[:2] != heatmaps.shape[:2]:
            raise ValueError(
                f'{type(self).__name__}: got GT keypoints of shape '
                f'{tuple(gt_keypoints.shape)} for heatmaps of shape '
                f'{tuple(heatmaps.shape)}: one instance per sample with '
                'out_channels keypoints is expected')

        pred_keypoints = self.decode_keypoints(heatmaps)
        gt_oks = compute_oks(pred_keypoints, gt_keypoints, gt_visible, areas,
                             self.sigmas)
        weights = (gt_visible > 0).any(dim=1).to(gt_oks)
        return gt_oks, weights

    def quality_loss(self, pose_feature: Tensor, heatmaps: Tensor,
                     batch_data_samples: OptSampleList) -> Dict[str, Tensor]:
        """The OKS loss of a batch, plus its mean absolute error (logged).

        The branch always runs, also while the loss weight is 0 (before the
        lambda_OKS switch), so DistributedDataParallel sees its parameters
        used in every iteration.
        """
        pred_oks = self.oks_net(pose_feature)
        gt_oks, weights = self.get_oks_targets(heatmaps.detach(),
                                               batch_data_samples)
        loss_oks = self.loss_oks(pred_oks, gt_oks, weights)
        abs_error = ((pred_oks.detach() - gt_oks).abs() * weights).sum()
        return dict(
            loss_oks=loss_oks,
            mae_oks=abs_error / weights.sum().clamp(min=1))

    def predict_from_pose_features(self, pose_features: List[Tensor],
                                   final_layer: nn.Module,
                                   batch_data_samples: OptSampleList,
                                   test_cfg: ConfigType) -> Predictions:
        """Heatmaps, keypoints and ``pose_quality`` from the pose feature of
        the input (``[orig]``) or of the input and its flip (``[orig,
        flipped]``, flip test): the heatmaps are flip-averaged as MMPose's
        heatmap heads do, and so is the predicted OKS (paper Sec. IV-A).

        Each ``InstanceData`` gets ``pose_quality``: the predicted OKS, one
        float per instance.
        """
        batch_heatmaps = final_layer(pose_features[0])
        if len(pose_features) == 2:
            flip_indices = batch_data_samples[0].metainfo['flip_indices']
            batch_heatmaps_flip = flip_heatmaps(
                final_layer(pose_features[1]),
                flip_mode=test_cfg.get('flip_mode', 'heatmap'),
                flip_indices=flip_indices,
                shift_heatmap=test_cfg.get('shift_heatmap', False))
            batch_heatmaps = (batch_heatmaps + batch_heatmaps_flip) * 0.5

        preds = self.decode(batch_heatmaps)
        quality = torch.stack([self.oks_net(f) for f in pose_features])
        quality = quality.mean(dim=0).detach().cpu().numpy()
        for pred, q in zip(preds, quality):
            pred.pose_quality = q.reshape(1)

        if test_cfg.get('output_heatmaps', False):
            pred_fields = [
                PixelData(heatmaps=hm) for hm in batch_heatmaps.detach()
            ]
            return preds, pred_fields
        return preds
