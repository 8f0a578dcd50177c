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

from oksnet_mmpose.benchmark.model_zoo import (BASE_MODEL,
                                               ZooCheckpointError, ZooModel,
                                               check_zoo_checkpoint,
                                               sha256_of)
from tests.conftest import REPO_ROOT

SHIPPED = ZooModel(config=osp.join(REPO_ROOT, BASE_MODEL.config),
                   checkpoint=osp.join(REPO_ROOT, BASE_MODEL.checkpoint),
                   sha256=BASE_MODEL.sha256)


def test_shipped_checkpoint_has_its_hash_and_record():
    assert check_zoo_checkpoint(SHIPPED) == SHIPPED.checkpoint
    assert osp.getsize(SHIPPED.checkpoint) <= 25 * 2**20
    # the record next to it: same hash, the command that made it
    record_file = osp.splitext(SHIPPED.checkpoint)[0] + '.json'
    with open(record_file) as f:
        record = json.load(f)
    assert record['sha256'] == SHIPPED.sha256
    assert record['file'] == osp.basename(SHIPPED.checkpoint)
    assert record['command'].startswith('python tools/train_base_model.py')
    assert record['config'] == BASE_MODEL.config
    for key in ('seed', 'profile', 'num_train', 'train_seconds', 'machine'):
        assert key in record, key


def test_shipped_checkpoint_loads_into_the_base_config_exactly():
    import oksnet_mmpose  # noqa: F401 (the weights_only allowlist)
    from mmpose.apis import init_model
    cfg = Config.fromfile(SHIPPED.config)
    model = init_model(cfg, None, device='cpu')
    ckpt = torch.load(SHIPPED.checkpoint, map_location='cpu',
                      weights_only=True)
    result = model.load_state_dict(ckpt['state_dict'], strict=False)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert set(ckpt) == {'state_dict', 'meta'}  # no optimizer, no logs


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
