# Copyright (c) oksnet-mmpose contributors.
"""The user path through MMPose's own tools: `mim train`, `mim test
--checkpoint` on what it wrote, then `mim train --resume`."""
import glob
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import (REPO_ROOT, SAMPLE_ANN, SAMPLE_ROOT,
                            save_stock_layout)

MIM = shutil.which('mim') or osp.join(osp.dirname(sys.executable), 'mim')


def _sample_options(max_epochs):
    options = [
        'model.backbone.init_cfg=None',
        f'train_cfg.max_epochs={max_epochs}', 'train_cfg.val_interval=1',
        # lambda_OKS 0 -> 1 at epoch 1 (the base's SyncBuffersHook is first)
        'custom_hooks.1.switch_epoch=1',
        'default_hooks.checkpoint.interval=1'
    ]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [
            f'{loader}.batch_size=4', f'{loader}.num_workers=0',
            f'{loader}.persistent_workers=False',
            f'{loader}.dataset.data_root={SAMPLE_ROOT}/',
            f'{loader}.dataset.ann_file='
            'annotations/person_keypoints_val2017_sample.json',
            f'{loader}.dataset.data_prefix.img=val2017/'
        ]
        if loader != 'train_dataloader':
            options.append(f'{loader}.dataset.bbox_file=None')
    for evaluator in ('val_evaluator', 'test_evaluator'):
        options.append(f'{evaluator}.ann_file={SAMPLE_ANN}')
    return options


def _mim(*args, expect_ok=True):
    proc = subprocess.run([MIM, *args],
                          cwd=REPO_ROOT,
                          capture_output=True,
                          text=True,
                          timeout=900,
                          env=dict(os.environ, PYTHONWARNINGS='ignore'))
    output = proc.stdout + proc.stderr
    assert (proc.returncode == 0) == expect_ok, output[-4000:]
    return output


def _metric(output, key):
    match = re.findall(rf'{re.escape(key)}: (-?[0-9.]+)', output)
    assert match, f'{key} not in the output'
    return float(match[-1])


@pytest.mark.skipif(not osp.exists(MIM), reason='mim is not installed')
def test_mim_train_test_resume(tmp_path):
    work_dir = str(tmp_path / 'work')
    config = 'configs/oksnet_hrnet.py'
    train_out = _mim('train', 'mmpose', config, '--gpus', '0', '--work-dir',
                     work_dir, '--cfg-options', *_sample_options(1))
    checkpoint = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(checkpoint)
    for key in ('coco/AP', 'coco-heatmap/AP', 'coco-gtoks/AP',
                'quality/pearson_oksnet'):
        assert key in train_out

    test_out = _mim('test', 'mmpose', config, '--checkpoint', checkpoint,
                    '--gpus', '0', '--work-dir', str(tmp_path / 'test'),
                    '--cfg-options', *_sample_options(1))
    assert 0 <= _metric(test_out, 'coco/AP') <= 1
    assert 0 <= _metric(test_out, 'coco-heatmap/AP') <= 1
    # the same weights evaluated twice give the same numbers
    assert _metric(test_out, 'coco-heatmap/AP') == _metric(
        train_out, 'coco-heatmap/AP')

    # a checkpoint without the branch (a stock MMPose one) is refused
    # before any result is written
    stock_layout = save_stock_layout(checkpoint,
                                     str(tmp_path / 'stock_layout.pth'))
    prefix = tmp_path / 'refused' / 'results'
    refused_out = _mim('test', 'mmpose', config, '--checkpoint',
                       stock_layout, '--gpus', '0', '--work-dir',
                       str(tmp_path / 'refused'), '--cfg-options',
                       *_sample_options(1),
                       f'test_evaluator.outfile_prefix={prefix}',
                       expect_ok=False)
    assert 'the loaded checkpoint lacks' in refused_out
    assert 'model.test_cfg.allow_untrained_oks_net=True' in refused_out
    assert not osp.exists(f'{prefix}.keypoints.json')

    resume_out = _mim('train', 'mmpose', config, '--gpus', '0',
                      '--work-dir', work_dir, '--resume', '--cfg-options',
                      *_sample_options(2))
    assert 'resumed epoch: 1' in resume_out.lower() or \
        'Epoch(train) [2]' in resume_out
    assert 'lambda_OKS = 1' in resume_out
    assert osp.isfile(osp.join(work_dir, 'epoch_2.pth'))
    assert len(glob.glob(osp.join(work_dir, 'epoch_*.pth'))) == 2
