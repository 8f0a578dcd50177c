# Copyright (c) oksnet-mmpose contributors.
import json
import os
import os.path as osp
from itertools import combinations

import cv2
import numpy as np
import pytest

from oksnet_mmpose.synthetic import (COCO_KEYPOINT_NAMES, COCO_SKELETON,
                                     GENERATOR_VERSION,
                                     generate_synthetic_coco)
from oksnet_mmpose.synthetic.profiles import COCO_LIKE_TARGETS
from oksnet_mmpose.synthetic.statistics import keypoint_statistics
from tests.conftest import SAMPLE_ANN, load_tool

# Not square, so that a swapped width and height would show.
IMAGE_SIZE = (224, 192)
NUM_TRAIN, NUM_VAL, SEED = 16, 12, 0


def _load(path):
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def _read_bytes(path):
    with open(path, 'rb') as f:
        return f.read()


def _generate(out_dir,
              num_train=NUM_TRAIN,
              num_val=NUM_VAL,
              seed=SEED,
              **kwargs):
    kwargs.setdefault('num_workers', 0)
    return generate_synthetic_coco(
        str(out_dir),
        num_train,
        num_val,
        seed=seed,
        image_size=IMAGE_SIZE,
        progress=False,
        **kwargs)


def _image_bytes(paths, split, image):
    return _read_bytes(osp.join(paths[f'{split}_img_dir'], image['file_name']))


def _iou(a, b):
    """IoU of two xywh boxes."""
    iw = max(0., min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0., min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    return _generate(tmp_path_factory.mktemp('synthetic') / 'coco')


def test_layout_and_marker(dataset):
    root = dataset['data_root']
    for key in ('train_ann_file', 'val_ann_file', 'val_bbox_file',
                'marker_file'):
        assert osp.isfile(dataset[key]), key
        assert dataset[key].startswith(root)
    assert dataset['val_bbox_file'] == osp.join(root,
                                                'person_detection_results',
                                                'detections_val.json')
    marker = _load(dataset['marker_file'])
    assert isinstance(marker.pop('version'), str)
    assert marker == dict(
        generator='oksnet_mmpose.synthetic',
        profile='coco_like',
        seed=SEED,
        num_train=NUM_TRAIN,
        num_val=NUM_VAL,
        image_size=list(IMAGE_SIZE))
    for split, num in (('train', NUM_TRAIN), ('val', NUM_VAL)):
        assert len(os.listdir(dataset[f'{split}_img_dir'])) == num


def test_loads_in_xtcocotools_and_mmpose(dataset):
    from mmpose.datasets import CocoDataset
    from xtcocotools.coco import COCO

    root = dataset['data_root']
    for split, num in (('train', NUM_TRAIN), ('val', NUM_VAL)):
        raw = _load(dataset[f'{split}_ann_file'])
        assert raw['categories'] == [
            dict(
                supercategory='person',
                id=1,
                name='person',
                keypoints=list(COCO_KEYPOINT_NAMES),
                skeleton=[list(link) for link in COCO_SKELETON])
        ]
        coco = COCO(dataset[f'{split}_ann_file'])
        assert len(coco.getImgIds()) == num
        assert len(coco.getAnnIds()) == len(raw['annotations'])
        assert coco.getCatIds() == [1]

        ds = CocoDataset(
            ann_file=f'annotations/person_keypoints_{split}.json',
            data_root=root,
            data_prefix=dict(img=f'{split}/'),
            pipeline=[],
            test_mode=False)
        # Top-down MMPose drops people without labelled keypoints.
        labelled = [a for a in raw['annotations'] if a['num_keypoints'] > 0]
        assert len(ds) == len(labelled) > 0
        by_id = {a['id']: a for a in labelled}
        for i in range(len(ds)):
            info = ds[i]
            ann = by_id[info['id']]
            kpts = np.array(ann['keypoints'], dtype=np.float32).reshape(17, 3)
            assert osp.isfile(info['img_path'])
            np.testing.assert_allclose(info['keypoints'][0], kpts[:, :2])
            np.testing.assert_array_equal(info['keypoints_visible'][0],
                                          np.minimum(kpts[:, 2], 1))

    dets = _load(dataset['val_bbox_file'])
    ds = CocoDataset(
        ann_file='annotations/person_keypoints_val.json',
        bbox_file=dataset['val_bbox_file'],
        data_root=root,
        data_prefix=dict(img='val/'),
        pipeline=[],
        test_mode=True)
    assert len(ds) == len(dets) > 0
    for i in (0, len(ds) - 1):
        assert osp.isfile(ds[i]['img_path'])
        assert ds[i]['img_id'] == dets[i]['image_id']


def test_annotations_agree_with_images(dataset):
    img_w, img_h = IMAGE_SIZE
    for split, num in (('train', NUM_TRAIN), ('val', NUM_VAL)):
        raw = _load(dataset[f'{split}_ann_file'])
        images = {im['id']: im for im in raw['images']}
        assert len(images) == num
        for im in raw['images']:
            assert (im['width'], im['height']) == IMAGE_SIZE
            img = cv2.imread(
                osp.join(dataset[f'{split}_img_dir'], im['file_name']))
            assert img is not None and img.shape == (img_h, img_w, 3)
        ann_ids = [a['id'] for a in raw['annotations']]
        assert len(set(ann_ids)) == len(ann_ids)
        for ann in raw['annotations']:
            assert ann['image_id'] in images
            assert ann['category_id'] == 1 and ann['iscrowd'] == 0
            assert len(ann['keypoints']) == 51
            kpts = np.array(ann['keypoints'], dtype=np.float64).reshape(17, 3)
            vis = kpts[:, 2]
            assert set(vis.tolist()) <= {0., 1., 2.}
            assert ann['num_keypoints'] == int((vis > 0).sum())
            assert (kpts[vis == 0] == 0).all()
            x, y, w, h = ann['bbox']
            assert w > 0 and h > 0
            assert x >= 0 and y >= 0 and x + w <= img_w and y + h <= img_h
            # The visible silhouette lies inside its box.
            assert 0 < ann['area'] <= w * h
            labelled = kpts[vis > 0, :2]
            assert (labelled >= 0).all()
            assert (labelled[:, 0] <= img_w - 1).all()
            assert (labelled[:, 1] <= img_h - 1).all()
            assert (labelled[:, 0] >= x).all()
            assert (labelled[:, 0] <= x + w).all()
            assert (labelled[:, 1] >= y).all()
            assert (labelled[:, 1] <= y + h).all()


def test_data_is_not_trivial(dataset):
    """The data holds what makes the heatmap score wrong: occlusion,
    truncation, overlapping people, medium and large people."""
    img_w, img_h = IMAGE_SIZE
    anns = []
    overlapping_images = 0
    for split in ('train', 'val'):
        raw = _load(dataset[f'{split}_ann_file'])
        anns += raw['annotations']
        per_image = {}
        for ann in raw['annotations']:
            per_image.setdefault(ann['image_id'], []).append(ann['bbox'])
        overlapping_images += sum(
            any(_iou(a, b) > 0.1 for a, b in combinations(boxes, 2))
            for boxes in per_image.values())
    vis = np.array([a['keypoints'] for a in anns]).reshape(-1, 17, 3)[..., 2]
    num_kpts = np.array([a['num_keypoints'] for a in anns])
    areas = np.array([a['area'] for a in anns])

    assert (vis == 1).sum() > 0.05 * vis.size  # occluded, labelled
    assert (vis == 0).sum() > 0.05 * vis.size  # hidden or truncated
    # Most labels are visible keypoints.
    assert (vis == 2).sum() > (vis == 1).sum()
    truncated = [
        a for a in anns if a['num_keypoints'] < 17 and (
            a['bbox'][0] <= 0 or a['bbox'][1] <= 0 or a['bbox'][0] +
            a['bbox'][2] >= img_w or a['bbox'][1] + a['bbox'][3] >= img_h)
    ]
    assert truncated
    assert overlapping_images >= 2
    assert ((areas >= 32**2) & (areas < 96**2)).any()
    # (COCO's large range, >= 96^2, in a set this small: the profile
    # statistics test, on 150 images)
    assert (areas >= 64**2).any()
    # People across the occlusion benchmarks of the paper (Fig. 12).
    buckets = [((num_kpts >= lo) & (num_kpts <= hi)).any()
               for lo, hi in ((1, 5), (6, 10), (11, 15), (16, 17))]
    assert sum(buckets) >= 3
    assert np.median(num_kpts) >= 8


def test_detections_look_like_a_person_detector(dataset):
    img_w, img_h = IMAGE_SIZE
    raw = _load(dataset['val_ann_file'])
    gts = {}
    for ann in raw['annotations']:
        gts.setdefault(ann['image_id'], []).append(ann)
    image_ids = {im['id'] for im in raw['images']}
    dets = _load(dataset['val_bbox_file'])
    best_ious = []
    for det in dets:
        assert set(det) == {'image_id', 'category_id', 'bbox', 'score'}
        assert det['image_id'] in image_ids and det['category_id'] == 1
        x, y, w, h = det['bbox']
        assert w > 0 and h > 0
        assert x >= 0 and y >= 0 and x + w <= img_w and y + h <= img_h
        assert 0 < det['score'] <= 1
        best_ious.append(
            max((_iou(det['bbox'], g['bbox'])
                 for g in gts.get(det['image_id'], [])),
                default=0.))
    best_ious = np.array(best_ious)
    scores = np.array([d['score'] for d in dets])
    hits, misses = best_ious >= 0.5, best_ious < 0.5
    # Jittered, not copied, boxes; some false positives; scores that rank
    # the good boxes first on average.
    assert hits.sum() > misses.sum() > 0
    assert (best_ious[hits] < 0.95).any()
    assert scores[hits].mean() > scores[misses].mean()
    recalled = [
        max((_iou(d['bbox'], g['bbox'])
             for d in dets if d['image_id'] == g['image_id']),
            default=0.) >= 0.5 for g in raw['annotations']
    ]
    assert 0.6 <= np.mean(recalled)


def test_deterministic_per_seed(dataset, tmp_path):
    # Worker processes and a shorter run give the same data: each image
    # depends only on (seed, split, index).
    again = _generate(tmp_path / 'again', num_workers=2)
    for key in ('train_ann_file', 'val_ann_file', 'val_bbox_file',
                'marker_file'):
        assert _read_bytes(again[key]) == _read_bytes(dataset[key]), key
    for split in ('train', 'val'):
        names = sorted(os.listdir(dataset[f'{split}_img_dir']))
        assert sorted(os.listdir(again[f'{split}_img_dir'])) == names
        for name in names:
            a = cv2.imread(osp.join(dataset[f'{split}_img_dir'], name))
            b = cv2.imread(osp.join(again[f'{split}_img_dir'], name))
            np.testing.assert_array_equal(a, b)

    prefix = _generate(tmp_path / 'prefix', num_train=3, num_val=2)
    for split, num in (('train', 3), ('val', 2)):
        full = _load(dataset[f'{split}_ann_file'])
        part = _load(prefix[f'{split}_ann_file'])
        assert part['images'] == full['images'][:num]
        ids = {im['id'] for im in part['images']}
        assert part['annotations'] == [
            a for a in full['annotations'] if a['image_id'] in ids
        ]
        for im in part['images']:
            assert _image_bytes(prefix, split,
                                im) == _image_bytes(dataset, split, im)

    other = _generate(
        tmp_path / 'other', num_train=3, num_val=2, seed=SEED + 1)
    assert _load(other['train_ann_file'])['annotations'] != _load(
        prefix['train_ann_file'])['annotations']
    name = _load(other['train_ann_file'])['images'][0]['file_name']
    assert not np.array_equal(
        cv2.imread(osp.join(other['train_img_dir'], name)),
        cv2.imread(osp.join(prefix['train_img_dir'], name)))


@pytest.fixture(scope='module')
def profile_statistics(tmp_path_factory):
    root = tmp_path_factory.mktemp('profiles')
    stats = {}
    for profile in ('coco_like', 'occlusion_stress'):
        paths = generate_synthetic_coco(
            str(root / profile), 150, 0, seed=SEED, num_workers=0,
            progress=False, profile=profile)
        stats[profile] = keypoint_statistics(paths['train_ann_file'])
    return stats


def test_coco_like_statistics_meet_the_documented_targets(
        profile_statistics):
    stats = profile_statistics['coco_like']
    assert stats['num_images'] >= 145
    for key, (low, high) in COCO_LIKE_TARGETS.items():
        assert low <= stats[key] <= high, (key, stats[key], (low, high))
    assert sum(stats[f'area_{r}']
               for r in ('small', 'medium', 'large')) == pytest.approx(1.)


def test_occlusion_stress_is_harder_than_coco_like(profile_statistics):
    easy, hard = (profile_statistics[p]
                  for p in ('coco_like', 'occlusion_stress'))
    assert hard['visible'] < easy['visible'] - 0.08
    assert hard['unlabelled'] > easy['unlabelled'] + 0.05
    assert hard['num_keypoints_1-5'] > easy['num_keypoints_1-5']
    assert hard['num_keypoints_16-17'] < easy['num_keypoints_16-17'] - 0.1


def test_keypoint_statistics_of_the_coco_sample():
    """The statistics of real COCO annotations, counted by hand from the
    4-image val2017 sample (12 people with keypoints, 14 annotated)."""
    stats = keypoint_statistics(SAMPLE_ANN)
    assert stats['num_people'] == 12 and stats['num_images'] == 4
    assert stats['visible'] == pytest.approx(164 / 204)
    assert stats['occluded'] == pytest.approx(17 / 204)
    assert stats['unlabelled'] == pytest.approx(23 / 204)
    assert stats['num_keypoints_11-15'] == pytest.approx(7 / 12)
    assert stats['area_medium'] == pytest.approx(5 / 12)
    assert stats['median_num_keypoints'] == 15


def test_unknown_profile_is_refused(tmp_path):
    with pytest.raises(ValueError, match='coco_like'):
        _generate(tmp_path / 'x', num_train=1, num_val=1, profile='cocoa')
    assert not (tmp_path / 'x').exists()


def test_a_dataset_of_an_older_generator_is_refused(tmp_path):
    root = tmp_path / 'coco'
    paths = _generate(root, num_train=2, num_val=1)
    marker = _load(paths['marker_file'])
    # as generator 1.2 (oksnet_mmpose.datasets.synthetic_people) wrote it
    old = dict(generator='oksnet_mmpose.datasets.synthetic_people',
               version='1.2', seed=SEED, num_train=2, num_val=1,
               image_size=list(IMAGE_SIZE))
    with open(paths['marker_file'], 'w') as f:
        json.dump(old, f)
    with pytest.raises(FileExistsError, match='other parameters'):
        _generate(root, num_train=2, num_val=1)
    # an older version of this generator, or another profile, too
    for changed in (dict(version='1.9'), dict(profile='occlusion_stress')):
        with open(paths['marker_file'], 'w') as f:
            json.dump(dict(marker, **changed), f)
        with pytest.raises(FileExistsError, match='--overwrite'):
            _generate(root, num_train=2, num_val=1)
    assert marker['version'] == GENERATOR_VERSION


def test_existing_output_dir(tmp_path):
    root = tmp_path / 'coco'
    paths = _generate(root, num_train=3, num_val=2, seed=5)
    image = osp.join(paths['train_img_dir'],
                     os.listdir(paths['train_img_dir'])[0])
    stamp = os.stat(image).st_mtime_ns

    # The same parameters: the complete dataset is kept as it is.
    assert _generate(root, num_train=3, num_val=2, seed=5) == paths
    assert os.stat(image).st_mtime_ns == stamp

    # Other parameters, or no completion marker (an interrupted run).
    with pytest.raises(FileExistsError, match='--overwrite') as err:
        _generate(root, num_train=4, num_val=2, seed=5)
    assert str(root) in str(err.value)
    os.remove(paths['marker_file'])
    with pytest.raises(FileExistsError, match='--overwrite') as err:
        _generate(root, num_train=3, num_val=2, seed=5)
    assert str(root) in str(err.value)

    tool = load_tool('generate_synthetic_coco')
    size = [str(v) for v in IMAGE_SIZE]
    args = ['--out-dir', str(root), '--seed', '6', '--image-size', *size]
    args += ['--num-workers', '0', '--num-val', '1']
    with pytest.raises(SystemExit, match='--overwrite'):
        tool.main(args + ['--num-train', '2'])
    # --overwrite deletes the old dataset first: no old image survives.
    tool.main(args + ['--num-train', '2', '--overwrite'])
    assert len(os.listdir(paths['train_img_dir'])) == 2
    assert len(os.listdir(paths['val_img_dir'])) == 1
    marker = _load(paths['marker_file'])
    assert (marker['seed'], marker['num_train'], marker['num_val']) == (6, 2,
                                                                        1)
    assert len(_load(paths['train_ann_file'])['images']) == 2

    # Files the generator did not write are never deleted.
    (root / 'notes.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='notes.txt'):
        _generate(root, num_train=1, num_val=1, overwrite=True)
    assert (root / 'notes.txt').read_text() == 'mine'


def test_bad_arguments(tmp_path):
    blocker = tmp_path / 'a_file'
    blocker.write_text('')
    out_dir = blocker / 'coco'
    with pytest.raises(OSError, match='cannot write') as err:
        _generate(out_dir, num_train=1, num_val=1)
    assert str(out_dir) in str(err.value)
    with pytest.raises(ValueError):
        _generate(tmp_path / 'neg', num_train=-1, num_val=1)
    with pytest.raises(ValueError):
        generate_synthetic_coco(
            str(tmp_path / 'tiny'), 1, 1, image_size=(16, 16), progress=False)
