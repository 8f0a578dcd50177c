# Copyright (c) oksnet-mmpose contributors.
"""Every shipped config builds, and each model trains an iteration and
predicts with flip test on the real sample images."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from torch import nn
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS, MODELS

from tests.conftest import CONFIG_DIR, sample_config

ALL_CONFIGS = sorted(
    osp.basename(p) for p in glob.glob(osp.join(CONFIG_DIR, '*.py')))
# one config per model (the fine-tune / test-dev ones share it)
MODEL_CONFIGS = [c for c in ALL_CONFIGS if c.endswith(
    ('-250e_coco-256x192.py', '-250e_coco-384x288.py'))]


def test_config_set_is_complete():
    assert len(MODEL_CONFIGS) == 13  # HRNet x4, SimpleBaseline x6, HG x3
    for config in MODEL_CONFIGS:
        stem = config.replace('-250e_coco-', '-ft-50e_coco-')
        assert stem in ALL_CONFIGS, stem
        assert config.replace('-250e_coco-', '-250e_coco-test-dev-') \
            in ALL_CONFIGS


@pytest.mark.parametrize('config', ALL_CONFIGS)
def test_config_builds(config):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    assert cfg.custom_imports == dict(
        imports=['oksnet_mmpose'], allow_failed_imports=False)
    assert cfg.val_evaluator.type == 'QualityCocoMetric'
    assert cfg.train_dataloader.dataset.pipeline[-1].type == \
        'PackOKSPoseInputs'
    init_default_scope('mmpose')
    cfg.model.backbone.pop('init_cfg', None)
    model = MODELS.build(cfg.model)
    assert type(model.head).__name__ in ('OKSNetHead', 'OKSNetCPMHead')
    assert model.head.loss_module.loss_weight == 2000.
    # the base recipe's hooks are kept, the OKS-net hook appended
    assert cfg.custom_hooks[0].type == 'SyncBuffersHook'
    if 'quality-only' in config:
        assert cfg.custom_hooks[1:] == [dict(type='FreezeExceptOKSNetHook')]
        assert cfg.load_from.startswith('https://download.openmmlab.com')
    elif '-ft-' in config:
        assert cfg.train_cfg.max_epochs == 50
        assert cfg.model.head.loss_oks.loss_weight == 1.
        if 'hourglass' not in config:
            assert cfg.load_from.startswith('https://download.openmmlab.com')
    elif 'test-dev' in config:
        assert cfg.test_evaluator.format_only
        assert 'test-dev2017' in cfg.test_dataloader.dataset.bbox_file
    else:
        assert cfg.custom_hooks[1:] == [
            dict(type='OKSLossSwitchHook', switch_epoch=200)
        ]


@pytest.mark.parametrize('config', MODEL_CONFIGS)
def test_train_iteration_and_flip_test_on_sample_images(config):
    cfg = sample_config(config, batch_size=2)
    init_default_scope('mmpose')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.head.loss_oks.loss_weight = 1.0

    train_set = DATASETS.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate([train_set[0], train_set[1]])
    model.train()
    data = model.data_preprocessor(batch, training=True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss_kpt']) and torch.isfinite(
        losses['loss_oks'])
    (losses['loss_kpt'] + losses['loss_oks']).backward()
    # the branch learns: its last layer, whichever the variant, has a gradient
    last_linear = [
        m for m in model.head.oks_net.modules() if isinstance(m, nn.Linear)
    ][-1]
    assert last_linear.weight.grad.abs().sum() > 0

    val_set = DATASETS.build(cfg.val_dataloader.dataset)
    model.eval()
    assert cfg.model.test_cfg.flip_test
    with torch.no_grad():
        outputs = model.test_step(pseudo_collate([val_set[0], val_set[1]]))
    for out in outputs:
        quality = out.pred_instances.pose_quality
        assert quality.shape == (1, ) and 0 <= quality[0] <= 1
        assert out.pred_instances.keypoints.shape == (1, 17, 2)
        assert np.isfinite(out.pred_instances.keypoints).all()
