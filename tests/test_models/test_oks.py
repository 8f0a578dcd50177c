# Copyright (c) oksnet-mmpose contributors.
import numpy as np
import pytest
import torch
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from xtcocotools.cocoeval import COCOeval

from oksnet_mmpose import compute_oks

SIGMAS = parse_pose_metainfo(
    dict(from_file='configs/_base_/datasets/coco.py'))['sigmas']


def _perturbed_predictions(coco, rng):
    """One prediction per GT instance with labelled keypoints: the GT moved
    by noise scaled to the person, so OKS spreads over (0, 1)."""
    results = []
    for ann in coco.loadAnns(coco.getAnnIds()):
        if ann['num_keypoints'] == 0:
            continue
        gt = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
        scale = np.sqrt(ann['area']) * rng.uniform(0.02, 0.3)
        pred = gt[:, :2] + rng.normal(0, scale, size=(17, 2))
        results.append(
            dict(image_id=ann['image_id'], category_id=1, score=1.0,
                 ann_id=ann['id'],
                 keypoints=np.concatenate([pred, np.ones((17, 1))],
                                          1).reshape(-1).tolist()))
    return results


def test_compute_oks_matches_xtcocotools(coco_sample):
    rng = np.random.default_rng(0)
    dets = _perturbed_predictions(coco_sample, rng)
    coco_dt = coco_sample.loadRes(
        [{k: v for k, v in d.items() if k != 'ann_id'} for d in dets])
    coco_eval = COCOeval(coco_sample, coco_dt, 'keypoints', SIGMAS,
                         use_area=True)
    coco_eval.params.imgIds = sorted(coco_sample.getImgIds())
    coco_eval.evaluate()  # prepares _gts/_dts for computeOks

    checked, few_visible = 0, 0
    for img_id in coco_eval.params.imgIds:
        ious = np.asarray(coco_eval.computeOks(img_id, 1))
        dts = coco_eval._dts[img_id, 1]
        gts = coco_eval._gts[img_id, 1]
        # computeOks sorts detections by score (all 1 here: stable order)
        order = np.argsort([-d['score'] for d in dts], kind='mergesort')
        for row, det_index in enumerate(order):
            det = dts[det_index]
            for col, gt in enumerate(gts):
                if gt['num_keypoints'] == 0:
                    continue  # COCOeval's bbox-distance fallback case
                g = np.asarray(gt['keypoints'], np.float64).reshape(-1, 3)
                d = np.asarray(det['keypoints'], np.float64).reshape(-1, 3)
                ours = compute_oks(
                    torch.from_numpy(d[None, :, :2]),
                    torch.from_numpy(g[None, :, :2]),
                    torch.from_numpy(g[None, :, 2]),
                    torch.tensor([gt['area']], dtype=torch.float64),
                    torch.tensor(SIGMAS, dtype=torch.float64))
                assert float(ours[0]) == pytest.approx(
                    ious[row, col], abs=1e-4)
                checked += 1
                few_visible += int(gt['num_keypoints'] <= 13)
    assert checked >= 20 and few_visible > 0


def test_compute_oks_batched_float32_and_edge_cases():
    rng = np.random.default_rng(1)
    gt = torch.tensor(rng.uniform(0, 100, (3, 17, 2)), dtype=torch.float32)
    pred = gt + 2.0
    visible = torch.ones(3, 17)
    visible[1, 5:] = 0  # few visible keypoints
    visible[2] = 0  # none visible
    areas = torch.tensor([900., 400., 100.])
    oks = compute_oks(pred, gt, visible, areas, torch.tensor(SIGMAS))

    variances = (2 * torch.tensor(SIGMAS))**2
    expected0 = torch.exp(-8.0 / variances / 900. / 2).mean()
    expected1 = torch.exp(-8.0 / variances[:5] / 400. / 2).mean()
    assert torch.allclose(oks[:2], torch.stack([expected0, expected1]))
    assert oks[2] == 0 and torch.isfinite(oks).all()
    # a perfect pose has OKS 1
    assert compute_oks(gt, gt, visible[:1].expand(3, -1), areas,
                       torch.tensor(SIGMAS)).allclose(torch.ones(3))


@pytest.mark.parametrize('shapes, message', [
    (((2, 17, 2), (2, 17, 3), (2, 17), (2, ), (17, )), 'pred_keypoints'),
    (((2, 17, 2), (2, 17, 2), (2, 16), (2, ), (17, )), 'gt_visible'),
    (((2, 17, 2), (2, 17, 2), (2, 17), (3, ), (17, )), 'areas'),
    (((2, 17, 2), (2, 17, 2), (2, 17), (2, ), (16, )), 'sigmas'),
])
def test_compute_oks_shape_errors(shapes, message):
    args = [torch.zeros(s) for s in shapes]
    with pytest.raises(ValueError, match=message):
        compute_oks(*args)
