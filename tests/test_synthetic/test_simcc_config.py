# Copyright (c) oksnet-mmpose contributors.
"""The synthetic SimCC config behind docs/heads.md's SimCC pose-feature
measurement: derived from the synthetic base config, only the head and the
target encoder changed."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

import oksnet_mmpose  # noqa: F401
from tests.conftest import CONFIG_DIR

SYNTHETIC = osp.join(CONFIG_DIR, 'synthetic')
BASE = 'oksnet_td-hm_res18_1xb32-12e_synthetic-128x96.py'
SIMCC = 'oksnet_simcc_res18_1xb32-12e_synthetic-128x96.py'


def test_simcc_config_changes_only_the_head_and_the_encoder():
    base = Config.fromfile(osp.join(SYNTHETIC, BASE))
    cfg = Config.fromfile(osp.join(SYNTHETIC, SIMCC))
    ours = cfg.train_dataloader.dataset.pipeline
    theirs = base.train_dataloader.dataset.pipeline
    assert [s.type for s in ours] == [s.type for s in theirs]
    for step, base_step in zip(ours, theirs):
        if step.type == 'GenerateTarget':
            assert step.encoder == cfg.simcc_codec and step.encoder.type == (
                'SimCCLabel')
        else:
            assert step == base_step
    assert cfg.custom_hooks == base.custom_hooks
    assert cfg.model.head.loss_oks.loss_weight == 0


def test_simcc_config_branch_reads_the_backbone_output():
    init_default_scope('mmpose')
    cfg = Config.fromfile(osp.join(SYNTHETIC, SIMCC))
    model = MODELS.build(cfg.model).eval()
    width, height = cfg.simcc_codec.input_size
    with torch.no_grad():
        feats = model.extract_feat(torch.rand(2, 3, height, width))
        pose_feature = model.head.forward_pose_feature(feats)
    # the keypoint conv's input: the backbone output, at the head's own
    # in_featuremap_size, which fixes the branch's FC grid
    assert torch.equal(pose_feature, feats[-1])
    assert pose_feature.shape[1] == model.head.oks_net.in_channels
    assert tuple(pose_feature.shape[:1:-1]) == tuple(
        cfg.model.head.in_featuremap_size) == model.head.oks_net.feature_size
