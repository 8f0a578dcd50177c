# Copyright (c) oksnet-mmpose contributors.
"""A checkpoint trained by the tests, for the inference and demo tests."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.runner import Runner
from mmpose.apis import init_model

from tests.test_engine.tiny_model import tiny_config


@pytest.fixture(scope='session')
def trained_oksnet(tmp_path_factory):
    """Train the tiny OKS-net model (ResNet-18) for a few iterations on the
    sample images with lambda_OKS = 1 from the start, and save it as MMPose
    does.

    Returns:
        SimpleNamespace: ``config`` (the dumped config file) and
        ``checkpoint`` (the saved checkpoint).
    """
    work_dir = str(tmp_path_factory.mktemp('trained_oksnet'))
    torch.manual_seed(0)
    cfg = tiny_config(work_dir=work_dir)
    # Kaiming rather than the stock N(0, 0.001) head init: after a few
    # iterations the BN running statistics are still far from the batch
    # statistics, and with tiny activations the predicted OKS would be the
    # same (to 1e-7) for every pose
    cfg.model.head.init_cfg = dict(type='Kaiming',
                                   layer=['Conv2d', 'ConvTranspose2d'])
    # a 128x96 input (a quarter of the compute of 256x192): these tests run
    # the model on CPU
    codec = dict(type='MSRAHeatmap',
                 input_size=(96, 128),
                 heatmap_size=(24, 32),
                 sigma=2)
    cfg.model.head.decoder = codec
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for step in cfg[loader].dataset.pipeline:
            if step.type == 'TopdownAffine':
                step.input_size = codec['input_size']
            elif step.type == 'GenerateTarget':
                step.encoder = codec
    # lambda_OKS = 1 from the first iteration: the branch is trained
    assert cfg.custom_hooks[-1].type == 'OKSLossSwitchHook'
    cfg.custom_hooks[-1] = dict(type='OKSLossSwitchHook', switch_epoch=0)
    cfg.train_dataloader.dataset.indices = 6  # 3 iterations of 2 instances
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=10)
    cfg.param_scheduler = []
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    cfg.default_hooks.visualization = dict(type='PoseVisualizationHook',
                                           enable=False)
    cfg.model_wrapper_cfg = None  # single process here
    runner = Runner.from_cfg(cfg)
    runner.train()
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(checkpoint)

    # the config a user would pass to the demo: the trained model, test data
    # on the sample images
    config = osp.join(work_dir, 'tiny_oksnet.py')
    cfg.dump(config)
    return SimpleNamespace(config=config, checkpoint=checkpoint)


@pytest.fixture(scope='session')
def pose_model(trained_oksnet):
    """The trained model, loaded by MMPose's ``init_model`` on the CPU."""
    return init_model(trained_oksnet.config,
                      trained_oksnet.checkpoint,
                      device='cpu')
