# Copyright (c) oksnet-mmpose contributors.
"""A tiny run of the whole main job (README command 1 with --quick):
generate -> mim train -> mim test x2 -> report."""
import json
import os.path as osp

import pytest

from oksnet_mmpose.apis.synthetic_benchmark import MainJobError, run_main_job
from tests.conftest import load_tool

# the keys the quality-analysis issue asks summary.json for, per score
SUMMARY_KEYS = {'pearson', 'spearman', 'ap', 'ap50', 'ap75', 'ap_m', 'ap_l',
                'ar', 'ap_by_visible', 'ece'}


def test_quick_main_job_writes_a_full_report(tmp_path, capsys):
    work_dir, data_dir = str(tmp_path / 'work'), str(tmp_path / 'data')
    args = ['--quick', '--work-dir', work_dir, '--data-dir', data_dir]
    main = load_tool('synthetic_benchmark').main
    assert main(args) == 0

    summary = json.load(open(osp.join(work_dir, 'summary.json')))
    assert set(summary) == {'heatmap', 'oksnet', 'gt_oks'}
    for name, entry in summary.items():
        assert SUMMARY_KEYS <= set(entry), name
        for key in ('ap', 'ap50', 'ap75', 'ap_m', 'ap_l', 'ar'):
            assert 0 <= entry[key] <= 1, (name, key)
    # GT OKS ranks the poses perfectly by itself
    assert summary['gt_oks']['pearson'] == pytest.approx(1.0)
    detector = json.load(open(osp.join(work_dir, 'summary_det.json')))
    assert set(detector) == {'heatmap', 'oksnet'}
    # the detector-box APs are the analysis's OKS-NMS rows
    details = json.load(
        open(osp.join(work_dir, 'analysis_det', 'details.json')))
    assert detector['oksnet']['ap'] == details['rescoring'][
        'OKS-net + OKS-NMS']['ap']
    report = open(osp.join(work_dir, 'report.md')).read()
    for section in ('Correlation with GT OKS', 'COCO AP by pose score',
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
    with pytest.raises(MainJobError, match='--overwrite'):
        run_main_job(work_dir, data_dir, seed=1, num_train=48, num_val=16,
                     max_epochs=3, switch_epoch=1)
