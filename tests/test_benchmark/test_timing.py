# Copyright (c) oksnet-mmpose contributors.
"""oksnet_mmpose.benchmark.timing: the A/B schedule (which variant runs
when), not how long anything takes."""
import pytest

from oksnet_mmpose.benchmark.timing import interleaved_timing


def test_interleaved_schedule():
    calls = []
    result = interleaved_timing(
        lambda: calls.append('a'),
        lambda: calls.append('b'),
        repeats=3,
        warmup=2)
    # warm-up pairs, then the order alternates within pairs
    assert ''.join(calls) == 'abab' + 'ab' + 'ba' + 'ab'
    assert result['repeats'] == 3
    assert len(result['seconds_a']) == len(result['seconds_b']) == 3
    assert len(result['wall_seconds_a']) == 3
    assert len(result['pair_ratio_quartiles']) == 3

    calls.clear()
    result = interleaved_timing(
        lambda: calls.append('a'),
        lambda: calls.append('b'),
        repeats=10,
        warmup=0,
        max_seconds=0.,
        min_repeats=2)
    assert ''.join(calls) == 'abba'  # the budget is spent: min_repeats only


def test_bad_schedule_is_refused():
    with pytest.raises(ValueError, match="clock must be 'cpu' or 'wall'"):
        interleaved_timing(lambda: None, lambda: None, repeats=1, clock='tsc')
    with pytest.raises(ValueError, match='min_repeats=3, repeats=2'):
        interleaved_timing(
            lambda: None, lambda: None, repeats=2, min_repeats=3)
