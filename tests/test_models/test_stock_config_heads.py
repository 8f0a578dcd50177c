# Copyright (c) oksnet-mmpose contributors.
"""MMPose's own COCO configs of every head family, with the head's type
replaced by its OKS-net head: a stock state dict loads with only the
branch missing, keypoints and scores are bit-identical, and the pose
feature has exactly the size the branch is built for (the paper's geometry,
nothing pooled)."""
import os.path as osp

import mmpose
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS
from mmpose.testing import get_packed_inputs

from .oksnet_head_cases import FAMILIES

CONFIG_ROOT = osp.join(
    osp.dirname(mmpose.__file__), '.mim', 'configs', 'body_2d_keypoint')
OKSNET_TYPE = {stock.__name__: ours.__name__
               for stock, ours in FAMILIES.values()}


@pytest.mark.parametrize('config', [
    'rtmpose/coco/rtmpose-t_8xb256-420e_coco-256x192.py',
    'simcc/coco/simcc_mobilenetv2_wo-deconv-8xb64-210e_coco-256x192.py',
    'simcc/coco/simcc_vipnas-mbv3_8xb64-210e_coco-256x192.py',
    'topdown_heatmap/coco/td-hm_vipnas-mbv3_8xb64-210e_coco-256x192.py',
    'topdown_heatmap/coco/td-hm_rsn18_8xb32-210e_coco-256x192.py',
    'topdown_heatmap/coco/td-hm_cpm_8xb64-210e_coco-256x192.py',
])
def test_stock_config_head_geometry_and_keypoints(config):
    init_default_scope('mmpose')
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, config))
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    stock = MODELS.build(cfg.model).eval()
    cfg.model.head.type = OKSNET_TYPE[cfg.model.head.type]
    ours = MODELS.build(cfg.model).eval()
    result = ours.load_state_dict(stock.state_dict(), strict=False)
    assert result.unexpected_keys == []
    assert result.missing_keys and all(
        k.startswith('head.oks_net.') for k in result.missing_keys)

    width, height = cfg.model.head.decoder.input_size
    samples = get_packed_inputs(batch_size=2)['data_samples']
    with torch.no_grad():
        feats = ours.extract_feat(torch.rand(2, 3, height, width))
        pose_feature = ours.head.forward_pose_feature(feats)
        theirs = stock.head.predict(feats, samples)
        # the branch is the random init the stock weights left: opted in
        preds = ours.head.predict(feats, samples,
                                  dict(allow_untrained_oks_net=True))
    assert tuple(pose_feature.shape[:1:-1]) == ours.head.oks_net.feature_size
    for a, b in zip(preds, theirs):
        np.testing.assert_array_equal(a.keypoints, b.keypoints)
        np.testing.assert_array_equal(a.keypoint_scores, b.keypoint_scores)
        assert 0 <= a.pose_quality[0] <= 1
