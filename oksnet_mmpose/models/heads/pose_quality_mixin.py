# Copyright (c) oksnet-mmpose contributors.
"""The OKS-net part of every OKS-net head, composed of one mixin per
concern: the forward recorder (:mod:`.forward_recorder`), the OKS target
(:mod:`.oks_target`) and the untrained-branch guard
(:mod:`.untrained_branch_guard`); this module builds the branch and joins
them in the stock head's ``loss`` and ``predict``."""
import inspect
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptSampleList, Predictions
from torch import Tensor, nn

from oksnet_mmpose.codecs.batched_decode import Encoded
from .forward_recorder import ForwardRecorderMixin
from .keypoint_statistics import (keypoint_maps, keypoint_statistics,
                                  num_keypoint_statistics)
from .oks_target import OKSTargetMixin
from .untrained_branch_guard import (ALLOW_UNTRAINED_KEY,
                                     UntrainedBranchGuardMixin)

__all__ = ['PoseQualityMixin', 'ALLOW_UNTRAINED_KEY']


class PoseQualityMixin(ForwardRecorderMixin, OKSTargetMixin,
                       UntrainedBranchGuardMixin):
    """The OKS-net part of every OKS-net head: the ``oks_net`` branch, its
    online GT-OKS target, its loss and its flip-averaged prediction. Put it
    before a stock MMPose head: ``class OKSNetXHead(PoseQualityMixin,
    XHead)``.

    The stock head's ``forward``, ``loss`` and ``predict`` run unchanged, so
    keypoints, keypoint scores and heatmaps are the stock head's, bit for bit,
    and a stock checkpoint loads with only ``oks_net.*`` missing. While they
    run, forward hooks record the pose feature the branch reads and the
    encoded prediction the codec decodes (:class:`ForwardRecorderMixin`);
    the loss compares the branch with the GT OKS of the decoded pose
    (:class:`OKSTargetMixin`); ``predict`` refuses a branch a checkpoint
    left untrained (:class:`UntrainedBranchGuardMixin`).

    A head family provides the layers to hook and the pose feature's shape:

    - ``keypoint_layer`` (property): the module that outputs the keypoint
      maps; its input is the pose feature.
    - ``encoded_output_layers`` (property): the modules whose outputs are
      the encoded prediction (one for heatmaps, ``cls_x, cls_y`` for SimCC),
      and ``encoded_output_names`` (class attribute): their names,
      ``('heatmaps', )`` unless the family sets them (``('simcc_x',
      'simcc_y')``).
    - ``keypoint_layer_input_shape(stock_args)``: ``(channels, (w, h) or
      None)`` of the keypoint layer's input, from the stock head's bound
      arguments (defaults applied).

    Args:
        *args, **kwargs: The stock head's arguments, unchanged.
        oks_net (dict): The branch: its ``type`` (:class:`OKSNet`, the
            paper's branch, by default; :class:`KeypointOKSNet` reads the
            keypoint statistics too and predicts per-keypoint OKS terms)
            and extra arguments (``attention``, ``structure``,
            ``feature_size``...). ``in_channels``, ``num_keypoints``,
            ``num_statistics`` and, when the family knows it,
            ``feature_size`` are derived from the head.
            Defaults to ``dict()``.
        loss_oks (dict): Config of the OKS loss; its ``loss_weight`` is the
            paper's lambda_OKS (see :class:`OKSLossSwitchHook`). Defaults to
            :class:`HardMinedOKSLoss`.
        loss_keypoint_oks (dict): Config of the per-keypoint loss of a
            branch that predicts keypoint terms (scaled by lambda_OKS too);
            unused with the paper's branch. Defaults to
            :class:`KeypointOKSLoss`.
        metainfo (str | dict): Dataset metainfo (a file, or a dict as MMPose
            datasets take it) with the keypoint ``sigmas`` of the OKS.
            Defaults to COCO's ``'configs/_base_/datasets/coco.py'``: set it
            to the training dataset's metainfo for any other dataset, also
            one with 17 keypoints.
        pose_feature (str): The tensor the branch reads:
            ``'keypoint_layer_input'`` (the paper's choice for heatmap heads)
            or ``'keypoint_layer_output'`` (the per-keypoint maps).
            Defaults to ``'keypoint_layer_input'``.
    """

    def __init__(self,
                 *args,
                 oks_net: dict = dict(),
                 loss_oks: ConfigType = dict(type='HardMinedOKSLoss'),
                 loss_keypoint_oks: ConfigType = dict(type='KeypointOKSLoss'),
                 metainfo: Union[str, dict, None] = None,
                 pose_feature: str = 'keypoint_layer_input',
                 **kwargs):
        super().__init__(*args, **kwargs)
        if pose_feature not in self.pose_feature_choices:
            raise ValueError(
                f'{type(self).__name__}: unknown pose_feature '
                f'"{pose_feature}", expected one of '
                f'{self.pose_feature_choices}')
        self.pose_feature = pose_feature
        stock_args = inspect.signature(super().__init__).bind(*args, **kwargs)
        stock_args.apply_defaults()
        channels, size = self.keypoint_layer_input_shape(
            stock_args.arguments)
        if pose_feature == 'keypoint_layer_output' and not isinstance(
                self.keypoint_layer, nn.Identity):
            channels = self.out_channels

        cfg = dict(type='OKSNet', in_channels=channels, feature_size=size)
        cfg.update(oks_net)
        branch_type = MODELS.get(cfg['type']) if isinstance(
            cfg['type'], str) else cfg['type']
        if branch_type is None:
            raise KeyError(f'{type(self).__name__}: `oks_net.type` '
                           f'{cfg["type"]!r} is not a registered model')
        self.reads_keypoint_statistics = getattr(branch_type,
                                                 'reads_keypoint_statistics',
                                                 False)
        if self.reads_keypoint_statistics:
            cfg.setdefault('num_keypoints', self.out_channels)
            cfg.setdefault('num_statistics',
                           num_keypoint_statistics(self.encoded_output_names))
        self.oks_net = MODELS.build(cfg)
        self.loss_oks = MODELS.build(loss_oks)
        self.loss_keypoint_oks = MODELS.build(
            loss_keypoint_oks) if self.reads_keypoint_statistics else None
        self._init_oks_target(metainfo)
        self._init_untrained_branch_guard()

    def keypoint_layer_input_shape(
            self, stock_args: dict) -> Tuple[int, Optional[Sequence[int]]]:
        """Channels and size (w, h), or None if unknown, of what the keypoint
        layer reads."""
        raise NotImplementedError

    def run_oks_net(self, pose_feature: Tensor,
                    encoded: Encoded) -> Tuple[Tensor, Optional[tuple]]:
        """The branch on one view: the predicted OKS (B, ) and, for a branch
        that predicts keypoint terms, their logits and those of the
        keypoints being labelled (each (B, K)) and, if it has an AP-aware
        output, the logits of its OKS thresholds (B, T); else None."""
        if not self.reads_keypoint_statistics:
            return self.oks_net(pose_feature), None
        inputs = [pose_feature, keypoint_statistics(encoded)]
        if getattr(self.oks_net, 'reads_keypoint_maps', False):
            inputs.append(keypoint_maps(encoded, pose_feature.shape[2:]))
        pose_quality, *keypoint_logits = self.oks_net(*inputs)
        return pose_quality, tuple(keypoint_logits)

    def forward_with_quality(self, feats) -> Tuple[list, Tensor]:
        """The stock head's outputs as a list (see
        :meth:`forward_heatmaps_and_pose_feature`) and the branch's
        predicted OKS (B, ), from one forward without flip (cost
        benchmark)."""
        with self.record_forward() as record:
            outputs = self.forward(feats)
        outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
        quality, _ = self.run_oks_net(record['pose_features'][-1],
                                      record['encoded'][-1])
        return outputs, quality

    def quality_loss(self, pose_feature: Tensor, encoded: Encoded,
                     batch_data_samples: OptSampleList) -> Dict[str, Tensor]:
        """The OKS loss of a batch (and the keypoint loss of a branch that
        predicts keypoint terms), plus its mean absolute error (logged).

        The branch always runs, also while the loss weight is 0 (before the
        lambda_OKS switch), so DistributedDataParallel sees its parameters
        used in every iteration.
        """
        pred_oks, keypoint_logits = self.run_oks_net(pose_feature, encoded)
        targets = self.get_quality_targets(encoded, batch_data_samples)
        gt_oks, weights = targets['gt_oks'], targets['weights']
        self._mark_oks_net_trained()
        losses = dict(loss_oks=self.loss_oks(pred_oks, gt_oks, weights))
        if keypoint_logits is not None:
            similarity_logits, labelled_logits, *threshold_logits = \
                keypoint_logits
            losses['loss_keypoint_oks'] = self.loss_oks.loss_weight * \
                self.loss_keypoint_oks(
                    similarity_logits, labelled_logits,
                    targets['keypoint_similarity'],
                    targets['keypoint_labelled'], weights,
                    threshold_logits=(threshold_logits or [None])[0],
                    gt_oks=gt_oks,
                    oks_thresholds=self.oks_net.oks_thresholds)
        abs_error = ((pred_oks.detach() - gt_oks).abs() * weights).sum()
        losses['mae_oks'] = abs_error / weights.sum().clamp(min=1)
        return losses

    def loss(self,
             feats,
             batch_data_samples: OptSampleList,
             train_cfg: ConfigType = {}) -> dict:
        """The stock head's losses plus ``loss_oks`` against the online GT
        OKS of the decoded prediction (``mae_oks`` is logged)."""
        with self.record_forward() as record:
            losses = super().loss(feats, batch_data_samples, train_cfg)
        losses.update(
            self.quality_loss(record['pose_features'][-1],
                              record['encoded'][-1], batch_data_samples))
        return losses

    def predict(self,
                feats,
                batch_data_samples: OptSampleList,
                test_cfg: ConfigType = {}) -> Predictions:
        """The stock head's prediction, with ``pose_quality`` (the predicted
        OKS, one float per instance) added to each ``InstanceData``.

        With ``flip_test`` the stock head averages the outputs of the input
        and of its flip; the predicted OKS is averaged the same way (paper
        Sec. IV-A). This is the one prediction path of every OKS-net head.

        Raises:
            ValueError: The loaded checkpoint lacked the branch's weights
                (see :meth:`check_oks_net_weights`).
        """
        self.check_oks_net_weights(test_cfg)
        with self.record_forward() as record:
            results = super().predict(feats, batch_data_samples, test_cfg)
        pose_features = record['pose_features']
        num_views = 2 if test_cfg.get('flip_test', False) else 1
        if len(pose_features) != num_views:
            raise RuntimeError(
                f'{type(self).__name__}: expected {num_views} pose '
                f'feature(s) from the keypoint layer, got '
                f'{len(pose_features)}')
        preds = results[0] if isinstance(results, tuple) else results
        views = [
            self.run_oks_net(feature, encoded)
            for feature, encoded in zip(pose_features, record['encoded'])
        ]
        quality = torch.stack([pose_quality for pose_quality, _ in views])
        quality = quality.mean(dim=0).detach().float().cpu().numpy()
        for pred, q in zip(preds, quality):
            pred.pose_quality = q.reshape(1)
        if self.reads_keypoint_statistics:
            keypoint_quality = self._flip_averaged_keypoint_quality(
                [logits[0].sigmoid() for _, logits in views],
                batch_data_samples)
            for pred, q in zip(preds, keypoint_quality):
                pred.keypoint_quality = q[None]
        return results

    @staticmethod
    def _flip_averaged_keypoint_quality(views: list,
                                        batch_data_samples) -> np.ndarray:
        """The predicted OKS term of each keypoint, averaged over the flip
        test's views as the keypoints are: the flipped view's keypoint
        ``flip_indices[i]`` is keypoint ``i``."""
        if len(views) == 2:
            flip_indices = batch_data_samples[0].metainfo['flip_indices']
            views = [views[0], views[1][:, flip_indices]]
        return torch.stack(views).mean(dim=0).detach().float().cpu().numpy()

