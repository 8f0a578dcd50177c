# Copyright (c) oksnet-mmpose contributors.
"""Batched decoding of MMPose codecs on the encoded tensors' device: the
keypoints the codec's own (per-instance, numpy) ``decode`` gives, for a
whole batch, without a host copy. The OKS-net heads use it for their online
GT-OKS target in every training step."""
import logging
from typing import Callable, Dict, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.logging import print_log
from mmpose.codecs import (IntegralRegressionLabel, MegviiHeatmap, MSRAHeatmap,
                           RegressionLabel, SimCCLabel, UDPHeatmap)
from torch import Tensor

from .utils import (gaussian_blur, gaussian_blur_reflect, get_heatmap_maximum,
                    get_simcc_maximum, refine_keypoints, refine_keypoints_dark,
                    refine_keypoints_dark_udp, refine_simcc_dark)

Encoded = Union[Tensor, Tuple[Tensor, ...]]


def _scale(keypoints: Tensor, factor: Sequence[float]) -> Tensor:
    """``keypoints * factor`` per axis with the factors as kernel scalars,
    not a tensor copied to the device in every step."""
    return torch.stack([
        keypoints[..., 0] * float(factor[0]),
        keypoints[..., 1] * float(factor[1])
    ],
                       dim=-1)


def decode_msra_heatmaps(heatmaps: Tensor,
                         scale_factor: Sequence[float],
                         unbiased: bool = False,
                         blur_kernel_size: int = 11) -> Tensor:
    """:meth:`MSRAHeatmap.decode` for a batch (B, K, H, W): arg-max, then a
    quarter-pixel shift towards the higher neighbour, or with
    ``unbiased=True`` the DARK refinement, then the heatmap-to-input scale.

    Returns:
        Tensor: Keypoints in the input image space, shape (B, K, 2).
    """
    keypoints, _ = get_heatmap_maximum(heatmaps)
    if unbiased:
        keypoints = refine_keypoints_dark(keypoints, heatmaps,
                                          blur_kernel_size)
    else:
        keypoints = refine_keypoints(keypoints, heatmaps)
    return _scale(keypoints, scale_factor)


def decode_udp_heatmaps(heatmaps: Tensor,
                        input_size: Sequence[int],
                        heatmap_type: str = 'gaussian',
                        blur_kernel_size: int = 11,
                        radius_factor: float = 0.0546875) -> Tensor:
    """:meth:`UDPHeatmap.decode` for a batch: (B, K, H, W) Gaussian heatmaps
    with UDP's DARK step, or (B, 3K, H, W) 'combined' maps (blurred
    classification map, arg-max, plus the regressed offset there)."""
    H, W = heatmaps.shape[-2:]
    if heatmap_type == 'gaussian':
        keypoints, _ = get_heatmap_maximum(heatmaps)
        keypoints = refine_keypoints_dark_udp(keypoints, heatmaps,
                                              blur_kernel_size)
    elif heatmap_type == 'combined':
        if heatmaps.shape[1] % 3:
            raise ValueError(
                "UDPHeatmap(heatmap_type='combined'): expected 3 maps per "
                f'keypoint, got {heatmaps.shape[1]} channels')
        B, K = heatmaps.shape[0], heatmaps.shape[1] // 3
        cls_heatmaps = gaussian_blur_reflect(heatmaps[:, 0::3],
                                             2 * blur_kernel_size + 1)
        radius = radius_factor * max(W, H)
        keypoints, _ = get_heatmap_maximum(cls_heatmaps)
        # MMPose's flat index into the K offset maps: an invalid keypoint
        # (-1, -1) reads the previous map's last row, or wraps around
        x, y = keypoints.long().unbind(-1)
        index = x + y * W + W * H * torch.arange(K, device=x.device)
        index = (index % (K * H * W)).view(B, K)
        x_offset = heatmaps[:, 1::3].reshape(B, -1).gather(1, index)
        y_offset = heatmaps[:, 2::3].reshape(B, -1).gather(1, index)
        keypoints = keypoints + torch.stack([x_offset, y_offset], -1) * radius
    else:
        raise ValueError(f'UDPHeatmap: invalid heatmap_type {heatmap_type}')
    # MMPose promotes this scaling to float64
    keypoints = keypoints.double()
    return _scale(keypoints,
                  (input_size[0] / (W - 1), input_size[1] / (H - 1))).float()


def decode_megvii_heatmaps(heatmaps: Tensor, scale_factor: Sequence[float],
                           kernel_size: int) -> Tensor:
    """:meth:`MegviiHeatmap.decode` for a batch (B, K, H, W): blur, arg-max,
    then a quarter pixel towards the higher neighbour plus half a pixel,
    away from the border."""
    H, W = heatmaps.shape[-2:]
    heatmaps = gaussian_blur(heatmaps, kernel_size, exact_symmetry=True)
    keypoints, _ = get_heatmap_maximum(heatmaps)
    shifted = refine_keypoints(keypoints, heatmaps) + 0.5
    x, y = keypoints.unbind(-1)
    inside = (1 < x) & (x < W - 1) & (1 < y) & (y < H - 1)
    keypoints = torch.where(inside[..., None], shifted, keypoints)
    return _scale(keypoints, scale_factor)


def decode_simcc(
    simcc_x: Tensor,
    simcc_y: Tensor,
    simcc_split_ratio: float,
    use_dark: bool = False,
    sigma: Sequence[float] = (6., 6.)) -> Tensor:
    """:meth:`SimCCLabel.decode` for a batch of (B, K, Wx) and (B, K, Wy):
    arg-max bin per axis (-1 on both axes where the smaller of the two maxima
    is not positive), DARK on each axis with ``use_dark``, then divided by
    the split ratio. ``decode_visibility`` changes only the scores."""
    keypoints, _ = get_simcc_maximum(simcc_x, simcc_y)
    if use_dark:
        x, y = keypoints.unbind(-1)
        blur = [int((s * 20 - 7) // 3) for s in sigma]
        blur = [b - int(b % 2 == 0) for b in blur]
        keypoints = torch.stack([
            refine_simcc_dark(x, simcc_x, blur[0]),
            refine_simcc_dark(y, simcc_y, blur[1])
        ], -1)
    return keypoints / simcc_split_ratio


def decode_regression(coords: Tensor, input_size: Sequence[int]) -> Tensor:
    """:meth:`RegressionLabel.decode` for a batch (B, K, 2) or, with
    sigmas, (B, K, 4): normalised coordinates times the input size."""
    if coords.dim() != 3 or coords.shape[-1] not in (2, 4):
        raise ValueError('RegressionLabel: expected coordinates of shape '
                         f'(B, K, 2) or (B, K, 4), got {tuple(coords.shape)}')
    return _scale(coords[..., :2], input_size)


def _heatmaps(codec, encoded: Encoded) -> Tensor:
    if not isinstance(encoded, Tensor) or encoded.dim() != 4:
        raise ValueError(
            f'{type(codec).__name__}: expected a heatmap tensor (B, K, H, W), '
            f'got {_describe(encoded)}')
    return encoded


def _simcc_pair(codec, encoded: Encoded) -> Tuple[Tensor, Tensor]:
    if (not isinstance(encoded, (tuple, list)) or len(encoded) != 2
            or any(not isinstance(t, Tensor) or t.dim() != 3
                   for t in encoded)):
        raise ValueError(
            f'{type(codec).__name__}: expected a tuple (simcc_x (B, K, Wx), '
            f'simcc_y (B, K, Wy)), got {_describe(encoded)}')
    return encoded[0], encoded[1]


def _describe(encoded) -> str:
    if isinstance(encoded, Tensor):
        return f'a tensor of shape {tuple(encoded.shape)}'
    if isinstance(encoded, (tuple, list)):
        return f'{type(encoded).__name__} of ' + ', '.join(
            _describe(e) for e in encoded)
    return type(encoded).__name__


# exact types: a subclass may override ``decode``
_BATCHED_DECODERS: Dict[type, Callable] = {
    MSRAHeatmap:
    lambda codec, enc: decode_msra_heatmaps(_heatmaps(
        codec, enc), codec.scale_factor, codec.unbiased, codec.blur_kernel_size
                                            ),
    UDPHeatmap:
    lambda codec, enc: decode_udp_heatmaps(
        _heatmaps(codec, enc), codec.input_size, codec.heatmap_type, codec.
        blur_kernel_size, codec.radius_factor),
    MegviiHeatmap:
    lambda codec, enc: decode_megvii_heatmaps(_heatmaps(codec, enc), codec.
                                              scale_factor, codec.kernel_size),
    SimCCLabel:
    lambda codec, enc: decode_simcc(*_simcc_pair(
        codec, enc), codec.simcc_split_ratio, codec.use_dark, codec.sigma),
    RegressionLabel:
    lambda codec, enc: decode_regression(enc, codec.input_size),
    IntegralRegressionLabel:
    lambda codec, enc: decode_regression(enc, codec.keypoint_codec.input_size),
}

_WARNED = set()


def has_batched_decode(codec) -> bool:
    """Whether :func:`decode_keypoints_batched` decodes ``codec`` on the
    device (otherwise it loops over instances on the host)."""
    return type(codec) in _BATCHED_DECODERS


def _warn_host_loop(codec) -> None:
    if type(codec) not in _WARNED:
        _WARNED.add(type(codec))
        print_log(
            f'decode_keypoints_batched: no batched decoding for '
            f'{type(codec).__name__}; it calls the codec\'s own decode per '
            'instance on the host (a device sync and a host loop in every '
            'training step)',
            logger='current',
            level=logging.WARNING)


def decode_per_instance(codec, encoded: Encoded) -> Tensor:
    """The codec's own ``decode`` per instance, in numpy on the host (as
    MMPose's heads decode at test time): the fallback of
    :func:`decode_keypoints_batched` and the benchmarks' reference."""
    items = tuple(encoded) if isinstance(encoded,
                                         (tuple, list)) else (encoded, )
    device = items[0].device
    arrays = [t.detach().float().cpu().numpy() for t in items]
    keypoints = [
        codec.decode(*(a[i] for a in arrays))[0][0][..., :2]
        for i in range(len(arrays[0]))
    ]
    return torch.from_numpy(np.stack(keypoints).astype(np.float32)).to(device)


@torch.no_grad()
def decode_keypoints_batched(codec, encoded: Encoded) -> Tensor:
    """Decode a batch with an MMPose codec, on the device.

    Gives the keypoints of ``codec.decode`` applied to each instance (see
    ``tests/test_codecs``): batched in torch for ``MSRAHeatmap`` (plain and
    ``unbiased=True``, DARK), ``UDPHeatmap`` ('gaussian' and 'combined'),
    ``MegviiHeatmap``, ``SimCCLabel`` (also ``use_dark``),
    ``RegressionLabel`` and ``IntegralRegressionLabel``. Any other codec
    (or a subclass, which may override ``decode``) falls back to the codec's
    own ``decode`` per instance on the host, with a one-time warning.

    Computed in float32 with autocast disabled, whatever the input dtype.

    Args:
        codec: The built MMPose codec (a head's ``decoder``).
        encoded (Tensor | tuple[Tensor]): The batched network output the
            codec decodes: heatmaps (B, K, H, W) for heatmap codecs,
            ``(simcc_x (B, K, Wx), simcc_y (B, K, Wy))`` for SimCC,
            coordinates (B, K, D) for regression.

    Returns:
        Tensor: Keypoints in the input image space, (B, K, 2), float32, on
        the device of ``encoded``.
    """
    decode = _BATCHED_DECODERS.get(type(codec))
    if decode is None:
        _warn_host_loop(codec)
        return decode_per_instance(codec, encoded)
    if isinstance(encoded, (tuple, list)):
        encoded = tuple(t.float() for t in encoded)
        device = encoded[0].device
    else:
        encoded = encoded.float()
        device = encoded.device
    with torch.autocast(device_type=device.type, enabled=False):
        return decode(codec, encoded).float()
