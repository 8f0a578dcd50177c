# Copyright (c) oksnet-mmpose contributors.
"""tools/add_oksnet.py (oksnet_mmpose.apis.config_conversion): the OKS-net
config inherits the source config and differs from it only where OKS-net
needs to; the shipped configs are its output."""
import glob
import os.path as osp
import re
import shlex

import pytest
from mmengine.config import Config
from mmpose.registry import MODELS

from oksnet_mmpose.apis.config_conversion import (ConfigConversionError,
                                                  base_reference,
                                                  convert_config)
from oksnet_mmpose.apis.config_sections import BRANCH_LR_MULT
from oksnet_mmpose.models import oksnet_head_of_stock_head
from oksnet_mmpose.models.heads import KeypointOKSNet, OKSNet
from tests.conftest import CONFIG_DIR, REPO_ROOT, load_tool

STOCK = 'mmpose::body_2d_keypoint/'
COCO_HM = STOCK + 'topdown_heatmap/coco/'
HRNET = COCO_HM + 'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py'
HRNET_UDP = COCO_HM + 'td-hm_hrnet-w32_udp-8xb64-210e_coco-256x192.py'
CSPNEXT_UDP = COCO_HM + 'cspnext-s_udp_8xb256-210e_coco-256x192.py'
RTMPOSE_S = STOCK + 'rtmpose/coco/rtmpose-s_8xb256-420e_coco-256x192.py'
HRNET_CROWDPOSE = (STOCK + 'topdown_heatmap/crowdpose/'
                   'td-hm_hrnet-w32_8xb64-210e_crowdpose-256x192.py')
RTMPOSE_M_CROWDPOSE = (STOCK + 'rtmpose/crowdpose/'
                       'rtmpose-m_8xb64-210e_crowdpose-256x192.py')
# the stock configs of the issue, one per family / codec / dataset
STOCK_CONFIGS = [
    HRNET_UDP,
    COCO_HM + 'td-hm_hrnet-w48_dark-8xb32-210e_coco-384x288.py',
    COCO_HM + 'td-hm_res50_dark-8xb64-210e_coco-256x192.py',
    COCO_HM + 'td-hm_mobilenetv2_8xb64-210e_coco-256x192.py',
    COCO_HM + 'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py',
    COCO_HM + 'td-hm_ViTPose-small_8xb64-210e_coco-256x192.py',
    CSPNEXT_UDP,
    COCO_HM + 'td-hm_rsn18_8xb32-210e_coco-256x192.py',
    COCO_HM + 'td-hm_2xmspn50_8xb32-210e_coco-256x192.py',
    COCO_HM + 'td-hm_vipnas-mbv3_8xb64-210e_coco-256x192.py',
    RTMPOSE_S,
    STOCK + 'simcc/coco/simcc_res50_8xb64-210e_coco-256x192.py',
    HRNET_CROWDPOSE,
    RTMPOSE_M_CROWDPOSE,
]


def _flat(obj, prefix=''):
    """{'model.head.type': 'HeatmapHead', 'train_pipeline[7].type': ...},
    without MMEngine's ``_scope_`` bookkeeping."""
    if isinstance(obj, dict):
        items = [(f'{prefix}.{k}' if prefix else k, v)
                 for k, v in obj.items() if k != '_scope_']
    elif isinstance(obj, (list, tuple)) and obj:
        items = [(f'{prefix}[{i}]', v) for i, v in enumerate(obj)]
    else:
        return {prefix: obj}
    flat = {}
    for key, value in items:
        flat.update(_flat(value, key))
    return flat


def _load_wrapped(src, tmp_path, name='src.py'):
    """``src`` loaded as a config inheriting it (so with the same scopes as
    the generated config's base)."""
    path = tmp_path / name
    path.write_text(f'_base_ = [{src!r}]\n')
    return Config.fromfile(str(path))


def _convert(src, tmp_path, **options):
    out = tmp_path / 'oksnet.py'
    text = convert_config(src, **options)
    out.write_text(text)
    return Config.fromfile(str(out)), text


def _changes(base, new):
    base, new = _flat(base.to_dict()), _flat(new.to_dict())
    return {
        k: (base.get(k, '<absent>'), new.get(k, '<absent>'))
        for k in set(base) | set(new)
        if base.get(k, '<absent>') != new.get(k, '<absent>')
    }


@pytest.mark.parametrize(
    'src', STOCK_CONFIGS, ids=lambda s: osp.basename(s)[:-3])
def test_only_what_oksnet_needs_changes(src, tmp_path):
    """Every key of the generated config equals the base's, except the
    head type / branch variant / OKS loss / sigmas, the last transform of each train
    pipeline, the appended hook, the evaluator type and custom_imports."""
    base = _load_wrapped(src, tmp_path)
    new, text = _convert(src, tmp_path)
    pack_index = len(base.train_dataloader.dataset.pipeline) - 1
    n_hooks = len(base.custom_hooks)
    intended = [
        r'custom_imports\..*',
        r'model\.head\.(type|oks_net\..*|loss_oks\..*|metainfo\..*)',
        r'model\.head\.loss\.loss_weight',  # lambda_heatmap, MSE heads
        rf'(train_pipeline|train_pipeline_stage2|train_dataloader\.dataset'
        rf'\.pipeline|custom_hooks\[\d\]\.switch_pipeline)\[{pack_index}\]'
        r'\.type',
        rf'custom_hooks\[{n_hooks}\]\.(type|switch_epoch)',
        r'(val|test)_evaluator\.type',
    ]
    changes = _changes(base, new)
    unexpected = {
        k: v
        for k, v in changes.items()
        if not any(re.fullmatch(p, k) for p in intended)
    }
    assert not unexpected
    for key, (old, value) in changes.items():
        if key.endswith(f'[{pack_index}].type'):
            assert (old, value) == ('PackPoseInputs', 'PackOKSPoseInputs')
    assert new.model.head.type.startswith('OKSNet')
    assert new.custom_hooks[-1] == dict(
        type='OKSLossSwitchHook',
        switch_epoch=round(0.8 * base.train_cfg.max_epochs))
    assert new.val_evaluator.type == 'QualityCocoMetric'
    assert new.test_evaluator.type == 'QualityCocoMetric'
    # nothing of the pipelines, codec or hooks is restated in the code
    code = '\n'.join(line.split('#')[0] for line in text.splitlines())
    for restated in ('TopdownAffine', 'GenerateTarget', 'use_udp', 'codec',
                     'EMAHook', 'input_size'):
        assert restated not in code


def test_udp_flag_comes_from_the_base(tmp_path):
    """The issue's silent failure: a restated pipeline lost use_udp."""
    new, _ = _convert(HRNET_UDP, tmp_path)
    affine = [t for t in new.train_dataloader.dataset.pipeline
              if t.type == 'TopdownAffine']
    assert affine and affine[0].use_udp is True
    assert new.model.head.decoder.type == 'UDPHeatmap'


def test_crowdpose_sigmas_and_evaluator_settings(tmp_path):
    new, text = _convert(RTMPOSE_M_CROWDPOSE, tmp_path)
    assert new.model.head.metainfo == dict(
        from_file='configs/_base_/datasets/crowdpose.py')
    assert 'CrowdPoseDataset.METAINFO' in text
    for evaluator in (new.val_evaluator, new.test_evaluator):
        assert evaluator.type == 'QualityCocoMetric'
        assert evaluator.use_area is False
        assert evaluator.iou_type == 'keypoints_crowd'
        assert evaluator.prefix == 'crowdpose'


@pytest.mark.parametrize('dataset_type, metainfo_file, num_keypoints', [
    ('CocoDataset', 'coco', 17), ('CrowdPoseDataset', 'crowdpose', 14),
    ('AicDataset', 'aic', 14), ('OCHumanDataset', 'ochuman', 17),
    ('HumanArtDataset', 'humanart', 17), ('HalpeDataset', 'halpe', 136),
    ('CocoWholeBodyDataset', 'coco_wholebody', 133),
    ('AP10KDataset', 'ap10k', 17), ('PoseTrack18Dataset', 'posetrack18', 17)
])
def test_sigmas_from_the_dataset_class(dataset_type, metainfo_file,
                                       num_keypoints, tmp_path):
    """Without a metainfo in the config, the dataset class's METAINFO gives
    the sigmas (a 17-keypoint non-COCO dataset does not get COCO's)."""
    src = tmp_path / 'dataset.py'
    src.write_text(
        f'_base_ = [{HRNET!r}]\n'
        f'model = dict(head=dict(out_channels={num_keypoints}))\n'
        f"train_dataloader = dict(dataset=dict(type={dataset_type!r}))\n")
    new, text = _convert(str(src), tmp_path)
    assert new.model.head.metainfo == dict(
        from_file=f'configs/_base_/datasets/{metainfo_file}.py')
    assert f'{dataset_type}.METAINFO' in text


def test_metainfo_set_in_the_config_is_used(tmp_path):
    src = tmp_path / 'aic_layout.py'
    src.write_text(
        f'_base_ = [{HRNET_CROWDPOSE!r}]\n'
        "train_dataloader = dict(dataset=dict(metainfo=dict(\n"
        "    from_file='configs/_base_/datasets/crowdpose.py')))\n")
    new, text = _convert(str(src), tmp_path)
    assert 'metainfo=_base_.train_dataloader.dataset.metainfo' in text
    assert new.model.head.metainfo.from_file.endswith('crowdpose.py')


def test_base_hooks_and_stage2_pipeline_kept(tmp_path):
    base = _load_wrapped(CSPNEXT_UDP, tmp_path)
    new, _ = _convert(CSPNEXT_UDP, tmp_path)
    types = [h.type for h in new.custom_hooks]
    assert types == ['EMAHook', 'mmdet.PipelineSwitchHook',
                     'OKSLossSwitchHook']
    switch = new.custom_hooks[1]
    assert switch.switch_epoch == base.custom_hooks[1].switch_epoch
    assert switch.switch_pipeline[-1] == dict(type='PackOKSPoseInputs')
    assert _flat(switch.switch_pipeline[:-1]) == _flat(
        base.train_pipeline_stage2[:-1])


def test_finetune_schedule(tmp_path):
    new, _ = _convert(RTMPOSE_S, tmp_path, schedule='finetune',
                      load_from='rtmpose-s.pth')
    assert new.load_from == 'rtmpose-s.pth'
    assert new.train_cfg.max_epochs == 50
    assert new.optim_wrapper.optimizer.lr == 1e-4
    assert new.optim_wrapper.optimizer.type == 'AdamW'  # the base's
    assert new.model.head.loss_oks.loss_weight == 1.
    assert [h.type for h in new.custom_hooks] == [
        'EMAHook', 'mmdet.PipelineSwitchHook']
    # the base's last 30 epochs on the stage-2 pipeline: the last 30 of 50
    assert new.custom_hooks[1].switch_epoch == 20


@pytest.mark.parametrize('variant', ['paper', 'keypoint', 'pooled'])
def test_each_variant_builds_its_branch(variant, tmp_path):
    """``--variant`` sets ``model.head.oks_net`` to the variant's branch
    (the paper's is the heads' default) and a non-paper branch, random at
    the start of a fine-tuning, learns at a higher LR."""
    new, _ = _convert(HRNET, tmp_path, schedule='finetune',
                      load_from='hrnet.pth', variant=variant)
    head = MODELS.build(new.model.head)
    branch = head.oks_net
    assert type(branch) is (OKSNet if variant == 'paper' else KeypointOKSNet)
    # the pooled branch has no grid path: no attention, no stride-2 convs
    assert hasattr(branch, 'downsample') == (variant != 'pooled')
    custom_keys = new.optim_wrapper.get('paramwise_cfg',
                                        {}).get('custom_keys', {})
    assert custom_keys.get('oks_net', {}).get('lr_mult') == (
        None if variant == 'paper' else BRANCH_LR_MULT)
    with pytest.raises(ConfigConversionError, match="unknown variant 'grid'"):
        convert_config(HRNET, schedule='finetune', variant='grid')


def test_quality_only_schedule(tmp_path):
    new, _ = _convert(HRNET, tmp_path, schedule='quality-only')
    assert [h.type for h in new.custom_hooks] == [
        'SyncBuffersHook', 'FreezeExceptOKSNetHook']
    assert new.model_wrapper_cfg.find_unused_parameters
    assert new.load_from is None


def test_scratch_schedule_options(tmp_path):
    new, _ = _convert(HRNET, tmp_path, max_epochs=250,
                      lr_milestones=[170, 220], switch_epoch=200)
    assert new.train_cfg.max_epochs == 250
    warmup, steps = new.param_scheduler
    assert warmup.type == 'LinearLR' and warmup.end == 500  # the base's
    assert (steps.end, steps.milestones) == (250, [170, 220])
    assert new.custom_hooks[-1].switch_epoch == 200
    with pytest.raises(ConfigConversionError, match='switch_epoch=300'):
        convert_config(HRNET, switch_epoch=300)
    with pytest.raises(ConfigConversionError, match='MultiStepLR'):
        convert_config(RTMPOSE_S, lr_milestones=[100])


def test_shipped_configs_are_the_converter_output(monkeypatch):
    """Each configs/*.py names the command that generates it; running it
    again gives the same bytes (so the configs cannot drift apart)."""
    monkeypatch.chdir(REPO_ROOT)
    tool = load_tool('add_oksnet')
    files = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
    generated = 0
    for path in files:
        with open(path, encoding='utf-8') as f:
            text = f.read()
        match = re.search(r'^# Generated by: (python tools/add_oksnet.py .*)$',
                          text, re.M)
        if osp.basename(path) == 'oksnet_hrnet.py':  # a short alias
            assert match is None
            continue
        assert match, f'{path} has no "Generated by" line'
        command = match.group(1)
        args = tool.parse_args(shlex.split(command)[2:])
        assert osp.abspath(args.out) == path
        regenerated = convert_config(
            args.src,
            base_ref=base_reference(args.src, args.out),
            command=command,
            **tool.conversion_options(args))
        assert regenerated == text, path
        generated += 1
    assert generated == len(files) - 1 >= 40


@pytest.mark.parametrize(
    'src, message',
    [(COCO_HM.replace('topdown_heatmap', 'topdown_regression') +
      'td-reg_res50_rle-8xb64-210e_coco-256x192.py',
      "`model.head.type` is 'RLEHead'"),
     (STOCK + 'associative_embedding/coco/'
      'ae_hrnet-w32_8xb24-300e_coco-512x512.py', '`model.type` is '
      "'BottomupPoseEstimator'")],
    ids=['unknown-head', 'not-top-down'])
def test_bad_config_one_line_nothing_written(src, message, tmp_path, capsys):
    tool = load_tool('add_oksnet')
    out = tmp_path / 'out.py'
    assert tool.main([src, '--out', str(out)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert message in err
    assert not out.exists()


def test_unknown_head_names_every_registered_family():
    rle = (COCO_HM.replace('topdown_heatmap', 'topdown_regression') +
           'td-reg_res50_rle-8xb64-210e_coco-256x192.py')
    with pytest.raises(ConfigConversionError) as err:
        convert_config(rle)
    known = str(err.value).split('the converter knows ')[1].split(', ')
    # the registry's OKS-net heads: ViPNASHead, RTMCCHead, ... included
    assert known == list(oksnet_head_of_stock_head())
    assert len(known) == 6


def test_test_dev_variant_of_an_oksnet_config(tmp_path):
    scratch = osp.join(CONFIG_DIR,
                       'oksnet_td-hm_hrnet-w32_8xb64-250e_coco-256x192.py')
    new, text = _convert(scratch, tmp_path, test_dev=True)
    assert text.count('\n_base_') == 1 and 'model =' not in text
    assert new.test_evaluator.type == 'QualityCocoMetric'
    assert new.test_evaluator.format_only
    assert new.test_evaluator.outfile_prefix == 'work_dirs/oksnet/test-dev'
    assert 'test-dev2017' in new.test_dataloader.dataset.bbox_file
    assert new.val_dataloader.dataset.bbox_file == Config.fromfile(
        scratch).val_dataloader.dataset.bbox_file
    # anything but test_dev on an OKS-net config is refused
    with pytest.raises(ConfigConversionError, match='already OKS-net'):
        convert_config(scratch, schedule='finetune')
    with pytest.raises(ConfigConversionError, match='test_dev needs a COCO'):
        convert_config(RTMPOSE_M_CROWDPOSE, test_dev=True)


def test_unloadable_source_is_one_line(tmp_path):
    for src in (COCO_HM + 'no_such_config.py', str(tmp_path / 'none.py')):
        with pytest.raises(ConfigConversionError) as error:
            convert_config(src)
        assert len(str(error.value).splitlines()) == 1
        assert src in str(error.value)


def test_metainfo_without_sigmas(tmp_path, capsys):
    src = tmp_path / 'no_sigmas.py'
    src.write_text(
        f'_base_ = [{HRNET!r}]\n'
        '# 300W (face) has `sigmas=[]`\n'
        'train_dataloader = dict(dataset=dict(metainfo=dict(\n'
        "    from_file='configs/_base_/datasets/300w.py')))\n")
    out = tmp_path / 'out.py'
    tool = load_tool('add_oksnet')
    assert tool.main([str(src), '--out', str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert 'no keypoint sigmas' in err
    assert '`train_dataloader.dataset.metainfo`' in err
    assert not out.exists()


def test_sigmas_must_match_the_keypoint_count(tmp_path):
    src = tmp_path / 'mismatch.py'
    src.write_text(
        f'_base_ = [{HRNET!r}]\n'
        'train_dataloader = dict(dataset=dict(metainfo=dict(\n'
        "    from_file='configs/_base_/datasets/crowdpose.py')))\n")
    with pytest.raises(ConfigConversionError,
                       match=r'14 keypoint sigmas but `model\.head\.'
                       r'out_channels` is 17'):
        convert_config(str(src))
