# Copyright (c) oksnet-mmpose contributors.
"""Non-finite training annotations are refused by PackOKSPoseInputs, named
by annotation, image id and path, before any loss: nothing reaches the
weights. A missing or non-positive area keeps its documented fallback."""
import json
import logging

import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpose.registry import DATASETS

from tests.conftest import SAMPLE_ANN
from tests.test_engine.tiny_model import tiny_config


def _first_train_instance():
    init_default_scope('mmpose')
    dataset = DATASETS.build(tiny_config().train_dataloader.dataset)
    return dataset.get_data_info(0)


def _corrupt(tmp_path, ann_id, **changes):
    """The sample annotations with fields of annotation ``ann_id`` replaced
    (``keypoint``: the x of that keypoint index set to NaN)."""
    with open(SAMPLE_ANN) as f:
        data = json.load(f)
    (ann, ) = [a for a in data['annotations'] if a['id'] == ann_id]
    if 'keypoint' in changes:
        ann['keypoints'][3 * changes.pop('keypoint')] = float('nan')
    ann.update(changes)
    path = tmp_path / 'corrupt.json'
    path.write_text(json.dumps(data))  # NaN as JSON's NaN literal
    return str(path)


def _train_config(ann_file, work_dir):
    cfg = tiny_config(work_dir=str(work_dir))
    cfg.train_dataloader.dataset.ann_file = ann_file  # absolute
    # the corrupt instance comes first: nothing trains before it
    cfg.train_dataloader.sampler = dict(type='DefaultSampler', shuffle=False)
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=10)
    cfg.custom_hooks = [dict(type='OKSLossSwitchHook', switch_epoch=0)]
    cfg.param_scheduler = []
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.visualization = dict(type='PoseVisualizationHook',
                                           enable=False)
    cfg.model_wrapper_cfg = None
    return cfg


@pytest.mark.parametrize('field', ['keypoint', 'area'])
def test_nan_in_a_training_annotation_is_named_before_any_step(
        field, tmp_path):
    first = _first_train_instance()
    change = dict(keypoint=5) if field == 'keypoint' else dict(
        area=float('nan'))
    ann_file = _corrupt(tmp_path, first['id'], **change)
    runner = Runner.from_cfg(_train_config(ann_file, tmp_path))
    name = 'keypoints' if field == 'keypoint' else 'area'
    with pytest.raises(ValueError) as err:
        runner.train()
    message = str(err.value)
    assert (f'PackOKSPoseInputs: annotation {first["id"]} of image '
            f'{first["img_id"]} ({first["img_path"]}): `{name}` has 1 '
            'non-finite value(s)') in message
    assert 'train_dataloader.dataset.ann_file' in message
    # refused before the first optimizer step: the weights are untouched
    assert runner.iter == 0
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())


def test_nan_bbox_value_is_named(tmp_path):
    first = _first_train_instance()
    ann_file = _corrupt(tmp_path, first['id'],
                        bbox=[10, float('nan'), 50, 80])
    cfg = _train_config(ann_file, tmp_path)
    init_default_scope('mmpose')
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    with pytest.raises(ValueError,
                       match=rf'annotation {first["id"]} .*: `bbox` has '):
        dataset[0]


def test_non_positive_area_keeps_the_documented_fallback(tmp_path):
    first = _first_train_instance()
    ann_file = _corrupt(tmp_path, first['id'], area=0)
    cfg = _train_config(ann_file, tmp_path)
    init_default_scope('mmpose')
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        sample = dataset[0]
    finally:
        logger.removeHandler(handler)
    assert any('has no positive `area`; using 0.53 x bbox area' in
               r.getMessage() for r in records)
    x1, y1, x2, y2 = sample['data_samples'].gt_instances.bboxes[0]
    scale = sample['data_samples'].metainfo['input_scale']
    w, h = sample['data_samples'].metainfo['input_size']
    expected = 0.53 * (x2 - x1) * (y2 - y1) * (w / scale[0]) * (h / scale[1])
    np.testing.assert_allclose(
        sample['data_samples'].gt_instances.transformed_areas, [expected],
        rtol=1e-5)
