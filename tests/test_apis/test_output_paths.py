# Copyright (c) oksnet-mmpose contributors.
"""An output path that cannot be written (a folder under a file, a folder
where a file goes) stops each tool, or the package function behind it, in
one line with its documented exit status, before the expensive work."""
import os

import pytest

import oksnet_mmpose.analysis.analyze as analyze
import oksnet_mmpose.apis.onnx_export as onnx_export
from oksnet_mmpose.apis import infer_files
from oksnet_mmpose.utils import check_output_dir, check_output_file
from tests.conftest import SAMPLE_ANN, SAMPLE_ROOT, load_tool


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / 'a_file'
    path.write_text('keep me')
    yield path
    assert path.read_text() == 'keep me'


def _one_line(capsys):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_checks(tmp_path, a_file):
    check_output_dir(str(tmp_path / 'new' / 'deeper'))
    check_output_file(str(tmp_path / 'new' / 'out.json'))
    check_output_file(str(a_file))  # replaced: allowed
    with pytest.raises(ValueError, match=f'x {a_file}/sub/out.json: '
                       f'{a_file} is a file, not a folder'):
        check_output_file(str(a_file / 'sub' / 'out.json'), 'x')
    with pytest.raises(ValueError, match=f'{a_file} is a file'):
        check_output_dir(str(a_file))
    with pytest.raises(ValueError, match=f'{tmp_path} is a folder, not a '
                       'file'):
        check_output_file(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ['a_file']


def test_analyze_quality_out_dir_is_a_file(a_file, monkeypatch):
    def no_analysis(*args):
        raise AssertionError('the analysis ran')

    monkeypatch.setattr(analyze, 'load_results', no_analysis)
    with pytest.raises(ValueError) as err:
        analyze.analyze_quality(SAMPLE_ANN, 'results.json', str(a_file))
    assert str(err.value) == (f'out_dir {a_file}: {a_file} is a file, not '
                              'a folder')


def test_export_onnx_out_under_a_file(a_file, capsys, monkeypatch):
    def no_model(*args):
        raise AssertionError('the model was built')

    monkeypatch.setattr(onnx_export, 'init_export_model', no_model)
    tool = load_tool('export_onnx')
    out = a_file / 'model.onnx'
    assert tool.main(['configs/oksnet_hrnet.py', '--out', str(out)]) == 2
    assert _one_line(capsys) == (f'export_onnx: error: out_file {out}: '
                                 f'{a_file} is a file, not a folder')


def test_infer_files_out_dir_is_a_file(a_file):
    # the config and checkpoint need not exist: the output is checked first
    image = os.path.join(SAMPLE_ROOT, 'val2017', '000000000785.jpg')
    with pytest.raises(ValueError,
                       match=f'{a_file} is a file, not a folder'):
        infer_files(image, 'no_config.py', 'no.pth', str(a_file),
                    device='cpu')
