# Copyright (c) oksnet-mmpose contributors.
import json

import numpy as np
import pytest
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from scipy.stats import pearsonr, spearmanr
from xtcocotools.cocoeval import COCOeval

from oksnet_mmpose.analysis import gap_closed, load_results, summarize
from tests.conftest import SAMPLE_ANN

SIGMAS = parse_pose_metainfo(
    dict(from_file='configs/_base_/datasets/coco.py'))['sigmas']


def _poses(coco, rng):
    poses = []
    for ann in coco.loadAnns(sorted(coco.getAnnIds())):
        if not ann['num_keypoints']:
            continue
        gt = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
        pred = gt[:, :2] + rng.normal(0, 0.1 * np.sqrt(ann['area']),
                                      (17, 2))
        poses.append(dict(
            image_id=ann['image_id'], category_id=1,
            keypoints=np.concatenate([pred, np.ones((17, 1))],
                                     1).reshape(-1).tolist(),
            heatmap_score=float(rng.uniform()),
            oksnet_score=float(rng.uniform()),
            gt_oks=float(rng.uniform())))
    return poses


def _direct_ap(coco, poses, field):
    ev = COCOeval(coco, coco.loadRes([dict(p, score=p[field])
                                      for p in poses]), 'keypoints',
                  np.asarray(SIGMAS), use_area=True)
    ev.params.useSegm = None
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return ev.stats


def test_summary_numbers_are_xtcocotools_and_scipy(coco_sample):
    poses = _poses(coco_sample, np.random.default_rng(0))
    summary = summarize(SAMPLE_ANN, poses, SIGMAS)
    assert set(summary) == {'heatmap', 'oksnet', 'gt_oks'}
    gt_oks = [p['gt_oks'] for p in poses]
    for name, field in (('heatmap', 'heatmap_score'),
                        ('oksnet', 'oksnet_score'), ('gt_oks', 'gt_oks')):
        stats = _direct_ap(coco_sample, poses, field)
        entry = summary[name]
        assert [entry[k] for k in ('ap', 'ap50', 'ap75', 'ap_m', 'ap_l',
                                   'ar')] == pytest.approx(stats[:6])
        scores = [p[field] for p in poses]
        assert entry['pearson'] == pytest.approx(pearsonr(scores, gt_oks)[0])
        assert entry['spearman'] == pytest.approx(
            spearmanr(scores, gt_oks)[0])


def test_gap_closed():
    summary = {'heatmap': {'ap': .60}, 'oksnet': {'ap': .65},
               'gt_oks': {'ap': .70}}
    assert gap_closed(summary) == pytest.approx(0.5)
    summary['gt_oks']['ap'] = .60
    assert gap_closed(summary) is None


def test_bad_results_files_are_named(tmp_path, coco_sample):
    poses = _poses(coco_sample, np.random.default_rng(1))
    empty = tmp_path / 'empty.json'
    empty.write_text('[]')
    with pytest.raises(ValueError, match='empty.json holds no poses'):
        load_results(SAMPLE_ANN, str(empty))
    stranger = tmp_path / 'stranger.json'
    stranger.write_text(json.dumps([dict(poses[0], image_id=123)]))
    with pytest.raises(KeyError, match='image_id 123'):
        load_results(SAMPLE_ANN, str(stranger))
    unscored = tmp_path / 'unscored.json'
    unscored.write_text(json.dumps([{k: v for k, v in poses[0].items()
                                     if k != 'oksnet_score'}]))
    with pytest.raises(KeyError, match='has no oksnet_score'):
        load_results(SAMPLE_ANN, str(unscored))
    with pytest.raises(FileNotFoundError, match='missing.json'):
        load_results(SAMPLE_ANN, str(tmp_path / 'missing.json'))
