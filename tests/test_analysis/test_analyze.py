# Copyright (c) oksnet-mmpose contributors.
"""oksnet_mmpose.analysis.analyze (what tools/analyze_quality.py runs):
every number checked against a direct xtcocotools / MMPose / scipy
computation on the real sample annotations, and bad input."""
import json
import os.path as osp
import re
from collections import defaultdict

import numpy as np
import pytest
from mmpose.evaluation.functional import oks_nms
from scipy.stats import pearsonr, spearmanr
from xtcocotools.coco import COCO
from xtcocotools.cocoeval import COCOeval

from oksnet_mmpose.analysis import gap_closed
from oksnet_mmpose.analysis.analyze import analyze_quality, default_sigmas
from oksnet_mmpose.analysis.occlusion import VISIBLE_BUCKETS, occlusion_buckets
from tests.conftest import SAMPLE_ANN

SIGMAS = default_sigmas(17)
SCORE_FIELDS = {'heatmap': 'heatmap_score', 'oksnet': 'oksnet_score'}


@pytest.fixture(scope='module')
def occluded_ann(tmp_path_factory):
    """The sample annotations with some instances' keypoints unlabelled, so
    that every occlusion benchmark has GT instances."""
    with open(SAMPLE_ANN) as f:
        data = json.load(f)
    hide = {1: 13, 4: 8, 7: 5, 9: 3, 11: 10}  # annotation index -> hidden
    for index, num_hidden in hide.items():
        ann = data['annotations'][index]
        kpts = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
        labelled = np.where(kpts[:, 2] > 0)[0][:num_hidden]
        kpts[labelled] = 0
        ann['keypoints'] = kpts.reshape(-1).tolist()
        ann['num_keypoints'] = int((kpts[:, 2] > 0).sum())
    path = tmp_path_factory.mktemp('ann') / 'occluded.json'
    path.write_text(json.dumps(data))
    return str(path)


def _poses(ann_file, seed=0):
    """Three predictions per GT instance (a good one, a near duplicate of it
    and a worse one, as overlapping detector boxes give), plus a stray pose
    per image; random-ish scores."""
    rng = np.random.default_rng(seed)
    coco = COCO(ann_file)
    poses = []
    for ann in coco.loadAnns(sorted(coco.getAnnIds())):
        gt = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
        if not (gt[:, 2] > 0).any():
            x, y, w, h = ann['bbox']
            gt[:, 0] = x + w * rng.uniform(size=17)
            gt[:, 1] = y + h * rng.uniform(size=17)
        good = gt[:, :2] + rng.normal(0, 0.05 * np.sqrt(ann['area']),
                                      (17, 2))
        for noise in (0.05, 0.3, 0.051):
            if noise == 0.3:
                pred = gt[:, :2] + rng.normal(
                    0, noise * np.sqrt(ann['area']), (17, 2))
            elif noise == 0.051:
                # a near duplicate of the good pose, for NMS to remove
                pred = good + rng.normal(0, 0.002 * np.sqrt(ann['area']),
                                         (17, 2))
            else:
                pred = good
            poses.append(
                dict(
                    image_id=ann['image_id'],
                    category_id=1,
                    keypoints=np.concatenate([pred, np.ones((17, 1))],
                                             1).reshape(-1).tolist(),
                    score=0.,
                    heatmap_score=float(rng.uniform(0.2, 0.9)),
                    oksnet_score=float(
                        np.clip(0.9 - noise * 2 + rng.normal(0, 0.15), 0,
                                1))))
    for img_id in coco.getImgIds():
        img = coco.imgs[img_id]
        pred = rng.uniform([0, 0], [img['width'], img['height']], (17, 2))
        poses.append(
            dict(
                image_id=img_id,
                category_id=1,
                keypoints=np.concatenate([pred, np.ones((17, 1))],
                                         1).reshape(-1).tolist(),
                score=0.,
                heatmap_score=float(rng.uniform(0.2, 0.9)),
                oksnet_score=float(rng.uniform(0., 0.3))))
    return poses


def _write(tmp_path, poses, name='results.json'):
    path = tmp_path / name
    path.write_text(json.dumps(poses))
    return str(path)


class _IgnoringEval(COCOeval):
    """Plain COCOeval plus GT ignores (no OKS cache)."""

    def __init__(self, *args, ignore_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.ignore_ids = set(ignore_ids)

    def _prepare(self):
        super()._prepare()
        for gts in self._gts.values():
            for gt in gts:
                if gt['id'] in self.ignore_ids:
                    gt['ignore'] = True


def _direct_eval(ann_file, poses, scores, iou_thrs=None, ignore_ids=()):
    coco = COCO(ann_file)
    coco_dt = coco.loadRes(
        [dict(p, score=float(s)) for p, s in zip(poses, scores)])
    ev = _IgnoringEval(
        coco, coco_dt, 'keypoints', SIGMAS, use_area=True,
        ignore_ids=ignore_ids)
    ev.params.useSegm = None
    if iou_thrs is not None:
        ev.params.iouThrs = np.asarray(iou_thrs)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return ev


def _direct_gt_oks(ann_file, poses):
    """Each pose's best OKS with a labelled, non-crowd GT of its image."""
    coco = COCO(ann_file)
    coco_dt = coco.loadRes([dict(p, score=1.) for p in poses])
    ev = COCOeval(coco, coco_dt, 'keypoints', SIGMAS, use_area=True)
    ev.params.maxDets = [len(poses)]
    ev._prepare()
    gt_oks = np.zeros(len(poses))
    for img_id in coco.getImgIds():
        gts, dts = ev._gts[img_id, 1], ev._dts[img_id, 1]
        if not gts or not dts:
            continue
        ious = np.asarray(ev.computeOks(img_id, 1))
        valid = [not g['iscrowd'] and g['num_keypoints'] > 0 for g in gts]
        if any(valid):
            for d, row in zip(dts, ious):
                gt_oks[d['id'] - 1] = row[np.asarray(valid)].max()
    return gt_oks


def _ece(pred, target):
    total = 0.
    for b in range(10):
        lo, hi = b / 10, (b + 1) / 10
        clipped = np.clip(pred, 0, 1)
        inside = (clipped >= lo) & ((clipped < hi) if b < 9 else
                                    (clipped <= hi))
        if inside.any():
            total += inside.sum() * abs(pred[inside].mean() -
                                        target[inside].mean())
    return total / len(pred)


@pytest.mark.parametrize('use_occluded_ann', [False, True])
def test_summary_reproduced_by_direct_computation(tmp_path, occluded_ann,
                                                  use_occluded_ann):
    ann_file = occluded_ann if use_occluded_ann else SAMPLE_ANN
    poses = _poses(ann_file)
    out_dir = tmp_path / 'analysis'
    analyze_quality(ann_file, _write(tmp_path, poses), str(out_dir))
    with open(out_dir / 'summary.json') as f:
        summary = json.load(f)
    assert set(summary) == {'heatmap', 'oksnet', 'gt_oks'}

    gt_oks = _direct_gt_oks(ann_file, poses)
    scores = {name: np.asarray([p[field] for p in poses])
              for name, field in SCORE_FIELDS.items()}
    scores['gt_oks'] = gt_oks
    coco = COCO(ann_file)
    buckets = occlusion_buckets(coco, coco.getImgIds())
    all_ids = set(coco.getAnnIds())
    for name, values in scores.items():
        entry = summary[name]
        stats = _direct_eval(ann_file, poses, values).stats
        assert [entry[k] for k in ('ap', 'ap50', 'ap75', 'ap_m', 'ap_l',
                                   'ar')] == pytest.approx(stats[:6],
                                                           abs=1e-12)
        for t, ap in entry['ap_at_oks'].items():
            single = _direct_eval(ann_file, poses, values, [float(t)])
            assert ap == pytest.approx(single.stats[0], abs=1e-12), t
        for bucket, result in entry['ap_by_visible'].items():
            ev = _direct_eval(ann_file, poses, values,
                              ignore_ids=all_ids - set(buckets[bucket]))
            expected_num_gt = sum(
                1 for a in coco.loadAnns(buckets[bucket])
                if a['num_keypoints'] > 0 and not a['iscrowd'])
            assert result['num_gt'] == expected_num_gt
            if expected_num_gt == 0:
                assert result['ap'] is None and result['ap75'] is None
                continue
            assert result['ap'] == pytest.approx(ev.stats[0], abs=1e-12)
            single = _direct_eval(ann_file, poses, values, [0.75],
                                  all_ids - set(buckets[bucket]))
            assert result['ap75'] == pytest.approx(single.stats[0],
                                                   abs=1e-12)
        assert entry['ece'] == pytest.approx(_ece(values, gt_oks))
        if name == 'gt_oks':
            assert entry['ece'] == 0
        else:
            assert entry['pearson'] == pytest.approx(
                pearsonr(values, gt_oks)[0])
            assert entry['spearman'] == pytest.approx(
                spearmanr(values, gt_oks)[0])
        errors = entry['scoring_errors']
        low, high = np.quantile(values, [0.25, 0.75])
        assert errors['high_oks_low_score'] == int(
            ((gt_oks >= 0.75) & (values <= low)).sum())
        assert errors['low_oks_high_score'] == int(
            ((gt_oks < 0.5) & (values >= high)).sum())
    if use_occluded_ann:
        # every benchmark is populated, so the test above checked each
        assert all(summary['oksnet']['ap_by_visible'][b]['num_gt'] > 0
                   for b, _, _ in VISIBLE_BUCKETS)

    with open(out_dir / 'details.json') as f:
        details = json.load(f)
    # rescoring rows: MMPose's oks_nms per image, then COCOeval
    for row, score_name in (('OKS-NMS', 'heatmap'),
                            ('OKS-net + OKS-NMS', 'oksnet')):
        by_image = defaultdict(list)
        for i, p in enumerate(poses):
            by_image[p['image_id']].append(i)
        keep = []
        area = COCO(ann_file).loadRes(
            [dict(p, score=1.) for p in poses]).anns
        for indices in by_image.values():
            db = [dict(keypoints=np.asarray(poses[i]['keypoints']).reshape(
                -1, 3), score=scores[score_name][i],
                area=area[i + 1]['area']) for i in indices]
            keep += [indices[k] for k in oks_nms(db, 0.9, sigmas=SIGMAS)]
        kept = [poses[i] for i in sorted(keep)]
        stats = _direct_eval(ann_file, kept,
                             scores[score_name][sorted(keep)]).stats
        assert details['rescoring'][row]['kept'] == len(keep)
        assert details['rescoring'][row]['ap'] == pytest.approx(stats[0])
    # the duplicates overlap: NMS removed some
    assert details['rescoring']['OKS-NMS']['kept'] < len(poses)
    # the selection curve at 0.5
    curve = details['selection']['oksnet']
    kept = scores['oksnet'] >= 0.5
    assert curve['kept'][50] == kept.sum()
    assert curve['precision_0.5'][50] == pytest.approx(
        (gt_oks[kept] >= 0.5).mean())
    assert curve['recall_0.75'][50] == pytest.approx(
        kept[gt_oks >= 0.75].mean())
    for figure in ('scatter_score_vs_gt_oks.png', 'histograms.png',
                   'reliability.png', 'occlusion_pr.png',
                   'scoring_errors.png', 'selection.png'):
        assert osp.getsize(out_dir / figure) > 1000
    report = (out_dir / 'report.md').read_text()
    assert f'| OKS-net | {summary["oksnet"]["ap"] * 100:.1f} |' in report


def test_perfect_and_rank_preserving_scores(tmp_path, occluded_ann):
    """oksnet_score = GT OKS gives the GT-OKS AP everywhere; a monotonic
    transform of a score changes neither its APs nor its Spearman, only its
    Pearson and calibration."""
    poses = _poses(occluded_ann, seed=1)
    gt_oks = _direct_gt_oks(occluded_ann, poses)
    perfect = [dict(p, oksnet_score=float(o)) for p, o in zip(poses, gt_oks)]
    summary = analyze_quality(occluded_ann, _write(tmp_path, perfect))
    for key in ('ap', 'ap50', 'ap75', 'ap_m', 'ap_l', 'ar', 'ap_at_oks',
                'ap_by_visible'):
        assert summary['oksnet'][key] == summary['gt_oks'][key], key
    assert summary['oksnet']['ece'] == 0
    assert summary['oksnet']['pearson'] == pytest.approx(1)

    base = analyze_quality(occluded_ann, _write(tmp_path, poses, 'a.json'))
    squashed = [dict(p, oksnet_score=p['oksnet_score']**3 * 0.5)
                for p in poses]
    ranked = analyze_quality(occluded_ann,
                             _write(tmp_path, squashed, 'b.json'))
    for key in ('ap', 'ap50', 'ap75', 'ap_m', 'ap_l', 'ar', 'ap_at_oks',
                'ap_by_visible'):
        assert ranked['oksnet'][key] == base['oksnet'][key], key
    assert ranked['oksnet']['spearman'] == pytest.approx(
        base['oksnet']['spearman'])
    assert ranked['oksnet']['pearson'] != pytest.approx(
        base['oksnet']['pearson'])
    assert ranked['oksnet']['ece'] != pytest.approx(base['oksnet']['ece'])
    assert ranked['heatmap'] == base['heatmap']


def test_occlusion_buckets_partition_the_gt(occluded_ann):
    coco = COCO(occluded_ann)
    buckets = occlusion_buckets(coco, coco.getImgIds())
    ids = [i for gt_ids in buckets.values() for i in gt_ids]
    assert sorted(ids) == sorted(coco.getAnnIds())  # each exactly once
    for (name, fewest, most) in VISIBLE_BUCKETS:
        for ann in coco.loadAnns(buckets[name]):
            assert fewest <= ann['num_keypoints'] <= most


def test_gt_oks_field_is_used_when_every_pose_has_it(tmp_path):
    poses = _poses(SAMPLE_ANN, seed=2)
    with_field = [dict(p, gt_oks=0.5 + 0.001 * i) for i, p in
                  enumerate(poses)]
    summary = analyze_quality(SAMPLE_ANN, _write(tmp_path, with_field))
    scores = [p['oksnet_score'] for p in poses]
    field = [p['gt_oks'] for p in with_field]
    assert summary['oksnet']['pearson'] == pytest.approx(
        pearsonr(scores, field)[0])


def test_bad_input_is_named_and_nothing_is_written(tmp_path):
    poses = _poses(SAMPLE_ANN)
    cases = {
        'empty.json': ([], ValueError, 'holds no poses'),
        'stranger.json': ([dict(poses[0], image_id=123)] + poses[1:],
                          KeyError, '1 of .* poses have an image_id'),
        'no_oksnet.json': ([{k: v for k, v in p.items()
                             if k != 'oksnet_score'} for p in poses],
                           KeyError, 'pose 0 has no oksnet_score'),
        'short.json': ([dict(poses[0], keypoints=[1., 2., 1.])] + poses[1:],
                       ValueError, "pose 0 has 3 keypoint values; category "
                       "'person' of .* has 17 keypoints"),
    }
    for name, (content, error, message) in cases.items():
        out_dir = tmp_path / name.replace('.json', '')
        with pytest.raises(error) as raised:
            analyze_quality(SAMPLE_ANN, _write(tmp_path, content, name),
                            str(out_dir))
        # the message names the file (what tools/analyze_quality.py prints)
        text = str(raised.value.args[0])
        assert name in text, text
        assert re.search(message, text), (name, text)
        assert not (out_dir / 'summary.json').exists()
    with pytest.raises(FileNotFoundError, match='missing.json not found'):
        analyze_quality(SAMPLE_ANN, str(tmp_path / 'missing.json'),
                        str(tmp_path / 'x'))


def test_crowded_images_cached_oks_equals_plain_cocoeval(tmp_path):
    """The OKS cache gives COCOeval's numbers on a larger, crowded set
    (many poses per GT, more than 20 poses in some images)."""
    with open(SAMPLE_ANN) as f:
        data = json.load(f)
    poses = []
    for seed in range(8):
        poses += _poses(SAMPLE_ANN, seed=10 + seed)
    summary = analyze_quality(SAMPLE_ANN, _write(tmp_path, poses))
    values = np.asarray([p['oksnet_score'] for p in poses])
    assert len(poses) > 20 * len(data['images'])
    stats = _direct_eval(SAMPLE_ANN, poses, values).stats
    assert summary['oksnet']['ap'] == pytest.approx(stats[0], abs=1e-12)
    assert summary['oksnet']['ar'] == pytest.approx(stats[5], abs=1e-12)


def test_rescoring_rows_equal_quality_coco_metric(coco_sample, tmp_path):
    """Analysing the results QualityCocoMetric writes with nms_mode='none'
    gives, for OKS-NMS with each score, the AP the metric itself reports with
    nms_mode='oks_nms' on the same predictions."""
    from oksnet_mmpose.evaluation import QualityCocoMetric
    from tests.test_evaluation.test_quality_coco_metric import (
        METAINFO, _gt_box_samples)
    samples = _gt_box_samples(coco_sample, np.random.default_rng(3))
    # near duplicates, as overlapping detector boxes give, so NMS acts
    rng = np.random.default_rng(4)
    for index, sample in enumerate(list(samples)):
        dup = {k: v for k, v in sample.items() if k != 'raw_ann_info'}
        inst = dict(sample['pred_instances'])
        inst['keypoints'] = inst['keypoints'] + rng.normal(
            0, 0.5, inst['keypoints'].shape).astype(np.float32)
        inst['pose_quality'] = rng.uniform(0, 1, 1)
        dup.update(id=10**6 + index, pred_instances=inst)
        samples.append(dup)
    reports = {}
    for nms_mode in ('none', 'oks_nms'):
        metric = QualityCocoMetric(
            ann_file=SAMPLE_ANN, nms_mode=nms_mode,
            outfile_prefix=str(tmp_path / nms_mode))
        metric.dataset_meta = METAINFO
        metric.process([], samples)
        reports[nms_mode] = metric.evaluate(len(samples))
    details_dir = tmp_path / 'analysis'
    analyze_quality(SAMPLE_ANN, str(tmp_path / 'none.keypoints.json'),
                    str(details_dir))
    with open(details_dir / 'details.json') as f:
        rescoring = json.load(f)['rescoring']
    assert rescoring['OKS-NMS']['kept'] < len(samples)
    assert rescoring['OKS-net + OKS-NMS']['ap'] == pytest.approx(
        reports['oks_nms']['coco/AP'], abs=1e-12)
    assert rescoring['OKS-NMS']['ap'] == pytest.approx(
        reports['oks_nms']['coco-heatmap/AP'], abs=1e-12)


def test_gap_closed():
    summary = {'heatmap': {'ap': .60}, 'oksnet': {'ap': .65},
               'gt_oks': {'ap': .70}}
    assert gap_closed(summary) == pytest.approx(0.5)
    summary['gt_oks']['ap'] = .60
    assert gap_closed(summary) is None
