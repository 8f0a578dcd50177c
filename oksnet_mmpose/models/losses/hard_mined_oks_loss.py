# Copyright (c) oksnet-mmpose contributors.
import math
from typing import Optional

import torch
from mmpose.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class HardMinedOKSLoss(nn.Module):
    """L1 loss between predicted and target OKS with loss-sensitive hard
    sample mining (OKS-net paper, Sec. III-C, Eq. 3).

    The OKS targets are long-tailed (most poses are good), so in each batch
    the samples with the largest ``mining_ratio`` share of L1 losses are
    enlarged to :math:`e^{2L} - 1` (which is > L for every L > 0).

    Args:
        mining_ratio (float): Share of the (valid) samples of a batch whose
            losses are enlarged. ``0`` disables mining (paper Tab. VIII).
            The count is rounded up, so small batches still mine one sample.
            Defaults to 0.25.
        loss_weight (float): Weight of the loss (the paper's
            :math:`\\lambda_{OKS}`). Defaults to 1.0.
    """

    def __init__(self, mining_ratio: float = 0.25, loss_weight: float = 1.0):
        super().__init__()
        if not 0.0 <= mining_ratio <= 1.0:
            raise ValueError('HardMinedOKSLoss: mining_ratio must be in '
                             f'[0, 1], got {mining_ratio}')
        self.mining_ratio = mining_ratio
        self.loss_weight = loss_weight

    def forward(self,
                pred_oks: Tensor,
                target_oks: Tensor,
                weights: Optional[Tensor] = None) -> Tensor:
        """Forward function.

        Args:
            pred_oks (Tensor): Predicted OKS in shape (N, ).
            target_oks (Tensor): Target OKS in shape (N, ).
            weights (Tensor, optional): Per-sample weights in shape (N, );
                samples with weight 0 (e.g. no labelled keypoint) are left
                out of the loss and of the mining. Defaults to ``None``.

        Returns:
            Tensor: The weighted mean loss over the valid samples (0 with the
            graph kept when there is none, so DDP sees every parameter used).
        """
        if pred_oks.shape != target_oks.shape:
            raise ValueError('HardMinedOKSLoss: pred_oks and target_oks '
                             f'shapes differ: {tuple(pred_oks.shape)} vs '
                             f'{tuple(target_oks.shape)}')
        if weights is None:
            weights = torch.ones_like(target_oks)
        losses = (pred_oks - target_oks).abs()

        valid = weights > 0
        num_valid = int(valid.sum())
        num_hard = math.ceil(self.mining_ratio * num_valid)
        if num_hard > 0:
            # invalid samples must never be selected as hard ones
            ranking = torch.where(valid, losses.detach(),
                                  losses.new_full((), -1.0))
            hard_index = ranking.topk(num_hard).indices
            is_hard = torch.zeros_like(valid)
            is_hard[hard_index] = True
            losses = torch.where(is_hard, torch.expm1(2 * losses), losses)

        loss = (losses * weights).sum() / max(num_valid, 1)
        return loss * self.loss_weight
