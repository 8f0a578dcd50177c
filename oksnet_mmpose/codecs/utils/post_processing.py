# Copyright (c) oksnet-mmpose contributors.
"""Batched torch counterparts of ``mmpose.codecs.utils.post_processing``:
the same results as MMPose's numpy functions, for a whole batch at once on
the tensors' device."""
from typing import Dict, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

_KERNELS: Dict[Tuple[int, torch.device], Tensor] = {}
_MATRICES: Dict[Tuple[int, int, torch.device], Tensor] = {}


def gaussian_kernel(size: int, device: torch.device) -> Tensor:
    """The 1-D kernel ``cv2.GaussianBlur(img, (size, size), 0)`` applies to a
    float32 image: ``cv2.getGaussianKernel(size, 0)`` (for sizes up to 7
    OpenCV uses fixed binomial taps, not the sampled Gaussian).

    Kept per device, so a training step copies nothing to the device.
    """
    if size % 2 != 1:
        raise ValueError(f'the Gaussian blur kernel size must be odd, got '
                         f'{size} (the codec\'s blur_kernel_size)')
    key = (size, torch.device(device))
    if key not in _KERNELS:
        taps = cv2.getGaussianKernel(size, 0, ktype=cv2.CV_32F)
        _KERNELS[key] = torch.from_numpy(np.ascontiguousarray(
            taps.reshape(-1))).to(device)
    return _KERNELS[key]


def _blur_rows(x: Tensor, kernel: Tensor, mode: str = 'constant') -> Tensor:
    """Blur along the last axis of ``x`` with a symmetric ``kernel``, the
    border padded by ``mode``. Summed as OpenCV's symmetric filters do,
    centre tap plus tap j times the sum of the two pixels j apart: mirrored
    maps stay exactly mirrored (a symmetric peak keeps equal neighbours,
    which decides MMPose's quarter-pixel shifts); 40-80 % of the pixels
    match OpenCV's bit for bit, the rest differ by a few float32 ulps."""
    radius = (kernel.numel() - 1) // 2
    shape, W = x.shape, x.shape[-1]
    x = F.pad(x.reshape(-1, 1, W), (radius, radius), mode=mode)
    out = kernel[radius] * x[..., radius:radius + W]
    for j in range(1, radius + 1):
        out = out + kernel[radius + j] * (x[..., radius - j:radius - j + W] +
                                          x[..., radius + j:radius + j + W])
    return out.reshape(shape)


def _blur_2d(x: Tensor, kernel: Tensor, mode: str = 'constant') -> Tensor:
    """Separable blur of (..., H, W): rows, then columns, as OpenCV."""
    x = _blur_rows(x, kernel, mode)
    return _blur_rows(x.transpose(-1, -2), kernel, mode).transpose(-1, -2)


def _blur_matrix(kernel: int, size: int, device: torch.device) -> Tensor:
    """(size, size) matrix M with ``(x @ M)[j] = sum_i taps[i - j + r] *
    x[i]``: the zero-padded blur along an axis as one matrix product."""
    key = (kernel, size, torch.device(device))
    if key not in _MATRICES:
        taps = gaussian_kernel(kernel, device)
        index = torch.arange(size, device=device)
        offset = index[:, None] - index[None, :] + (kernel - 1) // 2
        inside = (offset >= 0) & (offset < kernel)
        _MATRICES[key] = torch.where(inside, taps[offset.clamp(0, kernel - 1)],
                                     torch.zeros_like(taps[0]))
    return _MATRICES[key]


def gaussian_blur_scale(heatmaps: Tensor,
                        kernel: int = 11,
                        exact_symmetry: bool = False) -> Tuple[Tensor, Tensor]:
    """:func:`mmpose.codecs.utils.gaussian_blur` on (B, K, H, W), before its
    last step: the blurred maps and the per-map scale (B, K), ``origin_max /
    max(blurred)``, that MMPose multiplies them by (an all-zero map gives
    NaN there too). The DARK steps read a few pixels only: they scale those.

    MMPose zero-pads each map as wide as the kernel's radius before
    ``cv2.GaussianBlur`` (sigma from the kernel size), so OpenCV's border
    reflection never reaches the cropped result: a zero-padded blur gives
    the same maps. It is computed as two matrix products (fast on CPU and
    GPU), equal to OpenCV's up to float32 rounding; with ``exact_symmetry``
    it is summed as OpenCV's symmetric filters sum, so that mirrored pixels
    stay exactly equal (see :func:`_blur_rows`), for a decode that compares
    two neighbours (Megvii's).
    """
    H, W = heatmaps.shape[-2:]
    if exact_symmetry:
        taps = gaussian_kernel(kernel, heatmaps.device).to(heatmaps.dtype)
        blurred = _blur_2d(heatmaps, taps)
    else:
        rows = _blur_matrix(kernel, W, heatmaps.device).to(heatmaps.dtype)
        cols = _blur_matrix(kernel, H, heatmaps.device).to(heatmaps.dtype)
        blurred = torch.matmul(cols.T, heatmaps @ rows)
    scale = heatmaps.flatten(2).amax(-1) / blurred.flatten(2).amax(-1)
    return blurred, scale


def gaussian_blur(heatmaps: Tensor,
                  kernel: int = 11,
                  exact_symmetry: bool = False) -> Tensor:
    """:func:`mmpose.codecs.utils.gaussian_blur` on (B, K, H, W): blurred and
    rescaled to each map's original maximum (see
    :func:`gaussian_blur_scale`)."""
    blurred, scale = gaussian_blur_scale(heatmaps, kernel, exact_symmetry)
    return blurred * scale[..., None, None]


def gaussian_blur1d_scale(simcc: Tensor,
                          kernel: int = 11) -> Tuple[Tensor, Tensor]:
    """:func:`mmpose.codecs.utils.gaussian_blur1d` on (B, K, Wx), before its
    rescaling: the blurred vectors and the scale (B, K)."""
    rows = _blur_matrix(kernel, simcc.shape[-1], simcc.device)
    blurred = simcc @ rows.to(simcc.dtype)
    return blurred, simcc.amax(-1) / blurred.amax(-1)


def gaussian_blur_reflect(heatmaps: Tensor, kernel: int) -> Tensor:
    """``cv2.GaussianBlur(hm, (kernel, kernel), 0)`` on each map of
    (B, K, H, W) with OpenCV's default border (``BORDER_REFLECT_101``, which
    is torch's ``'reflect'`` padding) and no rescaling: the blur
    ``UDPHeatmap`` applies to its 'combined' classification maps."""
    H, W = heatmaps.shape[-2:]
    if (kernel - 1) // 2 >= min(H, W):
        raise ValueError(
            f'a Gaussian blur of size {kernel} needs heatmaps larger than '
            f'{(kernel - 1) // 2} pixels, got {H}x{W}')
    taps = gaussian_kernel(kernel, heatmaps.device).to(heatmaps.dtype)
    return _blur_2d(heatmaps, taps, mode='reflect')


def get_heatmap_maximum(heatmaps: Tensor) -> Tuple[Tensor, Tensor]:
    """:func:`mmpose.codecs.utils.get_heatmap_maximum` on (B, K, H, W): the
    (x, y) of each map's first maximum (B, K, 2) and its value (B, K);
    location -1 where the maximum is not positive."""
    W = heatmaps.shape[-1]
    vals, index = heatmaps.flatten(2).max(dim=-1)
    locs = torch.stack(
        [index % W, torch.div(index, W, rounding_mode='floor')],
        dim=-1).to(heatmaps.dtype)
    locs = torch.where((vals <= 0)[..., None], torch.full_like(locs, -1), locs)
    return locs, vals


def get_simcc_maximum(simcc_x: Tensor,
                      simcc_y: Tensor) -> Tuple[Tensor, Tensor]:
    """:func:`mmpose.codecs.utils.get_simcc_maximum` on (B, K, Wx) and
    (B, K, Wy): the arg-max bins (B, K, 2) and the smaller of the two maxima
    (B, K); location -1 (both axes) where that value is not positive."""
    max_x, x_locs = simcc_x.max(dim=-1)
    max_y, y_locs = simcc_y.max(dim=-1)
    locs = torch.stack([x_locs, y_locs], dim=-1).to(simcc_x.dtype)
    vals = torch.where(max_x > max_y, max_y, max_x)
    locs = torch.where((vals <= 0)[..., None], torch.full_like(locs, -1), locs)
    return locs, vals


def gather_maps(maps: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """``maps[b, k, y, x]`` for integer tensors ``x``, ``y`` of shape (B, K),
    indices clamped into the map; the caller masks what MMPose would not
    have read."""
    H, W = maps.shape[-2:]
    flat = y.clamp(0, H - 1) * W + x.clamp(0, W - 1)
    return maps.flatten(2).gather(-1, flat[..., None])[..., 0]
