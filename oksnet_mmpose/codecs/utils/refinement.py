# Copyright (c) oksnet-mmpose contributors.
"""Batched torch counterparts of ``mmpose.codecs.utils.refinement``: the
sub-pixel refinements MMPose's heatmap and SimCC codecs apply after the
arg-max, with the same bounds, the same out-of-range reads and the same
floating-point precision as MMPose's numpy loops."""
import numpy as np
import torch
from torch import Tensor

from .post_processing import (gather_maps, gaussian_blur1d_scale,
                              gaussian_blur_scale)


def refine_keypoints(keypoints: Tensor, heatmaps: Tensor) -> Tensor:
    """:func:`mmpose.codecs.utils.refine_keypoints`: a quarter pixel towards
    the higher neighbour, only where MMPose's bounds allow it (note ``1 <
    x``: MMPose does not refine x == 1 either).

    Args:
        keypoints (Tensor): Arg-max locations (B, K, 2), -1 where invalid.
        heatmaps (Tensor): Heatmaps (B, K, H, W).
    """
    H, W = heatmaps.shape[-2:]
    x, y = keypoints.long().unbind(-1)
    dx = gather_maps(heatmaps, x + 1, y) - gather_maps(heatmaps, x - 1, y)
    dy = gather_maps(heatmaps, x, y + 1) - gather_maps(heatmaps, x, y - 1)
    dx = torch.where((1 < x) & (x < W - 1) & (0 < y) & (y < H), dx,
                     torch.zeros_like(dx))
    dy = torch.where((1 < y) & (y < H - 1) & (0 < x) & (x < W), dy,
                     torch.zeros_like(dy))
    return keypoints + torch.stack([dx.sign(), dy.sign()], -1) * 0.25


def refine_keypoints_dark(keypoints: Tensor, heatmaps: Tensor,
                          blur_kernel_size: int) -> Tensor:
    """:func:`mmpose.codecs.utils.refine_keypoints_dark` (DARK): one Newton
    step on the blurred log-heatmap, only for maxima at least 2 pixels off
    the border and a non-singular Hessian.

    MMPose works in float32 and inverts the Hessian with LAPACK; here the
    float32 derivatives are the same and the 2x2 solve is closed-form in
    float64, which differs from MMPose's by float32 rounding only.
    """
    H, W = heatmaps.shape[-2:]
    blurred, scale = gaussian_blur_scale(heatmaps, blur_kernel_size)
    x, y = keypoints.long().unbind(-1)

    def at(dx: int, dy: int) -> Tensor:
        """The modulated map (blurred, rescaled, log) at (x + dx, y + dy)."""
        value = gather_maps(blurred, x + dx, y + dy) * scale
        return value.clamp(min=1e-10).log()

    h = at(0, 0)
    dx = 0.5 * (at(1, 0) - at(-1, 0))
    dy = 0.5 * (at(0, 1) - at(0, -1))
    dxx = 0.25 * (at(2, 0) - 2 * h + at(-2, 0))
    dxy = 0.25 * (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1))
    dyy = 0.25 * (at(0, 2) - 2 * h + at(0, -2))
    # the singularity test in float32, as MMPose's
    det32 = dxx * dyy - dxy**2
    refine = (1 < x) & (x < W - 2) & (1 < y) & (y < H - 2) & (det32 != 0)
    dx, dy, dxx, dxy, dyy = (t.double() for t in (dx, dy, dxx, dxy, dyy))
    det = dxx * dyy - dxy * dxy
    offset = torch.stack(
        [-(dyy * dx - dxy * dy) / det, -(dxx * dy - dxy * dx) / det], -1)
    refined = (keypoints.double() + offset).to(keypoints.dtype)
    return torch.where(refine[..., None], refined, keypoints)


def refine_keypoints_dark_udp(keypoints: Tensor, heatmaps: Tensor,
                              blur_kernel_size: int) -> Tensor:
    """:func:`mmpose.codecs.utils.refine_keypoints_dark_udp` (UDP's DARK
    step): a Newton step on the blurred, clipped log-heatmap padded by one
    edge pixel, applied to every keypoint (no bounds, no singularity test;
    the Hessian gets float32 eps on its diagonal and is inverted in
    float64, as numpy promotes it).

    MMPose reads the neighbours through a flat index into all K padded maps
    of the instance, so for an invalid keypoint (location -1) some reads
    land in the previous map, or wrap to the end of the array for the first
    keypoint; the same flat reads are done here.
    """
    B, K, H, W = heatmaps.shape
    blurred, scale = gaussian_blur_scale(heatmaps, blur_kernel_size)
    padded_size = (H + 2) * (W + 2)
    x, y = keypoints.long().unbind(-1)
    index = x + 1 + (y + 1) * (W + 2) + padded_size * torch.arange(
        K, device=x.device)

    def at(step: int) -> Tensor:
        """The modulated map (blurred, rescaled, clipped, log, edge-padded)
        at flat padded index ``index + step``."""
        flat = (index + step) % (K * padded_size)
        k = torch.div(flat, padded_size, rounding_mode='floor')
        row = torch.div(flat % padded_size, W + 2, rounding_mode='floor')
        row = (row - 1).clamp(0, H - 1)
        col = (flat % (W + 2) - 1).clamp(0, W - 1)
        value = blurred.flatten(1).gather(1, k * H * W + row * W + col)
        return (value * scale.gather(1, k)).clamp(1e-3, 50.).log()

    i_, ix1, ix1_ = at(0), at(1), at(-1)
    iy1, iy1_ = at(W + 2), at(-W - 2)
    ix1y1, ix1_y1_ = at(W + 3), at(-W - 3)
    dx = 0.5 * (ix1 - ix1_)
    dy = 0.5 * (iy1 - iy1_)
    dxx = ix1 - 2 * i_ + ix1_
    dyy = iy1 - 2 * i_ + iy1_
    dxy = 0.5 * (ix1y1 - ix1 - iy1 + i_ + i_ - ix1_ - iy1_ + ix1_y1_)
    eps = float(np.finfo(np.float32).eps)
    dx, dy, dxy = dx.double(), dy.double(), dxy.double()
    dxx, dyy = dxx.double() + eps, dyy.double() + eps
    det = dxx * dyy - dxy * dxy
    offset = torch.stack([(dyy * dx - dxy * dy) / det,
                          (dxx * dy - dxy * dx) / det], -1)
    return (keypoints.double() - offset).to(keypoints.dtype)


def refine_simcc_dark(keypoints: Tensor, simcc: Tensor,
                      blur_kernel_size: int) -> Tensor:
    """:func:`mmpose.codecs.utils.refine_simcc_dark` on one axis: a Newton
    step on the blurred, clipped log-SimCC padded by two edge bins.

    Args:
        keypoints (Tensor): Arg-max bins on this axis (B, K), -1 where
            invalid (MMPose then reads bin -1 of the padded vector, i.e. its
            last one; so does this).
        simcc (Tensor): The SimCC vectors of this axis (B, K, Wx).
    """
    blurred, scale = gaussian_blur1d_scale(simcc, blur_kernel_size)
    Wx = simcc.shape[-1]
    px = (keypoints + 2.5).long()

    def at(step: int) -> Tensor:
        """The modulated vector (blurred, rescaled, clipped, log, padded by
        two edge bins) at padded bin ``px + step``."""
        bins = ((px + step) % (Wx + 4) - 2).clamp(0, Wx - 1)
        value = blurred.gather(-1, bins[..., None])[..., 0] * scale
        return value.clamp(1e-3, 50.).log()

    dx0, dx1, dx_1, dx2, dx_2 = at(0), at(1), at(-1), at(2), at(-2)
    dx = 0.5 * (dx1 - dx_1)
    dxx = 1e-9 + 0.25 * (dx2 - 2 * dx0 + dx_2)
    return keypoints - dx / dxx
