# Copyright (c) oksnet-mmpose contributors.
"""oksnet_mmpose.benchmark.target_decode: its inputs and a run's rows. No
timing is asserted (the batched and per-instance decodings are compared in
tests/test_codecs)."""
import numpy as np
import pytest
from mmpose.registry import KEYPOINT_CODECS

from oksnet_mmpose.benchmark.target_decode import (TARGET_DECODE_CODECS,
                                                   benchmark_target_decode,
                                                   format_target_decode_table,
                                                   make_encoded)


def test_inputs_have_each_codecs_output_layout():
    for name, cfg in TARGET_DECODE_CODECS.items():
        codec = KEYPOINT_CODECS.build(cfg)
        arrays = make_encoded(codec, batch_size=3)
        # heatmaps (B, K, H, W), or SimCC's x and y vectors (B, K, bins)
        if name == 'SimCC':
            assert [a.shape for a in arrays] == [(3, 17, 384), (3, 17, 512)]
        else:
            assert [a.shape for a in arrays] == [(3, 17, 64, 48)], name
        assert all(a.dtype == np.float32 for a in arrays)
        # seeded: every run of the benchmark decodes the same batch
        for again, first in zip(make_encoded(codec, batch_size=3), arrays):
            np.testing.assert_array_equal(again, first)


def test_a_run_has_a_row_per_codec():
    rows = benchmark_target_decode(batch_size=2, repeats=1, max_seconds=0.)
    assert [row['codec'] for row in rows] == list(TARGET_DECODE_CODECS)
    for row in rows:
        assert row['batched']['repeats'] == row['per_instance']['repeats'] \
            == 1
    table = format_target_decode_table(rows, batch_size=2).splitlines()
    assert table[0].startswith('| codec (batch of 2) |')
    assert [line.split(' | ')[0] for line in table[2:]] == [
        f'| {name}' for name in TARGET_DECODE_CODECS
    ]


def test_a_run_without_a_timed_pair_is_refused():
    with pytest.raises(ValueError, match='at least 1, got 64 and 0'):
        benchmark_target_decode(repeats=0)
