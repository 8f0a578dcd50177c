# Copyright (c) oksnet-mmpose contributors.
"""oksnet_mmpose.analysis.complexity: MMEngine's FLOP and parameter counts
of the base network and of the OKS-net branch (paper Sec. V-E)."""
import os.path as osp

import torch
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config
from torch import nn

from oksnet_mmpose.analysis.complexity import (PoseNetworkForward,
                                               count_flops, model_complexity)
from oksnet_mmpose.benchmark.cost import build_cost_model
from tests.conftest import CONFIG_DIR

SYNTHETIC_CONFIG = osp.join(
    CONFIG_DIR, 'synthetic',
    'oksnet_td-hm_res18_1xb32-12e_synthetic-128x96.py')
HRNET_W32_CONFIG = osp.join(
    CONFIG_DIR, 'oksnet_td-hm_hrnet-w32_8xb64-250e_coco-256x192.py')


def test_flop_counter_counts_multiply_adds():
    """MMEngine counts one multiply-add as one FLOP (the GFLOPs of
    docs/cost.md)."""
    linear = nn.Linear(8, 4, bias=False)
    assert count_flops(linear, (torch.zeros(1, 8), )) == 8 * 4
    conv = nn.Conv2d(3, 5, 3, padding=1, bias=False)
    assert count_flops(conv, (torch.zeros(1, 3, 6, 7), )) == 6 * 7 * 5 * 3 * 9


def test_base_plus_branch_flops_equal_whole_model():
    torch.manual_seed(0)
    model = build_cost_model(Config.fromfile(SYNTHETIC_CONFIG))
    complexity = model_complexity(model)
    width, height = complexity['input_size']
    inputs = (torch.zeros(1, 3, height, width), )
    model.eval()
    with torch.no_grad():
        with_branch = PoseNetworkForward(model, with_oks_net=True)
        whole = count_flops(with_branch, inputs)
        heatmaps = PoseNetworkForward(model)(inputs[0])
        with_quality = with_branch(inputs[0])
    assert complexity['branch_flops'] > 0
    assert complexity['base_flops'] + complexity['branch_flops'] == whole
    # the branch variant computes the same heatmaps, plus one OKS per image
    torch.testing.assert_close(with_quality[0], heatmaps[0])
    assert with_quality[-1].shape == (1, )
    # parameters: the branch's are split off the whole model's
    total = sum(p.numel() for p in model.parameters())
    branch = sum(p.numel() for p in model.head.oks_net.parameters())
    assert complexity['branch_params'] == branch
    assert complexity['base_params'] == total - branch


def test_branch_cost_at_256x192_hrnet_w32():
    """Paper Sec. V-E: the branch has 2.7M parameters and adds <= 0.1
    GFLOPs at 256x192."""
    cfg = Config.fromfile(HRNET_W32_CONFIG)
    cfg.model.head.oks_net = dict(type='OKSNet')  # the paper's branch
    model = build_cost_model(cfg)
    oks_net = model.head.oks_net
    width, height = oks_net.feature_size
    flops = count_flops(oks_net.eval(),
                        (torch.zeros(1, oks_net.in_channels, height, width), ))
    assert flops <= 0.1e9
    params = sum(p.numel() for p in oks_net.parameters())
    assert abs(params - 2.7e6) < 0.1e6
    # the counts are those of MMEngine's get_model_complexity_info
    info = get_model_complexity_info(
        oks_net,
        inputs=(torch.zeros(1, oks_net.in_channels, height, width), ),
        show_table=False,
        show_arch=False)
    assert info['flops'] == flops
    assert info['params'] == params
