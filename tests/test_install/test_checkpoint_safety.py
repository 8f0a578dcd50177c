# Copyright (c) oksnet-mmpose contributors.
"""MMEngine checkpoints load under torch's weights_only=True once
oksnet_mmpose is imported; any other global is still refused."""
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner.checkpoint import _load_checkpoint

import oksnet_mmpose  # noqa: F401  (registers the allowlist)


def _mmengine_like_checkpoint(path):
    """What MMEngine's Runner.save_checkpoint writes: numpy arrays in the
    dataset meta and the message hub's HistoryBuffers."""
    hub = MessageHub.get_instance('test_checkpoint_safety')
    hub.update_scalar('train/loss', 0.5)
    hub.update_scalar('train/lr', np.float64(1e-3))
    torch.save(
        dict(
            meta=dict(
                epoch=1,
                dataset_meta=dict(
                    sigmas=np.array([0.026, 0.025], dtype=np.float32),
                    flip_indices=[1, 0],
                    num_keypoints=np.int64(2))),
            state_dict={'w': torch.ones(2)},
            message_hub=hub.state_dict()), path)


def test_mmengine_checkpoint_loads_weights_only(tmp_path):
    path = str(tmp_path / 'ckpt.pth')
    _mmengine_like_checkpoint(path)
    checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    assert checkpoint['meta']['dataset_meta']['sigmas'].dtype == np.float32
    assert 'train/loss' in checkpoint['message_hub']['log_scalars']
    # MMEngine's own loader (used by load_from, --resume, mim test)
    assert torch.equal(_load_checkpoint(path)['state_dict']['w'],
                       torch.ones(2))


def test_numpy1_checkpoint_names_load(tmp_path):
    """Model-zoo checkpoints written under numpy 1 pickle arrays through
    numpy.core.multiarray (numpy 2 writes numpy._core.multiarray)."""
    path = str(tmp_path / 'np1.pth')
    _mmengine_like_checkpoint(path)
    rewritten = str(tmp_path / 'np1_rewritten.pth')
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(rewritten, 'w') as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.endswith('data.pkl'):
                assert b'numpy._core.multiarray' in data
                data = data.replace(b'numpy._core.multiarray',
                                    b'numpy.core.multiarray')
            dst.writestr(item, data)
    checkpoint = torch.load(rewritten, map_location='cpu', weights_only=True)
    np.testing.assert_array_equal(
        checkpoint['meta']['dataset_meta']['sigmas'],
        np.array([0.026, 0.025], dtype=np.float32))


class _Payload:

    def __reduce__(self):
        return (os.system, ('echo pwned',))


def test_unrelated_global_is_still_refused(tmp_path):
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'meta': _Payload()}, path)
    with pytest.raises(pickle.UnpicklingError, match='os.system|posix'):
        torch.load(path, weights_only=True)
    with pytest.raises(pickle.UnpicklingError):
        _load_checkpoint(path)


class _GetattrPayload:
    """A checkpoint that uses the allowed ``getattr`` name for something
    else than a HistoryBuffer statistics method."""

    def __reduce__(self):
        return (getattr, (np.ndarray, 'tofile'))


def test_getattr_is_limited_to_history_buffer_methods(tmp_path):
    path = str(tmp_path / 'getattr.pth')
    torch.save({'meta': _GetattrPayload()}, path)
    with pytest.raises(pickle.UnpicklingError, match='only allows'):
        torch.load(path, weights_only=True)
