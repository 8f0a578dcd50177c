# Copyright (c) oksnet-mmpose contributors.
"""oksnet_mmpose.benchmark.cost: which configs share a row, the model it
builds, and a parameters/FLOPs-only run with its report. No timing is
asserted (the timings are the benchmark's, measured side by side)."""
import glob
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config

import oksnet_mmpose.benchmark.cost as cost
from oksnet_mmpose.benchmark.cost import (architecture_key, build_cost_model,
                                          find_config_files,
                                          group_configs_by_architecture,
                                          run_cost_benchmark)
from tests.conftest import CONFIG_DIR, SAMPLE_ROOT

SYNTHETIC_CONFIG = osp.join(
    CONFIG_DIR, 'synthetic',
    'oksnet_td-hm_res18_1xb32-12e_synthetic-128x96.py')


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


def test_find_config_files(tmp_path):
    every = find_config_files(config_dir=CONFIG_DIR)
    assert every == (sorted(glob.glob(osp.join(CONFIG_DIR, 'oksnet_*.py'))) +
                     sorted(glob.glob(osp.join(CONFIG_DIR, 'synthetic',
                                               'oksnet_*.py'))))
    # every OKS-net config, not the model zoo's base config beside them
    assert SYNTHETIC_CONFIG in every
    assert not [p for p in every if 'synthetic-base' in p]
    # a path, or a file name in the config folder
    assert find_config_files([SYNTHETIC_CONFIG, 'oksnet_hrnet.py'],
                             config_dir=CONFIG_DIR) == [
                                 SYNTHETIC_CONFIG,
                                 osp.join(CONFIG_DIR, 'oksnet_hrnet.py')
                             ]
    with pytest.raises(FileNotFoundError, match='no config file nope.py'):
        find_config_files(['nope.py'], config_dir=CONFIG_DIR)
    with pytest.raises(FileNotFoundError, match='run from the repository'):
        find_config_files(config_dir=str(tmp_path))


def test_build_cost_model_sets_lambda_oks_and_refuses_a_stock_head():
    cfg = Config.fromfile(SYNTHETIC_CONFIG)
    cfg.model.head.loss_oks.loss_weight = 0.  # before the switch epoch
    assert build_cost_model(cfg).head.loss_oks.loss_weight == 1.0
    stock = Config.fromfile(SYNTHETIC_CONFIG)
    stock.model.head = dict(
        type='HeatmapHead',
        in_channels=stock.model.head.in_channels,
        out_channels=17,
        decoder=stock.model.head.decoder)
    with pytest.raises(ValueError, match='the cost benchmark: .* the head '
                       'HeatmapHead, not an OKS-net head .*OKSNetRTMCCHead'):
        build_cost_model(stock)


def test_out_dir_is_checked_before_any_config_is_read(tmp_path, monkeypatch):
    a_file = tmp_path / 'a_file'
    a_file.write_text('keep me')

    def no_configs(*args):
        raise AssertionError('the configs were read')

    monkeypatch.setattr(cost, 'group_configs_by_architecture', no_configs)
    with pytest.raises(ValueError,
                       match=f'out_dir {a_file}/sub: {a_file} is a file'):
        run_cost_benchmark([SYNTHETIC_CONFIG], str(a_file / 'sub'))
    assert a_file.read_text() == 'keep me'


def test_parameters_and_flops_only_run_writes_its_report(tmp_path):
    out_dir = tmp_path / 'cost'
    rows, settings, markdown_path, json_path = run_cost_benchmark(
        [SYNTHETIC_CONFIG],
        str(out_dir),
        data_root=SAMPLE_ROOT)
    (row, ) = rows
    assert row['model'] == 'SimpleBaseline ResNet-18 (32 base channels)'
    assert row['configs'] == [osp.basename(SYNTHETIC_CONFIG)]
    assert row['input_size'] == (96, 128) or row['input_size'] == [96, 128]
    assert row['branch_flops'] > 0 and row['base_flops'] > 0
    assert row['inference'] is None and row['train_step'] is None
    assert 'clock' not in settings and settings['threads'] >= 1
    assert sorted(os.listdir(out_dir)) == ['cost.json', 'cost.md']
    with open(json_path) as f:
        saved = json.load(f)
    assert saved['settings'] == settings
    assert saved['rows'][0]['base_params'] == row['base_params']
    with open(markdown_path) as f:
        table = f.read()
    assert ('| 1 | SimpleBaseline ResNet-18 (32 base channels) | 128x96 |'
            in table)
    assert f'`{osp.basename(SYNTHETIC_CONFIG)}`' in table
