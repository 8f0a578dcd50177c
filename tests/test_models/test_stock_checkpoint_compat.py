# Copyright (c) oksnet-mmpose contributors.
"""A checkpoint written by a stock MMPose config loads into the matching
OKS-net config: heatmaps and keypoints are bit-identical, only the new
branch is missing."""
import os.path as osp

import mmpose
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint
from mmpose.registry import DATASETS, MODELS

from tests.conftest import sample_config

# the stock recipe OKSNet's configs/oksnet_hrnet.py inherits
STOCK = osp.join(
    osp.dirname(mmpose.__file__), '.mim', 'configs', 'body_2d_keypoint',
    'topdown_heatmap', 'coco', 'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py')


def test_stock_checkpoint_loads_with_only_oks_net_missing(tmp_path):
    stock_cfg = sample_config(STOCK, work_dir=str(tmp_path))
    # one training iteration, then a checkpoint, as MMEngine writes it
    stock_cfg.train_dataloader.dataset.indices = 2
    stock_cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=10)
    stock_cfg.param_scheduler = []
    stock_cfg.val_dataloader = stock_cfg.val_cfg = None
    stock_cfg.val_evaluator = None
    stock_cfg.test_dataloader = stock_cfg.test_cfg = None
    stock_cfg.test_evaluator = None
    stock_cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=1)
    stock_cfg.default_hooks.visualization = dict(
        type='PoseVisualizationHook', enable=False)
    Runner.from_cfg(stock_cfg).train()
    checkpoint = str(tmp_path / 'epoch_1.pth')

    init_default_scope('mmpose')
    oks_cfg = sample_config('oksnet_hrnet.py')
    stock_model = MODELS.build(sample_config(STOCK).model)
    oks_model = MODELS.build(oks_cfg.model)
    state_dict = _load_checkpoint(checkpoint, map_location='cpu')
    stock_model.load_state_dict(state_dict['state_dict'], strict=True)
    result = oks_model.load_state_dict(state_dict['state_dict'],
                                       strict=False)
    assert result.unexpected_keys == []
    assert result.missing_keys and all(
        k.startswith('head.oks_net.') for k in result.missing_keys)
    # (BatchNorm fills a missing num_batches_tracked without reporting it)
    assert set(result.missing_keys) == {
        k for k in oks_model.state_dict() if k.startswith('head.oks_net.')
        and not k.endswith('num_batches_tracked')
    }

    val_set = DATASETS.build(oks_cfg.val_dataloader.dataset)
    batch = pseudo_collate([val_set[i] for i in range(3)])
    stock_model.eval(), oks_model.eval()
    for model in (stock_model, oks_model):
        model.test_cfg['output_heatmaps'] = True
    # the branch the stock checkpoint lacked is refused unless opted in
    oks_model.test_cfg['allow_untrained_oks_net'] = True
    with torch.no_grad():
        stock_out = stock_model.test_step(batch)
        oks_out = oks_model.test_step(batch)
    for a, b in zip(stock_out, oks_out):
        assert torch.equal(a.pred_fields.heatmaps, b.pred_fields.heatmaps)
        assert (a.pred_instances.keypoints == b.pred_instances.keypoints
                ).all()
        assert (a.pred_instances.keypoint_scores ==
                b.pred_instances.keypoint_scores).all()
        assert 'pose_quality' in b.pred_instances
