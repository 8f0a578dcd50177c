# Copyright (c) oksnet-mmpose contributors.
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData
from mmpose.codecs import MSRAHeatmap, UDPHeatmap
from mmpose.structures import PoseDataSample

from oksnet_mmpose import compute_oks
from oksnet_mmpose.codecs import decode_msra_heatmaps
from oksnet_mmpose.models import OKSNetHead

CODEC = dict(
    type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64),
    sigma=2)


def _head(**kwargs):
    cfg = dict(in_channels=32, out_channels=17, deconv_out_channels=None,
               decoder=CODEC)
    cfg.update(kwargs)
    return OKSNetHead(**cfg)


def _sample(keypoints, visible, area):
    sample = PoseDataSample()
    sample.gt_instances = InstanceData(
        transformed_keypoints=keypoints[None].astype(np.float32),
        keypoints_visible=visible[None].astype(np.float32),
        transformed_areas=np.array([area], dtype=np.float32))
    sample.set_metainfo(dict(flip_indices=list(range(17))))
    return sample


def test_batched_decoding_equals_codec():
    rng = np.random.default_rng(0)
    heatmaps = rng.normal(size=(6, 17, 64, 48)).astype(np.float32)
    heatmaps[0, :3] = 0  # non-positive maxima -> location -1, no shift
    heatmaps[1, 0, 0, 0] = 50  # maxima on the border: no shift there
    heatmaps[1, 1, 63, 47] = 50
    heatmaps[1, 2, 10, 1] = 50  # x == 1 is not refined by MMPose either
    codec = MSRAHeatmap(**{k: v for k, v in CODEC.items() if k != 'type'})
    expected = np.stack([codec.decode(hm)[0][0] for hm in heatmaps])
    ours = decode_msra_heatmaps(torch.from_numpy(heatmaps),
                                codec.scale_factor).numpy()
    np.testing.assert_array_equal(ours, expected)


def test_oks_targets_are_the_oks_of_the_decoded_pose():
    head = _head()
    rng = np.random.default_rng(1)
    heatmaps = torch.from_numpy(
        rng.normal(size=(3, 17, 64, 48)).astype(np.float32))
    gt = rng.uniform(0, 190, size=(3, 17, 2))
    visible = np.ones((3, 17))
    visible[1, 4:] = 0
    visible[2] = 0  # no labelled keypoint -> weight 0
    samples = [_sample(gt[i], visible[i], 3000.) for i in range(3)]
    gt_oks, weights = head.get_oks_targets(heatmaps, samples)

    decoded = torch.from_numpy(
        np.stack([head.decoder.decode(hm.numpy())[0][0] for hm in heatmaps]))
    expected = compute_oks(decoded, torch.tensor(gt, dtype=torch.float32),
                           torch.tensor(visible), torch.full((3, ), 3000.),
                           head.sigmas)
    assert torch.allclose(gt_oks, expected)
    assert weights.tolist() == [1., 1., 0.]


def test_udp_targets_are_decoded_batched_as_the_codec_does():
    udp = dict(type='UDPHeatmap', input_size=(192, 256),
               heatmap_size=(48, 64), sigma=2)
    head = _head(decoder=udp)
    codec = UDPHeatmap(input_size=(192, 256), heatmap_size=(48, 64), sigma=2)
    keypoints = np.random.default_rng(2).uniform(10, 180, (2, 17, 2))
    heatmaps = torch.from_numpy(
        np.stack([
            codec.encode(k[None], np.ones((1, 17)))['heatmaps']
            for k in keypoints
        ]))
    expected = np.stack([codec.decode(h.numpy())[0][0] for h in heatmaps])
    np.testing.assert_allclose(head.decode_keypoints(heatmaps).numpy(),
                               expected, rtol=0, atol=1e-3)


def test_loss_is_finite_and_branch_gets_gradient():
    head = _head()
    feats = (torch.randn(2, 32, 64, 48), )
    samples = [
        _sample(np.full((17, 2), 50.), np.ones(17), 2000.) for _ in range(2)
    ]
    for s in samples:
        s.gt_fields = PixelData(heatmaps=torch.rand(17, 64, 48))
        s.gt_instance_labels = InstanceData(keypoint_weights=torch.ones(1, 17))
    losses = head.loss(feats, samples)
    assert set(losses) >= {'loss_kpt', 'loss_oks', 'mae_oks', 'acc_pose'}
    assert all(torch.isfinite(v) for v in losses.values())
    (losses['loss_kpt'] + losses['loss_oks']).backward()
    assert head.oks_net.fc[-1].weight.grad.abs().sum() > 0


def test_flip_test_quality_is_the_mean_of_both_views():
    head = _head().eval()
    feats, feats_flip = (torch.randn(2, 32, 64, 48), ), (
        torch.randn(2, 32, 64, 48), )
    samples = [_sample(np.zeros((17, 2)), np.ones(17), 1.) for _ in range(2)]
    with torch.no_grad():
        preds = head.predict([feats, feats_flip], samples,
                             dict(flip_test=True))
        q = head.oks_net(feats[0]).numpy()
        q_flip = head.oks_net(feats_flip[0]).numpy()
        single = head.predict(feats, samples, dict(flip_test=False))
    quality = np.concatenate([p.pose_quality for p in preds])
    np.testing.assert_allclose(quality, (q + q_flip) / 2, rtol=1e-6)
    np.testing.assert_allclose(
        np.concatenate([p.pose_quality for p in single]), q, rtol=1e-6)
    assert all(p.keypoints.shape == (1, 17, 2) for p in preds)


def test_bad_inputs_get_clear_errors():
    head = _head()
    samples = [_sample(np.zeros((17, 2)), np.ones(17), 100.)]
    bad = torch.rand(1, 17, 64, 48)
    bad[0, 3, 5, 5] = float('nan')
    with pytest.raises(FloatingPointError, match=r'samples \[0\].*NaN'):
        head.get_oks_targets(bad, samples)

    del samples[0].gt_instances.transformed_areas
    with pytest.raises(KeyError, match='PackOKSPoseInputs'):
        head.get_oks_targets(torch.rand(1, 17, 64, 48), samples)

    # 16 keypoints vs COCO's 17 sigmas: named at the first OKS target
    # (the stock head builds with any out_channels)
    head = _head(out_channels=16)
    samples = [_sample(np.zeros((16, 2)), np.ones(16), 100.)]
    with pytest.raises(ValueError, match='16 keypoints.*17 sigmas'):
        head.get_oks_targets(torch.rand(1, 16, 64, 48), samples)


def test_all_zero_heatmaps_give_finite_targets():
    head = _head()
    samples = [_sample(np.full((17, 2), 20.), np.ones(17), 500.)]
    gt_oks, weights = head.get_oks_targets(torch.zeros(1, 17, 64, 48),
                                           samples)
    # the codec puts every keypoint at -1 (x scale): a finite, low OKS
    assert torch.isfinite(gt_oks).all() and 0 <= gt_oks.item() < 0.05
