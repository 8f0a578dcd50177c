# Copyright (c) oksnet-mmpose contributors.
"""pose_quality through MMPose's inference APIs: inference_topdown, the
stock MMPoseInferencer (data samples) and OKSNetInferencer (dicts)."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose, pseudo_collate
from mmengine.structures import InstanceData
from mmpose.apis import MMPoseInferencer, inference_topdown

from oksnet_mmpose.apis import (OKSNetInferencer, filter_by_quality,
                                split_instances_with_quality)
from tests.conftest import SAMPLE_DETS, SAMPLE_ROOT
from tests.test_engine.tiny_model import tiny_config

IMAGE_DIR = osp.join(SAMPLE_ROOT, 'val2017')
IMAGE = osp.join(IMAGE_DIR, '000000196141.jpg')


def _whole_image_quality(model, path):
    return inference_topdown(model, path)[0].pred_instances.pose_quality.item()


def test_inference_topdown_gives_the_flip_averaged_quality_per_box(pose_model):
    with open(SAMPLE_DETS) as f:
        dets = json.load(f)
    boxes = np.array([d['bbox'] for d in dets if d['image_id'] == 196141][:3])
    boxes[:, 2:] += boxes[:, :2]  # xywh -> xyxy
    results = inference_topdown(pose_model, IMAGE, boxes)
    quality = np.concatenate([r.pred_instances.pose_quality for r in results])
    assert quality.shape == (3, )

    # the known answer: the branch on the pose feature of each crop and of
    # its flip, averaged (what flip_test does to the heatmaps)
    assert pose_model.cfg.model.test_cfg.flip_test
    pipeline = Compose(pose_model.cfg.test_dataloader.dataset.pipeline)
    batch = pseudo_collate([
        pipeline(
            dict(img_path=IMAGE,
                 bbox=box[None],
                 bbox_score=np.ones(1, np.float32),
                 **pose_model.dataset_meta)) for box in boxes
    ])
    inputs = pose_model.data_preprocessor(batch)['inputs']
    head = pose_model.head
    with torch.no_grad():
        views = [inputs, inputs.flip(-1)]
        expected = torch.stack([
            head.forward_with_quality(pose_model.extract_feat(view))[1]
            for view in views
        ]).mean(0).flatten().numpy()
    np.testing.assert_allclose(quality, expected, atol=1e-6)
    # a quality per pose, not a constant
    assert np.ptp(quality) > 1e-6
    assert ((quality >= 0) & (quality <= 1)).all()


def test_stock_mmpose_inferencer_carries_pose_quality_in_datasamples(
        trained_oksnet, pose_model):
    inferencer = MMPoseInferencer(pose2d=trained_oksnet.config,
                                  pose2d_weights=trained_oksnet.checkpoint,
                                  det_model='whole_image',
                                  device='cpu')
    sample = next(inferencer(IMAGE, return_datasamples=True))
    quality = sample['predictions'][0].pred_instances.pose_quality
    np.testing.assert_allclose(quality,
                               [_whole_image_quality(pose_model, IMAGE)],
                               atol=1e-6)
    # ... but its instance dicts drop it: why OKSNetInferencer exists
    stock = next(inferencer(IMAGE))['predictions'][0]
    assert len(stock) == 1 and 'pose_quality' not in stock[0]


def test_oksnet_inferencer_adds_pose_quality_and_filters_by_it(
        trained_oksnet, pose_model, tmp_path):
    inferencer = OKSNetInferencer(trained_oksnet.config,
                                  trained_oksnet.checkpoint,
                                  det_model='whole_image',
                                  device='cpu')
    # a folder of two sample images (each model run costs CPU time)
    image_dir = tmp_path / 'images'
    image_dir.mkdir()
    for name in sorted(os.listdir(IMAGE_DIR))[1:3]:
        os.symlink(osp.join(IMAGE_DIR, name), image_dir / name)
    images = sorted(str(p) for p in image_dir.iterdir())
    expected = [_whole_image_quality(pose_model, p) for p in images]

    results = list(inferencer(str(image_dir), pred_out_dir=str(tmp_path)))
    got = []
    for path, result in zip(images, results):
        (instance, ) = result['predictions'][0]
        # the shipped (keypoint) branch also says which keypoints to trust
        assert set(instance) == {
            'keypoints', 'keypoint_scores', 'bbox', 'bbox_score',
            'pose_quality', 'keypoint_quality'
        }
        assert len(instance['keypoint_quality']) == len(instance['keypoints'])
        assert all(0 <= q <= 1 for q in instance['keypoint_quality'])
        got.append(instance['pose_quality'])
        name = osp.splitext(osp.basename(path))[0]
        with open(tmp_path / f'{name}.json') as f:
            assert json.load(f) == [instance]
    np.testing.assert_allclose(got, expected, atol=1e-6)

    # the median of two qualities keeps the better pose only
    thr = float(np.median(got))
    kept = [
        len(r['predictions'][0])
        for r in inferencer(str(image_dir), quality_thr=thr)
    ]
    assert kept == [int(q >= thr) for q in got]
    assert sorted(kept) == [0, 1]


def test_oksnet_inferencer_refuses_a_model_without_oks_net():
    cfg = tiny_config()
    cfg.model.head.type = 'HeatmapHead'
    for key in ('loss_oks', 'loss_keypoint_oks', 'oks_net', 'metainfo'):
        cfg.model.head.pop(key, None)  # what only an OKS-net head takes
    with pytest.raises(ValueError,
                       match=r'OKSNetPose2DInferencer: the model '
                       r'\(TopdownPoseEstimator\) has the head HeatmapHead, '
                       r'not an OKS-net head \(the registered OKS-net heads: '
                       r'.*OKSNetCPMHead'):
        OKSNetInferencer(cfg, det_model='whole_image', device='cpu')


def test_quality_filter_and_instance_dicts():
    instances = InstanceData(keypoints=np.zeros((3, 17, 2)),
                             keypoint_scores=np.ones((3, 17)),
                             bboxes=np.array([[0, 0, 10, 20]] * 3,
                                             dtype=np.float32),
                             bbox_scores=np.array([0.9, 0.8, 0.7],
                                                  dtype=np.float32),
                             pose_quality=np.array([0.2, 0.5, 0.7],
                                                   dtype=np.float32))
    kept = filter_by_quality(instances, 0.5)
    np.testing.assert_array_equal(kept.bbox_scores, np.float32([0.8, 0.7]))
    assert len(filter_by_quality(instances, None)) == 3
    dicts = split_instances_with_quality(kept)
    assert [d['pose_quality'] for d in dicts] == pytest.approx([0.5, 0.7])
    json.dumps(dicts)  # plain Python numbers
    with pytest.raises(ValueError, match=r'quality_thr must be in \[0, 1\]'):
        filter_by_quality(instances, 1.5)
    del instances.pose_quality
    with pytest.raises(KeyError, match='no `pose_quality`'):
        filter_by_quality(instances, 0.5)


def test_given_boxes_and_no_whole_image_fallback(trained_oksnet, pose_model,
                                                 tmp_path):
    """``bboxes`` replaces the (absent) detector, with the detector's
    selection; without a box, ``whole_image_fallback=False`` gives no pose
    and a drawing that says so, rather than the whole image's pose."""
    inferencer = OKSNetInferencer(trained_oksnet.config,
                                  trained_oksnet.checkpoint,
                                  det_model='whole_image',
                                  device='cpu')
    with open(SAMPLE_DETS) as f:
        dets = [d for d in json.load(f) if d['image_id'] == 196141]
    boxes = np.array([d['bbox'] + [d['score']] for d in dets], np.float32)
    boxes[:, 2:4] += boxes[:, :2]  # xywh -> xyxy
    boxes = boxes[np.argsort(-boxes[:, 4])][:2]
    low = boxes[1, 4]
    vis_dir = tmp_path / 'vis'
    with_boxes, no_box = inferencer([IMAGE, IMAGE],
                                    bboxes=[boxes, np.zeros((0, 5))],
                                    bbox_thr=float(low) - 1e-3,
                                    whole_image_fallback=False,
                                    return_datasamples=True,
                                    vis_out_dir=str(vis_dir),
                                    kpt_thr=0.)  # every keypoint drawn
    expected = inference_topdown(pose_model, IMAGE, boxes[:, :4])
    sample = with_boxes['predictions'][0]
    np.testing.assert_allclose(
        sample.pred_instances.pose_quality,
        [e.pred_instances.pose_quality.item() for e in expected],
        atol=1e-6)
    np.testing.assert_allclose(sample.pred_instances.bbox_scores, boxes[:, 4])
    assert sample.metainfo['num_person_boxes'] == 2
    empty = no_box['predictions'][0]
    assert len(empty.pred_instances) == 0
    assert empty.metainfo['num_person_boxes'] == 0
    # the drawing (one file name for both inputs: the second replaced it,
    # and no temporary file is left)
    assert os.listdir(vis_dir) == [osp.basename(IMAGE)]

    # a box at the threshold is dropped, as MMPose drops detections
    (result, ) = inferencer([IMAGE],
                            bboxes=[boxes],
                            bbox_thr=float(low),
                            return_datasamples=True)
    assert len(result['predictions'][0].pred_instances) == 1
    # the stock fallback: no box, the whole image's pose
    (result, ) = inferencer([IMAGE], bboxes=[np.zeros((0, 5))])
    (instance, ) = result['predictions'][0]
    assert instance['pose_quality'] == pytest.approx(
        _whole_image_quality(pose_model, IMAGE), abs=1e-6)


def test_a_video_drawing_appears_only_when_complete(trained_oksnet,
                                                    tmp_path):
    video = str(tmp_path / 'clip.avi')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'MJPG'), 5,
                             (96, 128))
    for name in sorted(os.listdir(IMAGE_DIR))[:2]:
        writer.write(cv2.resize(cv2.imread(osp.join(IMAGE_DIR, name)),
                                (96, 128)))
    writer.release()
    inferencer = OKSNetInferencer(trained_oksnet.config,
                                  trained_oksnet.checkpoint,
                                  det_model='whole_image',
                                  device='cpu')
    out_dir = tmp_path / 'out'
    results = inferencer(video, vis_out_dir=str(out_dir),
                         pred_out_dir=str(out_dir))
    next(results)
    (partial, ) = os.listdir(out_dir)  # the first frame, under a temp name
    assert partial.startswith('.clip.') and partial.endswith('.mp4')
    results.close()  # stopped before the last frame: nothing is left
    assert os.listdir(out_dir) == []

    frames = list(
        inferencer(video, vis_out_dir=str(out_dir),
                   pred_out_dir=str(out_dir)))
    assert sorted(os.listdir(out_dir)) == ['clip.json', 'clip.mp4']
    with open(out_dir / 'clip.json') as f:
        saved = json.load(f)
    assert saved == [
        dict(frame_id=i, instances=frame['predictions'][0])
        for i, frame in enumerate(frames)
    ]
    assert 'pose_quality' in saved[1]['instances'][0]
    drawn = cv2.VideoCapture(str(out_dir / 'clip.mp4'))
    assert drawn.get(cv2.CAP_PROP_FRAME_COUNT) == 2


def test_keypoint_variant_gives_keypoint_quality_per_instance(
        trained_oksnet, tmp_path):
    """A ``keypoint`` branch's per-keypoint quality reaches the instance
    dicts (and a no-person image's empty instances keep the field)."""
    from mmengine.config import Config
    from mmengine.runner.checkpoint import save_checkpoint
    from mmpose.apis import init_model
    cfg = Config.fromfile(trained_oksnet.config)
    cfg.model.head.oks_net = dict(type='KeypointOKSNet')
    config = str(tmp_path / 'keypoint_variant.py')
    cfg.dump(config)
    torch.manual_seed(0)
    model = init_model(config, device='cpu')
    checkpoint = str(tmp_path / 'keypoint_variant.pth')
    save_checkpoint(dict(state_dict=model.state_dict(),
                         meta=dict(dataset_meta=model.dataset_meta)),
                    checkpoint)
    model = init_model(config, checkpoint, device='cpu')
    expected = inference_topdown(model, IMAGE)[0].pred_instances
    assert expected.keypoint_quality.shape == (1, 17)

    inferencer = OKSNetInferencer(config, checkpoint,
                                  det_model='whole_image', device='cpu')
    (instance, ) = next(iter(inferencer(IMAGE)))['predictions'][0]
    assert len(instance['keypoint_quality']) == 17
    np.testing.assert_allclose(instance['keypoint_quality'],
                               expected.keypoint_quality[0], atol=1e-6)
    assert all(0 <= q <= 1 for q in instance['keypoint_quality'])
    np.testing.assert_allclose(instance['pose_quality'],
                               expected.pose_quality[0], atol=1e-6)
    assert inferencer.inferencer._no_person_sample(
        IMAGE, (10, 10)).pred_instances.keypoint_quality.shape == (0, 17)
