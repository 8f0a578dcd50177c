# Copyright (c) oksnet-mmpose contributors.
"""decode_keypoints_batched against each MMPose codec's own decode, on random
and on realistic maps (the codec's encoding of the real COCO sample poses,
plus noise, border maxima and empty maps)."""
import json

import numpy as np
import pytest
import torch
from mmpose.codecs import MSRAHeatmap
from mmpose.registry import KEYPOINT_CODECS

import oksnet_mmpose.codecs.batched_decode as batched_decode
from oksnet_mmpose.codecs import decode_keypoints_batched, has_batched_decode
from tests.conftest import SAMPLE_ANN

TOLERANCE = 1e-3  # px, input image space

S = dict(input_size=(192, 256), heatmap_size=(48, 64))
L = dict(input_size=(288, 384), heatmap_size=(72, 96))
CODECS = {
    'msra':
    dict(type='MSRAHeatmap', sigma=2, **S),
    'msra-384':
    dict(type='MSRAHeatmap', sigma=3, **L),
    'dark':
    dict(type='MSRAHeatmap', sigma=2, unbiased=True, **S),
    'dark-384-k17':
    dict(type='MSRAHeatmap', sigma=3, unbiased=True, blur_kernel_size=17, **L),
    'dark-k5':
    dict(type='MSRAHeatmap', sigma=1, unbiased=True, blur_kernel_size=5, **S),
    'udp':
    dict(type='UDPHeatmap', sigma=2, **S),
    'udp-384-k17':
    dict(type='UDPHeatmap', sigma=3, blur_kernel_size=17, **L),
    'udp-combined':
    dict(type='UDPHeatmap', sigma=2, heatmap_type='combined', **S),
    'megvii-k11':
    dict(type='MegviiHeatmap', kernel_size=11, **S),
    'megvii-k5':
    dict(type='MegviiHeatmap', kernel_size=5, **S),
    'simcc':
    dict(type='SimCCLabel',
         input_size=(192, 256),
         sigma=6.0,
         simcc_split_ratio=2.0),
    'rtmpose':
    dict(type='SimCCLabel',
         input_size=(192, 256),
         sigma=(4.9, 5.66),
         simcc_split_ratio=2.0,
         normalize=False,
         use_dark=False),
    'rtmpose-384':
    dict(type='SimCCLabel',
         input_size=(288, 384),
         sigma=(6.93, 7.99),
         simcc_split_ratio=2.0,
         normalize=False,
         use_dark=False),
    'rtmw-visibility':
    dict(type='SimCCLabel',
         input_size=(288, 384),
         sigma=(6., 6.93),
         simcc_split_ratio=2.0,
         normalize=False,
         use_dark=False,
         decode_visibility=True),
    'simcc-dark':
    dict(type='SimCCLabel',
         input_size=(192, 256),
         sigma=6.0,
         simcc_split_ratio=2.0,
         use_dark=True),
    'regression':
    dict(type='RegressionLabel', input_size=(192, 256)),
}


def _codec(name):
    return KEYPOINT_CODECS.build(CODECS[name])


def _is_simcc(codec):
    return type(codec).__name__ == 'SimCCLabel'


def _codec_decode(codec, encoded):
    """The codec's own decode, per instance (as MMPose's heads call it)."""
    if _is_simcc(codec):
        simcc_x, simcc_y = (e.copy() for e in encoded)
        if codec.use_dark:  # its DARK step needs the instance axis
            return np.stack([
                codec.decode(simcc_x[i:i + 1], simcc_y[i:i + 1])[0][0]
                for i in range(len(simcc_x))
            ])
        return np.stack(
            [codec.decode(x, y)[0][0] for x, y in zip(simcc_x, simcc_y)])
    if type(codec).__name__ == 'RegressionLabel':
        return codec.decode(encoded.copy())[0]
    return np.stack([codec.decode(e.copy())[0][0] for e in encoded])[..., :2]


def _ours(codec, encoded):
    if isinstance(encoded, tuple):
        return decode_keypoints_batched(
            codec, tuple(torch.from_numpy(e) for e in encoded))
    return decode_keypoints_batched(codec, torch.from_numpy(encoded))


def _shapes(codec, batch):
    K = 17
    if _is_simcc(codec):
        W, H = (int(s * codec.simcc_split_ratio) for s in codec.input_size)
        return (batch, K, W), (batch, K, H)
    if type(codec).__name__ == 'RegressionLabel':
        return (batch, K, 2)
    W, H = codec.heatmap_size
    if getattr(codec, 'heatmap_type', None) == 'combined':
        K *= 3
    return (batch, K, H, W)


def _random(codec, rng, batch=6):
    """Uniform and normal noise, with empty maps, all-negative maps and
    maxima on and next to the border."""
    shapes = _shapes(codec, batch)
    if type(codec).__name__ == 'RegressionLabel':
        return rng.random(shapes).astype(np.float32)
    if not isinstance(shapes, tuple) or isinstance(shapes[0], int):
        shapes = (shapes, )
    encoded = []
    for shape in shapes:
        e = rng.random(shape).astype(np.float32)
        e[1] = rng.normal(size=shape[1:])
        # invalid maxima; UDP reads past keypoint 0's map (wraps around)
        e[2, 0:2] = -rng.random(e[2, 0:2].shape)
        e[2, 2:4] = 0
        for k, i in enumerate([0, 1, 2, -3, -2, -1]):
            e[3, k, ..., i] = 2.  # a line of maxima: the first one counts
            if e.ndim == 4:
                e[4, k, i, :] = 2.
                e[5, k, i, i] = 3.
        encoded.append(e)
    return tuple(encoded) if len(encoded) == 2 else encoded[0]


def _coco_poses(input_size):
    """The annotated people of the sample images, their box mapped onto the
    model input, after a first pose with keypoints on and near the input's
    border."""
    with open(SAMPLE_ANN) as f:
        annotations = json.load(f)['annotations']
    keypoints, visible = [], []
    for ann in annotations:
        if ann['num_keypoints'] == 0:
            continue
        kpt = np.array(ann['keypoints'], dtype=np.float32).reshape(-1, 3)
        x0, y0, w, h = ann['bbox']
        xy = (kpt[:, :2] - [x0, y0]) / [max(w, 1), max(h, 1)]
        keypoints.append(xy * input_size)
        visible.append((kpt[:, 2] > 0).astype(np.float32))
    border = np.array(keypoints[0])
    border[:6, 0] = [0, 1, 3, input_size[0] - 1, input_size[0] - 2, 0.4]
    border[6:12, 1] = [0, 2, input_size[1] - 1, input_size[1] - 3, 5, 0.2]
    keypoints.insert(0, border)
    visible.insert(0, np.ones(17, dtype=np.float32))
    return np.stack(keypoints), np.stack(visible)


def _realistic(codec, rng):
    """The codec's own encoding of the COCO sample poses (invisible
    keypoints give empty maps), the first two (the border pose and a real
    one) exact, the rest with noise of 5 % of the peak."""
    keypoints, visible = _coco_poses(np.array(codec.input_size))
    if type(codec).__name__ == 'RegressionLabel':
        encoded = np.stack([
            codec.encode(k[None], v[None])['keypoint_labels'][0]
            for k, v in zip(keypoints, visible)
        ]).astype(np.float32)
        return encoded + rng.normal(scale=0.01, size=encoded.shape).astype(
            np.float32)
    outputs = [
        codec.encode(k[None], v[None]) for k, v in zip(keypoints, visible)
    ]
    if _is_simcc(codec):
        names = ('keypoint_x_labels', 'keypoint_y_labels')
        encoded = [np.stack([o[n][0] for o in outputs]) for n in names]
    else:
        encoded = [np.stack([o['heatmaps'] for o in outputs])]
    noisy = []
    for e in encoded:
        peak = np.abs(e).max()
        noise = rng.normal(scale=0.05 * peak, size=e.shape)
        noise[:2] = 0
        noisy.append((e + noise).astype(np.float32))
    return tuple(noisy) if len(noisy) == 2 else noisy[0]


def _jitter(encoded, rng):
    """Every value moved by one float32 ulp, up or down."""
    if isinstance(encoded, tuple):
        return tuple(_jitter(e, rng) for e in encoded)
    ulp = np.float32(2**-23) * rng.choice([-1, 1], size=encoded.shape)
    return (encoded + encoded * ulp).astype(np.float32)


def _rounding_sensitivity(codec, encoded, expected, rng, trials=3):
    """How far the codec's own decode moves when its input moves by one
    float32 ulp: where DARK's Newton step is ill-conditioned (a flat or
    near-zero blurred map, e.g. pure noise), float32 rounding alone moves
    MMPose's result by more than the tolerance."""
    sensitivity = np.zeros_like(expected)
    for _ in range(trials):
        moved = np.abs(_codec_decode(codec, _jitter(encoded, rng)) - expected)
        sensitivity = np.maximum(sensitivity, np.nan_to_num(moved))
    return sensitivity


def _error(ours, expected):
    """|ours - expected|, 0 where both are NaN (MMPose's 0/0 on an empty
    map is reproduced), inf where only one is."""
    error = np.abs(ours - expected)
    both_nan = np.isnan(ours) & np.isnan(expected)
    return np.where(both_nan, 0., np.nan_to_num(error, nan=np.inf))


@pytest.mark.parametrize('name', list(CODECS))
@pytest.mark.parametrize('maps', ['random', 'realistic'])
def test_batched_decode_equals_codec_decode(name, maps):
    """Within 1e-3 px of the codec's decode; where the codec's own result
    moves under a one-ulp change of its input (the blurred codecs on noise:
    the OpenCV blur and ours round differently, by a few ulps), within 10
    times that movement. The noise-free encoded poses (the first two
    realistic samples) are held to 1e-3 px throughout."""
    codec = _codec(name)
    assert has_batched_decode(codec)
    rng = np.random.default_rng(0)
    encoded = (_random if maps == 'random' else _realistic)(codec, rng)
    with np.errstate(all='ignore'):
        expected = _codec_decode(codec, encoded)
        sensitivity = _rounding_sensitivity(codec, encoded, expected, rng)
    ours = _ours(codec, encoded)
    assert ours.shape == expected.shape
    assert ours.dtype == torch.float32
    error = _error(ours.numpy(), expected)
    tolerance = TOLERANCE + 10 * sensitivity
    worst = np.unravel_index(np.argmax(error - tolerance), error.shape)
    assert (error <= tolerance).all(), (
        f'{(error > tolerance).sum()} coordinates off, worst at {worst}: '
        f'ours {ours.numpy()[worst]}, codec {expected[worst]}, codec moves '
        f'by {sensitivity[worst]} under rounding')
    if maps == 'realistic':
        assert (error[:2] <= TOLERANCE).all()


@pytest.mark.parametrize('name', ['dark', 'udp', 'simcc-dark', 'rtmpose'])
def test_no_host_path(name, monkeypatch):
    """The implemented codecs never call the codec's decode nor take a
    tensor to the host, and keep the input's device; autocast does not
    change the result, and bf16 input is decoded in float32."""
    codec = _codec(name)
    encoded = _random(codec, np.random.default_rng(2))
    if isinstance(encoded, tuple):
        encoded = tuple(torch.from_numpy(e) for e in encoded)
        half = tuple(e.bfloat16() for e in encoded)
    else:
        encoded = torch.from_numpy(encoded)
        half = encoded.bfloat16()
    expected = decode_keypoints_batched(codec, encoded)

    def host_copy(*args, **kwargs):
        raise AssertionError('host copy in the batched decode')

    monkeypatch.setattr(codec, 'decode', host_copy)
    for method in ('numpy', 'cpu', 'item', 'tolist', '__array__'):
        monkeypatch.setattr(torch.Tensor, method, host_copy)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        ours = decode_keypoints_batched(codec, encoded)
    from_half = decode_keypoints_batched(codec, half)
    monkeypatch.undo()

    assert ours.device == expected.device and ours.dtype == torch.float32
    assert not ours.requires_grad
    exact = dict(rtol=0, atol=0, equal_nan=True)
    torch.testing.assert_close(ours, expected, **exact)
    assert from_half.dtype == torch.float32
    upcast = tuple(e.float()
                   for e in half) if isinstance(half, tuple) else half.float()
    torch.testing.assert_close(from_half,
                               decode_keypoints_batched(codec, upcast),
                               **exact)


class ShiftedMSRAHeatmap(MSRAHeatmap):
    """A codec with its own decode: not the batched MSRA path."""

    def decode(self, encoded):
        keypoints, scores = super().decode(encoded)
        return keypoints + 1, scores


def test_fallback_uses_the_codec_decode_and_warns_once(monkeypatch):
    codec = ShiftedMSRAHeatmap(sigma=2, **S)
    assert not has_batched_decode(codec)
    warnings = []
    monkeypatch.setattr(batched_decode, 'print_log',
                        lambda msg, **kwargs: warnings.append(msg))
    monkeypatch.setattr(batched_decode, '_WARNED', set())
    encoded = _random(codec, np.random.default_rng(3))
    expected = _codec_decode(codec, encoded)
    for _ in range(2):
        ours = _ours(codec, encoded)
        np.testing.assert_array_equal(ours.numpy(), expected)
        assert ours.dtype == torch.float32
    assert len(warnings) == 1
    assert 'ShiftedMSRAHeatmap' in warnings[0] and 'host' in warnings[0]


def test_wrong_encoded_type_is_a_clear_error():
    with pytest.raises(ValueError, match=r'simcc_x \(B, K, Wx\)'):
        decode_keypoints_batched(_codec('simcc'), torch.rand(2, 17, 64, 48))
    with pytest.raises(ValueError, match=r'heatmap tensor \(B, K, H, W\)'):
        decode_keypoints_batched(
            _codec('udp'), (torch.rand(2, 17, 384), torch.rand(2, 17, 512)))
