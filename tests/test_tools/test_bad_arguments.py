# Copyright (c) oksnet-mmpose contributors.
"""The tools' handling of bad input, run as a user runs them (from the
repository root): one line naming the problem and the documented exit
status, before any model is built or anything is written. What the tools
do is tested on the package functions they call (tests/test_apis,
tests/test_analysis, tests/test_benchmark).

The tools run as ``__main__`` scripts, one after the other in one
interpreter: each would otherwise spend seconds importing torch and MMPose.
"""
import json
import subprocess
import sys

from tests.conftest import REPO_ROOT, SAMPLE_ANN

# a tool's stderr starts after this line
MARK = '--- tool:'
RUN_TOOLS = f'''
import json, runpy, sys
codes = []
for tool, args in json.loads(sys.argv[1]):
    print('{MARK}', tool, file=sys.stderr, flush=True)
    sys.argv = ['tools/' + tool + '.py', *args]
    try:
        runpy.run_path(sys.argv[0], run_name='__main__')
        codes.append(0)
    except SystemExit as exit:
        codes.append(exit.code)
    sys.stderr.flush()
print(json.dumps(codes))
'''


def test_bad_input_is_one_line_with_the_exit_status(tmp_path):
    missing = str(tmp_path / 'missing.json')
    out_dir = str(tmp_path / 'out')
    a_file = tmp_path / 'a_file'  # an output path under it can't be made
    a_file.write_text('keep me')
    # tool, arguments, exit status (sys.exit(message): the message, status 1)
    # and the message on stderr
    cases = [
        ('demo', [missing.replace('.json', '.jpg'), 'pose.py', 'pose.pth',
                  '--out-dir', out_dir, '--device', 'cpu'],
         1, f'error: input not found: {tmp_path}/missing.jpg'),
        ('analyze_quality', [SAMPLE_ANN, missing, '--out-dir', out_dir],
         2, f'analyze_quality: results file {missing} not found'),
        ('benchmark_cost', ['--configs', 'nope.py', '--out-dir', out_dir],
         'benchmark_cost: no config file nope.py (a path, or a file name in '
         'configs/)', None),
        ('benchmark_target_decode', ['--devices', 'cpu', '--repeats', '0'],
         'benchmark_target_decode: batch_size and repeats must be at least '
         '1, got 64 and 0', None),
        ('benchmark_analyze_quality', ['--num-poses', '0'],
         'benchmark_analyze_quality: num_poses and poses_per_gt must be at '
         'least 1, got 0 and 2', None),
        ('synthetic_benchmark', ['--work-dir', f'{a_file}/work',
                                 '--data-dir', out_dir],
         1, f'[main job] FAILED: work dir {a_file}/work: {a_file} is a file, '
         'not a folder'),
        ('benchmark_seeds', ['--seeds', '0', '--out', f'{a_file}/t.md',
                             '--work-dir', out_dir],
         1, f'[seeds] --out {a_file}/t.md: {a_file} is a file, not a '
         'folder'),
        ('generate_synthetic_coco', ['--out-dir', str(a_file),
                                     '--num-train', '1', '--num-val', '1'],
         f'error: the output path {a_file} exists and is not a directory',
         None),
        ('train_base_model', ['--work-dir', f'{a_file}/work',
                              '--data-dir', out_dir],
         1, f'[base model] FAILED: work dir {a_file}/work: {a_file} is a '
         'file, not a folder'),
    ]
    run = subprocess.run([
        sys.executable, '-c', RUN_TOOLS,
        json.dumps([case[:2] for case in cases])
    ],
                         cwd=REPO_ROOT,
                         capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    codes = json.loads(run.stdout.strip().splitlines()[-1])
    stderrs = run.stderr.split(MARK)[1:]
    assert len(codes) == len(stderrs) == len(cases)
    for (tool, _, code, message), got, stderr in zip(cases, codes, stderrs):
        assert got == code, (tool, stderr)
        assert 'Traceback' not in stderr, stderr
        lines = stderr.strip().splitlines()
        assert lines[0] == tool, lines
        if message is not None:  # printed by the tool before its exit
            # the last line: importing MMEngine may warn before it
            assert lines[-1] == message, (tool, lines)
    assert not (tmp_path / 'out').exists()
    assert a_file.read_text() == 'keep me'
