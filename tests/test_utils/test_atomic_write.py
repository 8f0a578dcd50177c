# Copyright (c) oksnet-mmpose contributors.
"""oksnet_mmpose.utils.atomic_write: a result path is absent, the old file,
or the complete new one; never partial, and no temporary file is left."""
import json
import os

import pytest

from oksnet_mmpose.utils import (atomic_path, dump_json_atomic,
                                 write_text_atomic)


def test_an_error_inside_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / 'result.json'
    path.write_text('old')
    with pytest.raises(RuntimeError, match='interrupted'):
        with atomic_path(str(path)) as tmp:
            with open(tmp, 'w') as f:
                f.write('half of the new')
            raise RuntimeError('interrupted')
    assert path.read_text() == 'old'
    assert os.listdir(tmp_path) == ['result.json']


def test_an_error_before_any_write_creates_nothing(tmp_path):
    path = tmp_path / 'sub' / 'result.json'
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(str(path)):
            raise KeyboardInterrupt
    assert not path.exists() and os.listdir(tmp_path / 'sub') == []


def test_success_replaces_and_keeps_the_extension_for_writers(tmp_path):
    path = tmp_path / 'drawn.jpg'
    path.write_text('old')
    with atomic_path(str(path)) as tmp:
        # writers such as OpenCV choose the format by the extension
        assert tmp.endswith('.jpg') and os.path.dirname(tmp) == str(tmp_path)
        assert not os.path.exists(tmp)
        with open(tmp, 'w') as f:
            f.write('new')
    assert path.read_text() == 'new'
    assert os.listdir(tmp_path) == ['drawn.jpg']


def test_json_and_text_helpers(tmp_path):
    dump_json_atomic({'a': [1, 2]}, str(tmp_path / 'out' / 'a.json'))
    with open(tmp_path / 'out' / 'a.json') as f:
        assert json.load(f) == {'a': [1, 2]}
    write_text_atomic('# report\n', str(tmp_path / 'report.md'))
    assert (tmp_path / 'report.md').read_text() == '# report\n'
    with pytest.raises(TypeError):  # not JSON-serializable: old file kept
        dump_json_atomic({'a': object()}, str(tmp_path / 'out' / 'a.json'))
    with open(tmp_path / 'out' / 'a.json') as f:
        assert json.load(f) == {'a': [1, 2]}
    assert os.listdir(tmp_path / 'out') == ['a.json']
