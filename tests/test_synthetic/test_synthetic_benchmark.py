# Copyright (c) oksnet-mmpose contributors.
"""A tiny run of the whole main job (README command 1 with --quick):
generate -> mim train -> mim test x2 -> report."""
import json
import os.path as osp

import numpy as np
import pytest

from tests.conftest import REPO_ROOT, load_tool

# the keys the quality-analysis issue asks summary.json for, per score
SUMMARY_KEYS = {'pearson', 'spearman', 'ap', 'ap50', 'ap75', 'ap_m', 'ap_l',
                'ar', 'ap_by_visible', 'ece', 'ap_at_oks', 'gap_closed',
                'gain_at_oks'}
SCORES = ('heatmap', 'oksnet', 'rescorenet', 'gt_oks')


def test_quick_main_job_writes_a_full_report(tmp_path, capsys):
    tool = load_tool('synthetic_benchmark')
    work_dir, data_dir = str(tmp_path / 'work'), str(tmp_path / 'data')
    args = ['--quick', '--work-dir', work_dir, '--data-dir', data_dir,
            '--config', osp.join(REPO_ROOT, tool.DEFAULT_CONFIG)]
    main = tool.main
    assert main(args) == 0

    summary = json.load(open(osp.join(work_dir, 'summary.json')))
    assert set(summary) == set(SCORES) | {'profile', 'base_ap',
                                          'median_gt_oks'}
    assert summary['profile'] == 'coco_like'
    assert summary['base_ap'] == summary['heatmap']['ap']
    # the median of the val poses' own GT OKS (results of mim test)
    poses = json.load(
        open(osp.join(work_dir, 'test_gt', 'results.keypoints.json')))
    assert summary['median_gt_oks'] == pytest.approx(
        np.median([p['gt_oks'] for p in poses]))
    for name in SCORES:
        entry = summary[name]
        assert SUMMARY_KEYS <= set(entry), name
        for key in ('ap', 'ap50', 'ap75', 'ap_m', 'ap_l', 'ar'):
            assert 0 <= entry[key] <= 1, (name, key)
        assert set(entry['gain_at_oks']) == set(entry['ap_at_oks'])
    # GT OKS ranks the poses perfectly by itself and closes the whole gap
    assert summary['gt_oks']['pearson'] == pytest.approx(1.0)
    assert summary['gt_oks']['gap_closed'] in (None, pytest.approx(1.0))
    assert all(v == 0 for v in summary['heatmap']['gain_at_oks'].values())
    # the peer was trained on the training split's poses and scores every
    # val pose (GT boxes: predicted OKS in [0, 1])
    log = json.load(open(osp.join(work_dir, 'rescorenet_log.json')))
    train_poses = json.load(
        open(osp.join(work_dir, 'test_train', 'results.keypoints.json')))
    assert log['num_poses'] == len(train_poses) > len(poses)
    rescored = json.load(open(osp.join(work_dir, 'test_gt',
                                       'results_rescorenet.keypoints.json')))
    assert len(rescored) == len(poses)
    assert all(0 <= p['rescorenet_score'] <= 1 for p in rescored)
    detector = json.load(open(osp.join(work_dir, 'summary_det.json')))
    assert set(detector) == {'heatmap', 'oksnet', 'rescorenet'}
    # the detector-box APs are the analysis's OKS-NMS rows
    details = json.load(
        open(osp.join(work_dir, 'analysis_det', 'details.json')))
    assert detector['oksnet']['ap'] == details['rescoring'][
        'OKS-net + OKS-NMS']['ap']
    assert detector['rescorenet']['ap'] == details['rescoring'][
        'RescoreNet + OKS-NMS']['ap']
    report = open(osp.join(work_dir, 'report.md')).read()
    for section in ('The scores side by side', '| RescoreNet |',
                    'Correlation with GT OKS', 'COCO AP by pose score',
                    'detector boxes', 'Occlusion benchmarks',
                    'analysis_gt/scatter_score_vs_gt_oks.png',
                    'analysis_gt/selection.png'):
        assert section in report
    for png in ('scatter_score_vs_gt_oks.png', 'histograms.png',
                'reliability.png', 'occlusion_pr.png'):
        assert osp.getsize(osp.join(work_dir, 'analysis_gt', png)) > 1000
    first = capsys.readouterr().out
    assert "step 'generate'" in first and 'summary' in first

    # a re-run reuses the data and the trained model
    assert main(args) == 0
    again = capsys.readouterr().out
    assert "step 'train': already done" in again
    assert json.load(open(osp.join(work_dir, 'summary.json'))) == summary

    # other settings in the same work dir are refused, not mixed
    with pytest.raises(tool.MainJobError, match='--overwrite'):
        tool.run_main_job(work_dir, data_dir, seed=1, num_train=48,
                          num_val=16, max_epochs=3, switch_epoch=1,
                          config=osp.join(REPO_ROOT, tool.DEFAULT_CONFIG))


def test_config_not_found_is_one_clear_error(tmp_path, capsys):
    tool = load_tool('synthetic_benchmark')
    missing = str(tmp_path / 'no_such_config.py')
    assert tool.main(['--config', missing, '--work-dir',
                      str(tmp_path / 'work')]) == 1
    err = capsys.readouterr().err
    assert missing in err and 'repository root' in err
    # nothing generated or trained
    assert not (tmp_path / 'work').exists()
