# Copyright (c) oksnet-mmpose contributors.
"""Stock MMPose 1.3.2 configs the package does not ship, converted by
tools/add_oksnet.py: each trains a step with lambda_OKS = 1, predicts with
flip test and pose_quality, and is evaluated by QualityCocoMetric, on the
real sample images (CrowdPose: the sample people relabelled in CrowdPose's
14-keypoint layout)."""
import copy
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS, METRICS, MODELS

import oksnet_mmpose  # noqa: F401 (registers the OKS-net heads)
from oksnet_mmpose.apis.config_conversion import add_oksnet
from tests.conftest import SAMPLE_ANN, sample_config
from tests.test_apis.test_config_conversion import (RTMPOSE_M_CROWDPOSE,
                                                    STOCK_CONFIGS)

# COCO index of each CrowdPose keypoint (12 limbs; top_head <- nose, neck
# <- the shoulders' midpoint)
CROWDPOSE_FROM_COCO = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]


def _crowdpose_annotations(path):
    """The sample COCO people in CrowdPose's layout and file format."""
    with open(SAMPLE_ANN) as f:
        coco = json.load(f)
    for image in coco['images']:
        image['crowdIndex'] = 0.1  # CrowdPose's crowd-level evaluation
    for ann in coco['annotations']:
        kpts = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
        neck = (kpts[5] + kpts[6]) / 2 if kpts[5, 2] and kpts[6, 2] else \
            np.zeros(3)
        crowd = np.concatenate([kpts[CROWDPOSE_FROM_COCO], kpts[[0]],
                                neck[None]])
        ann['keypoints'] = crowd.reshape(-1).tolist()
        ann['num_keypoints'] = int((crowd[:, 2] > 0).sum())
    coco['categories'][0]['keypoints'] = [str(i) for i in range(14)]
    with open(path, 'w') as f:
        json.dump(coco, f)
    return str(path)


def _converted_config(src, tmp_path):
    out = tmp_path / 'oksnet.py'
    add_oksnet(src, str(out))
    cfg = sample_config(str(out), batch_size=2)
    if 'crowdpose' in src:
        ann_file = _crowdpose_annotations(tmp_path / 'crowdpose_sample.json')
        for loader in ('train_dataloader', 'val_dataloader'):
            cfg[loader].dataset.ann_file = ann_file
        cfg.val_evaluator.ann_file = ann_file
    return cfg


def _train_step(model, dataset):
    batch = pseudo_collate([dataset[0], dataset[1]])
    model.train()
    model.zero_grad()
    data = model.data_preprocessor(batch, training=True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['loss_oks']) and losses['loss_oks'] > 0
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert torch.isfinite(total)
    total.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.head.oks_net.parameters())


def _assert_stock_weights_give_stock_keypoints(src, cfg, batch, tmp_path):
    """The stock model's weights load into the converted model with only
    the branch's keys missing, and its keypoints and keypoint scores (flip
    test) are bit-identical to the stock model's."""
    stock_file = tmp_path / 'stock.py'
    stock_file.write_text(f'_base_ = [{src!r}]\n')
    stock_cfg = sample_config(str(stock_file), batch_size=2)
    torch.manual_seed(0)
    stock = revert_sync_batchnorm(MODELS.build(stock_cfg.model)).eval()
    ours = revert_sync_batchnorm(MODELS.build(cfg.model)).eval()
    result = ours.load_state_dict(stock.state_dict(), strict=False)
    assert result.unexpected_keys == []
    assert result.missing_keys and all(
        k.startswith('head.oks_net.') for k in result.missing_keys)
    # the branch is the random init the stock weights left: opted in
    ours.test_cfg = dict(ours.test_cfg, allow_untrained_oks_net=True)
    with torch.no_grad():
        theirs = stock.test_step(batch)[0].pred_instances
        mine = ours.test_step(batch)[0].pred_instances
    np.testing.assert_array_equal(mine.keypoints, theirs.keypoints)
    np.testing.assert_array_equal(mine.keypoint_scores,
                                  theirs.keypoint_scores)


@pytest.mark.parametrize(
    'src', STOCK_CONFIGS, ids=lambda s: osp.basename(s)[:-3])
def test_converted_stock_config_trains_predicts_and_evaluates(
        src, tmp_path):
    cfg = _converted_config(src, tmp_path)
    init_default_scope('mmpose')
    head_type = cfg.model.head.type
    if MODELS.get(head_type) is None:
        pytest.skip(f'{head_type} is not registered (its head family is '
                    'not on this branch)')
    torch.manual_seed(0)
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.head.loss_oks.loss_weight = 1.0  # lambda_OKS = 1

    # a training step on each train pipeline (stage 2: PipelineSwitchHook)
    pipelines = [cfg.train_dataloader.dataset.pipeline] + [
        hook.switch_pipeline for hook in cfg.custom_hooks
        if hook.type.endswith('PipelineSwitchHook')
    ]
    for pipeline in pipelines:
        assert pipeline[-1].type == 'PackOKSPoseInputs'
        dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
        dataset_cfg.pipeline = pipeline
        _train_step(model, DATASETS.build(dataset_cfg))

    # flip-test prediction with pose_quality, then QualityCocoMetric
    assert cfg.model.test_cfg.flip_test
    cfg.val_dataloader.dataset.indices = 1  # CPU time: one pose
    val_set = DATASETS.build(cfg.val_dataloader.dataset)
    metric = METRICS.build(cfg.val_evaluator)
    metric.dataset_meta = val_set.metainfo
    batch = pseudo_collate([val_set[0]])
    model.eval()
    with torch.no_grad():
        outputs = model.test_step(batch)
    quality = outputs[0].pred_instances.pose_quality
    assert quality.shape == (1, ) and 0 <= quality[0] <= 1
    assert outputs[0].pred_instances.keypoints.shape == (
        1, len(val_set.metainfo['sigmas']), 2)
    metric.process(batch, [out.to_dict() for out in outputs])
    results = metric.evaluate(len(val_set))
    prefix = cfg.val_evaluator.get('prefix', 'coco')
    for key in (f'{prefix}/AP', f'{prefix}-heatmap/AP'):
        assert 0 <= results[key] <= 1, key

    _assert_stock_weights_give_stock_keypoints(src, cfg, batch, tmp_path)


def test_crowdpose_sample_is_crowdpose_layout(tmp_path):
    """The relabelled sample matches the CrowdPose metainfo the converted
    config's head and metric use."""
    cfg = _converted_config(RTMPOSE_M_CROWDPOSE, tmp_path)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert dataset.metainfo['dataset_name'] == 'crowdpose'
    assert dataset[0]['data_samples'].gt_instances.keypoints.shape == (1, 14,
                                                                       2)
