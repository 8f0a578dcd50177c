# Copyright (c) oksnet-mmpose contributors.
"""The ``keypoint`` variant of the branch (:class:`KeypointOKSNet`) in every
head family: its inputs (the keypoint statistics), its per-keypoint targets
and loss, and its flip-averaged ``keypoint_quality``."""
import numpy as np
import pytest
import torch
from xtcocotools.cocoeval import Params

from oksnet_mmpose.models import KeypointOKSLoss, KeypointOKSNet
from oksnet_mmpose.models.heads.keypoint_oks_net import COCO_OKS_THRESHOLDS
from oksnet_mmpose.models.heads.keypoint_statistics import (
    _local_maxima_2d, keypoint_maps, keypoint_statistics,
    num_keypoint_statistics)
from .oksnet_head_cases import FAMILIES
from .test_oksnet_heads import UNTRAINED_BRANCH_OK, _flipped, _heads, _inputs

KEYPOINT_VARIANT = dict(oks_net=dict(type='KeypointOKSNet'))


def _keypoint_head_with_oks_loss(family, **oks_net):
    """A ``keypoint``-variant head of ``family`` with lambda_OKS = 1."""
    return _heads(family,
                  loss_oks=dict(type='HardMinedOKSLoss', loss_weight=1.),
                  oks_net=dict(type='KeypointOKSNet', **oks_net))[1]


def _gaussian(h, w, x, y, sigma):
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
    return torch.exp(-((xs - x)**2 + (ys - y)**2) / (2 * sigma**2))


def test_heatmap_statistics_locate_the_peak_and_measure_its_shape():
    sharp = _gaussian(32, 24, x=6, y=20, sigma=1.)
    blurred = _gaussian(32, 24, x=6, y=20, sigma=3.)
    two_peaks = sharp + 0.5 * _gaussian(32, 24, x=18, y=4, sigma=1.)
    stats = keypoint_statistics(
        torch.stack([sharp, blurred, two_peaks])[None])[0]
    assert stats.shape == (3, num_keypoint_statistics(('heatmaps', )))
    peak, x, y, spread, second = stats.T
    np.testing.assert_allclose(peak, [1, 1, 1], atol=1e-6)
    np.testing.assert_allclose(x, [6.5 / 24] * 3, atol=1e-6)
    np.testing.assert_allclose(y, [20.5 / 32] * 3, atol=1e-6)
    assert spread[1] > 2 * spread[0]
    assert spread[2] > spread[0]
    assert second[0] < 0.01 and abs(second[2] - 0.5) < 0.01


@pytest.mark.parametrize('dtype', [torch.float32, torch.float16])
def test_local_maxima_are_those_of_a_3x3_max_pool(dtype):
    generator = torch.Generator().manual_seed(0)
    # coarse values: plateaus (ties) inside and on the borders; negatives
    maps = torch.randint(-3, 4, (2, 5, 9, 7), generator=generator).to(dtype)
    maps[0, 0] = 0  # one flat map: every location is a local maximum
    reference = maps.float() >= torch.nn.functional.max_pool2d(
        maps.float(), kernel_size=3, stride=1, padding=1)
    assert torch.equal(_local_maxima_2d(maps), reference)
    assert _local_maxima_2d(maps)[0, 0].all()


def test_simcc_statistics_are_the_same_per_axis():
    x = torch.full((1, 2, 48), -5.)
    y = torch.full((1, 2, 64), -5.)
    x[0, 0, 10], y[0, 0, 40] = 5., 5.
    x[0, 1, 30], y[0, 1, 5] = 2., 2.
    stats = keypoint_statistics((x, y))
    assert stats.shape == (1, 2, num_keypoint_statistics(('x', 'y')))
    np.testing.assert_allclose(stats[0, :, 1], [10.5 / 48, 30.5 / 48])
    np.testing.assert_allclose(stats[0, :, 5], [40.5 / 64, 5.5 / 64])
    # one peak per vector: no second one
    assert torch.all(stats[0, :, 3] == 0) and torch.all(stats[0, :, 7] == 0)
    # the weaker peak leaves more mass elsewhere: a larger spread
    assert stats[0, 1, 2] > stats[0, 0, 2]


def test_keypoint_maps_are_the_heatmaps_on_the_pose_feature_grid():
    heatmaps = torch.rand(2, 3, 32, 24)
    assert torch.equal(keypoint_maps(heatmaps, (32, 24)), heatmaps)
    # another grid: each cell holds the maximum of its block
    coarse = keypoint_maps(heatmaps, (8, 6))
    assert torch.equal(coarse, heatmaps.reshape(2, 3, 8, 4, 6, 4).amax(
        dim=(3, 5)))


def test_simcc_maps_are_the_pooled_outer_product_of_both_axes():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 48, generator=generator)
    y = torch.randn(2, 3, 64, generator=generator)
    maps = keypoint_maps((x, y), (8, 6))
    assert maps.shape == (2, 3, 8, 6)
    # the block maxima of the full product, scaled to a peak of 1
    full = y.softmax(-1)[..., :, None] * x.softmax(-1)[..., None, :]
    pooled = torch.nn.functional.adaptive_max_pool2d(full, (8, 6))
    expected = pooled / pooled.amax(dim=(-2, -1), keepdim=True)
    torch.testing.assert_close(maps, expected)
    peak = maps.flatten(2).argmax(-1)
    assert torch.equal(peak // 6, y.argmax(-1) // 8)
    assert torch.equal(peak % 6, x.argmax(-1) // 8)


def test_branch_reads_the_keypoint_maps_or_names_what_is_missing():
    torch.manual_seed(0)
    net = KeypointOKSNet(in_channels=8, num_keypoints=17, num_statistics=5,
                         feature_size=(24, 32),
                         read_keypoint_maps=True).eval()
    feature, stats = torch.rand(2, 8, 32, 24), torch.rand(2, 17, 5)
    maps = torch.rand(2, 17, 32, 24)
    with torch.no_grad():
        quality = net(feature, stats, maps)[0]
        moved = net(feature, stats, maps.roll(5, dims=-1))[0]
    assert not torch.allclose(quality, moved)
    with pytest.raises(ValueError, match='read_keypoint_maps'):
        net(feature, stats)
    with pytest.raises(ValueError, match=r'\(2, 17, 32, 24\)'):
        net(feature, stats, maps[..., :20])
    with pytest.raises(ValueError, match='8 channels'):
        net(torch.rand(2, 9, 32, 24), stats, maps)
    # by default without the maps: the pose feature's channels alone
    plain = KeypointOKSNet(in_channels=8, num_keypoints=17, num_statistics=5,
                           feature_size=(24, 32)).eval()
    assert plain.in_channels == 8 and net.in_channels == 8 + 17
    with torch.no_grad():
        assert plain(feature, stats)[0].shape == (2, )


def test_branch_without_the_grid_reads_the_pooled_feature_only():
    torch.manual_seed(0)
    net = KeypointOKSNet(in_channels=8, num_keypoints=17, num_statistics=5,
                         feature_size=(24, 32), read_pose_grid=False).eval()
    # the paper's attention and convs are not built (nor in its weights)
    assert not any(name.startswith(('attention.', 'downsample.'))
                   for name in net.state_dict())
    assert net.fc[0].in_features == 2 * 8 + 256
    feature, stats = torch.rand(2, 8, 32, 24), torch.rand(2, 17, 5)
    # a permutation of the locations keeps each channel's mean and max:
    # nothing else of the pose feature is read
    shuffled = feature.flatten(2)[..., torch.randperm(32 * 24)].reshape(
        feature.shape)
    with torch.no_grad():
        quality = net(feature, stats)[0]
        torch.testing.assert_close(net(shuffled, stats)[0], quality)
        assert not torch.allclose(net(2 * feature, stats)[0], quality)
        assert not torch.allclose(net(feature, stats.flip(1))[0], quality)
    grid = KeypointOKSNet(in_channels=8, num_keypoints=17, num_statistics=5,
                          feature_size=(24, 32)).eval()
    with torch.no_grad():
        assert not torch.allclose(grid(shuffled, stats)[0],
                                  grid(feature, stats)[0])
    with pytest.raises(ValueError, match='read_pose_grid=True'):
        KeypointOKSNet(in_channels=8, num_keypoints=17, num_statistics=5,
                       read_keypoint_maps=True, read_pose_grid=False)


@pytest.mark.parametrize('family', FAMILIES)
def test_every_family_trains_a_branch_without_the_grid(family):
    head = _keypoint_head_with_oks_loss(family, read_pose_grid=False)
    head.train()
    feats, samples = _inputs(family)
    losses = head.loss(feats, samples)
    (losses['loss_oks'] + losses['loss_keypoint_oks']).backward()
    # the pooled feature's normalisation learns from the pose feature
    assert head.oks_net.pooled_norm.weight.grad.abs().sum() > 0
    head.eval()
    with torch.no_grad():
        preds = head.predict(feats, samples,
                             dict(flip_test=False, **UNTRAINED_BRANCH_OK))
    assert all(0 <= p.pose_quality[0] <= 1 for p in preds)


def test_statistics_of_an_unknown_layout_are_refused():
    with pytest.raises(ValueError, match='SimCC'):
        keypoint_statistics(torch.zeros(2, 17))


def test_pose_quality_is_the_labelled_weighted_mean_of_keypoint_terms():
    terms = torch.tensor([[0.9, 0.1, 0.5]])
    certain = torch.tensor([[1., 0., 1.]])
    assert torch.allclose(KeypointOKSNet.combine(terms, certain),
                          torch.tensor([0.7]))
    # no keypoint labelled: finite
    assert torch.isfinite(KeypointOKSNet.combine(terms, 0 * certain)).all()


def test_keypoint_loss_ignores_unlabelled_terms_and_invalid_instances():
    loss = KeypointOKSLoss(labelled_weight=0.5)
    logits = torch.zeros(2, 3, requires_grad=True)
    gt_terms = torch.tensor([[0.9, 0.2, 0.5], [0.3, 0.3, 0.3]])
    labelled = torch.tensor([[1., 0., 1.], [1., 1., 1.]])
    weights = torch.tensor([1., 0.])
    value = loss(logits, torch.zeros(2, 3), gt_terms, labelled, weights)
    value.backward()
    grad = logits.grad
    # the unlabelled keypoint and the weight-0 instance get no gradient
    assert grad[0, 1] == 0 and torch.all(grad[1] == 0)
    # a labelled term is pulled towards its target
    assert grad[0, 0] < 0 and grad[0, 2] == 0
    with pytest.raises(ValueError, match='shape'):
        loss(logits, logits, gt_terms[:, :2], labelled, weights)


@pytest.mark.parametrize('family', FAMILIES)
def test_keypoint_variant_trains_on_keypoint_targets(family):
    _, head = _heads(family, loss_oks=dict(type='HardMinedOKSLoss',
                                           loss_weight=1.),
                     **KEYPOINT_VARIANT)
    assert isinstance(head.oks_net, KeypointOKSNet)
    head.train()
    feats, samples = _inputs(family)
    losses = head.loss(feats, samples)
    assert {'loss_oks', 'loss_keypoint_oks', 'mae_oks'} <= set(losses)
    assert torch.isfinite(losses['loss_keypoint_oks'])
    assert losses['loss_keypoint_oks'] > 0
    (losses['loss_oks'] + losses['loss_keypoint_oks']).backward()
    assert head.oks_net.statistics_embedding[1].weight.grad.abs().sum() > 0
    # lambda_OKS scales the keypoint loss too (the switch turns both on)
    head.loss_oks.loss_weight = 0.
    head.zero_grad()
    assert head.loss(feats, samples)['loss_keypoint_oks'] == 0


@pytest.mark.parametrize('family', FAMILIES)
def test_every_family_feeds_its_keypoint_maps_to_the_branch(family):
    head = _keypoint_head_with_oks_loss(family, read_keypoint_maps=True)
    feats, samples = _inputs(family)
    with torch.no_grad():
        encoded, pose_feature = head.forward_encoded_and_pose_feature(feats)
    encoded = encoded[0] if len(encoded) == 1 else encoded
    maps = keypoint_maps(encoded, pose_feature.shape[2:])
    assert maps.shape[:2] == (pose_feature.shape[0], head.out_channels)
    head.eval()
    with torch.no_grad():
        quality, _ = head.run_oks_net(pose_feature, encoded)
        expected = head.oks_net(pose_feature, keypoint_statistics(encoded),
                                maps)[0]
        blank = head.oks_net(pose_feature, keypoint_statistics(encoded),
                             torch.zeros_like(maps))[0]
    torch.testing.assert_close(quality, expected)
    assert not torch.allclose(quality, blank)
    # and it trains: the first conv's weights on the map channels get a
    # gradient
    head.train()
    losses = head.loss(feats, samples)
    (losses['loss_oks'] + losses['loss_keypoint_oks']).backward()
    first_conv = next(m for m in head.oks_net.downsample.modules()
                      if isinstance(m, torch.nn.Conv2d))
    assert first_conv.weight.grad[:, -head.out_channels:].abs().sum() > 0


@pytest.mark.parametrize('family', FAMILIES)
def test_quality_targets_keypoint_terms_average_to_the_oks(family):
    _, head = _heads(family, **KEYPOINT_VARIANT)
    feats, samples = _inputs(family)
    with head.record_forward() as record:
        head.forward(feats)
    targets = head.get_quality_targets(record['encoded'][-1], samples)
    labelled = targets['keypoint_labelled']
    mean_term = (targets['keypoint_similarity'] * labelled).sum(1) / \
        labelled.sum(1).clamp(min=1)
    torch.testing.assert_close(mean_term, targets['gt_oks'])


@pytest.mark.parametrize('family', FAMILIES)
@pytest.mark.parametrize('flip_test', [False, True])
def test_keypoint_quality_is_flip_averaged_like_the_keypoints(
        family, flip_test):
    stock, head = _heads(family, **KEYPOINT_VARIANT)
    feats, samples = _inputs(family)
    test_cfg = dict(flip_test=flip_test, **UNTRAINED_BRANCH_OK)
    views = [feats, _flipped(feats)] if flip_test else feats
    with torch.no_grad():
        stock_preds = stock.predict(views, samples, test_cfg)
        preds = head.predict(views, samples, test_cfg)
        outputs = []
        for view in (views if flip_test else [feats]):
            encoded, pose_feature = head.forward_encoded_and_pose_feature(
                view)
            pose_quality, keypoint_logits = head.run_oks_net(
                pose_feature, encoded[0] if len(encoded) == 1 else encoded)
            outputs.append((pose_quality, keypoint_logits[0]))
    pose_quality = torch.stack([o[0] for o in outputs]).mean(0)
    terms = [o[1].sigmoid() for o in outputs]
    if flip_test:
        flip_indices = samples[0].metainfo['flip_indices']
        terms[1] = terms[1][:, flip_indices]
        # a left/right pair really is swapped back
        assert not torch.equal(terms[1], outputs[1][1].sigmoid())
    keypoint_quality = torch.stack(terms).mean(0)
    for i, (ours, theirs) in enumerate(zip(preds, stock_preds)):
        np.testing.assert_array_equal(ours.keypoints, theirs.keypoints)
        assert ours.keypoint_quality.shape == (1, head.out_channels)
        np.testing.assert_allclose(ours.keypoint_quality[0],
                                   keypoint_quality[i].numpy(), rtol=1e-5)
        np.testing.assert_allclose(ours.pose_quality[0],
                                   pose_quality[i].item(), rtol=1e-5)


def test_paper_branch_predicts_no_keypoint_quality():
    _, head = _heads('heatmap')
    feats, samples = _inputs('heatmap')
    with torch.no_grad():
        preds = head.predict(feats, samples, dict(UNTRAINED_BRANCH_OK))
    assert 'keypoint_quality' not in preds[0]
    assert head.loss_keypoint_oks is None


def test_oks_thresholds_are_cocoevals():
    np.testing.assert_allclose(COCO_OKS_THRESHOLDS,
                               Params(iouType='keypoints').iouThrs)


def test_pose_quality_averages_combined_terms_and_thresholds_reached():
    torch.manual_seed(0)
    net = KeypointOKSNet(in_channels=8, num_keypoints=17, num_statistics=5,
                         feature_size=(24, 32)).eval()
    inputs = (torch.rand(3, 8, 32, 24), torch.rand(3, 17, 5),
              torch.rand(3, 17, 32, 24))
    with torch.no_grad():
        quality, terms, labelled, thresholds = net(*inputs)
    assert thresholds.shape == (3, len(COCO_OKS_THRESHOLDS))
    combined = KeypointOKSNet.combine(terms.sigmoid(), labelled.sigmoid())
    torch.testing.assert_close(
        quality,
        net.read_as_oks((combined + thresholds.sigmoid().mean(-1)) / 2))
    # without thresholds: the combined terms alone, three outputs
    plain = KeypointOKSNet(in_channels=8, num_keypoints=17, num_statistics=5,
                           feature_size=(24, 32), oks_thresholds=()).eval()
    with torch.no_grad():
        outputs = plain(*inputs)
    assert len(outputs) == 3
    torch.testing.assert_close(
        outputs[0],
        KeypointOKSNet.combine(outputs[1].sigmoid(), outputs[2].sigmoid()))


@pytest.mark.parametrize('thresholds',
                         [COCO_OKS_THRESHOLDS, (0.5, 0.75), (0.6, )])
def test_quality_reads_the_mean_of_both_estimates_as_an_oks(thresholds):
    net = KeypointOKSNet(in_channels=8, num_keypoints=17, num_statistics=5,
                         read_pose_grid=False, oks_thresholds=thresholds)
    oks = torch.linspace(0, 1, 201)
    # the share of the thresholds a pose of this OKS reaches, each step a
    # ramp as wide as the thresholds' spacing (0.05 for one threshold)
    width = float(np.diff(thresholds).min()) if len(thresholds) > 1 else .05
    reached = ((oks[:, None] - torch.tensor(thresholds)) / width +
               0.5).clamp(0, 1).mean(-1)
    # a pose whose two estimates are exact gets its OKS back
    torch.testing.assert_close(net.read_as_oks((oks + reached) / 2), oks)
    # strictly increasing: the ranking (so AP) is the mean's
    scores = net.read_as_oks(torch.linspace(0, 1, 1001))
    assert torch.all(scores[1:] > scores[:-1])
    # a function of the thresholds, not weights a checkpoint carries
    assert not any('knot' in key for key in net.state_dict())


def test_threshold_loss_pulls_each_threshold_towards_reached_or_not():
    loss = KeypointOKSLoss(labelled_weight=0., threshold_weight=1.)
    thresholds = (0.5, 0.7, 0.9)
    logits = torch.zeros(2, 3, requires_grad=True)
    terms = torch.full((2, 4), 0.5)
    labelled = torch.ones(2, 4)
    value = loss(torch.zeros(2, 4), torch.zeros(2, 4), terms, labelled,
                 torch.tensor([1., 0.]), threshold_logits=logits,
                 gt_oks=torch.tensor([0.7, 0.2]), oks_thresholds=thresholds)
    value.backward()
    # OKS 0.7 reaches 0.5 and 0.7 (COCOeval matches at >=), not 0.9
    assert logits.grad[0, 0] < 0 and logits.grad[0, 1] < 0
    assert logits.grad[0, 2] > 0
    # a weight-0 instance gets no gradient
    assert torch.all(logits.grad[1] == 0)
    with pytest.raises(ValueError, match='GT OKS'):
        loss(torch.zeros(2, 4), torch.zeros(2, 4), terms, labelled,
             threshold_logits=logits, oks_thresholds=thresholds)


def test_wrong_statistics_shape_is_named():
    net = KeypointOKSNet(in_channels=8, num_keypoints=17, num_statistics=5,
                         feature_size=(24, 32))
    with pytest.raises(ValueError, match=r'\(B, 17, 5\)'):
        net(torch.rand(2, 8, 32, 24), torch.rand(2, 17, 4))


def test_unknown_branch_type_is_named():
    with pytest.raises(KeyError, match='NoSuchNet'):
        _heads('heatmap', oks_net=dict(type='NoSuchNet'))
