# Copyright (c) oksnet-mmpose contributors.
"""tools/check_env.py: a broken environment gets one line per problem."""
import importlib

import pytest

from tests.conftest import load_tool


@pytest.fixture
def check_env():
    return load_tool('check_env')


def _breaking(failures):
    real = importlib.import_module

    def import_module(name, *args, **kwargs):
        if name in failures:
            raise failures[name]
        return real(name, *args, **kwargs)

    return import_module


def test_working_environment_passes(check_env, capsys):
    assert check_env.main() == 0
    assert capsys.readouterr().out.startswith('[check] ok: torch')


def test_broken_pieces_get_one_line_each(check_env, capsys, monkeypatch):
    monkeypatch.setattr(
        check_env.importlib, 'import_module',
        _breaking({
            'mmcv._ext': ImportError("No module named 'mmcv._ext'"),
            'xtcocotools._mask': ValueError(
                'numpy.dtype size changed, may indicate binary '
                'incompatibility. Expected 96 from C header, got 88 from '
                'PyObject'),
        }))
    assert check_env.main() == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith('[check] BROKEN mmcv:')
    assert 'no compiled ops' in lines[0] and 'mmcv-lite' in lines[0]
    assert lines[1].startswith('[check] BROKEN xtcocotools:')
    assert 'compiled against numpy 1.x' in lines[1]
    assert '--no-binary xtcocotools' in lines[1]


def test_albumentations_2_gets_one_line(check_env, capsys, monkeypatch):
    """albumentations 2.x has no `augmentations.transforms`, which MMPose
    1.3.2's Albumentation (RTMPose / CSPNeXt recipes) reads."""
    import types
    real = importlib.import_module
    albumentations_2 = types.SimpleNamespace(
        __version__='2.0.8', augmentations=types.SimpleNamespace())
    monkeypatch.setattr(
        check_env.importlib, 'import_module', lambda name, *a, **k:
        albumentations_2 if name == 'albumentations' else real(name, *a, **k))
    assert check_env.main() == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith('[check] BROKEN albumentations:')
    assert 'albumentations==1.3.1' in lines[0]
