# Copyright (c) oksnet-mmpose contributors.
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.structures import PixelData
from mmpose.codecs import MSRAHeatmap
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.models.utils.tta import flip_heatmaps
from mmpose.registry import MODELS
from mmpose.utils.typing import ConfigType, OptSampleList, Predictions
from torch import Tensor, nn

from oksnet_mmpose.evaluation.functional import compute_oks

# the test_cfg key that lets a model whose loaded checkpoint lacks the
# branch's weights predict anyway (its pose_quality is then noise)
ALLOW_UNTRAINED_KEY = 'allow_untrained_oks_net'


def decode_msra_heatmaps(heatmaps: Tensor,
                         scale_factor: Sequence[float]) -> Tensor:
    """Batched torch version of :meth:`MSRAHeatmap.decode` with
    ``unbiased=False``: arg-max, a quarter-pixel shift towards the higher
    neighbour, then the heatmap-to-input scale. Gives the same keypoints as
    the codec (which loops over instances and keypoints in numpy).

    Args:
        heatmaps (Tensor): Heatmaps in shape (B, K, H, W).
        scale_factor (Sequence[float]): The codec's ``scale_factor`` (x, y).

    Returns:
        Tensor: Keypoints in the input image space, shape (B, K, 2).
    """
    B, K, H, W = heatmaps.shape
    values, index = heatmaps.flatten(2).max(dim=-1)
    x = (index % W).long()
    y = torch.div(index, W, rounding_mode='floor').long()
    # The codec marks non-positive maxima with location -1 and skips their
    # refinement (``get_heatmap_maximum``); the same bounds as
    # ``refine_keypoints`` (note ``1 < x``) decide where a shift is taken.
    valid = values > 0
    x = torch.where(valid, x, torch.full_like(x, -1))
    y = torch.where(valid, y, torch.full_like(y, -1))

    def at(xs: Tensor, ys: Tensor) -> Tensor:
        flat = (ys.clamp(0, H - 1) * W + xs.clamp(0, W - 1)).unsqueeze(-1)
        return heatmaps.flatten(2).gather(-1, flat).squeeze(-1)

    dx = at(x + 1, y) - at(x - 1, y)
    dy = at(x, y + 1) - at(x, y - 1)
    dx = torch.where((1 < x) & (x < W - 1) & (0 < y) & (y < H), dx,
                     torch.zeros_like(dx))
    dy = torch.where((1 < y) & (y < H - 1) & (0 < x) & (x < W), dy,
                     torch.zeros_like(dy))
    keypoints = torch.stack([x, y], dim=-1).to(heatmaps.dtype)
    keypoints = keypoints + torch.stack([dx.sign(), dy.sign()], -1) * 0.25
    return keypoints * keypoints.new_tensor(np.asarray(scale_factor))


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
        # the branch weights the last loaded state dict lacked: None while
        # the head has never been loaded (a fresh model) or once it trained
        # in this process; see `check_oks_net_weights`
        self.oks_net_missing_keys = None
        self.register_load_state_dict_pre_hook(_record_oks_net_weights)

    def check_oks_net_weights(self, test_cfg: ConfigType) -> None:
        """Refuse to predict with a branch whose weights the loaded
        checkpoint did not hold (a stock MMPose checkpoint): its
        ``pose_quality`` would come from the random initialisation.

        A fresh model (never loaded) and a model trained in this process
        (``loss`` called: validation during fine-tune or quality-only
        training, which load stock checkpoints on purpose) predict as usual.
        ``test_cfg.allow_untrained_oks_net=True`` opts in to predicting with
        the untrained branch.

        Raises:
            ValueError: The loaded checkpoint lacked branch weights and the
                opt-in is not set.
        """
        missing = self.oks_net_missing_keys
        if not missing or test_cfg.get(ALLOW_UNTRAINED_KEY, False):
            return
        total = len(_oks_net_weight_names(self))
        branch = missing[0][:missing[0].index('oks_net.')] + 'oks_net.*'
        raise ValueError(
            f'{type(self).__name__}: the loaded checkpoint lacks '
            f'{len(missing)} of the {total} OKS-net branch weights '
            f'(`{branch}`; a stock MMPose checkpoint has none), so '
            'pose_quality would come from a random initialisation. Use a '
            'checkpoint trained with OKS-net: fine-tune the stock one with '
            'an `*-ft-50e_*` config, or train only the branch with the '
            '`*-quality-only-*` config (see configs/). To predict with the '
            'untrained branch anyway, set model.test_cfg.'
            f'{ALLOW_UNTRAINED_KEY}=True (--cfg-options).')

    def decode_keypoints(self, heatmaps: Tensor) -> Tensor:
        """Decode keypoints (input image space) from a batch of heatmaps with
        the test-time codec, without gradient.

        The plain MSRA codec (the stock HRNet, SimpleBaseline and Hourglass
        recipes) is decoded batched on the heatmaps' device; other codecs
        (UDP, DARK, ...) go through the codec's own per-instance ``decode``.
        """
        if self.decoder is None:
            raise ValueError(f'{type(self).__name__} needs a `decoder` to '
                             'compute the OKS targets')
        if type(self.decoder) is MSRAHeatmap and not self.decoder.unbiased:
            return decode_msra_heatmaps(heatmaps, self.decoder.scale_factor)
        keypoints = [
            self.decoder.decode(hm)[0][0]
            for hm in heatmaps.detach().cpu().float().numpy()
        ]
        return heatmaps.new_tensor(np.stack(keypoints)[..., :2])

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
        # trained in this process: its predictions are no longer the
        # random init a checkpoint without the branch left
        self.oks_net_missing_keys = None
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

        Raises:
            ValueError: The loaded checkpoint lacked the branch's weights
                (see :meth:`check_oks_net_weights`).
        """
        self.check_oks_net_weights(test_cfg)
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


def _oks_net_weight_names(head: nn.Module) -> list:
    """The branch's entries of the head's state dict (BatchNorm's
    ``num_batches_tracked`` left out: torch fills it when missing)."""
    return [
        f'oks_net.{name}' for name in head.oks_net.state_dict()
        if not name.endswith('num_batches_tracked')
    ]


def _record_oks_net_weights(head: nn.Module, state_dict: dict, prefix: str,
                            *args) -> None:
    """Load-state-dict pre-hook of the OKS-net heads: record which branch
    weights the loaded state dict lacks. torch's ``load_state_dict`` and
    MMEngine's ``load_checkpoint`` (``init_model``, the inferencers,
    ``Runner`` ``load_from``) both call it."""
    head.oks_net_missing_keys = [
        prefix + name for name in _oks_net_weight_names(head)
        if prefix + name not in state_dict
    ]
