# Copyright (c) oksnet-mmpose contributors.
"""A tiny run of the whole main job (README command 1 with --quick): the
zoo's base model -> add_oksnet (finetune, quality-only) -> mim train ->
mim test (GT boxes, detector boxes, training split; recording the pose
features) -> peers (RescoreNet, CCNet) -> report."""
import json
import os
import os.path as osp

import numpy as np
import pytest

from oksnet_mmpose.apis.config_conversion import DEFAULT_VARIANT
from oksnet_mmpose.benchmark.main_job import MainJobError, run_main_job
from oksnet_mmpose.benchmark.model_zoo import BASE_MODEL, ZooModel
from tests.conftest import REPO_ROOT

# the keys the quality-analysis issue asks summary.json for, per score
SUMMARY_KEYS = {'pearson', 'spearman', 'ap', 'ap50', 'ap75', 'ap_m', 'ap_l',
                'ar', 'ap_by_visible', 'ece', 'ap_at_oks', 'gap_closed',
                'gain_at_oks'}
SCORES = ('heatmap', 'oksnet', 'rescorenet', 'ccnet', 'gt_oks')
PEERS = ('rescorenet', 'ccnet')
RUN_KEYS = {'profile', 'schedule', 'variant', 'base_checkpoint', 'base_ap',
            'median_gt_oks', 'quality_only', 'train_split'}
SHIPPED = ZooModel(config=osp.join(REPO_ROOT, BASE_MODEL.config),
                   checkpoint=osp.join(REPO_ROOT, BASE_MODEL.checkpoint),
                   sha256=BASE_MODEL.sha256)
QUICK = dict(num_train=48, num_val=16, max_epochs=1, quality_only_epochs=1)


def _poses(path):
    with open(path) as f:
        return json.load(f)


def test_quick_main_job_fine_tunes_the_zoo_model(tmp_path, capsys):
    work_dir, data_dir = str(tmp_path / 'work'), str(tmp_path / 'data')
    result = run_main_job(work_dir, data_dir, base_model=SHIPPED, **QUICK)
    summary = _poses(osp.join(work_dir, 'summary.json'))
    assert result['summary'] == summary
    assert set(summary) == set(SCORES) | RUN_KEYS
    assert summary['schedule'] == 'finetune'
    # the converter's default branch, recorded and in the config
    assert summary['variant'] == DEFAULT_VARIANT == 'pooled'
    assert summary['base_checkpoint'] == dict(path=SHIPPED.checkpoint,
                                              sha256=BASE_MODEL.sha256)
    # the fine-tuning config is the converter's, loading the zoo checkpoint
    config = open(osp.join(work_dir, 'oksnet_finetune.py')).read()
    assert f'load_from = {SHIPPED.checkpoint!r}' in config
    assert "type='OKSNetHead'" in config
    assert ("oks_net=dict(type='KeypointOKSNet', read_pose_grid=False)"
            in config)
    assert 'FreezeExceptOKSNetHook' in open(
        osp.join(work_dir, 'quality_only', 'oksnet_quality_only.py')).read()
    for name in SCORES:
        entry = summary[name]
        assert SUMMARY_KEYS <= set(entry), name
        for key in ('ap', 'ap50', 'ap75', 'ap_m', 'ap_l', 'ar'):
            assert 0 <= entry[key] <= 1, (name, key)
        assert set(entry['gain_at_oks']) == set(entry['ap_at_oks'])
    # GT OKS ranks the poses perfectly by itself and closes the whole gap
    assert summary['gt_oks']['pearson'] == pytest.approx(1.0)
    assert all(v == 0 for v in summary['heatmap']['gain_at_oks'].values())
    # the base model's numbers are the quality-only row's heatmap mean: its
    # pose network is the zoo model's, frozen
    quality_only = summary['quality_only']
    assert set(quality_only) >= {'heatmap', 'oksnet', 'gt_oks'}
    assert not set(PEERS) & set(quality_only)
    assert summary['base_ap'] == quality_only['heatmap']['ap']
    qo_poses = _poses(
        osp.join(work_dir, 'quality_only', 'test_gt',
                 'results.keypoints.json'))
    assert summary['median_gt_oks'] == pytest.approx(
        np.median([p['gt_oks'] for p in qo_poses]))
    # the training split's poses, the peer's training data
    train_poses = _poses(
        osp.join(work_dir, 'test_train', 'results.keypoints.json'))
    split = summary['train_split']
    assert split['num_poses'] == len(train_poses)
    assert split['median_gt_oks'] == pytest.approx(
        np.median([p['gt_oks'] for p in train_poses]))
    assert split['val_heatmap_ap'] == summary['heatmap']['ap']
    assert 0 <= split['heatmap_ap'] <= 1
    # the peers were trained on the training split's poses and score every
    # val pose (GT boxes: predicted OKS in [0, 1])
    poses = _poses(osp.join(work_dir, 'test_gt', 'results.keypoints.json'))
    for peer in PEERS:
        log = _poses(osp.join(work_dir, f'{peer}_log.json'))
        assert log['num_poses'] == len(train_poses) > len(poses), peer
        assert osp.isfile(osp.join(work_dir, f'{peer}.pth')), peer
    for name in ('gt', 'det'):
        results = _poses(
            osp.join(work_dir, f'test_{name}', 'results.keypoints.json'))
        rescored = _poses(
            osp.join(work_dir, f'test_{name}',
                     'results_rescorenet.keypoints.json'))
        assert [p['id'] for p in rescored] == [p['id'] for p in results]
        for peer in PEERS:
            assert all(0 <= p[f'{peer}_score'] <= 1 for p in rescored), peer
        # each val pose's feature was recorded, by the derived test config
        # (with GT boxes OKS-NMS may leave a sample without a pose)
        features = np.load(
            osp.join(work_dir, f'test_{name}', 'pose_features.npz'))
        assert set(features['ids'].tolist()) >= {p['id'] for p in results}
        test_config = open(
            osp.join(work_dir, f'test_{name}_config.py')).read()
        assert "'PoseFeatureRecorderHook'" in test_config
    assert osp.isfile(
        osp.join(work_dir, 'test_train', 'pose_features.npz'))
    # the quality-only row is tested with its own config, recording nothing
    for name in ('gt_config.py', 'gt/pose_features.npz'):
        assert not osp.exists(
            osp.join(work_dir, 'quality_only', f'test_{name}')), name
    detector = _poses(osp.join(work_dir, 'summary_det.json'))
    assert set(detector) == {'heatmap', 'oksnet', 'rescorenet', 'ccnet',
                             'quality_only'}
    assert set(detector['quality_only']) == {'heatmap', 'oksnet'}
    # the detector-box APs are the analysis's OKS-NMS rows
    details = _poses(osp.join(work_dir, 'analysis_det', 'details.json'))
    assert detector['oksnet']['ap'] == details['rescoring'][
        'OKS-net + OKS-NMS']['ap']
    assert detector['rescorenet']['ap'] == details['rescoring'][
        'RescoreNet + OKS-NMS']['ap']
    assert detector['ccnet']['ap'] == details['rescoring'][
        'CCNet + OKS-NMS']['ap']
    report = open(osp.join(work_dir, 'report.md')).read()
    for section in ('The scores side by side', '| RescoreNet |', '| CCNet |',
                    'CCNet: per-keypoint OKS terms',
                    'Quality-only row', 'Training split vs val split',
                    'Correlation with GT OKS', 'COCO AP by pose score',
                    'detector boxes', 'Occlusion benchmarks',
                    'analysis_gt/scatter_score_vs_gt_oks.png'):
        assert section in report, section
    first = capsys.readouterr().out
    for step in ("step 'generate'", "step 'convert': python "
                 'tools/add_oksnet.py', "step 'fine-tune'",
                 "step 'quality-only'", "step 'rescorenet'",
                 "step 'ccnet' done", 'summary'):
        assert step in first, step
    assert sum(line.lstrip().startswith('CCNet ')
               for line in first.splitlines()) == 1  # the summary line

    # a re-run of a finished job reuses its report
    assert run_main_job(work_dir, data_dir, base_model=SHIPPED,
                        **QUICK) == result
    assert 'already done with these settings' in capsys.readouterr().out
    # an interrupted one reuses the data and both trained models
    os.remove(osp.join(work_dir, 'summary.json'))
    run_main_job(work_dir, data_dir, base_model=SHIPPED, **QUICK)
    again = capsys.readouterr().out
    assert "step 'fine-tune': already done" in again
    assert "step 'quality-only': already done" in again
    assert _poses(osp.join(work_dir, 'summary.json')) == summary

    # other settings in the same work dir are refused, not mixed
    with pytest.raises(MainJobError, match='--overwrite'):
        run_main_job(work_dir, data_dir, base_model=SHIPPED, seed=1, **QUICK)


def test_missing_zoo_checkpoint_stops_before_any_work(tmp_path):
    missing = ZooModel(SHIPPED.config, str(tmp_path / 'base.pth'),
                       SHIPPED.sha256)
    with pytest.raises(MainJobError) as err:
        run_main_job(str(tmp_path / 'work'), str(tmp_path / 'data'),
                     base_model=missing, **QUICK)
    assert str(err.value) == (
        f'model-zoo checkpoint {missing.checkpoint} not found (expected '
        f'sha256 {SHIPPED.sha256}); run from the repository root of a full '
        'clone')
    # nothing generated, nothing trained
    assert not (tmp_path / 'work').exists()
    assert not (tmp_path / 'data').exists()


def test_scratch_config_not_found_is_one_clear_error(tmp_path):
    missing = str(tmp_path / 'no_such_config.py')
    with pytest.raises(MainJobError, match='repository root') as err:
        run_main_job(str(tmp_path / 'work'), str(tmp_path / 'data'),
                     schedule='scratch', config=missing)
    assert missing in str(err.value)
    assert not (tmp_path / 'work').exists()


def test_scratch_options_are_refused_with_finetune(tmp_path):
    with pytest.raises(MainJobError, match='scratch schedule'):
        run_main_job(str(tmp_path / 'work'), str(tmp_path / 'data'),
                     switch_epoch=2)
