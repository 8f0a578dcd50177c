# Copyright (c) oksnet-mmpose contributors.
"""oksnet_mmpose.apis.inferencers.file_inference (what tools/demo.py runs)
on the sample images and a video made of them, with the checkpoint trained
by the tests: box sources, parity with OKSNetInferencer and
inference_topdown, the quality threshold, outputs, and bad input."""
import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmpose.apis import inference_topdown

from oksnet_mmpose.apis import OKSNetInferencer, infer_files, load_boxes_file
from tests.conftest import SAMPLE_DETS, SAMPLE_ROOT

IMAGE_DIR = osp.join(SAMPLE_ROOT, 'val2017')
IMAGES = sorted(os.listdir(IMAGE_DIR))
STEMS = [osp.splitext(name)[0] for name in IMAGES]
# above the default 0.3: 14 of the 118 sample detections, a faster test
BBOX_THR = 0.8


@pytest.fixture(scope='module')
def infer(trained_oksnet):
    """Run :func:`infer_files` with the trained checkpoint on the CPU."""

    def run(input_path, out_dir, **options):
        return infer_files(str(input_path),
                           trained_oksnet.config,
                           trained_oksnet.checkpoint,
                           str(out_dir),
                           device='cpu',
                           **options)

    return run


@pytest.fixture(scope='module')
def boxes_run(infer, tmp_path_factory):
    """The sample folder with the sample detections."""
    out_dir = tmp_path_factory.mktemp('boxes_run')
    result = infer(IMAGE_DIR, out_dir, boxes=SAMPLE_DETS, bbox_thr=BBOX_THR)
    assert result.kind == 'images' and result.no_person == []
    assert result.names == [osp.join(IMAGE_DIR, name) for name in IMAGES]
    return out_dir


def _read_json(path):
    with open(path) as f:
        return json.load(f)


def _load_outputs(out_dir):
    return {
        stem: _read_json(osp.join(out_dir, f'{stem}.json'))
        for stem in STEMS
    }


def _xyxy(instance):
    (box, ) = instance['bbox']  # MMPose writes [[x1, y1, x2, y2]]
    return box


def test_boxes_json_poses_have_inference_topdown_quality(
        boxes_run, pose_model):
    results = _load_outputs(boxes_run)
    # one JSON and one drawn image per input image, nothing else
    assert sorted(
        os.listdir(boxes_run)) == sorted(IMAGES +
                                         [f'{stem}.json' for stem in STEMS])
    dets = _read_json(SAMPLE_DETS)
    num_poses = 0
    for name, stem in zip(IMAGES, STEMS):
        result = results[stem]
        assert result['status'] == 'ok'
        assert result['box_source'] == 'boxes_file'
        # the person boxes of the JSON scoring above --bbox-thr, after NMS:
        # each is the box of one detection of this image
        image_boxes = [
            d['bbox'] for d in dets
            if d['image_id'] == int(stem) and d['score'] > BBOX_THR
        ]
        instances = result['instances']
        assert 0 < len(instances) <= len(image_boxes)
        assert result['num_person_boxes'] == len(instances)
        boxes = np.array([_xyxy(i) for i in instances])
        for x1, y1, x2, y2 in boxes:
            assert any(
                np.allclose([x1, y1, x2 - x1, y2 - y1], box, atol=1e-3)
                for box in image_boxes)
        # the same boxes through MMPose's API
        expected = inference_topdown(pose_model, osp.join(IMAGE_DIR, name),
                                     boxes)
        # the boxes come back from the JSON written as floats, and a batch
        # of another size sums in another order: a few 1e-6 apart (seen in
        # a fresh clone's CI: 3.5e-6); a keypoint moved on a near-tie
        # heatmap maximum (below) moves the branch's keypoint statistics and
        # so the quality too (seen: 8.6e-5); another box would move it by
        # far more than 1e-3
        np.testing.assert_allclose(
            [i['pose_quality'] for i in instances],
            [e.pred_instances.pose_quality.item() for e in expected],
            atol=1e-3)
        # the same boxes a few 1e-6 apart can move a keypoint whose heatmap
        # has two near-equal maxima (seen in a fresh clone's CI: 1 of 85);
        # all others agree to 1e-3 px
        close = np.abs(
            np.asarray([i['keypoints'] for i in instances]) -
            np.asarray([e.pred_instances.keypoints[0]
                        for e in expected])).max(-1) <= 1e-3
        assert close.mean() >= 0.95, close
        num_poses += len(instances)
    qualities = [
        i['pose_quality'] for r in results.values() for i in r['instances']
    ]
    assert np.ptp(qualities) > 1e-6 and num_poses == len(qualities)


def test_the_poses_are_those_of_oksnet_inferencer(boxes_run,
                                                  trained_oksnet):
    """infer_files is OKSNetInferencer with the boxes file's boxes: the
    same poses and pose_quality, to the last bit."""
    inferencer = OKSNetInferencer(trained_oksnet.config,
                                  trained_oksnet.checkpoint,
                                  det_model='whole_image',
                                  device='cpu')
    paths = [osp.join(IMAGE_DIR, name) for name in IMAGES]
    results = inferencer(paths,
                         bboxes=load_boxes_file(SAMPLE_DETS, paths),
                         bbox_thr=BBOX_THR)
    for stem, result in zip(STEMS, results):
        written = _read_json(osp.join(boxes_run, f'{stem}.json'))
        assert written['instances'] == result['predictions'][0]
        assert len(written['instances']) > 0


def test_drawn_images_are_valid_and_of_the_input_size(boxes_run):
    for name in IMAGES:
        drawn = cv2.imread(osp.join(boxes_run, name))
        original = cv2.imread(osp.join(IMAGE_DIR, name))
        assert drawn is not None and drawn.shape == original.shape
        # something was drawn: boxes and OKS labels
        assert np.abs(drawn.astype(int) - original).max() > 100


def test_quality_thr_keeps_exactly_the_poses_at_or_above_it(
        infer, boxes_run, tmp_path):
    every = _load_outputs(boxes_run)
    qualities = [
        i['pose_quality'] for r in every.values() for i in r['instances']
    ]
    thr = float(np.median(qualities))
    result = infer(IMAGE_DIR, tmp_path, boxes=SAMPLE_DETS, bbox_thr=BBOX_THR,
                   quality_thr=thr, draw=False)
    kept = _load_outputs(tmp_path)
    num_kept = 0
    for stem in STEMS:
        expected = [
            i for i in every[stem]['instances'] if i['pose_quality'] >= thr
        ]
        assert kept[stem]['instances'] == expected
        assert kept[stem]['quality_thr'] == thr
        assert kept[stem]['num_below_quality_thr'] == (
            len(every[stem]['instances']) - len(expected))
        num_kept += len(expected)
    assert 0 < num_kept < len(qualities)
    # draw=False: the JSON only
    assert sorted(os.listdir(tmp_path)) == sorted(f'{s}.json' for s in STEMS)
    assert result.summary() == (
        f'4 images: {num_kept} poses written, {len(qualities) - num_kept} '
        f'below quality_thr {thr}; outputs in {tmp_path}')


def test_whole_image_boxes(infer, pose_model, tmp_path):
    assert infer(IMAGE_DIR, tmp_path).no_person == []
    for name, stem in zip(IMAGES, STEMS):
        result = _read_json(tmp_path / f'{stem}.json')
        (instance, ) = result['instances']
        h, w = cv2.imread(osp.join(IMAGE_DIR, name)).shape[:2]
        assert (result['width'], result['height']) == (w, h)
        assert result['box_source'] == 'whole_image'
        assert _xyxy(instance) == [0, 0, w, h]
        # MMPose's own whole-image default (no boxes)
        (expected, ) = inference_topdown(pose_model, osp.join(IMAGE_DIR, name))
        assert instance['pose_quality'] == pytest.approx(
            expected.pred_instances.pose_quality.item(), abs=1e-6)
        assert cv2.imread(str(tmp_path / name)).shape == (h, w, 3)


def test_video_gives_a_drawn_video_and_one_json_with_every_frame(
        infer, pose_model, tmp_path):
    size = (160, 120)
    video = str(tmp_path / 'clip.avi')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'MJPG'), 5, size)
    for name in IMAGES[:2]:
        writer.write(cv2.resize(cv2.imread(osp.join(IMAGE_DIR, name)), size))
    writer.release()
    # the frames as decoded (MJPG is lossy)
    capture, frames = cv2.VideoCapture(video), []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    assert len(frames) == 2

    out_dir = tmp_path / 'out'
    result = infer(video, out_dir)
    assert result.kind == 'video' and result.no_person == []
    assert result.names == [f'{video}#frame 0', f'{video}#frame 1']
    assert sorted(os.listdir(out_dir)) == ['clip.json', 'clip.mp4']
    result = _read_json(out_dir / 'clip.json')
    assert (result['video'], result['num_frames'], result['width'],
            result['height']) == (video, 2, *size)
    assert [f['frame_id'] for f in result['frames']] == [0, 1]
    for frame, entry in zip(frames, result['frames']):
        assert entry['status'] == 'ok'
        (instance, ) = entry['instances']
        (expected, ) = inference_topdown(pose_model, frame)
        assert instance['pose_quality'] == pytest.approx(
            expected.pred_instances.pose_quality.item(), abs=1e-6)
    drawn = cv2.VideoCapture(str(out_dir / 'clip.mp4'))
    assert (drawn.get(cv2.CAP_PROP_FRAME_WIDTH),
            drawn.get(cv2.CAP_PROP_FRAME_HEIGHT)) == size
    num_drawn = 0
    while drawn.read()[0]:
        num_drawn += 1
    assert num_drawn == 2


def test_unreadable_video_is_named_and_nothing_is_written(infer, tmp_path):
    video = tmp_path / 'broken.mp4'
    video.write_bytes(b'not a video' * 100)
    out_dir = tmp_path / 'out'
    with pytest.raises(ValueError, match=f'cannot open video {video}'):
        infer(video, out_dir)
    assert not out_dir.exists() or not os.listdir(out_dir)


def test_a_webcam_that_gives_no_frame_is_an_error(infer, tmp_path):
    """A webcam is read by MMPose's inferencer; camera 99 does not open."""
    out_dir = tmp_path / 'out'
    with pytest.raises(ValueError,
                       match='no frame could be read from video webcam:99'):
        infer('webcam:99', out_dir)
    assert not out_dir.exists()


def test_unreadable_image_is_named_and_nothing_is_written(infer, tmp_path):
    image_dir = tmp_path / 'images'
    image_dir.mkdir()
    os.symlink(osp.join(IMAGE_DIR, IMAGES[0]), image_dir / IMAGES[0])
    broken = image_dir / 'broken.jpg'
    broken.write_bytes(b'not an image' * 10)
    out_dir = tmp_path / 'out'
    with pytest.raises(ValueError, match=f'cannot read image {broken}'):
        infer(image_dir, out_dir)
    assert not out_dir.exists()


def test_boxes_json_naming_an_unknown_image_is_refused(infer, tmp_path):
    dets = _read_json(SAMPLE_DETS)
    unknown_id = dict(dets[0], image_id=999)
    unknown_name = dict(dets[0], file_name='000000999999.jpg')
    unknown_name.pop('image_id')
    for entry in (unknown_id, unknown_name):
        boxes = tmp_path / 'boxes.json'
        boxes.write_text(json.dumps(dets + [entry]))
        out_dir = tmp_path / 'out'
        with pytest.raises(ValueError) as raised:
            infer(IMAGE_DIR, out_dir, boxes=str(boxes))
        err = str(raised.value)
        assert f'boxes file {boxes}, entry {len(dets)}' in err
        assert ('image_id 999 names no image' in err
                or "file_name '000000999999.jpg' is not one of the 4 input "
                'images' in err)
        assert not out_dir.exists()


def test_boxes_json_image_ids_through_an_annotation_file(infer, tmp_path):
    # images renamed: their ids only map through the annotation file
    image_dir = tmp_path / 'images'
    image_dir.mkdir()
    ann = {'images': []}
    for index, name in enumerate(IMAGES):
        shutil.copy(osp.join(IMAGE_DIR, name), image_dir / f'img{index}.jpg')
        ann['images'].append({
            'id': int(osp.splitext(name)[0]),
            'file_name': f'img{index}.jpg'
        })
    ann_file = tmp_path / 'ann.json'
    ann_file.write_text(json.dumps(ann))
    # the best detection of each image, by image_id only
    best = {}
    for det in _read_json(SAMPLE_DETS):
        if det['score'] > best.get(det['image_id'], {'score': -1})['score']:
            best[det['image_id']] = det
    boxes = tmp_path / 'boxes.json'
    boxes.write_text(json.dumps(list(best.values())))
    out_dir = tmp_path / 'out'
    # without it the ids follow COCO file naming, and name no input image
    with pytest.raises(ValueError,
                       match=r'image_id 785 names no image \(ids are mapped '
                       'by COCO file naming'):
        infer(image_dir, out_dir, boxes=str(boxes))
    infer(image_dir, out_dir, boxes=str(boxes), boxes_ann=str(ann_file),
          draw=False)
    for index, name in enumerate(IMAGES):
        det = best[int(osp.splitext(name)[0])]
        (instance, ) = _read_json(out_dir / f'img{index}.json')['instances']
        x1, y1, x2, y2 = _xyxy(instance)
        np.testing.assert_allclose([x1, y1, x2 - x1, y2 - y1],
                                   det['bbox'],
                                   atol=1e-3)
        assert instance['bbox_score'] == pytest.approx(det['score'])


def test_missing_checkpoint_is_named(trained_oksnet, tmp_path):
    missing = str(tmp_path / 'no_such.pth')
    with pytest.raises(FileNotFoundError,
                       match=f'pose checkpoint not found: {missing}'):
        infer_files(IMAGE_DIR, trained_oksnet.config, missing,
                    str(tmp_path / 'out'), device='cpu')
    assert not (tmp_path / 'out').exists()


def test_arguments_that_do_not_go_together_are_refused(tmp_path):
    image = osp.join(IMAGE_DIR, IMAGES[0])
    out_dir = str(tmp_path / 'out')
    for options, message in (
        (dict(det_config='det.py'), 'det_config and det_checkpoint go'),
        (dict(det_config='det.py', det_checkpoint='det.pth',
              boxes=SAMPLE_DETS), 'a detector or a boxes file, not both'),
        (dict(boxes_ann='ann.json'), 'boxes_ann maps the image ids of a '
         'boxes file: it needs boxes'),
        (dict(quality_thr=1.5), r'quality_thr must be in \[0, 1\]'),
    ):
        with pytest.raises(ValueError, match=message):
            infer_files(image, 'pose.py', 'pose.pth', out_dir, **options)
    with pytest.raises(FileNotFoundError, match='input not found: nope.jpg'):
        infer_files('nope.jpg', 'pose.py', 'pose.pth', out_dir)
    assert not (tmp_path / 'out').exists()


def test_detector_that_finds_no_person(infer, tmp_path):
    """A real RTMDet-tiny with random weights; --bbox-thr 1 leaves no box
    (scores are sigmoids, below 1)."""
    from mmdet.registry import MODELS as DET_MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    det_config = tmp_path / 'rtmdet_tiny.py'
    det_config.write_text(
        "_base_ = 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py'\n")
    init_default_scope('mmdet')
    torch.manual_seed(0)
    detector = DET_MODELS.build(Config.fromfile(str(det_config)).model)
    det_checkpoint = tmp_path / 'rtmdet_tiny_random.pth'
    torch.save({'state_dict': detector.state_dict()}, str(det_checkpoint))
    init_default_scope('mmpose')

    image = osp.join(IMAGE_DIR, IMAGES[0])
    out_dir = tmp_path / 'out'
    result = infer(image, out_dir, det_config=str(det_config),
                   det_checkpoint=str(det_checkpoint), bbox_thr=1.)
    # done, but no person box
    assert result.no_person == [image]
    result = _read_json(out_dir / f'{STEMS[0]}.json')
    assert result['status'] == 'no_person_detected'
    assert result['box_source'] == 'detector'
    assert result['instances'] == [] and result['num_person_boxes'] == 0
    assert f'the detector {det_config} found no person' in result['message']
    assert 'bbox_thr=1.0' in result['message']
    # the drawn image says so too, at the input size
    drawn = cv2.imread(str(out_dir / IMAGES[0]))
    assert drawn.shape == cv2.imread(image).shape
