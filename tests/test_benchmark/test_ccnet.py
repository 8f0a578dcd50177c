# Copyright (c) oksnet-mmpose contributors.
"""The CCNet peer: pose features recorded during a test run (through the
main job's derived test config), keypoint targets from the annotations, the
MLP trained post hoc, its score added to the results, and its place beside
the other scores in the analysis and the seeds table."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.runner import Runner

from oksnet_mmpose.benchmark.ccnet import (add_ccnet_scores, ccnet_oks,
                                           combined_gt_oks, keypoint_targets,
                                           pose_features, train_ccnet)
from oksnet_mmpose.benchmark.main_job import MainJobError
from oksnet_mmpose.benchmark.peers import (FEATURE_RECORDER, FEATURES,
                                           RESCORED_RESULTS, RESULTS,
                                           feature_config, train_ccnet_step)
from tests.conftest import REPO_ROOT, SAMPLE_ANN
from tests.test_engine.tiny_model import tiny_config


def _keypoint_input(model, inputs):
    """The keypoint layer's input (the pose feature) for ``inputs``."""
    store = []
    handle = model.head.keypoint_layer.register_forward_pre_hook(
        lambda module, args: store.append(args[0]))
    try:
        with torch.no_grad():
            model.head(model.extract_feat(inputs))
    finally:
        handle.remove()
    feature = store[0].flatten(2)
    return torch.cat([feature.mean(-1), feature.amax(-1)], 1).numpy()


def test_recorder_hook_records_the_unflipped_feature_of_each_sample(
        tmp_path):
    # the tiny model's config as a file, and the main job's derived test
    # config on it
    cfg = tiny_config(work_dir=str(tmp_path / 'work'))
    assert cfg.model.test_cfg.flip_test  # two keypoint-layer calls a batch
    cfg.default_hooks.visualization = dict(type='PoseVisualizationHook',
                                           enable=False)
    cfg.model_wrapper_cfg = None
    cfg.test_evaluator.outfile_prefix = str(tmp_path / 'results')
    cfg.test_evaluator.nms_mode = 'none'
    base = str(tmp_path / 'tiny.py')
    cfg.dump(base)
    features_file = str(tmp_path / 'test' / FEATURES)
    derived = feature_config(base, str(tmp_path / 'derived.py'),
                             features_file)
    text = open(derived).read()
    assert f'_base_ = [{base!r}]' in text
    derived_cfg = Config.fromfile(derived)
    assert derived_cfg.custom_imports.imports == list(
        cfg.custom_imports.imports) + [FEATURE_RECORDER]
    assert derived_cfg.custom_hooks == list(cfg.custom_hooks) + [
        dict(type='PoseFeatureRecorderHook', out_file=features_file)
    ]
    # everything else is the base's
    assert derived_cfg.model == cfg.model
    assert derived_cfg.test_evaluator == cfg.test_evaluator

    torch.manual_seed(0)
    runner = Runner.from_cfg(derived_cfg)
    runner.test()
    with np.load(features_file) as data:
        ids, features = data['ids'], data['features']
    poses = json.load(open(tmp_path / 'results.keypoints.json'))
    anns = {a['id']: a for a in json.load(open(SAMPLE_ANN))['annotations']}
    # MMPose tests the instances with labelled keypoints
    ann_ids = [i for i, a in anns.items() if a['num_keypoints']]
    assert 0 < len(ann_ids) < len(anns)
    # the results carry each pose's sample id (GT boxes: its annotation's),
    # and each sample has exactly one recorded feature
    assert sorted(p['id'] for p in poses) == sorted(ann_ids)
    assert sorted(ids.tolist()) == sorted(ann_ids)
    channels = runner.model.head.keypoint_layer.in_channels
    assert features.shape == (len(ann_ids), 2 * channels)
    assert features.dtype == np.float32
    # the hook is gone after the test
    assert not runner.model.head.keypoint_layer._forward_pre_hooks

    # the recorded rows are the un-flipped view's pooled feature
    model = runner.model.eval()
    dataset = runner.test_dataloader.dataset
    batch = model.data_preprocessor(
        pseudo_collate([dataset[i] for i in range(3)]), False)
    expected = _keypoint_input(model, batch['inputs'])
    flipped = _keypoint_input(model, batch['inputs'].flip(-1))
    recorded = pose_features(
        [dict(id=s.metainfo['id']) for s in batch['data_samples']],
        features_file)
    np.testing.assert_allclose(recorded, expected, rtol=1e-4, atol=1e-5)
    assert np.abs(recorded - flipped).max() > 1e-3

    # CCNet's targets combine to the GT OKS the metric wrote
    terms, labelled = keypoint_targets(poses, SAMPLE_ANN)
    np.testing.assert_allclose(
        combined_gt_oks(terms, labelled).numpy(),
        [p['gt_oks'] for p in poses], atol=1e-5)
    assert labelled.sum(1).tolist() == [
        anns[p['id']]['num_keypoints'] for p in poses
    ]


def test_import_oksnet_mmpose_leaves_the_benchmark_out():
    code = ('import sys, oksnet_mmpose\n'
            'from mmpose.registry import HOOKS\n'
            "assert not [m for m in sys.modules\n"
            "            if m.startswith('oksnet_mmpose.benchmark')]\n"
            "assert HOOKS.get('PoseFeatureRecorderHook') is None\n"
            "import oksnet_mmpose.benchmark.pose_feature_recorder\n"
            "assert HOOKS.get('PoseFeatureRecorderHook') is not None\n")
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO_ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def _synthetic(num, seed=0, channels=48, num_keypoints=17):
    """Pooled-feature-like inputs that encode the keypoint terms and the
    labelled flags (through a random mixing, channels of very different
    scales), and those targets."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(num, num_keypoints))
    terms = 1 / (1 + np.exp(-2 * latent))
    labelled = rng.uniform(size=(num, num_keypoints)) < 0.8
    labelled[:5] = False  # GTs without a labelled keypoint: weight 0
    signal = np.concatenate([latent, 2. * labelled - 1.], 1)
    mixing = np.random.default_rng(123).normal(size=(signal.shape[1],
                                                     channels))
    features = signal @ mixing + 0.05 * rng.normal(size=(num, channels))
    features *= np.logspace(-2, 2, channels)  # scales from 0.01 to 100
    return (features.astype(np.float32), torch.tensor(terms).float(),
            torch.tensor(labelled).float())


def test_ccnet_learns_the_oks_from_the_features():
    features, terms, labelled = _synthetic(2000)
    net, log = train_ccnet(features, terms, labelled, max_steps=600)
    assert log['num_poses'] == 2000 and log['num_held_out'] == 200
    assert log['num_labelled_poses'] == 1995
    assert (log['in_channels'], log['num_keypoints']) == (48, 17)
    assert 0 < log['num_steps'] <= 600
    assert log['final_loss'] < 0.8 * log['first_loss']
    test_features, test_terms, test_labelled = _synthetic(500, seed=1)
    target = combined_gt_oks(test_terms, test_labelled).numpy()
    pred = ccnet_oks(net, test_features)
    valid = test_labelled.sum(1).numpy() > 0
    assert pred.min() >= 0 and pred.max() <= 1
    assert np.corrcoef(pred[valid], target[valid])[0, 1] > 0.9
    # better than the constant predictor on held-out poses
    constant = np.abs(target[valid] - target[valid].mean()).mean()
    assert log['held_out_l1'] < 0.5 * constant
    # seeded: the same net again
    again, _ = train_ccnet(features, terms, labelled, max_steps=600)
    np.testing.assert_array_equal(ccnet_oks(again, test_features), pred)


def _write_features(path, ids, features):
    with open(path, 'wb') as f:
        np.savez(f, ids=np.asarray(ids), features=np.asarray(features))


def test_scores_are_box_score_times_predicted_oks(tmp_path):
    features, terms, labelled = _synthetic(64)
    net, _ = train_ccnet(features, terms, labelled, max_steps=20)
    ids = list(range(100, 164))
    _write_features(tmp_path / FEATURES, ids, features)
    poses = [
        dict(id=i, image_id=1, rescorenet_score=0.25,
             **({'bbox_score': 0.5} if i % 2 else {}))
        for i in reversed(ids)  # in another order than the features
    ]
    results = tmp_path / 'results.json'
    results.write_text(json.dumps(poses))
    add_ccnet_scores(net, str(results), str(tmp_path / FEATURES),
                     str(results))
    scored = json.loads(results.read_text())
    predicted = ccnet_oks(net, features)
    for pose in scored:
        factor = 0.5 if pose['id'] % 2 else 1.
        assert pose['ccnet_score'] == pytest.approx(
            factor * predicted[pose['id'] - 100])
        assert pose['rescorenet_score'] == 0.25  # the other peer's kept


def test_a_pose_without_a_recorded_feature_is_named(tmp_path):
    _write_features(tmp_path / FEATURES, [1, 2], np.ones((2, 4)))
    poses = [dict(id=1), dict(id=7, image_id=3), dict(id=2)]
    with pytest.raises(ValueError) as err:
        pose_features(poses, str(tmp_path / FEATURES))
    assert str(err.value).startswith(
        f'{tmp_path / FEATURES} holds no feature of sample id 7 (pose 1, '
        'image 3)')
    with pytest.raises(ValueError, match='pose 0 has no sample `id`'):
        pose_features([dict(image_id=1)], str(tmp_path / FEATURES))


def _job_dir(tmp_path):
    """A main job's work dir after the RescoreNet step, on the sample
    annotations: training results (GT boxes, ids = annotation ids) with
    their features, and val results with the RescoreNet score."""
    rng = np.random.default_rng(0)
    anns = json.load(open(SAMPLE_ANN))['annotations']
    poses, features = [], []
    for copy in range(3):  # a few poses per annotation, as noise levels
        for ann in anns:
            gt = np.asarray(ann['keypoints'], dtype=float).reshape(-1, 3)
            pred = gt.copy()
            pred[:, :2] += rng.normal(0, 2 + 10 * copy, (17, 2))
            poses.append(dict(id=ann['id'] + copy * 10**7,
                              image_id=ann['image_id'], category_id=1,
                              keypoints=pred.reshape(-1).tolist()))
    work_dir = tmp_path / 'work'
    for name in ('train', 'gt', 'det'):
        (work_dir / f'test_{name}').mkdir(parents=True)
    # training: one pose per annotation (ids are annotation ids)
    train = poses[:len(anns)]
    features = rng.normal(size=(len(train), 8)).astype(np.float32)
    (work_dir / 'test_train' / RESULTS).write_text(json.dumps(train))
    _write_features(work_dir / 'test_train' / FEATURES,
                    [p['id'] for p in train], features)
    for name in ('gt', 'det'):
        val = [dict(p, rescorenet_score=0.5) for p in poses]
        (work_dir / f'test_{name}' / RESCORED_RESULTS).write_text(
            json.dumps(val))
        _write_features(work_dir / f'test_{name}' / FEATURES,
                        [p['id'] for p in val],
                        rng.normal(size=(len(val), 8)))
    return work_dir


def test_the_main_job_step_scores_both_val_runs(tmp_path, capsys):
    work_dir = _job_dir(tmp_path)
    train_ccnet_step(str(work_dir), 0, SAMPLE_ANN, 'main job', MainJobError)
    assert "step 'ccnet' done" in capsys.readouterr().out
    log = json.loads((work_dir / 'ccnet_log.json').read_text())
    assert log['num_poses'] == 14 and log['num_labelled_poses'] == 12
    state = torch.load(work_dir / 'ccnet.pth', weights_only=True)
    assert state['mlp.0.weight'].shape == (256, 8)
    for name in ('gt', 'det'):
        poses = json.loads(
            (work_dir / f'test_{name}' / RESCORED_RESULTS).read_text())
        assert len(poses) == 42
        assert all(p['rescorenet_score'] == 0.5 and 0 <= p['ccnet_score'] <= 1
                   for p in poses)

    # a val pose whose feature was not recorded stops the step, named
    det = work_dir / 'test_det' / RESCORED_RESULTS
    poses = json.loads(det.read_text())
    poses[5]['id'] = 424242
    det.write_text(json.dumps(poses))
    with pytest.raises(MainJobError) as err:
        train_ccnet_step(str(work_dir), 0, SAMPLE_ANN, 'main job',
                         MainJobError)
    message = str(err.value)
    assert message.startswith(f"step 'ccnet' failed: {det}: ")
    assert 'sample id 424242' in message
    assert osp.join(str(work_dir), 'test_det', FEATURES) in message


def test_the_analysis_reports_ccnet_beside_the_other_scores(tmp_path):
    """With every pose carrying both peers' scores, the analysis reports
    CCNet's with the numbers it reports for the OKS-net score on the same
    values."""
    from oksnet_mmpose.analysis.analyze import analyze_quality
    from tests.test_analysis.test_analyze import _poses as sample_poses

    poses = sample_poses(SAMPLE_ANN)
    rng = np.random.default_rng(0)
    for pose in poses:
        pose['rescorenet_score'] = float(rng.uniform(0, 1))
        pose['ccnet_score'] = float(rng.uniform(0, 1))
    with_peers = tmp_path / 'with_peers.json'
    with_peers.write_text(json.dumps(poses))
    as_oksnet = tmp_path / 'as_oksnet.json'
    as_oksnet.write_text(
        json.dumps([
            {k: v
             for k, v in dict(p, oksnet_score=p['ccnet_score']).items()
             if not k.endswith('net_score') or k == 'oksnet_score'}
            for p in poses
        ]))

    summary = analyze_quality(SAMPLE_ANN, str(with_peers),
                              str(tmp_path / 'analysis'))
    reference = analyze_quality(SAMPLE_ANN, str(as_oksnet),
                                str(tmp_path / 'reference'))
    assert list(summary) == [
        'heatmap', 'oksnet', 'rescorenet', 'ccnet', 'gt_oks'
    ]
    assert list(reference) == ['heatmap', 'oksnet', 'gt_oks']
    for key in ('pearson', 'spearman', 'ap', 'ar', 'ece', 'ap_at_oks',
                'ap_by_visible', 'scoring_errors'):
        assert summary['ccnet'][key] == reference['oksnet'][key], key
    details = json.loads((tmp_path / 'analysis' / 'details.json').read_text())
    ref_details = json.loads(
        (tmp_path / 'reference' / 'details.json').read_text())
    row = details['rescoring']['CCNet + OKS-NMS']
    assert row['score'] == 'ccnet'
    assert 'CCNet + OKS-NMS' not in ref_details['rescoring']
    ref_row = ref_details['rescoring']['OKS-net + OKS-NMS']
    assert (row['ap'], row['kept']) == (ref_row['ap'], ref_row['kept'])
    report = (tmp_path / 'analysis' / 'report.md').read_text()
    assert report.count('CCNet (pose features, post hoc)') >= 5
