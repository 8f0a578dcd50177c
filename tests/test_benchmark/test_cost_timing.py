# Copyright (c) oksnet-mmpose contributors.
"""oksnet_mmpose.benchmark.cost_timing: the two training-step variants the
cost benchmark times (the stock head's loss vs. OKS-net's). No timing is
asserted."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmpose.models.heads import CPMHead, HeatmapHead
from mmpose.registry import MODELS

from oksnet_mmpose.benchmark.cost import build_cost_model, point_train_data_at
from oksnet_mmpose.benchmark.cost_timing import (make_train_batch,
                                                 stock_head_loss, train_step)
from tests.conftest import CONFIG_DIR, SAMPLE_ROOT

SYNTHETIC_CONFIG = osp.join(
    CONFIG_DIR, 'synthetic',
    'oksnet_td-hm_res18_1xb32-12e_synthetic-128x96.py')


def test_stock_loss_is_the_parent_heads():
    codec = dict(
        type='MSRAHeatmap',
        input_size=(48, 64),
        heatmap_size=(12, 16),
        sigma=2)
    cpm = MODELS.build(
        dict(
            type='OKSNetCPMHead',
            in_channels=8,
            out_channels=17,
            num_stages=2,
            decoder=codec))
    assert stock_head_loss(cpm).__func__ is CPMHead.loss
    heatmap = MODELS.build(
        dict(
            type='OKSNetHead',
            in_channels=8,
            out_channels=17,
            deconv_out_channels=None,
            decoder=codec))
    assert stock_head_loss(heatmap).__func__ is HeatmapHead.loss


def test_train_step_variants_on_real_images():
    """The base step leaves the branch untouched; the OKS-net step trains
    it. Both train the pose network."""
    cfg = point_train_data_at(
        Config.fromfile(SYNTHETIC_CONFIG), SAMPLE_ROOT,
        'annotations/person_keypoints_val2017_sample.json', 'val2017/')
    torch.manual_seed(0)
    model = build_cost_model(cfg)
    assert model.head.loss_oks.loss_weight == 1.0  # lambda_OKS after switch
    model.train()
    batch = make_train_batch(cfg, model, batch_size=3)
    assert batch['inputs'].shape == (3, 3, 128, 96)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)

    def snapshot(module):
        return [p.detach().clone() for p in module.parameters()]

    def changed(before, module):
        return any(not torch.equal(b, p)
                   for b, p in zip(before, module.parameters()))

    branch, final = snapshot(model.head.oks_net), snapshot(
        model.head.final_layer)
    train_step(model, optim_wrapper, batch, with_oks_net=False)
    assert not changed(branch, model.head.oks_net)
    assert changed(final, model.head.final_layer)

    train_step(model, optim_wrapper, batch, with_oks_net=True)
    assert changed(branch, model.head.oks_net)
