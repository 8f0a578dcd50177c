# Copyright (c) oksnet-mmpose contributors.
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmpose.registry import MODELS
from mmpose.utils.typing import OptConfigType
from torch import Tensor, nn

from .oks_net import OKSNet

# the OKS thresholds of COCO's AP (COCOeval's ``iouThrs`` for keypoints)
COCO_OKS_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))


@MODELS.register_module()
class KeypointOKSNet(OKSNet):
    """OKS-net that also reads what the keypoint head predicted and predicts
    the OKS keypoint by keypoint (the package's ``keypoint`` variant; the
    paper's branch is :class:`OKSNet`).

    What it adds to the paper's branch, each from a peer that found signal
    there:

    - **the pooled pose feature**: mean and max over space per channel,
      standardised (BatchNorm), next to the down-sampled grid (CCNet reads
      the pooled features of the pose model).
    - **inputs**: the per-keypoint statistics of the predicted heatmaps or
      SimCC vectors (peak, argmax, spread, second-peak ratio; see
      :func:`keypoint_statistics`), embedded by an MLP and concatenated with
      the down-sampled pose feature before the FC layers. The branch so sees
      at least what DEKR's RescoreNet sees (decoded geometry and scores) and
      what GFL v2 reads (the shape of the predicted distribution), next to
      the image evidence of the pose feature (Mask Scoring R-CNN reads its
      features with its own prediction too).
    - **outputs**: per keypoint the OKS term :math:`\\exp(-d_i^2/2s^2k_i^2)`
      and whether the keypoint is labelled (COCO's :math:`v_i > 0`), as in
      CCNet and ProbPose. The pose quality is their COCO combination,
      :math:`\\sum_i p_i t_i / \\sum_i p_i`, so an occluded, unlabelled or
      hopeless keypoint weighs as much as it does in the OKS.
    - optionally, **the predicted maps next to the pose feature**
      (``read_keypoint_maps``):
      the head's own heatmaps (for SimCC the product of its x and y
      distributions), detached, are concatenated with the pose feature's
      channels before the attention and the convs (see
      :func:`keypoint_maps`), as Mask Scoring R-CNN's quality head reads its
      predicted mask with its features: the convs see where each keypoint
      was put against the image evidence, not only how peaked its map is.
      Off by default: on the benchmark's 3 seeds it moved the gain over the
      heatmap mean by +0.04 AP, within the seed noise (docs/benchmark.md).
    - optionally, **no grid path** (``read_pose_grid=False``): the branch
      reads the pooled pose feature and the keypoint statistics only, as
      CCNet reads pooled features; the paper's attention and stride-2
      convs, most of the branch's time, are not built.
    - **an AP-aware output**: per OKS threshold of COCO's AP the probability
      that the pose's OKS reaches it (GFL v2 reads a distribution, RTMO
      and Rank & Sort train for the ranking AP makes). Their mean is the
      expected share of AP's thresholds the pose passes: where two poses
      have the same expected OKS, the one whose OKS is surely above 0.5
      ranks above the one that may be anything. The pose quality ranks
      poses by the mean of the two estimates (combined terms, thresholds
      passed); on the benchmark that added 0.1 AP on each of 3 seeds to the
      combined terms alone (docs/benchmark.md). The mean is read back as an
      OKS by a fixed increasing map (:meth:`read_as_oks`), so the pose
      quality ranks as the mean does and reads as the predicted OKS that
      ``quality_thr`` filters on.

    Args:
        in_channels, feature_size, attention, structure, num_downsamples,
            conv_channels, fc_channels: As in :class:`OKSNet`.
        num_keypoints (int): Number of keypoints K.
        num_statistics (int): Statistics per keypoint S (set by the head
            from its encoded outputs).
        statistics_channels (int): Width of the statistics embedding.
            Defaults to 256.
        oks_thresholds (Sequence[float]): The OKS thresholds of the
            AP-aware output; empty for none (the pose quality is then the
            combined keypoint terms alone). Defaults to COCO's 0.50, 0.55,
            ..., 0.95.
        read_keypoint_maps (bool): Concatenate the predicted keypoint maps
            (K channels) with the pose feature before the attention and
            the convs. Defaults to False (on the benchmark it did not
            beat the branch without them).
        read_pose_grid (bool): Read the pose feature through the paper's
            attention and stride-2 convs (its down-sampled grid) next to
            the pooled feature. False: the pooled feature and the keypoint
            statistics only, a branch without convs. Defaults to True.
    """

    reads_keypoint_statistics = True

    def __init__(self,
                 in_channels: int,
                 num_keypoints: int,
                 num_statistics: int,
                 feature_size: Optional[Sequence[int]] = None,
                 statistics_channels: int = 256,
                 oks_thresholds: Sequence[float] = COCO_OKS_THRESHOLDS,
                 fc_channels: int = 1024,
                 read_keypoint_maps: bool = False,
                 read_pose_grid: bool = True,
                 init_cfg: OptConfigType = None,
                 **kwargs):
        if read_keypoint_maps and not read_pose_grid:
            raise ValueError(
                f'{type(self).__name__}: read_keypoint_maps=True needs the '
                'grid path the maps are concatenated into; set '
                'oks_net.read_pose_grid=True or read_keypoint_maps=False')
        # the attention and the convs read the pose feature's channels and,
        # with read_keypoint_maps, one map per keypoint after them
        super().__init__(
            in_channels + (num_keypoints if read_keypoint_maps else 0),
            feature_size=feature_size,
            fc_channels=fc_channels,
            init_cfg=init_cfg,
            **kwargs)
        self.pose_feature_channels = in_channels
        self.reads_keypoint_maps = read_keypoint_maps
        self.reads_pose_grid = read_pose_grid
        if not read_pose_grid:
            # the paper's attention and convs are what this option leaves
            # out: not built, so not in the checkpoint either
            del self.attention, self.downsample
            self.flat_channels = 0
        self.num_keypoints = num_keypoints
        self.num_statistics = num_statistics
        self.oks_thresholds = tuple(float(t) for t in oks_thresholds)
        if self.oks_thresholds:
            self._register_oks_knots()
        # the pose feature pooled over space (mean and max per channel),
        # standardised per channel: what CCNet reads; the down-sampled grid
        # keeps where things are, the pooled vector what all channels saw
        self.pooled_norm = nn.BatchNorm1d(2 * in_channels)
        self.statistics_embedding = nn.Sequential(
            nn.Flatten(),
            nn.Linear(num_keypoints * num_statistics, statistics_channels),
            nn.ReLU(inplace=True),
            nn.Linear(statistics_channels, statistics_channels),
            nn.ReLU(inplace=True),
        )
        # the paper's FC stack, reading the statistics embedding as well and
        # giving two logits per keypoint and one per OKS threshold
        self.fc = nn.Sequential(
            nn.Linear(self.flat_channels + 2 * in_channels +
                      statistics_channels, fc_channels),
            nn.ReLU(inplace=True),
            nn.Linear(fc_channels, fc_channels),
            nn.ReLU(inplace=True),
            nn.Linear(fc_channels,
                      2 * num_keypoints + len(self.oks_thresholds)),
        )

    def forward(
        self,
        pose_feature: Tensor,
        keypoint_statistics: Tensor,
        keypoint_maps: Optional[Tensor] = None
    ) -> Tuple[Tensor, Tensor, Tensor]:
        """Predict the OKS of each pose and its keypoint terms.

        Args:
            pose_feature (Tensor): (B, C, H, W), as in :class:`OKSNet`.
            keypoint_statistics (Tensor): (B, K, S).
            keypoint_maps (Tensor, optional): (B, K, H, W), the predicted
                maps on the pose feature's grid (:func:`keypoint_maps`);
                required with ``read_keypoint_maps``.

        Returns:
            tuple: ``pose_quality`` (B, ) in [0, 1]; the logits of the
            keypoint OKS terms and of the keypoints being labelled, each
            (B, K); with ``oks_thresholds``, the logits of the OKS reaching
            each threshold (B, T).
        """
        if not torch.jit.is_tracing() and tuple(
                keypoint_statistics.shape[1:]) != (self.num_keypoints,
                                                   self.num_statistics):
            raise ValueError(
                f'{type(self).__name__} expects keypoint statistics of shape '
                f'(B, {self.num_keypoints}, {self.num_statistics}), got '
                f'{tuple(keypoint_statistics.shape)}')
        if not torch.jit.is_tracing(
        ) and pose_feature.shape[1] != self.pose_feature_channels:
            raise ValueError(
                f'{type(self).__name__} expects a pose feature with '
                f'{self.pose_feature_channels} channels, got shape '
                f'{tuple(pose_feature.shape)}')
        parts = [
            self._pooled(pose_feature),
            self.statistics_embedding(keypoint_statistics.to(pose_feature))
        ]
        if self.reads_pose_grid:
            grid_input = pose_feature
            if self.reads_keypoint_maps:
                grid_input = torch.cat(
                    [pose_feature,
                     self._checked_maps(keypoint_maps, pose_feature)],
                    dim=1)
            parts.insert(0, self.downsampled(grid_input).flatten(1))
        x = torch.cat(parts, dim=1)
        logits = self.fc(x).float()
        k = self.num_keypoints
        similarity_logits, labelled_logits = logits[:, :k], logits[:, k:2 * k]
        pose_quality = self.combine(similarity_logits.sigmoid(),
                                    labelled_logits.sigmoid())
        if not self.oks_thresholds:
            return pose_quality, similarity_logits, labelled_logits
        threshold_logits = logits[:, 2 * k:]
        pose_quality = self.read_as_oks(
            (pose_quality + threshold_logits.sigmoid().mean(dim=-1)) / 2)
        return (pose_quality, similarity_logits, labelled_logits,
                threshold_logits)

    def read_as_oks(self, ranking_score: Tensor) -> Tensor:
        """The mean of the two estimates (combined terms, thresholds
        passed) read as an OKS: the inverse of the fixed map
        :math:`m(o) = (o + h(o)) / 2` that the mean is, in expectation, of
        a pose of OKS :math:`o`, where :math:`h(o)` is the share of the OKS
        thresholds :math:`o` reaches (each step smoothed into a ramp as wide
        as the thresholds' spacing). :math:`m` is strictly increasing, so
        the ranking (and AP) is the mean's; without this the score of a pose
        of OKS 0.5 is about 0.3 and ``quality_thr`` ("predicted OKS >=
        thr") drops poses it should keep."""
        rise = (ranking_score[:, None] - self.score_knots[:-1]).clamp(
            min=0)
        rise = torch.minimum(rise, self.score_knots[1:] -
                             self.score_knots[:-1])
        oks = self.oks_knots[0] + (rise * self.knot_slopes).sum(dim=-1)
        return oks.clamp(0, 1)

    def _register_oks_knots(self) -> None:
        """The knots of :math:`m` (see :meth:`read_as_oks`), piecewise
        linear between them, as buffers (not in the state dict: they follow
        from ``oks_thresholds``)."""
        thresholds = np.sort(np.asarray(self.oks_thresholds, float))
        width = float(np.diff(thresholds).min()) if len(thresholds) > 1 \
            else 0.05
        # rounded: adjacent ramps meet at a knot, in floats only nearly
        oks_knots = np.unique(
            np.clip(np.concatenate([[0., 1.], thresholds - width / 2,
                                    thresholds + width / 2]), 0, 1).round(9))
        share = np.clip((oks_knots[:, None] - thresholds) / width + 0.5, 0,
                        1).mean(axis=1)
        score_knots = (oks_knots + share) / 2
        slopes = np.diff(oks_knots) / np.diff(score_knots)
        for name, value in (('oks_knots', oks_knots),
                            ('score_knots', score_knots),
                            ('knot_slopes', slopes)):
            self.register_buffer(
                name, torch.tensor(value, dtype=torch.float32),
                persistent=False)

    def _checked_maps(self, keypoint_maps: Optional[Tensor],
                      pose_feature: Tensor) -> Tensor:
        if keypoint_maps is None:
            raise ValueError(
                f'{type(self).__name__}(read_keypoint_maps=True) needs the '
                'predicted keypoint maps (keypoint_maps(encoded, size)); '
                'set oks_net.read_keypoint_maps=False for a branch without '
                'them')
        expected = (pose_feature.shape[0], self.num_keypoints,
                    *pose_feature.shape[2:])
        if not torch.jit.is_tracing() and tuple(
                keypoint_maps.shape) != tuple(expected):
            raise ValueError(
                f'{type(self).__name__} expects keypoint maps of shape '
                f'{tuple(expected)} (the pose feature\'s grid), got '
                f'{tuple(keypoint_maps.shape)}')
        return keypoint_maps.to(pose_feature)

    def _pooled(self, pose_feature: Tensor) -> Tensor:
        pooled = torch.cat(
            [pose_feature.mean(dim=(2, 3)),
             pose_feature.amax(dim=(2, 3))], dim=1)
        if self.training and pooled.shape[0] == 1:
            # BatchNorm cannot take batch statistics of one sample (a last
            # batch of one): use the running ones for it
            return F.batch_norm(pooled, self.pooled_norm.running_mean,
                                self.pooled_norm.running_var,
                                self.pooled_norm.weight,
                                self.pooled_norm.bias)
        return self.pooled_norm(pooled)

    @staticmethod
    def combine(keypoint_similarity: Tensor,
                labelled_prob: Tensor) -> Tensor:
        """COCO's OKS from the keypoint terms, each weighted by the
        probability that it is labelled (the mean over labelled keypoints
        when those are certain)."""
        return (keypoint_similarity * labelled_prob).sum(-1) / \
            labelled_prob.sum(-1).clamp(min=1e-6)

    def extra_repr(self) -> str:
        return (super().extra_repr() + f', num_keypoints={self.num_keypoints}'
                f', num_statistics={self.num_statistics}'
                f', read_keypoint_maps={self.reads_keypoint_maps}'
                f', read_pose_grid={self.reads_pose_grid}'
                f', oks_thresholds={self.oks_thresholds}')
