# Copyright (c) oksnet-mmpose contributors.
"""Selecting reliable poses by a quality threshold (paper Fig. 1): for each
threshold, how many kept poses are good and how many good poses are kept."""
from typing import Dict

import numpy as np

from ..utils import atomic_path

GOOD_OKS = (0.5, 0.75)


def selection_curve(
    scores: np.ndarray,
    gt_oks: np.ndarray,
    thresholds: np.ndarray = np.linspace(0., 1., 101)
) -> Dict[str, list]:
    """Keep the poses with ``score >= t`` for each threshold ``t``.

    Returns:
        dict: ``threshold``, ``kept`` (number of poses kept), and for each
        good-pose level g in (.5, .75): ``precision_{g}`` (the share of kept
        poses with GT OKS >= g; None when none is kept) and ``recall_{g}``
        (the share of poses with GT OKS >= g that are kept; None when there
        is no such pose).
    """
    curve = dict(threshold=[float(t) for t in thresholds], kept=[])
    for level in GOOD_OKS:
        curve[f'precision_{level}'] = []
        curve[f'recall_{level}'] = []
    for t in thresholds:
        kept = scores >= t
        curve['kept'].append(int(kept.sum()))
        for level in GOOD_OKS:
            good = gt_oks >= level
            curve[f'precision_{level}'].append(
                float(good[kept].mean()) if kept.any() else None)
            curve[f'recall_{level}'].append(
                float(kept[good].mean()) if good.any() else None)
    return curve


def plot_selection(scores_by_name: Dict[str, np.ndarray], gt_oks: np.ndarray,
                   out_file: str) -> str:
    """Left: share of kept poses with GT OKS >= .5 against the share of
    such poses kept, sweeping each score's threshold over all its values
    (scale-free, so the scores compare). Right: the same shares against the
    threshold for the scores in [0, 1]."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    good = gt_oks >= 0.5
    for name, scores in scores_by_name.items():
        order = np.argsort(-scores, kind='mergesort')
        hits = np.cumsum(good[order])
        precision = hits / np.arange(1, len(order) + 1)
        recall = hits / max(1, good.sum())
        axes[0].plot(recall, precision, label=name)
        curve = selection_curve(scores, gt_oks)
        axes[1].plot(
            curve['threshold'],
            [np.nan if v is None else v for v in curve['precision_0.5']],
            label=f'{name}: kept good (OKS>=.5)')
    axes[0].set(xlabel='share of good poses (GT OKS >= .5) kept',
                ylabel='share of kept poses that are good',
                xlim=(0, 1),
                ylim=(0, 1.02),
                title='selecting poses by score')
    axes[1].set(xlabel='score threshold',
                ylabel='share of kept poses '
                'with GT OKS >= .5',
                xlim=(0, 1),
                ylim=(0, 1.02))
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(out_file) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return out_file
