# Copyright (c) oksnet-mmpose contributors.
"""A small OKS-net model on the sample data, for tests that train."""
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS, MODELS

from tests.conftest import sample_config


def tiny_config(config='oksnet_hrnet.py', **kwargs):
    """An HRNet-W32 config of configs/ with a ResNet-18 SimpleBaseline
    instead of HRNet-W32 (same codec, pipeline, OKS-net head, hooks)."""
    cfg = sample_config(config, **kwargs)
    cfg.model.backbone = dict(type='ResNet', depth=18)
    cfg.model.head.in_channels = 512
    cfg.model.head.deconv_out_channels = (32, 32, 32)
    cfg.model.head.deconv_kernel_sizes = (4, 4, 4)
    return cfg


def build_tiny_model_and_batches(num_batches, batch_size=2, offset=0):
    init_default_scope('mmpose')
    cfg = tiny_config()
    model = MODELS.build(cfg.model)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batches = [
        pseudo_collate([
            dataset[(offset + b * batch_size + i) % len(dataset)]
            for i in range(batch_size)
        ]) for b in range(num_batches)
    ]
    return model, batches
