# Copyright (c) oksnet-mmpose contributors.
import math

import pytest
import torch

from oksnet_mmpose.models import HardMinedOKSLoss


def test_hard_mining_on_hand_computed_values():
    pred = torch.tensor([0.9, 0.5, 0.2, 0.8], requires_grad=True)
    target = torch.tensor([0.8, 0.9, 0.9, 0.8])
    # L1: 0.1, 0.4, 0.7, 0.0 -> the largest 25 % (1 of 4) is 0.7
    loss = HardMinedOKSLoss(mining_ratio=0.25)(pred, target)
    expected = (0.1 + 0.4 + (math.exp(1.4) - 1) + 0.0) / 4
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    # d/dp (e^{2|p-t|} - 1) = -2 e^{1.4} for the hard sample (p < t)
    assert pred.grad[2].item() == pytest.approx(-2 * math.exp(1.4) / 4,
                                                rel=1e-5)
    assert pred.grad[1].item() == pytest.approx(-1 / 4)


def test_no_mining_is_plain_l1_and_weight_scales():
    pred = torch.tensor([0.9, 0.5, 0.2, 0.8])
    target = torch.tensor([0.8, 0.9, 0.9, 0.8])
    loss = HardMinedOKSLoss(mining_ratio=0., loss_weight=2.)(pred, target)
    assert loss.item() == pytest.approx(2 * (0.1 + 0.4 + 0.7) / 4)


def test_zero_weight_samples_are_left_out():
    pred = torch.tensor([0.0, 0.5, 0.5], requires_grad=True)
    target = torch.tensor([1.0, 0.4, 0.6])
    weights = torch.tensor([0., 1., 1.])
    loss = HardMinedOKSLoss(mining_ratio=0.5)(pred, target, weights)
    # sample 0 (largest error) is invalid: 1 of the 2 valid ones is mined
    assert loss.item() == pytest.approx((math.exp(0.2) - 1 + 0.1) / 2)
    loss.backward()
    assert pred.grad[0] == 0


def test_all_invalid_gives_zero_with_graph():
    pred = torch.tensor([0.3, 0.7], requires_grad=True)
    loss = HardMinedOKSLoss()(pred, torch.tensor([0.5, 0.5]),
                              torch.zeros(2))
    assert loss.item() == 0 and loss.requires_grad
    loss.backward()
    assert torch.equal(pred.grad, torch.zeros(2))


def test_bad_arguments():
    with pytest.raises(ValueError, match='mining_ratio'):
        HardMinedOKSLoss(mining_ratio=1.5)
    with pytest.raises(ValueError, match='shapes differ'):
        HardMinedOKSLoss()(torch.zeros(3), torch.zeros(2))
