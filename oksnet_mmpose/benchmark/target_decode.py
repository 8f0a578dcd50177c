# Copyright (c) oksnet-mmpose contributors.
"""Cost of the online OKS target's decoding per codec (MSRA, DARK, UDP,
SimCC): the batched :func:`~oksnet_mmpose.codecs.decode_keypoints_batched`
and the codec's own per-instance ``decode`` on the host, each as a ratio to
the batched MSRA path, timed side by side in one run.

The inputs are a batch of network-like outputs (the codec's encoding of
random poses plus noise; 17 keypoints, 64x48 heatmaps, SimCC 384 + 512 bins
at 256x192 input). Each variant runs in interleaved A/B pairs with the
batched MSRA decoding (:func:`~.timing.interleaved_timing`); the ratio is
the median of the per-pair ratios.
"""
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmpose.registry import KEYPOINT_CODECS

from ..codecs import decode_keypoints_batched, decode_per_instance
from .timing import interleaved_timing

# the stock recipes' settings, at 256x192 input
TARGET_DECODE_CODECS = {
    'MSRA':
    dict(type='MSRAHeatmap',
         input_size=(192, 256),
         heatmap_size=(48, 64),
         sigma=2),
    'DARK':
    dict(type='MSRAHeatmap',
         input_size=(192, 256),
         heatmap_size=(48, 64),
         sigma=2,
         unbiased=True),
    'UDP':
    dict(type='UDPHeatmap',
         input_size=(192, 256),
         heatmap_size=(48, 64),
         sigma=2),
    'SimCC':
    dict(type='SimCCLabel',
         input_size=(192, 256),
         sigma=(4.9, 5.66),
         simcc_split_ratio=2.0,
         normalize=False),
}


def make_encoded(codec,
                 batch_size: int,
                 num_keypoints: int = 17,
                 seed: int = 0) -> List[np.ndarray]:
    """Network-like outputs: the codec's encoding of random poses inside
    the input, plus noise. A list of arrays (B, K, ...): the heatmaps, or
    SimCC's x and y vectors."""
    rng = np.random.default_rng(seed)
    size = np.asarray(codec.input_size, dtype=np.float32)
    outputs = []
    for _ in range(batch_size):
        keypoints = rng.uniform(0.05, 0.95, (1, num_keypoints, 2)) * size
        encoded = codec.encode(keypoints.astype(np.float32),
                               np.ones((1, num_keypoints), np.float32))
        if 'heatmaps' in encoded:
            outputs.append([encoded['heatmaps']])
        else:
            outputs.append([
                encoded['keypoint_x_labels'][0],
                encoded['keypoint_y_labels'][0]
            ])
    arrays = [np.stack(parts) for parts in zip(*outputs)]
    return [
        (a + rng.normal(scale=0.02 * np.abs(a).max(), size=a.shape)).astype(
            np.float32) for a in arrays
    ]


def _runner(fn: Callable[[], Any], device: torch.device,
            autocast_dtype: Optional[torch.dtype]) -> Callable[[], Any]:

    def run():
        if autocast_dtype is None:
            out = fn()
        else:
            with torch.autocast(device.type, dtype=autocast_dtype):
                out = fn()
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        return out

    return run


def benchmark_target_decode(batch_size: int = 64,
                            device: str = 'cpu',
                            autocast_dtype: Optional[torch.dtype] = None,
                            repeats: int = 30,
                            max_seconds: Optional[float] = 20.,
                            clock: str = 'cpu') -> List[Dict[str, Any]]:
    """Time the target decoding of each codec in
    :data:`TARGET_DECODE_CODECS` on one batch.

    Each codec's batched and per-instance decoding is timed against the
    batched MSRA decoding in its own interleaved A/B pairs
    (:func:`~.timing.interleaved_timing`), so every ratio is measured side
    by side.
    The network outputs are in ``autocast_dtype`` when given (what the
    head gets under mixed precision) and the decoding runs under autocast.

    Args:
        batch_size (int): Instances per decoded batch. Defaults to 64.
        device (str): Where the outputs are and the decoding runs.
            Defaults to ``'cpu'``.
        autocast_dtype (torch.dtype, optional): The outputs' dtype and
            the autocast dtype of the decoding; ``None``: float32 without
            autocast. Defaults to ``None``.
        repeats, max_seconds, clock: As in
            :func:`~.timing.interleaved_timing` (at least
            ``min(5, repeats)`` pairs are timed).

    Returns:
        list[dict]: Per codec: ``codec``, ``batched``/``per_instance``
        (the timing dicts: ``median_b`` is that variant's median seconds,
        ``ratio`` its median per-pair ratio to batched MSRA).

    Raises:
        ValueError: If ``batch_size`` or ``repeats`` is below 1.
    """
    if batch_size < 1 or repeats < 1:
        raise ValueError('batch_size and repeats must be at least 1, got '
                         f'{batch_size} and {repeats}')
    device = torch.device(device)
    dtype = autocast_dtype or torch.float32
    codecs = {
        name: KEYPOINT_CODECS.build(cfg)
        for name, cfg in TARGET_DECODE_CODECS.items()
    }
    inputs = {}
    for name, codec in codecs.items():
        encoded = tuple(
            torch.from_numpy(a).to(device, dtype)
            for a in make_encoded(codec, batch_size))
        inputs[name] = encoded[0] if len(encoded) == 1 else encoded

    def variant(decode):
        return lambda name: _runner(lambda: decode(codecs[name], inputs[name]),
                                    device, autocast_dtype)

    batched = variant(decode_keypoints_batched)
    per_instance = variant(decode_per_instance)

    reference = batched('MSRA')
    rows = []
    for name in codecs:
        row = dict(codec=name)
        for variant, make in (('batched', batched), ('per_instance',
                                                     per_instance)):
            row[variant] = interleaved_timing(reference,
                                              make(name),
                                              repeats=repeats,
                                              warmup=2,
                                              max_seconds=max_seconds,
                                              min_repeats=min(5, repeats),
                                              clock=clock)
        rows.append(row)
    return rows


def format_target_decode_table(rows: Sequence[Dict[str, Any]],
                               batch_size: int) -> str:
    """A markdown table: per codec, the median milliseconds per batch and
    the ratio to the batched MSRA path, batched and per instance."""
    lines = [
        f'| codec (batch of {batch_size}) | batched ms | batched / MSRA '
        '| per-instance ms | per-instance / MSRA | per-instance / batched |',
        '|---|---|---|---|---|---|'
    ]
    for row in rows:
        b, p = row['batched'], row['per_instance']
        lines.append(f'| {row["codec"]} | {b["median_b"] * 1e3:.2f} | '
                     f'{b["ratio"]:.2f} | {p["median_b"] * 1e3:.2f} | '
                     f'{p["ratio"]:.2f} | {p["ratio"] / b["ratio"]:.1f} |')
    return '\n'.join(lines)
