# Copyright (c) oksnet-mmpose contributors.
"""The non-timing logic of the cost benchmark (FLOP accounting in
oksnet_mmpose.analysis.complexity; config grouping, the A/B schedule and
the two training-step variants in tools/benchmark_cost*.py). No timing is
asserted."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmpose.models.heads import CPMHead, HeatmapHead
from mmpose.registry import MODELS
from torch import nn

from oksnet_mmpose.analysis.complexity import (PoseNetworkForward,
                                               count_flops, model_complexity)
from tests.conftest import CONFIG_DIR, SAMPLE_ROOT, load_tool

benchmark_cost = load_tool('benchmark_cost')
architecture_key = benchmark_cost.architecture_key
build_cost_model = benchmark_cost.build_cost_model
group_configs_by_architecture = benchmark_cost.group_configs_by_architecture
point_train_data_at = benchmark_cost.point_train_data_at
timing = load_tool('benchmark_cost_timing')

SYNTHETIC_CONFIG = osp.join(
    CONFIG_DIR, 'synthetic',
    'oksnet_td-hm_res18_1xb32-12e_synthetic-128x96.py')
HRNET_W32_CONFIG = osp.join(
    CONFIG_DIR, 'oksnet_td-hm_hrnet-w32_8xb64-250e_coco-256x192.py')


def _sample_data_config(path: str) -> Config:
    """A config whose train data are the 4 sample images."""
    return point_train_data_at(
        Config.fromfile(path), SAMPLE_ROOT,
        'annotations/person_keypoints_val2017_sample.json', 'val2017/')


def test_architecture_key_ignores_only_weights():
    model = dict(
        backbone=dict(type='ResNet', depth=50, init_cfg=dict(checkpoint='a')),
        head=dict(
            type='OKSNetHead',
            in_channels=2048,
            loss_oks=dict(type='HardMinedOKSLoss', loss_weight=0.),
            decoder=dict(input_size=(192, 256))))
    same = dict(
        backbone=dict(type='ResNet', depth=50),
        head=dict(
            type='OKSNetHead',
            in_channels=2048,
            loss_oks=dict(type='HardMinedOKSLoss', loss_weight=1.),
            decoder=dict(input_size=[192, 256])))
    assert architecture_key(model) == architecture_key(same)
    deeper = dict(same, backbone=dict(type='ResNet', depth=101))
    assert architecture_key(model) != architecture_key(deeper)


def test_grouping_covers_every_config_once():
    files = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
    groups = group_configs_by_architecture(files)
    grouped = [f for _, members in groups for f in members]
    assert sorted(grouped) == files  # every file, exactly once
    keys = [architecture_key(cfg.model) for cfg, _ in groups]
    assert len(set(keys)) == len(keys)

    def group_of(name):
        return next(i for i, (_, members) in enumerate(groups)
                    if osp.join(CONFIG_DIR, name) in members)

    # schedule, data and lambda_OKS variants of one network share a row ...
    w32 = group_of('oksnet_td-hm_hrnet-w32_8xb64-250e_coco-256x192.py')
    prefix = 'oksnet_td-hm_hrnet-w32_8xb64-'
    for sibling in ('oksnet_hrnet.py', prefix + 'ft-50e_coco-256x192.py',
                    prefix + '250e_coco-test-dev-256x192.py',
                    prefix + 'quality-only-50e_coco-256x192.py'):
        assert group_of(sibling) == w32
    # ... another input size or depth does not
    assert group_of('oksnet_td-hm_hrnet-w32_8xb64-250e_coco-384x288.py') != w32
    assert (group_of('oksnet_td-hm_res50_8xb64-250e_coco-256x192.py')
            != group_of('oksnet_td-hm_res101_8xb64-250e_coco-256x192.py'))


def test_flop_counter_counts_multiply_adds():
    """MMEngine counts one multiply-add as one FLOP (the README's GFLOPs)."""
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
    model = build_cost_model(Config.fromfile(HRNET_W32_CONFIG))
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


def test_interleaved_schedule():
    calls = []
    result = timing.interleaved_timing(
        lambda: calls.append('a'),
        lambda: calls.append('b'),
        repeats=3,
        warmup=2)
    # warm-up pairs, then the order alternates within pairs
    assert ''.join(calls) == 'abab' + 'ab' + 'ba' + 'ab'
    assert result['repeats'] == 3
    assert len(result['seconds_a']) == len(result['seconds_b']) == 3
    assert len(result['wall_seconds_a']) == 3

    calls.clear()
    result = timing.interleaved_timing(
        lambda: calls.append('a'),
        lambda: calls.append('b'),
        repeats=10,
        warmup=0,
        max_seconds=0.,
        min_repeats=2)
    assert ''.join(calls) == 'abba'  # the budget is spent: min_repeats only
    with pytest.raises(ValueError):
        timing.interleaved_timing(
            lambda: None, lambda: None, repeats=1, clock='tsc')


def test_stock_loss_is_the_parent_heads():
    codec = dict(
        type='MSRAHeatmap',
        input_size=(48, 64),
        heatmap_size=(12, 16),
        sigma=2)
    cpm = MODELS.build(
        dict(
            type='OKSNetCPMHead',
            in_channels=8,
            out_channels=17,
            num_stages=2,
            decoder=codec))
    assert timing._stock_head_loss(cpm).__func__ is CPMHead.loss
    heatmap = MODELS.build(
        dict(
            type='OKSNetHead',
            in_channels=8,
            out_channels=17,
            deconv_out_channels=None,
            decoder=codec))
    assert timing._stock_head_loss(heatmap).__func__ is HeatmapHead.loss


def test_train_step_variants_on_real_images():
    """The base step leaves the branch untouched; the OKS-net step trains
    it. Both train the pose network."""
    cfg = _sample_data_config(SYNTHETIC_CONFIG)
    torch.manual_seed(0)
    model = build_cost_model(cfg)
    assert model.head.loss_oks.loss_weight == 1.0  # lambda_OKS after switch
    model.train()
    batch = timing.make_train_batch(cfg, model, batch_size=3)
    assert batch['inputs'].shape == (3, 3, 128, 96)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)

    def snapshot(module):
        return [p.detach().clone() for p in module.parameters()]

    def changed(before, module):
        return any(not torch.equal(b, p)
                   for b, p in zip(before, module.parameters()))

    branch, final = snapshot(model.head.oks_net), snapshot(
        model.head.final_layer)
    timing.train_step(model, optim_wrapper, batch, with_oks_net=False)
    assert not changed(branch, model.head.oks_net)
    assert changed(final, model.head.final_layer)

    timing.train_step(model, optim_wrapper, batch, with_oks_net=True)
    assert changed(branch, model.head.oks_net)
