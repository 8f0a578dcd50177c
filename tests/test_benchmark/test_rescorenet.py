# Copyright (c) oksnet-mmpose contributors.
"""The RescoreNet peer: DEKR's features through MMPose's RescoreNet, trained
offline on poses against their GT OKS."""
import json

import numpy as np
import pytest
import torch

from oksnet_mmpose.benchmark.rescorenet import (add_rescorenet_scores,
                                               build_rescorenet, coco_skeleton,
                                               rescore, train_rescorenet)


def _poses(num, seed=0):
    """Random 17-keypoint poses whose GT OKS is a function the net can
    learn from its features: the mean keypoint score, squared."""
    rng = np.random.default_rng(seed)
    poses = []
    for i in range(num):
        xy = rng.uniform(0, 200, (17, 2))
        scores = rng.uniform(0, 1, 17)
        kpts = np.concatenate([xy, scores[:, None]], 1).reshape(-1)
        poses.append(
            dict(image_id=i,
                 category_id=1,
                 keypoints=kpts.tolist(),
                 gt_oks=float(scores.mean()**2)))
    return poses


def test_torso_normalisation_uses_the_shoulder_hip_links():
    links, norm = coco_skeleton()
    assert len(links) == 19
    # COCO ids: 5/6 shoulders, 11/12 hips (DEKR's links 9 and 11)
    assert [set(links[i]) for i in norm] == [{5, 11}, {6, 12}]
    net, _ = build_rescorenet()
    assert net.l1.in_features == 2 * 19 + 19 + 17


def test_training_learns_the_oks_and_scores_held_out_poses():
    train, held_out = _poses(2048), _poses(512, seed=1)
    net, log = train_rescorenet(train, max_steps=300)
    assert log['num_poses'] == 2048 and log['num_held_out'] == 205
    assert 0 < log['num_steps'] <= 300
    assert log['final_loss'] < 0.2 * log['first_loss']
    assert log['held_out_mse'] < 0.2 * log['first_loss']
    pred = rescore(net, held_out)
    target = np.array([p['gt_oks'] for p in held_out])
    assert pred.min() >= 0 and pred.max() <= 1
    assert np.corrcoef(pred, target)[0, 1] > 0.75
    # deterministic per seed
    again, _ = train_rescorenet(train, max_steps=300)
    np.testing.assert_array_equal(rescore(again, held_out), pred)


def test_scores_are_box_score_times_predicted_oks(tmp_path):
    poses = _poses(64)
    net, _ = train_rescorenet(poses, max_steps=20)
    for i, pose in enumerate(poses):
        del pose['gt_oks']
        if i % 2:
            pose['bbox_score'] = 0.5
    results = tmp_path / 'results.json'
    results.write_text(json.dumps(poses))
    out = tmp_path / 'rescored.json'
    add_rescorenet_scores(net, str(results), str(out))
    rescored = json.loads(out.read_text())
    predicted = rescore(net, poses)
    for i, pose in enumerate(rescored):
        factor = 0.5 if i % 2 else 1.
        assert pose['rescorenet_score'] == pytest.approx(factor * predicted[i])
        assert pose['keypoints'] == poses[i]['keypoints']


def test_poses_without_gt_oks_are_refused():
    poses = _poses(8)
    del poses[3]['gt_oks']
    with pytest.raises(ValueError, match='1 poses lack gt_oks'):
        train_rescorenet(poses)
    with pytest.raises(ValueError, match='no poses'):
        train_rescorenet([])
    assert torch.get_num_threads() >= 1


def test_the_analysis_treats_the_peer_score_as_any_other(tmp_path):
    """With every pose carrying ``rescorenet_score``, the analysis reports
    it with the numbers it reports for the OKS-net score on the same
    values (those are checked against COCOeval in
    tests/test_analysis/test_analyze.py)."""
    from oksnet_mmpose.analysis.analyze import analyze_quality
    from tests.conftest import SAMPLE_ANN
    from tests.test_analysis.test_analyze import _poses as sample_poses

    poses = sample_poses(SAMPLE_ANN)
    rng = np.random.default_rng(0)
    for pose in poses:
        pose['rescorenet_score'] = float(rng.uniform(0, 1))
    with_peer = tmp_path / 'with_peer.json'
    with_peer.write_text(json.dumps(poses))
    swapped = [dict(p, oksnet_score=p['rescorenet_score']) for p in poses]
    for pose in swapped:
        del pose['rescorenet_score']
    as_oksnet = tmp_path / 'as_oksnet.json'
    as_oksnet.write_text(json.dumps(swapped))

    summary = analyze_quality(SAMPLE_ANN, str(with_peer),
                              str(tmp_path / 'analysis'))
    reference = analyze_quality(SAMPLE_ANN, str(as_oksnet))
    assert list(summary) == ['heatmap', 'oksnet', 'rescorenet', 'gt_oks']
    assert 'rescorenet' not in reference
    for key in ('pearson', 'spearman', 'ap', 'ap50', 'ap75', 'ar', 'ece',
                'ap_at_oks', 'ap_by_visible', 'scoring_errors'):
        assert summary['rescorenet'][key] == reference['oksnet'][key], key
    details = json.loads((tmp_path / 'analysis' / 'details.json').read_text())
    assert details['rescoring']['RescoreNet + OKS-NMS']['score'] == \
        'rescorenet'
    report = (tmp_path / 'analysis' / 'report.md').read_text()
    assert report.count('RescoreNet (DEKR, post hoc)') >= 5
