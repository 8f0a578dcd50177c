# Copyright (c) oksnet-mmpose contributors.
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmpose.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class KeypointOKSLoss(nn.Module):
    """Auxiliary loss of the per-keypoint outputs of :class:`KeypointOKSNet`:
    binary cross-entropy of each keypoint's predicted OKS term against its
    GT term (soft target in [0, 1], over labelled keypoints), plus binary
    cross-entropy of "the keypoint is labelled" (COCO's ``v > 0``), plus,
    for a branch with an AP-aware output, binary cross-entropy of "the
    pose's OKS reaches threshold t" for each of its OKS thresholds.

    The head scales it by lambda_OKS as well, so the lambda_OKS switch
    (:class:`OKSLossSwitchHook`) turns on both quality losses at once.

    Args:
        labelled_weight (float): Weight of the labelled term.
            Defaults to 0.5.
        threshold_weight (float): Weight of the thresholds term.
            Defaults to 1.0.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 labelled_weight: float = 0.5,
                 threshold_weight: float = 1.0,
                 loss_weight: float = 1.0):
        super().__init__()
        self.labelled_weight = labelled_weight
        self.threshold_weight = threshold_weight
        self.loss_weight = loss_weight

    def forward(self,
                similarity_logits: Tensor,
                labelled_logits: Tensor,
                gt_similarity: Tensor,
                gt_labelled: Tensor,
                weights: Optional[Tensor] = None,
                threshold_logits: Optional[Tensor] = None,
                gt_oks: Optional[Tensor] = None,
                oks_thresholds: Sequence[float] = ()) -> Tensor:
        """Forward function.

        Args:
            similarity_logits, labelled_logits (Tensor): (N, K).
            gt_similarity (Tensor): GT OKS terms (N, K) in [0, 1].
            gt_labelled (Tensor): 1 for a labelled keypoint, else 0, (N, K).
            weights (Tensor, optional): Per-instance weights (N, ); 0 leaves
                an instance out. Defaults to ``None``.
            threshold_logits (Tensor, optional): (N, T), the logits of the
                OKS reaching each of ``oks_thresholds``.
            gt_oks (Tensor, optional): The GT OKS (N, ), needed with
                ``threshold_logits``.
            oks_thresholds (Sequence[float]): The T thresholds; a GT OKS
                reaches t when >= t, as COCOeval matches.

        Returns:
            Tensor: The loss, averaged over labelled keypoints (terms) and
            over the keypoints of valid instances (labelled).
        """
        if similarity_logits.shape != gt_similarity.shape:
            raise ValueError(
                'KeypointOKSLoss: predicted and GT keypoint terms differ in '
                f'shape: {tuple(similarity_logits.shape)} vs '
                f'{tuple(gt_similarity.shape)}')
        if weights is None:
            weights = gt_similarity.new_ones(gt_similarity.shape[0])
        weights = weights[:, None].expand_as(gt_similarity).float()
        labelled = gt_labelled.float() * weights
        term_loss = F.binary_cross_entropy_with_logits(
            similarity_logits.float(), gt_similarity.float(),
            reduction='none')
        term_loss = (term_loss * labelled).sum() / labelled.sum().clamp(min=1)
        labelled_loss = F.binary_cross_entropy_with_logits(
            labelled_logits.float(), gt_labelled.float(), reduction='none')
        labelled_loss = (labelled_loss * weights).sum() / weights.sum().clamp(
            min=1)
        loss = term_loss + self.labelled_weight * labelled_loss
        if threshold_logits is not None:
            loss = loss + self.threshold_weight * self._threshold_loss(
                threshold_logits, gt_oks, oks_thresholds, weights[:, 0])
        return self.loss_weight * loss

    @staticmethod
    def _threshold_loss(threshold_logits: Tensor, gt_oks: Optional[Tensor],
                        oks_thresholds: Sequence[float],
                        weights: Tensor) -> Tensor:
        if gt_oks is None or threshold_logits.shape != (
                gt_oks.shape[0], len(oks_thresholds)):
            raise ValueError(
                'KeypointOKSLoss: threshold logits (N, T) need the GT OKS '
                '(N, ) and the T thresholds; got '
                f'{tuple(threshold_logits.shape)}, '
                f'{None if gt_oks is None else tuple(gt_oks.shape)} and '
                f'{len(oks_thresholds)} thresholds')
        thresholds = torch.as_tensor(oks_thresholds,
                                     dtype=torch.float32,
                                     device=gt_oks.device)
        reached = (gt_oks.float()[:, None] >= thresholds).float()
        loss = F.binary_cross_entropy_with_logits(
            threshold_logits.float(), reached, reduction='none').mean(-1)
        return (loss * weights).sum() / weights.sum().clamp(min=1)
