# Copyright (c) oksnet-mmpose contributors.
"""Quality-only training and mixed precision."""
import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.optim import AmpOptimWrapper
from mmengine.runner import Runner
from mmpose.registry import DATASETS

from tests.test_engine.tiny_model import (build_tiny_model_and_batches,
                                          tiny_config)

QUALITY_ONLY = 'oksnet_td-hm_hrnet-w32_8xb64-quality-only-50e_coco-256x192.py'


def _predict(model, batch):
    model.eval()
    with torch.no_grad():
        return model.test_step(batch)


def test_quality_only_keeps_keypoints_bit_identical(tmp_path):
    cfg = tiny_config(QUALITY_ONLY, work_dir=str(tmp_path))
    assert cfg.custom_hooks[-1] == dict(type='FreezeExceptOKSNetHook')
    cfg.train_dataloader.dataset.indices = 4
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=10)
    cfg.optim_wrapper.optimizer.lr = 1e-2  # make any leak visible
    cfg.param_scheduler = []
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.default_hooks.visualization = dict(
        type='PoseVisualizationHook', enable=False)
    cfg.model_wrapper_cfg = None  # single process here

    start, _ = build_tiny_model_and_batches(0)
    checkpoint = str(tmp_path / 'start.pth')
    torch.save({'state_dict': start.state_dict()}, checkpoint)
    cfg.load_from = checkpoint

    runner = Runner.from_cfg(cfg)
    runner.train()
    val_set = DATASETS.build(tiny_config().val_dataloader.dataset)
    batch = pseudo_collate([val_set[i] for i in range(3)])
    before, after = _predict(start, batch), _predict(runner.model, batch)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a.pred_instances.keypoints,
                                      b.pred_instances.keypoints)
        np.testing.assert_array_equal(a.pred_instances.keypoint_scores,
                                      b.pred_instances.keypoint_scores)
    assert any(a.pred_instances.pose_quality != b.pred_instances.pose_quality
               for a, b in zip(before, after))
    frozen = [n for n, p in runner.model.named_parameters()
              if not p.requires_grad]
    assert frozen and not any(n.startswith('head.oks_net.') for n in frozen)


def test_amp_optim_wrapper_bf16_gives_finite_losses(monkeypatch):
    if not torch.cuda.is_available():
        # AmpOptimWrapper refuses to build without an accelerator; on CPU
        # its autocast runs bf16 (fp16 autocast is GPU-only)
        import mmengine.optim.optimizer.amp_optimizer_wrapper as amp
        monkeypatch.setattr(amp, 'is_cuda_available', lambda: True)
        dtype = 'bfloat16'
    else:
        dtype = 'float16'
    torch.manual_seed(0)
    model, batches = build_tiny_model_and_batches(2)
    model.head.loss_oks.loss_weight = 1.
    if torch.cuda.is_available():
        model = model.cuda()
    optim = AmpOptimWrapper(
        optimizer=torch.optim.Adam(model.parameters(), lr=1e-4), dtype=dtype)
    for batch in batches:
        log_vars = model.train_step(batch, optim)
        for name in ('loss_kpt', 'loss_oks', 'mae_oks'):
            assert torch.isfinite(torch.as_tensor(log_vars[name])), name
    assert log_vars['loss_oks'] > 0
