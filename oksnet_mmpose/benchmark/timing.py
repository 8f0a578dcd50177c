# Copyright (c) oksnet-mmpose contributors.
"""The A/B timing harness of the benchmarks: two variants timed interleaved
in one process, so that what is read is their ratio, measured side by side.

A machine shared with other jobs slows both variants of a pair alike, so
the ratio holds where the absolute times do not.
"""
import platform
import statistics
import time
from typing import Any, Callable, Dict, Optional

import numpy as np

CLOCKS = dict(cpu=time.process_time, wall=time.perf_counter)


def interleaved_timing(run_a: Callable[[], Any],
                       run_b: Callable[[], Any],
                       repeats: int,
                       warmup: int = 1,
                       max_seconds: Optional[float] = None,
                       min_repeats: int = 1,
                       clock: str = 'cpu') -> Dict[str, Any]:
    """Time two variants interleaved: after ``warmup`` runs of each, pairs
    A B, B A, A B, ... so that slow drifts and other jobs on the machine hit
    both alike, and the order within a pair favours neither.

    Args:
        run_a (Callable): The reference variant.
        run_b (Callable): The variant compared with it.
        repeats (int): Timed runs of each variant (pairs), at most.
        warmup (int): Untimed runs of each variant first (allocator, oneDNN
            kernels, optimizer state). Defaults to 1.
        max_seconds (float, optional): Stop starting new pairs once the
            timed pairs took this long (the heaviest models then get fewer
            pairs, at least ``min_repeats``). ``None``: no limit.
            Defaults to ``None``.
        min_repeats (int): Pairs taken whatever ``max_seconds`` says.
            Defaults to 1.
        clock (str): What a run's time is: ``'cpu'``, the CPU time of this
            process (:func:`time.process_time`, all its threads), or
            ``'wall'``, the elapsed time (:func:`time.perf_counter`). On a
            machine shared with other jobs the CPU time of a single-threaded
            run barely changes with their load, while its wall time grows
            with every time slice the others get. ``max_seconds`` is always
            wall time. Defaults to ``'cpu'``.

    Returns:
        dict: ``clock``, ``seconds_a``/``seconds_b`` (each timed run, by
        ``clock``), ``wall_seconds_a``/``wall_seconds_b`` (the same runs'
        wall time), ``repeats`` (pairs taken), ``median_a``/``median_b``
        (seconds, by ``clock``), ``ratio``: the median of the per-pair
        ratios b/a (a pair's two runs share the machine's state, so its
        ratio is free of slow drifts), ``pair_ratio_quartiles``: their
        25/50/75 % quantiles (the spread shows the noise), and
        ``ratio_of_medians`` = median_b / median_a.

    Raises:
        ValueError: If not ``1 <= min_repeats <= repeats``, or ``clock`` is
            neither ``'cpu'`` nor ``'wall'``.
    """
    if not 1 <= min_repeats <= repeats:
        raise ValueError('need 1 <= min_repeats <= repeats, got '
                         f'min_repeats={min_repeats}, repeats={repeats}')
    if clock not in CLOCKS:
        raise ValueError(f"clock must be 'cpu' or 'wall', got {clock!r}")
    for _ in range(warmup):
        run_a()
        run_b()
    seconds = dict(a=[], b=[])
    wall_seconds = dict(a=[], b=[])
    start_all = time.perf_counter()
    for index in range(repeats):
        if (index >= min_repeats and max_seconds is not None
                and time.perf_counter() - start_all >= max_seconds):
            break
        order = (('a', run_a), ('b', run_b))
        if index % 2:
            order = order[::-1]
        for name, run in order:
            start, start_wall = CLOCKS[clock](), time.perf_counter()
            run()
            seconds[name].append(CLOCKS[clock]() - start)
            wall_seconds[name].append(time.perf_counter() - start_wall)
    median_a = statistics.median(seconds['a'])
    median_b = statistics.median(seconds['b'])
    pair_ratios = np.asarray(seconds['b']) / np.asarray(seconds['a'])
    return dict(
        clock=clock,
        seconds_a=seconds['a'],
        seconds_b=seconds['b'],
        wall_seconds_a=wall_seconds['a'],
        wall_seconds_b=wall_seconds['b'],
        repeats=len(seconds['a']),
        median_a=median_a,
        median_b=median_b,
        ratio=float(np.median(pair_ratios)),
        pair_ratio_quartiles=np.quantile(pair_ratios,
                                         [0.25, 0.5, 0.75]).tolist(),
        ratio_of_medians=median_b / median_a)


def cpu_name() -> str:
    """The CPU model (from /proc/cpuinfo on Linux), for the record of a
    timing run."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
