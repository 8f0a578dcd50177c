# Copyright (c) oksnet-mmpose contributors.
"""The model zoo: the shipped base checkpoint has its recorded hash and
loads into its config with no missing or unexpected keys; a missing,
truncated or altered checkpoint is one clear error."""
import json
import os.path as osp
import shutil

import pytest
import torch
from mmengine.config import Config

from oksnet_mmpose.benchmark.base_model import check_load_from
from oksnet_mmpose.benchmark.model_zoo import (BASE_MODEL, MODEL_ZOO,
                                               ZooCheckpointError, ZooModel,
                                               check_zoo_checkpoint,
                                               sha256_of, zoo_name)
from oksnet_mmpose.benchmark.steps import StepError
from tests.conftest import REPO_ROOT, load_tool


def _in_repo(model: ZooModel) -> ZooModel:
    return ZooModel(config=osp.join(REPO_ROOT, model.config),
                    checkpoint=osp.join(REPO_ROOT, model.checkpoint),
                    sha256=model.sha256)


SHIPPED = _in_repo(BASE_MODEL)
ZOO_IDS = [osp.basename(model.checkpoint) for model in MODEL_ZOO]


@pytest.mark.parametrize('model', MODEL_ZOO, ids=ZOO_IDS)
def test_shipped_checkpoint_has_its_hash_and_record(model):
    shipped = _in_repo(model)
    assert check_zoo_checkpoint(shipped) == shipped.checkpoint
    assert osp.getsize(shipped.checkpoint) <= 25 * 2**20
    # the record next to it: same hash, the command that made it
    record_file = osp.splitext(shipped.checkpoint)[0] + '.json'
    with open(record_file) as f:
        record = json.load(f)
    assert record['sha256'] == model.sha256
    assert record['file'] == osp.basename(model.checkpoint)
    assert record['command'].startswith('python tools/train_base_model.py')
    assert record['config'] == model.config
    for key in ('seed', 'profile', 'num_train', 'train_seconds', 'machine'):
        assert key in record, key


@pytest.mark.parametrize('model', MODEL_ZOO, ids=ZOO_IDS)
def test_shipped_checkpoint_loads_into_its_config_exactly(model):
    import oksnet_mmpose  # noqa: F401 (the weights_only allowlist)
    from mmpose.apis import init_model
    shipped = _in_repo(model)
    cfg = Config.fromfile(shipped.config)
    cfg.load_from = None
    model = init_model(cfg, None, device='cpu')
    ckpt = torch.load(shipped.checkpoint, map_location='cpu',
                      weights_only=True)
    result = model.load_state_dict(ckpt['state_dict'], strict=False)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert set(ckpt) == {'state_dict', 'meta'}  # no optimizer, no logs


@pytest.mark.parametrize('earlier,later', list(zip(MODEL_ZOO, MODEL_ZOO[1:])),
                         ids=ZOO_IDS[1:])
def test_each_stage_starts_from_the_shipped_stage_before_it(
        earlier, later, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)  # the configs name repository paths
    # a later stage's load_from is the stage before it, with its hash
    expected = dict(path=earlier.checkpoint, sha256=earlier.sha256)
    assert check_load_from(later.config) == expected
    with open(osp.join(REPO_ROOT, later.checkpoint[:-4] + '.json')) as f:
        assert json.load(f)['load_from'] == expected


def test_the_first_stage_is_from_scratch_and_no_stage_from_elsewhere(
        tmp_path, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    assert check_load_from(MODEL_ZOO[0].config) is None
    assert BASE_MODEL in MODEL_ZOO
    # a stage never starts from a file outside the zoo
    config = tmp_path / 'stage.py'
    config.write_text(f"_base_ = [{osp.abspath(BASE_MODEL.config)!r}]\n"
                      "load_from = 'work_dirs/x/epoch_3.pth'\n")
    with pytest.raises(StepError,
                       match='work_dirs/x/epoch_3.pth is not a model-zoo'):
        check_load_from(str(config))


def test_the_tool_retrains_the_base_model_by_default():
    """``python tools/train_base_model.py`` alone trains the benchmark's
    base model's config and exports it under that checkpoint's name."""
    args = load_tool('train_base_model').parse_args([])
    assert args.config == BASE_MODEL.config
    assert f'{args.name}-{BASE_MODEL.sha256[:8]}.pth' == osp.basename(
        BASE_MODEL.checkpoint)
    assert args.work_dir == f'work_dirs/{args.name}'
    # a zoo entry whose file name does not carry its hash is an error
    renamed = ZooModel(BASE_MODEL.config, 'checkpoints/base-00000000.pth',
                       BASE_MODEL.sha256)
    with pytest.raises(ZooCheckpointError, match='first 8 hex digits'):
        zoo_name(renamed)


def test_missing_truncated_or_altered_checkpoint_is_refused(tmp_path):
    expected = 'ab' * 32
    missing = ZooModel('c.py', str(tmp_path / 'none.pth'), expected)
    with pytest.raises(ZooCheckpointError) as err:
        check_zoo_checkpoint(missing)
    message = str(err.value)
    assert 'not found' in message and missing.checkpoint in message
    assert expected in message and '\n' not in message

    copy = tmp_path / 'base.pth'
    shutil.copyfile(SHIPPED.checkpoint, copy)
    intact = ZooModel('c.py', str(copy), sha256_of(str(copy)))
    assert check_zoo_checkpoint(intact) == str(copy)
    with open(copy, 'r+b') as f:  # truncated
        f.truncate(osp.getsize(copy) // 2)
    with pytest.raises(ZooCheckpointError, match='truncated or altered') as \
            err:
        check_zoo_checkpoint(intact)
    assert str(copy) in str(err.value) and intact.sha256 in str(err.value)


def test_export_is_byte_reproducible_and_keeps_only_the_weights(tmp_path):
    from oksnet_mmpose.benchmark.base_model import export_base_checkpoint
    training_ckpt = str(tmp_path / 'epoch_15.pth')
    weights = {'head.final_layer.weight': torch.arange(6.).reshape(2, 3)}
    torch.save(
        dict(state_dict=weights, meta=dict(epoch=15, iter=11220),
             optimizer=dict(state={}, param_groups=[])), training_ckpt)
    # the same weights under two names, in two folders: the same bytes (a
    # re-export must reproduce the shipped hash)
    first = export_base_checkpoint(training_ckpt, str(tmp_path / 'a'),
                                   'base', record=dict(seed=1))
    second = export_base_checkpoint(training_ckpt, str(tmp_path / 'b'),
                                    'another-name')
    assert sha256_of(first) == sha256_of(second)
    assert osp.basename(first) == f'base-{sha256_of(first)[:8]}.pth'
    zoo = torch.load(first, map_location='cpu', weights_only=True)
    assert set(zoo) == {'state_dict', 'meta'}
    assert torch.equal(zoo['state_dict']['head.final_layer.weight'],
                       weights['head.final_layer.weight'])
    with open(osp.splitext(first)[0] + '.json') as f:
        record = json.load(f)
    assert record['sha256'] == sha256_of(first) and record['seed'] == 1
    assert (record['epoch'], record['iter']) == (15, 11220)
