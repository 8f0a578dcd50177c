# Copyright (c) oksnet-mmpose contributors.
"""Multi-process runs the way MMPose users start them: MMPose's own
``tools/train.py`` / ``tools/test.py`` under ``torch.distributed.run`` with
``--launcher pytorch``, here with 2 CPU processes and gloo.

MMEngine 0.10.7's pytorch launcher calls ``torch.cuda.set_device``
unconditionally (``mmengine/dist/utils.py``), which fails without a GPU. An
entry script written by the test (never the package) makes that call a no-op
and then runs the MMPose tool; the rest is the user's command line plus
``--cfg-options`` for gloo and a CPU DDP wrapper.
"""
import glob
import math
import os
import os.path as osp
import re
import signal
import subprocess
import sys

import mmengine
import mmpose
import numpy as np
import pytest

from tests.conftest import REPO_ROOT
from tests.test_engine.test_oks_loss_switch_hook import _free_port
from tests.test_engine.tiny_model import tiny_config

TOOLS = osp.join(osp.dirname(mmpose.__file__), '.mim', 'tools')
TIMEOUT = 300  # s, for each run

ENTRY = '''\
import runpy
import sys

import torch

# MMEngine's pytorch launcher calls this even without a GPU
torch.cuda.set_device = lambda device: None
tool = sys.argv.pop(1)
sys.argv[0] = tool
runpy.run_path(tool, run_name='__main__')
'''

# what a CPU user adds to the command line for a multi-process run
GLOO_OPTIONS = [
    'env_cfg.dist_cfg.backend=gloo',
    'model_wrapper_cfg.type=MMDistributedDataParallel',
    'model_wrapper_cfg.device_ids=None'
]


def _run(args, what):
    """Run ``args`` in the repository root (the configs' relative metainfo
    path) and return its output; on a failure or a timeout, fail with the
    tail of that output."""
    # one thread per process: a 2-core machine, and the same arithmetic in
    # the 1- and 2-process tests
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    proc = subprocess.Popen(args,
                            cwd=REPO_ROOT,
                            env=env,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT,
                            text=True,
                            start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # torchrun and its workers
        output, _ = proc.communicate()
        pytest.fail(f'{what} did not finish in {TIMEOUT} s; its output '
                    f'ended with:\n{output[-6000:]}')
    if proc.returncode != 0:
        pytest.fail(f'{what} failed (exit code {proc.returncode}); its '
                    f'output ended with:\n{output[-6000:]}')
    return output


def _torchrun(entry, tool, *args, what):
    return _run([
        sys.executable, '-m', 'torch.distributed.run', '--nnodes', '1',
        '--nproc_per_node', '2', '--master_addr', '127.0.0.1',
        '--master_port', str(_free_port()), entry,
        osp.join(TOOLS, tool), *args, '--launcher', 'pytorch'
    ], what)


def _rank_iterations(work_dir, rank):
    """What ``rank`` logged: (epoch, loss_oks) of each training
    iteration, its lambda_OKS switch messages and the world size."""
    (log, ) = glob.glob(osp.join(work_dir, '*', f'*_rank{rank}.log'))
    text = open(log).read()
    iterations = [(int(epoch), float(loss_oks)) for epoch, loss_oks in
                  re.findall(r'Epoch\(train\)\s+\[(\d+)\]\[\s*\d+/\d+\].*?'
                             r'loss_oks: (\S+)', text)]
    switches = re.findall(r'OKSLossSwitchHook: epoch (\d+), '
                          r'lambda_OKS = (\S+)', text)
    world = re.findall(r'GPU number: (\d+)', text)
    return iterations, switches, world


def _same(a, b):
    return a == b or (math.isnan(a) and math.isnan(b))


def test_torchrun_gloo_train_across_switch_then_test(tmp_path):
    work_dir = str(tmp_path / 'train')
    cfg = tiny_config(work_dir=work_dir, batch_size=2)
    cfg.train_dataloader.dataset.indices = 4  # 1 iteration / epoch / rank
    cfg.test_dataloader.batch_size = 1  # the same batches on 1 and 2 ranks
    # Kaiming rather than the stock N(0, 0.001) head init (as the
    # trained_oksnet fixture of tests/test_apis): after 2 iterations the
    # predicted OKS would otherwise be the same for every pose
    cfg.model.head.init_cfg = dict(type='Kaiming',
                                   layer=['Conv2d', 'ConvTranspose2d'])
    cfg.train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=10)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    # lambda_OKS 0 in epoch 0, 1 from epoch 1 on (0-based)
    assert cfg.custom_hooks[-1].type == 'OKSLossSwitchHook'
    cfg.custom_hooks[-1] = dict(type='OKSLossSwitchHook', switch_epoch=1)
    assert cfg.model.head.loss_oks.loss_weight == 0.
    cfg.randomness = dict(seed=0)  # a reproducible model to test
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2)
    config = str(tmp_path / 'tiny_oksnet.py')
    cfg.dump(config)
    entry = str(tmp_path / 'cpu_launch.py')
    with open(entry, 'w') as f:
        f.write(ENTRY)

    # log_level=DEBUG: MMEngine writes every rank's log (<ts>_..._rankN.log)
    _torchrun(entry, 'train.py', config, '--work-dir', work_dir,
              '--cfg-options', *GLOO_OPTIONS, 'log_level=DEBUG',
              what='2-process training (torchrun, gloo)')
    for rank in (0, 1):
        iterations, switches, world = _rank_iterations(work_dir, rank)
        assert world == ['2'], f'rank {rank}: world size {world}'
        assert [epoch for epoch, _ in iterations] == [1, 2], \
            f'rank {rank}: {iterations}'
        (_, before), (_, after) = iterations
        assert before == 0., f'rank {rank}: loss_oks {before} at lambda 0'
        assert math.isfinite(after) and after > 0., \
            f'rank {rank}: loss_oks {after} at lambda 1'
        # the hook logs only changes: 0 (the config's) until epoch 1
        assert switches == [('1', '1.0')], f'rank {rank}: {switches}'
    checkpoint = osp.join(work_dir, 'epoch_2.pth')
    assert osp.isfile(checkpoint)

    # the trained checkpoint, tested with 1 process and with 2; --out: the
    # metrics (every rank writes the same bytes, the broadcast dict, so the
    # file is whole whatever the interleaving), --dump: the predictions
    # (gathered, written by rank 0)
    runs = {n: str(tmp_path / f'test_{n}') for n in (1, 2)}
    _run([
        sys.executable,
        osp.join(TOOLS, 'test.py'), config, checkpoint, '--work-dir', runs[1],
        '--out', f'{runs[1]}.json', '--dump', f'{runs[1]}.pkl'
    ], '1-process test')
    _torchrun(entry, 'test.py', config, checkpoint, '--work-dir', runs[2],
              '--out', f'{runs[2]}.json', '--dump', f'{runs[2]}.pkl',
              '--cfg-options', *GLOO_OPTIONS,
              what='2-process test (torchrun, gloo)')

    # the same predictions, in the same order, bit for bit
    preds = [mmengine.load(f'{runs[n]}.pkl') for n in (1, 2)]
    assert len(preds[0]) == len(preds[1]) > 1  # no sample lost or padded
    for one, two in zip(*preds):
        assert (one['img_id'], one['id']) == (two['img_id'], two['id'])
        assert one['pred_instances'].keys() == two['pred_instances'].keys()
        for key, value in one['pred_instances'].items():
            np.testing.assert_array_equal(
                value, two['pred_instances'][key],
                err_msg=f'{key} of annotation {one["id"]}')
    # not a degenerate model: the compared values differ between poses
    quality = [float(p['pred_instances']['pose_quality'][0])
               for p in preds[0]]
    assert len(set(quality)) > 1, quality

    metrics = [mmengine.load(f'{runs[n]}.json') for n in (1, 2)]
    for key in ('coco/AP', 'coco-heatmap/AP', 'coco-gtoks/AP',
                'quality/pearson_oksnet', 'quality/spearman_oksnet'):
        assert key in metrics[0], f'{key} not in {sorted(metrics[0])}'
    assert 0 <= metrics[0]['coco/AP'] <= 1
    # the keypoints of 2 iterations are far off (AP 0), but the predicted
    # OKS correlates with the (non-constant) GT OKS: a number that the
    # order and the values of every pose's prediction make
    assert math.isfinite(metrics[0]['quality/pearson_oksnet']), metrics[0]
    assert metrics[0].keys() == metrics[1].keys()
    differ = {
        k: (metrics[0][k], metrics[1][k])
        for k in metrics[0] if not _same(metrics[0][k], metrics[1][k])
    }
    assert not differ, f'1-process vs 2-process test metrics: {differ}'
