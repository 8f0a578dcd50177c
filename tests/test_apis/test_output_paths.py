# Copyright (c) oksnet-mmpose contributors.
"""An output path that cannot be written (a folder under a file, a folder
where a file goes) stops each tool in one line with its documented exit
status, before the expensive work."""
import os

import pytest

import oksnet_mmpose.analysis.analyze as analyze
import oksnet_mmpose.apis.onnx_export as onnx_export
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


def test_analyze_quality_out_dir_is_a_file(a_file, capsys, monkeypatch):
    def no_analysis(*args):
        raise AssertionError('the analysis ran')

    monkeypatch.setattr(analyze, 'load_results', no_analysis)
    tool = load_tool('analyze_quality')
    assert tool.main([SAMPLE_ANN, 'results.json', '--out-dir',
                      str(a_file)]) == 2
    assert _one_line(capsys) == (f'analyze_quality: out_dir {a_file}: '
                                 f'{a_file} is a file, not a folder')


def test_export_onnx_out_under_a_file(a_file, capsys, monkeypatch):
    def no_model(*args):
        raise AssertionError('the model was built')

    monkeypatch.setattr(onnx_export, 'init_export_model', no_model)
    tool = load_tool('export_onnx')
    out = a_file / 'model.onnx'
    assert tool.main(['configs/oksnet_hrnet.py', '--out', str(out)]) == 2
    assert _one_line(capsys) == (f'export_onnx: error: out_file {out}: '
                                 f'{a_file} is a file, not a folder')


def test_demo_out_dir_is_a_file(a_file, capsys):
    # the config and checkpoint need not exist: the output is checked first
    main = load_tool('demo').main
    image = os.path.join(SAMPLE_ROOT, 'val2017', '000000000785.jpg')
    assert main([image, 'no_config.py', 'no.pth', '--out-dir',
                 str(a_file), '--device', 'cpu']) == 1
    err = _one_line(capsys)
    assert f'{a_file} is a file, not a folder' in err, err


def test_main_job_work_dir_under_a_file(a_file, tmp_path, capsys):
    tool = load_tool('synthetic_benchmark')
    assert tool.main(['--work-dir', str(a_file / 'work'), '--data-dir',
                      str(tmp_path / 'data')]) == 1
    assert _one_line(capsys) == (
        f'[main job] FAILED: work dir {a_file}/work: {a_file} is a file, '
        'not a folder')
    assert not (tmp_path / 'data').exists()


def test_benchmark_cost_out_dir_is_a_file(a_file):
    tool = load_tool('benchmark_cost')
    with pytest.raises(SystemExit) as err:
        tool.main(['--out-dir', str(a_file), '--no-timing'])
    assert str(err.value.code) == (f'benchmark_cost: --out-dir {a_file}: '
                                   f'{a_file} is a file, not a folder')


def test_benchmark_seeds_out_under_a_file(a_file, capsys):
    tool = load_tool('benchmark_seeds')
    assert tool.main(['--seeds', '0', '--out', str(a_file / 't.md'),
                      '--work-dir', str(a_file / 'never')]) == 1
    assert _one_line(capsys) == (f'[seeds] --out {a_file}/t.md: {a_file} '
                                 'is a file, not a folder')


def test_generate_synthetic_coco_out_dir_is_a_file(a_file):
    tool = load_tool('generate_synthetic_coco')
    with pytest.raises(SystemExit) as err:
        tool.main(['--out-dir', str(a_file), '--num-train', '1',
                   '--num-val', '1'])
    message = str(err.value.code)
    assert message.startswith('error: ') and str(a_file) in message
    assert '\n' not in message
