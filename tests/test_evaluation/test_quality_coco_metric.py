# Copyright (c) oksnet-mmpose contributors.
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.evaluation.metrics import CocoMetric
from scipy.stats import pearsonr
from xtcocotools.cocoeval import COCOeval

from oksnet_mmpose import compute_oks
from oksnet_mmpose.evaluation import QualityCocoMetric
from tests.conftest import SAMPLE_ANN

METAINFO = parse_pose_metainfo(
    dict(from_file='configs/_base_/datasets/coco.py'))


def _gt_box_samples(coco, rng, with_quality=True):
    """Data samples as a top-down model with GT boxes returns them: one
    pose per GT instance, with its raw annotation."""
    samples = []
    for ann in coco.loadAnns(sorted(coco.getAnnIds())):
        gt = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
        noise = np.sqrt(ann['area']) * rng.uniform(0.01, 0.3)
        x, y, w, h = ann['bbox']
        pred = gt[:, :2] + rng.normal(0, noise, (17, 2))
        pred[gt[:, 2] == 0] = [x + w / 2, y + h / 2]
        pred_instances = dict(
            keypoints=pred[None].astype(np.float32),
            keypoint_scores=rng.uniform(0.1, 1, (1, 17)).astype(np.float32),
            bboxes=np.array([[x, y, x + w, y + h]], dtype=np.float32),
            bbox_scores=np.ones(1, dtype=np.float32))
        if with_quality:
            pred_instances['pose_quality'] = rng.uniform(0, 1, 1)
        samples.append(
            dict(id=ann['id'], img_id=ann['image_id'], category_id=1,
                 raw_ann_info=ann, pred_instances=pred_instances,
                 gt_instances=dict(bbox_scales=np.array([[w, h]]),
                                   bbox_scores=np.ones(1))))
    return samples


def _metric(cls, tmp_path, name, **kwargs):
    metric = cls(ann_file=SAMPLE_ANN,
                 outfile_prefix=str(tmp_path / name), **kwargs)
    metric.dataset_meta = METAINFO
    return metric


def _xtcocotools_ap(coco, results):
    coco_dt = coco.loadRes(results)
    ev = COCOeval(coco, coco_dt, 'keypoints', METAINFO['sigmas'],
                  use_area=True)
    ev.params.useSegm = None
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return ev.stats[0]


def test_three_scorings_in_one_run(coco_sample, tmp_path):
    rng = np.random.default_rng(0)
    samples = _gt_box_samples(coco_sample, rng)
    metric = _metric(QualityCocoMetric, tmp_path, 'quality', nms_mode='none')
    metric.process([], samples)
    results = metric.evaluate(len(samples))

    stock = _metric(CocoMetric, tmp_path, 'stock', nms_mode='none')
    stock.process([], samples)
    stock_results = stock.evaluate(len(samples))
    # the heatmap-mean AP is the stock CocoMetric's, to the last digit
    for key in ('AP', 'AP .5', 'AP .75', 'AR'):
        assert results[f'coco-heatmap/{key}'] == stock_results[f'coco/{key}']

    dumped = json.load(open(tmp_path / 'quality.keypoints.json'))
    assert len(dumped) == len(samples)
    for pose in dumped:
        assert pose['score'] == pose['oksnet_score']
        assert {'heatmap_score', 'gt_oks', 'keypoints'} <= set(pose)
    # each pose carries its sample id: with GT boxes its annotation's
    by_id = {s['id']: s for s in samples}
    assert sorted(p['id'] for p in dumped) == sorted(by_id)
    for pose in dumped:
        assert pose['image_id'] == by_id[pose['id']]['img_id']
        assert pose['gt_oks'] == pytest.approx(_gt_oks(by_id[pose['id']]))
    # coco/AP is the AP of the dumped OKS-net scores, by xtcocotools
    assert results['coco/AP'] == pytest.approx(
        _xtcocotools_ap(coco_sample, dumped), abs=1e-12)
    # ... and GT-OKS scoring is the AP of the same poses scored by GT OKS
    by_gt = [dict(p, score=p['gt_oks']) for p in dumped]
    assert results['coco-gtoks/AP'] == pytest.approx(
        _xtcocotools_ap(coco_sample, by_gt), abs=1e-12)
    assert results['coco-gtoks/AP'] >= results['coco-heatmap/AP']

    labelled = [s for s in samples if s['raw_ann_info']['num_keypoints']]
    expected = pearsonr(
        [s['pred_instances']['pose_quality'][0] for s in labelled],
        [_gt_oks(s) for s in labelled])[0]
    assert results['quality/pearson_oksnet'] == pytest.approx(expected)
    assert -1 <= results['quality/pearson_heatmap'] <= 1


def _gt_oks(sample):
    """OKS of a sample's pose with its own GT (compute_oks is checked
    against xtcocotools in test_oks.py)."""
    ann = sample['raw_ann_info']
    gt = torch.tensor(ann['keypoints'], dtype=torch.float64).reshape(-1, 3)
    pred = torch.from_numpy(
        sample['pred_instances']['keypoints'].astype(np.float64))
    return float(
        compute_oks(pred, gt[None, :, :2], gt[None, :, 2],
                    torch.tensor([ann['area']], dtype=torch.float64),
                    torch.tensor(METAINFO['sigmas']))[0])


def test_quality_equal_to_gt_oks_reaches_the_upper_bound(coco_sample,
                                                         tmp_path):
    samples = _gt_box_samples(coco_sample, np.random.default_rng(1))
    for s in samples:
        s['pred_instances']['pose_quality'] = np.array([_gt_oks(s)])
    metric = _metric(QualityCocoMetric, tmp_path, 'oracle')
    metric.process([], samples)
    results = metric.evaluate(len(samples))
    assert results['coco/AP'] == results['coco-gtoks/AP']
    assert results['quality/pearson_oksnet'] == pytest.approx(1.0)


def test_detector_boxes_multiply_bbox_score(coco_sample, tmp_path):
    rng = np.random.default_rng(2)
    samples = _gt_box_samples(coco_sample, rng)
    for i, s in enumerate(samples):
        del s['raw_ann_info']  # detector boxes carry no annotation
        s['id'] = 10000 + i
        s['pred_instances']['bbox_scores'] = np.array([0.5])
    metric = _metric(QualityCocoMetric, tmp_path, 'det')
    metric.process([], samples)
    results = metric.evaluate(len(samples))
    assert 'coco-gtoks/AP' not in results
    assert 'quality/pearson_oksnet' not in results
    assert 'coco-heatmap/AP' in results and 'coco/AP' in results
    dumped = json.load(open(tmp_path / 'det.keypoints.json'))
    for pose in dumped:
        assert 'gt_oks' not in pose
        assert pose['oksnet_score'] <= 0.5
    # detector boxes: the sample id is the detection's index
    assert sorted(p['id'] for p in dumped) == [10000 + i
                                               for i in range(len(samples))]


def test_missing_pose_quality_is_named(coco_sample, tmp_path):
    samples = _gt_box_samples(coco_sample, np.random.default_rng(3),
                              with_quality=False)
    metric = _metric(QualityCocoMetric, tmp_path, 'x')
    with pytest.raises(KeyError, match='pose_quality'):
        metric.process([], samples)
    assert not osp.exists(tmp_path / 'x.keypoints.json')


def test_keypoint_converters_are_refused():
    with pytest.raises(ValueError, match='pred_converter'):
        QualityCocoMetric(
            ann_file=SAMPLE_ANN,
            pred_converter=dict(num_keypoints=17, mapping=[(0, 0)]))


def test_non_finite_detection_score_is_named(coco_sample, tmp_path):
    samples = _gt_box_samples(coco_sample, np.random.default_rng(4))
    for i, s in enumerate(samples):
        del s['raw_ann_info']  # detector boxes
        s['id'] = i
        s['img_path'] = f'val2017/{s["img_id"]:012d}.jpg'
    samples[3]['pred_instances']['bbox_scores'] = np.array([np.nan])
    metric = _metric(QualityCocoMetric, tmp_path, 'nan_score')
    metric.process([], samples[:3])
    with pytest.raises(ValueError) as err:
        metric.process([], samples[3:])
    message = str(err.value)
    img_id = samples[3]['img_id']
    assert (f'QualityCocoMetric: image {img_id} (val2017/{img_id:012d}.jpg)'
            ', detection 3: `bbox_scores` has 1 non-finite value(s)'
            ) in message
    assert 'test_dataloader.dataset.bbox_file' in message
    assert not osp.exists(tmp_path / 'nan_score.keypoints.json')


def test_non_finite_pose_quality_is_named(coco_sample, tmp_path):
    samples = _gt_box_samples(coco_sample, np.random.default_rng(5))
    samples[2]['pred_instances']['pose_quality'] = np.array([np.inf])
    metric = _metric(QualityCocoMetric, tmp_path, 'inf_quality')
    with pytest.raises(ValueError,
                       match=rf'image {samples[2]["img_id"]} .*annotation '
                       rf'{samples[2]["id"]}: `pose_quality` has 1 '
                       'non-finite value'):
        metric.process([], samples)


def test_non_finite_annotation_in_ann_file_is_refused_at_construction(
        tmp_path):
    with open(SAMPLE_ANN) as f:
        data = json.load(f)
    ann = data['annotations'][2]
    ann['area'] = float('nan')
    ann_file = tmp_path / 'nan_area.json'
    ann_file.write_text(json.dumps(data))
    with pytest.raises(ValueError,
                       match=rf'ann_file {ann_file}, annotation {ann["id"]} '
                       rf'of image {ann["image_id"]}: `area` has 1 '
                       'non-finite'):
        QualityCocoMetric(ann_file=str(ann_file))


def test_outfile_prefix_under_a_file_is_refused_at_construction(tmp_path):
    a_file = tmp_path / 'a_file'
    a_file.write_text('')
    with pytest.raises(ValueError,
                       match=rf'outfile_prefix {a_file}/results\.keypoints'
                       rf'\.json: {a_file} is a file, not a folder'):
        QualityCocoMetric(ann_file=SAMPLE_ANN,
                          outfile_prefix=str(a_file / 'results'))
