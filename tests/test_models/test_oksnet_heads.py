# Copyright (c) oksnet-mmpose contributors.
"""The contract of every OKS-net head family, against the stock head it
extends: same keypoints (bit for bit) from a stock state dict, a finite
non-zero OKS loss, a pose quality in [0, 1] averaged over the flip test,
and clear errors for a metainfo without sigmas or with another keypoint
count."""
import copy

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from .oksnet_head_cases import FAMILIES, get_oks_packed_inputs

MSRA = dict(type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(24, 32),
            sigma=2.)
SIMCC = dict(type='SimCCLabel', input_size=(192, 256),
             smoothing_type='gaussian', sigma=(4.9, 5.66),
             simcc_split_ratio=2.0, normalize=False)
GAU = dict(hidden_dims=32, s=16, expansion_factor=2, dropout_rate=0.,
           drop_path=0., act_fn='SiLU', use_rel_bias=False, pos_enc=False)


def _rand(*shape):
    return torch.rand(2, *shape)


# family: (stock head arguments, feats, get_packed_inputs arguments)
SPECS = {
    'heatmap': (dict(in_channels=32, out_channels=17,
                     deconv_out_channels=(16, 16), deconv_kernel_sizes=(4, 4),
                     decoder=MSRA),
                lambda: [_rand(32, 8, 6)], dict(heatmap_size=(24, 32))),
    'cpm': (dict(num_stages=2, in_channels=16, out_channels=17,
                 decoder=MSRA),
            lambda: [_rand(16, 32, 24), _rand(16, 32, 24)],
            dict(heatmap_size=(24, 32))),
    'mspn': (dict(num_stages=1, num_units=2, out_shape=(32, 24),
                  unit_channels=16, out_channels=17, level_indices=[0, 1],
                  decoder=MSRA),
             lambda: [[_rand(16, 16, 12), _rand(16, 32, 24)]],
             dict(heatmap_size=(24, 32), num_levels=2)),
    'vipnas': (dict(in_channels=32, out_channels=17,
                    deconv_out_channels=(16, 16), deconv_kernel_sizes=(4, 4),
                    deconv_num_groups=(16, 16), decoder=MSRA),
               lambda: [_rand(32, 8, 6)], dict(heatmap_size=(24, 32))),
    'rtmcc': (dict(in_channels=32, out_channels=17, input_size=(192, 256),
                   in_featuremap_size=(6, 8), final_layer_kernel_size=7,
                   gau_cfg=GAU, decoder=SIMCC),
              lambda: [_rand(32, 8, 6)], dict()),
    'simcc': (dict(in_channels=32, out_channels=17, input_size=(192, 256),
                   in_featuremap_size=(6, 8), deconv_out_channels=(16, 16),
                   deconv_kernel_sizes=(4, 4), decoder=SIMCC),
              lambda: [_rand(32, 8, 6)], dict()),
}


# The heads below load a stock state dict, so their branch is the random
# init: predicting with it takes the documented opt-in.
UNTRAINED_BRANCH_OK = dict(allow_untrained_oks_net=True)


def _heads(family, **oksnet_args):
    """A stock head with random weights and the OKS-net head with the same
    weights (stock state dict, strict=False), both in eval mode."""
    stock_class, oksnet_class = FAMILIES[family]
    args = SPECS[family][0]
    torch.manual_seed(0)
    stock = stock_class(**copy.deepcopy(args))
    # random BN statistics, so that loading them is checked too
    for module in stock.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    oksnet = oksnet_class(**copy.deepcopy(args), **oksnet_args)
    result = oksnet.load_state_dict(stock.state_dict(), strict=False)
    assert result.unexpected_keys == []
    # (BatchNorm fills a missing num_batches_tracked without reporting it)
    assert set(result.missing_keys) == {
        k for k in oksnet.state_dict() if k.startswith('oks_net.')
        and not k.endswith('num_batches_tracked')
    } and result.missing_keys
    return stock.eval(), oksnet.eval()


def _inputs(family, batch_size=2):
    torch.manual_seed(1)
    feats = SPECS[family][1]()
    samples = get_oks_packed_inputs(batch_size=batch_size,
                                    **SPECS[family][2])['data_samples']
    if family == 'mspn':
        # MSPN's pipeline packs keypoint weights per level first (L, N, K)
        for sample in samples:
            weights = sample.gt_instance_labels.keypoint_weights
            sample.gt_instance_labels = InstanceData(
                keypoint_weights=weights.transpose(0, 1))
    return feats, samples


def _flipped(feats):
    return [[f.flip(-1) for f in feats[0]]] if isinstance(
        feats[0], list) else [f.flip(-1) for f in feats]


@pytest.mark.parametrize('family', FAMILIES)
@pytest.mark.parametrize('flip_test', [False, True])
def test_keypoints_are_the_stock_heads_and_quality_in_0_1(family, flip_test):
    stock, oksnet = _heads(family)
    feats, samples = _inputs(family)
    test_cfg = dict(
        flip_test=flip_test, output_heatmaps=True, **UNTRAINED_BRANCH_OK)
    views = [feats, _flipped(feats)] if flip_test else feats
    with torch.no_grad():
        stock_preds, stock_fields = stock.predict(views, samples, test_cfg)
        preds, fields = oksnet.predict(views, samples, test_cfg)
        pose_features = [
            oksnet.forward_pose_feature(v)
            for v in (views if flip_test else [feats])
        ]
        expected = torch.stack([oksnet.oks_net(f) for f in pose_features])
    for ours, theirs, f_ours, f_theirs in zip(preds, stock_preds, fields,
                                              stock_fields):
        np.testing.assert_array_equal(ours.keypoints, theirs.keypoints)
        np.testing.assert_array_equal(ours.keypoint_scores,
                                      theirs.keypoint_scores)
        assert torch.equal(f_ours.heatmaps, f_theirs.heatmaps)
        assert ours.pose_quality.shape == (1, )
        assert 0 <= ours.pose_quality[0] <= 1
    # the predicted OKS of the flip test is the mean of both views'
    quality = np.concatenate([p.pose_quality for p in preds])
    np.testing.assert_allclose(quality, expected.mean(0).numpy(), rtol=1e-6)


@pytest.mark.parametrize('family', FAMILIES)
def test_loss_adds_a_finite_oks_loss_to_the_stock_losses(family):
    stock, oksnet = _heads(family, loss_oks=dict(type='HardMinedOKSLoss',
                                                  loss_weight=1.))
    stock.train(), oksnet.train()
    feats, samples = _inputs(family)
    stock_losses = stock.loss(feats, samples)
    losses = oksnet.loss(feats, samples)
    assert set(losses) == set(stock_losses) | {'loss_oks', 'mae_oks'}
    for name, value in stock_losses.items():
        assert torch.equal(losses[name], value), name
    assert torch.isfinite(losses['loss_oks']) and losses['loss_oks'] > 0
    assert 0 <= losses['mae_oks'] <= 1
    losses['loss_oks'].backward()
    assert oksnet.oks_net.fc[-1].weight.grad.abs().sum() > 0


@pytest.mark.parametrize('family', FAMILIES)
def test_oks_target_is_the_oks_of_the_decoded_pose(family):
    _, oksnet = _heads(family)
    feats, samples = _inputs(family)
    with torch.no_grad():
        encoded, _ = oksnet.forward_heatmaps_and_pose_feature(feats)
    # the codec decodes the last stage / unit (heatmaps) or the x, y vectors
    encoded = tuple(encoded) if family in ('rtmcc', 'simcc') else encoded[-1]
    gt_oks, weights = oksnet.get_oks_targets(encoded, samples)
    preds = oksnet.decode(encoded)
    gt = [s.gt_instances for s in samples]
    for oks, pred, g in zip(gt_oks, preds, gt):
        # COCO's OKS of the codec's keypoints, written out
        d2 = ((pred.keypoints[0] - g.transformed_keypoints[0])**2).sum(-1)
        var = (2 * oksnet.sigmas.numpy())**2
        expected = np.exp(-d2 / var / g.transformed_areas[0] / 2).mean()
        assert oks.item() == pytest.approx(expected, rel=1e-5)
    assert weights.tolist() == [1., 1.]


@pytest.mark.parametrize('family', FAMILIES)
def test_encoded_outputs_are_what_the_stock_head_decodes(family):
    """What ONNX export outputs: the stock predict decodes the last stage /
    unit of a heatmap head, and both vectors of a SimCC head."""
    stock, oksnet = _heads(family)
    feats, _ = _inputs(family)
    with torch.no_grad():
        encoded, pose_feature = oksnet.forward_encoded_and_pose_feature(
            feats)
        outputs = stock.forward(feats)
        assert torch.equal(pose_feature, oksnet.forward_pose_feature(feats))
    if family in ('rtmcc', 'simcc'):
        names, expected = ('simcc_x', 'simcc_y'), tuple(outputs)
    else:
        names = ('heatmaps', )
        expected = (outputs, ) if isinstance(outputs,
                                             torch.Tensor) else outputs[-1:]
    assert oksnet.encoded_output_names == names
    assert len(encoded) == len(expected) == len(names)
    for ours, theirs in zip(encoded, expected):
        assert torch.equal(ours, theirs)


@pytest.mark.parametrize('family', ['rtmcc', 'simcc'])
def test_simcc_heads_can_read_the_keypoint_maps(family):
    _, oksnet = _heads(family, pose_feature='keypoint_layer_output')
    feats, samples = _inputs(family)
    with torch.no_grad():
        pose_feature = oksnet.forward_pose_feature(feats)
        preds = oksnet.predict(feats, samples, UNTRAINED_BRANCH_OK)
    # one map per keypoint: what the classifiers read, unflattened
    assert pose_feature.shape == (2, 17, 8, 6) if family == 'rtmcc' else (
        2, 17, 32, 24)
    assert all(0 <= p.pose_quality[0] <= 1 for p in preds)


def test_pose_feature_is_what_the_keypoint_layer_reads():
    feats, _ = _inputs('heatmap')
    _, head = _heads('heatmap')
    with torch.no_grad():
        assert torch.equal(head.forward_pose_feature(feats),
                           head.deconv_layers(feats[-1]))
    feats, _ = _inputs('mspn')
    _, head = _heads('mspn')
    last_unit = head.predict_layers[-1]
    with torch.no_grad():
        assert torch.equal(head.forward_pose_feature(feats),
                           last_unit.conv_layers[0](feats[-1][-1]))
    feats, _ = _inputs('rtmcc')
    _, head = _heads('rtmcc')
    with torch.no_grad():
        assert torch.equal(head.forward_pose_feature(feats), feats[-1])
    feats, _ = _inputs('simcc')
    _, head = _heads('simcc')
    with torch.no_grad():
        assert torch.equal(head.forward_pose_feature(feats),
                           head.deconv_head.deconv_layers(feats[-1]))


def test_simcc_head_without_deconv_and_final_layer():
    stock_class, oksnet_class = FAMILIES['simcc']
    args = dict(SPECS['simcc'][0], deconv_out_channels=None, final_layer=None)
    stock, oksnet = stock_class(**args), oksnet_class(**args)
    oksnet.load_state_dict(stock.state_dict(), strict=False)
    feats, samples = _inputs('simcc')
    with torch.no_grad():
        theirs = stock.predict(feats, samples)
        ours = oksnet.predict(feats, samples, UNTRAINED_BRANCH_OK)
        assert torch.equal(oksnet.forward_pose_feature(feats), feats[-1])
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.keypoints, b.keypoints)


# (the SimCC heads' classifiers fix their feature size)
@pytest.mark.parametrize('family', ['heatmap', 'cpm', 'mspn', 'vipnas'])
def test_other_feature_sizes_work_as_in_the_stock_head(family):
    """A head fed features of another size than its config's still predicts
    (the branch pools to its grid), as the stock head does."""
    stock, oksnet = _heads(family)
    feats, samples = _inputs(family)
    larger = [[torch.nn.functional.interpolate(f, scale_factor=2)
               for f in feats[0]]] if family == 'mspn' else [
                   torch.nn.functional.interpolate(f, scale_factor=2)
                   for f in feats]
    with torch.no_grad():
        theirs = stock.predict(larger, samples)
        ours = oksnet.predict(larger, samples, UNTRAINED_BRANCH_OK)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.keypoints, b.keypoints)
        assert 0 <= a.pose_quality[0] <= 1


def test_head_without_decoder_builds_and_names_what_training_needs():
    """Without a decoder the OKS-net head builds, as the stock head does
    (its branch pools any pose feature size), and names the missing decoder
    when asked for an OKS target."""
    oksnet_class = FAMILIES['heatmap'][1]
    head = oksnet_class(in_channels=32, out_channels=17)
    assert head.oks_net.feature_size is None
    feats = [torch.rand(2, 32, 8, 6)]
    samples = get_oks_packed_inputs(batch_size=2)['data_samples']
    with pytest.raises(ValueError, match=r'model\.head\.decoder'):
        head.loss(feats, samples)


@pytest.mark.parametrize('family', FAMILIES)
def test_metainfo_without_sigmas_is_one_clear_line(family):
    _, oksnet_class = FAMILIES[family]
    with pytest.raises(ValueError, match=r'model\.head\.metainfo') as error:
        oksnet_class(**copy.deepcopy(SPECS[family][0]),
                     metainfo='configs/_base_/datasets/onehand10k.py')
    assert '\n' not in str(error.value)
    assert 'sigmas' in str(error.value)


def test_keypoint_count_not_matching_the_sigmas_is_named():
    """A head whose keypoint count differs from the metainfo's builds (as the
    stock head does); its first OKS target names the config key to set."""
    args = dict(SPECS['heatmap'][0], out_channels=21)
    head = FAMILIES['heatmap'][1](**args)
    feats, samples = _inputs('heatmap')
    samples = get_oks_packed_inputs(batch_size=2, num_keypoints=21,
                                    heatmap_size=(24, 32))['data_samples']
    with pytest.raises(ValueError, match=r'21 keypoints.*17 sigmas.*'
                       r'model\.head\.metainfo'):
        head.loss(feats, samples)
    head = FAMILIES['heatmap'][1](
        **args,
        metainfo=dict(
            from_file='configs/_base_/datasets/coco_wholebody_hand.py'))
    assert len(head.sigmas) == 21
    losses = head.loss(feats, samples)
    assert torch.isfinite(losses['loss_oks'])
