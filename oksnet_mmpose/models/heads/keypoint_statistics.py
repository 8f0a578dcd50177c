# Copyright (c) oksnet-mmpose contributors.
"""What the keypoint head predicted, as the quality branch reads it: per-
keypoint statistics (the signal GFL v2 reads from its predicted
distribution and DEKR's RescoreNet from the decoded pose) and per-keypoint
maps on the pose feature's grid (what Mask Scoring R-CNN's quality head
reads next to its features). Both are computed in torch from the encoded
prediction (heatmaps or SimCC vectors), without gradient, so the branch
sees them in training, at test time and in an ONNX graph alike."""
from typing import Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

Encoded = Union[Tensor, Tuple[Tensor, ...]]

_EPS = 1e-6


def num_keypoint_statistics(encoded_output_names: Sequence[str]) -> int:
    """How many statistics :func:`keypoint_statistics` gives per keypoint
    for a head whose encoded outputs are ``encoded_output_names``."""
    # a heatmap: peak, x, y, spread, second peak; per SimCC axis: peak,
    # argmax, spread, second peak
    if len(encoded_output_names) == 1:
        return 5
    return 4 * len(encoded_output_names)


def _axis_statistics(scores: Tensor, probs: Tensor, local_max: Tensor,
                     axes: Sequence[Tensor]) -> Tensor:
    """peak, argmax (normalised), spread, second-peak ratio of maps that are
    flattened over their last dim; ``local_max`` marks their local maxima,
    ``axes`` gives each location's normalised coordinate per axis."""
    peak, index = scores.max(dim=-1)
    location = [axis[index] for axis in axes]
    distance2 = sum((axis - loc[..., None])**2
                    for axis, loc in zip(axes, location))
    spread = (probs * distance2).sum(-1).clamp(min=0).sqrt()
    # the strongest other local maximum: two candidate locations (a
    # left/right swap, an occluder, another person) make it large
    others = local_max & (distance2 > 0)
    second = torch.where(others, scores, scores.new_full((), -1e4)).amax(-1)
    ratio = (second.clamp(min=0) / peak.clamp(min=_EPS)).clamp(max=1)
    return torch.stack([peak, *location, spread, ratio], dim=-1)


def _local_maxima_2d(maps: Tensor) -> Tensor:
    """Where each (H, W) map equals the maximum of its 3x3 neighbourhood.

    A separable max of shifted slices rather than ``F.max_pool2d``: the same
    booleans, but CPU max-pooling with stride 1 was ~70 % of the statistics'
    time (one thread, a ResNet-50's 17x64x48 heatmaps: 1.2 ms of 1.7 ms,
    ~1 % of the network's inference; the slices take 0.07 ms).
    """
    neighbourhood = maps
    lowest = torch.finfo(maps.dtype).min
    # along W, then along H (F.pad's padding counts dims from the last)
    for dim, padding in ((-1, (1, 1)), (-2, (0, 0, 1, 1))):
        length = maps.shape[dim]
        padded = F.pad(neighbourhood, padding, value=lowest)
        left, centre, right = (padded.narrow(dim, start, length)
                               for start in range(3))
        neighbourhood = torch.maximum(torch.maximum(left, centre), right)
    return maps >= neighbourhood


def _detached_parts(encoded: Encoded) -> Tuple[Tensor, ...]:
    """The encoded prediction as a tuple of float32 tensors without
    gradient (the quality loss must not reshape the keypoint outputs)."""
    parts = (encoded, ) if isinstance(encoded, Tensor) else tuple(encoded)
    return tuple(p.detach().float() for p in parts)


def _grid(length: int, reference: Tensor) -> Tensor:
    return (torch.arange(length, dtype=reference.dtype,
                         device=reference.device) + 0.5) / length


def keypoint_statistics(encoded: Encoded) -> Tensor:
    """Statistics of each keypoint's predicted distribution, without
    gradient (the quality loss must not reshape the keypoint outputs).

    - heatmaps (B, K, H, W): peak value (MMPose's keypoint score), argmax x
      and y (in [0, 1]), spread (RMS distance of the positive heatmap mass
      from the argmax) and second-peak ratio: 5 per keypoint.
    - SimCC ``(x (B, K, Wx), y (B, K, Hy))``: peak, argmax, spread and
      second-peak ratio of each axis's vector, with the softmax as the
      distribution: 8 per keypoint.

    Returns:
        Tensor: (B, K, S) in float32, S from :func:`num_keypoint_statistics`.
    """
    parts = _detached_parts(encoded)
    if len(parts) == 1 and parts[0].ndim == 4:
        heatmaps = parts[0]
        b, k, h, w = heatmaps.shape
        flat = heatmaps.flatten(2)
        positive = flat.clamp(min=0)
        probs = positive / positive.sum(-1, keepdim=True).clamp(min=_EPS)
        ys, xs = torch.meshgrid(_grid(h, flat), _grid(w, flat), indexing='ij')
        return _axis_statistics(flat, probs,
                                _local_maxima_2d(heatmaps).flatten(2),
                                (xs.flatten(), ys.flatten()))
    if all(p.ndim == 3 for p in parts):
        return torch.cat([
            _axis_statistics(
                p, p.softmax(-1),
                p >= F.max_pool1d(p, kernel_size=3, stride=1, padding=1),
                (_grid(p.shape[-1], p), )) for p in parts
        ], dim=-1)
    raise ValueError(
        'keypoint_statistics: expected heatmaps (B, K, H, W) or SimCC '
        f'vectors (B, K, L) per axis, got shapes '
        f'{[tuple(p.shape) for p in parts]}')


def keypoint_maps(encoded: Encoded, size: Sequence[int]) -> Tensor:
    """The predicted keypoint maps on a grid of ``size`` (h, w), without
    gradient, to concatenate with the pose feature.

    - heatmaps (B, K, H, W): as they are when (H, W) == ``size`` (the usual
      case: the keypoint layer keeps its input's grid), else max-pooled to
      it.
    - SimCC ``(x (B, K, Wx), y (B, K, Hy))``: the outer product of the two
      softmax distributions, each max-pooled to the grid first (for
      non-negative vectors the block maxima of the product are the products
      of the block maxima), divided by its peak so that it reads like a
      heatmap (1 at the argmax).

    Returns:
        Tensor: (B, K, h, w) in float32.
    """
    h, w = (int(v) for v in size)
    parts = _detached_parts(encoded)
    if len(parts) == 1 and parts[0].ndim == 4:
        heatmaps = parts[0]
        if tuple(heatmaps.shape[2:]) == (h, w):
            return heatmaps
        return F.adaptive_max_pool2d(heatmaps, (h, w))
    if len(parts) == 2 and all(p.ndim == 3 for p in parts):
        x, y = (p.softmax(-1) for p in parts)
        x = F.adaptive_max_pool1d(x, w) if x.shape[-1] != w else x
        y = F.adaptive_max_pool1d(y, h) if y.shape[-1] != h else y
        maps = y[..., :, None] * x[..., None, :]
        return maps / maps.amax(dim=(-2, -1), keepdim=True).clamp(min=_EPS)
    raise ValueError(
        'keypoint_maps: expected heatmaps (B, K, H, W) or SimCC vectors '
        f'(x (B, K, Wx), y (B, K, Hy)), got shapes '
        f'{[tuple(p.shape) for p in parts]}')
