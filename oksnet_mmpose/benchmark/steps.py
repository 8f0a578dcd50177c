# Copyright (c) oksnet-mmpose contributors.
"""Visible, logged steps of the benchmark jobs: each external command
(``mim train``, ``mim test``) runs with its output kept in a log file and its
progress lines shown, and a failure names the step and its log."""
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import time
from typing import List, Type

from oksnet_mmpose.utils import check_output_dir

# progress, results and errors keep a run visible; the rest (config dump,
# hook table) stays in the log
_SHOWN = re.compile(r'Epoch\(|lambda_OKS|Evaluating|coco[-a-z]*/AP:|'
                    r'quality/|WARNING|Error|error:')


class StepError(RuntimeError):
    """A step of a benchmark job failed; the message says which and how to
    go on."""


def say(job: str, message: str) -> None:
    print(f'[{job}] {message}', flush=True)


def mim_command() -> str:
    """The ``mim`` of the running interpreter's environment."""
    return shutil.which('mim') or osp.join(osp.dirname(sys.executable), 'mim')


def run_step(job: str, step: str, command: List[str], log_file: str) -> float:
    """Run one command, its progress shown and its whole output kept in
    ``log_file``.

    Returns:
        float: The step's wall time in seconds.

    Raises:
        StepError: The command exited with a non-zero status.
    """
    say(job, f"step '{step}': {' '.join(command[:4])} ... (log: {log_file})")
    start = time.time()
    with open(log_file, 'w') as log:
        proc = subprocess.Popen(command,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT,
                                text=True,
                                env=dict(os.environ, PYTHONWARNINGS='ignore'))
        for line in proc.stdout:
            log.write(line)
            log.flush()  # the log can be followed while the step runs
            if _SHOWN.search(line):
                sys.stdout.write('    ' + line)
                sys.stdout.flush()
        proc.wait()
    if proc.returncode != 0:
        raise StepError(f"step '{step}' failed (exit status "
                        f'{proc.returncode}); see {log_file}')
    seconds = time.time() - start
    say(job, f"step '{step}' done ({seconds:.0f} s)")
    return seconds


def data_options(data_root: str) -> List[str]:
    """``--cfg-options`` pointing every loader and evaluator at
    ``data_root`` (a synthetic dataset's layout)."""
    data_root = data_root.rstrip('/') + '/'
    options = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options.append(f'{loader}.dataset.data_root={data_root}')
    for evaluator in ('val_evaluator', 'test_evaluator'):
        options.append(f'{evaluator}.ann_file={data_root}'
                       'annotations/person_keypoints_val.json')
    return options


def check_job_dirs(work_dir: str, data_dir: str,
                   error: Type[StepError] = StepError) -> None:
    """Check that a job's work and data dirs can be written, before the
    data and the training, not after; else ``error`` naming the path."""
    for path, what in ((work_dir, 'work dir'), (data_dir, 'data dir')):
        try:
            check_output_dir(path, what)
        except ValueError as err:
            raise error(str(err)) from None
