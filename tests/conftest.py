# Copyright (c) oksnet-mmpose contributors.
"""Shared helpers: configs pointed at the 4 real COCO val2017 images in
tests/data/coco, so no test reads outside the repository."""
import importlib.util
import os.path as osp

import pytest
from mmengine.config import Config

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(REPO_ROOT, 'configs')
SAMPLE_ROOT = osp.join(REPO_ROOT, 'tests', 'data', 'coco')
SAMPLE_ANN = osp.join(SAMPLE_ROOT, 'annotations',
                      'person_keypoints_val2017_sample.json')
SAMPLE_DETS = osp.join(SAMPLE_ROOT, 'person_detection_results',
                       'COCO_val2017_sample_detections.json')


def load_tool(name: str):
    """Import tools/<name>.py (the tools are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(
        f'tools_{name}', osp.join(REPO_ROOT, 'tools', f'{name}.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def sample_config(config: str, work_dir: str = None, gt_boxes: bool = True,
                  batch_size: int = 2) -> Config:
    """Load a config (a path, or a file name in configs/) and point its
    train/val/test data at the sample images; no pretrained downloads."""
    path = config if osp.isfile(config) else osp.join(CONFIG_DIR, config)
    cfg = Config.fromfile(path)
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.batch_size = batch_size
        loader.num_workers = 0
        loader.persistent_workers = False
        dataset = loader.dataset
        dataset.data_root = SAMPLE_ROOT
        dataset.ann_file = 'annotations/person_keypoints_val2017_sample.json'
        dataset.data_prefix = dict(img='val2017/')
        if name == 'train_dataloader' or gt_boxes:
            dataset.pop('bbox_file', None)
        else:
            dataset.bbox_file = SAMPLE_DETS
    for name in ('val_evaluator', 'test_evaluator'):
        cfg[name].ann_file = SAMPLE_ANN
        cfg[name].pop('format_only', None)
        cfg[name].pop('outfile_prefix', None)
    if 'init_cfg' in cfg.model.backbone:
        cfg.model.backbone.init_cfg = None
    cfg.load_from = None
    if work_dir is not None:
        cfg.work_dir = work_dir
    return cfg


def without_oks_net(state_dict: dict) -> dict:
    """A state dict without the OKS-net branch: what a stock MMPose
    checkpoint holds for an OKS-net config."""
    return {
        k: v
        for k, v in state_dict.items() if not k.startswith('head.oks_net.')
    }


def save_stock_layout(checkpoint: str, out: str) -> str:
    """Save ``checkpoint`` (an MMEngine checkpoint) without its OKS-net
    branch weights to ``out``; returns ``out``."""
    import torch

    import oksnet_mmpose  # noqa: F401 (checkpoint globals, weights_only)
    state = torch.load(checkpoint, weights_only=True)
    state['state_dict'] = without_oks_net(state['state_dict'])
    torch.save(state, out)
    return out


@pytest.fixture(scope='session')
def coco_sample():
    """The sample annotations loaded in xtcocotools."""
    from xtcocotools.coco import COCO
    return COCO(SAMPLE_ANN)
