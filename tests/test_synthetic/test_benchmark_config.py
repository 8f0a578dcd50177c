# Copyright (c) oksnet-mmpose contributors.
"""The main job's config: the training target, the head's decoding (and so
the online OKS target) and the schedule agree with each other."""
import os.path as osp

from mmengine.config import Config

from tests.conftest import CONFIG_DIR

CONFIG = osp.join(CONFIG_DIR, 'synthetic',
                  'oksnet_td-hm_res18_1xb32-12e_synthetic-128x96.py')


def test_one_dark_codec_encodes_the_target_and_decodes_the_poses():
    cfg = Config.fromfile(CONFIG)
    encoders = [
        step.encoder for step in cfg.train_dataloader.dataset.pipeline
        if step.type == 'GenerateTarget'
    ]
    # a DARK decoder on a stock (integer-centred) target, or the reverse,
    # would bias every decoded pose and every OKS target by up to 2 px
    assert encoders == [cfg.model.head.decoder]
    assert cfg.model.head.decoder.unbiased


def test_the_branch_and_the_lr_drop_fit_in_the_schedule():
    cfg = Config.fromfile(CONFIG)
    max_epochs = cfg.train_cfg.max_epochs
    switch = [h for h in cfg.custom_hooks if h.type == 'OKSLossSwitchHook']
    assert len(switch) == 1 and 0 < switch[0].switch_epoch < max_epochs
    step_lr = cfg.param_scheduler[-1]
    assert step_lr.end == max_epochs
    assert all(switch[0].switch_epoch < m < max_epochs
               for m in step_lr.milestones)
    assert cfg.train_cfg.val_interval == max_epochs


def test_the_zoo_base_config_is_the_stock_recipe_with_one_dark_codec():
    from oksnet_mmpose.benchmark.model_zoo import BASE_MODEL
    cfg = Config.fromfile(osp.join(osp.dirname(CONFIG_DIR),
                                   BASE_MODEL.config))
    # no OKS-net: the plain model a user would find in a model zoo
    assert cfg.model.head.type == 'HeatmapHead'
    assert 'PackPoseInputs' == cfg.train_dataloader.dataset.pipeline[-1].type
    encoders = [
        step.encoder for step in cfg.train_dataloader.dataset.pipeline
        if step.type == 'GenerateTarget'
    ]
    assert encoders == [cfg.model.head.decoder]
    assert cfg.model.head.decoder.unbiased
    # the main job's OKS-net configs decode with the same codec
    assert cfg.model.head.decoder == Config.fromfile(CONFIG).model.head.decoder
    step_lr = cfg.param_scheduler[-1]
    assert step_lr.end == cfg.train_cfg.max_epochs
    assert all(0 < m < cfg.train_cfg.max_epochs for m in step_lr.milestones)
