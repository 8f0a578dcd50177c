# Copyright (c) oksnet-mmpose contributors.
"""Calibration of a predicted OKS: does a pose scored 0.7 have an OKS of
0.7 on average? (Expected calibration error and reliability diagram; not in
the paper.)"""
from typing import Dict, Optional

import numpy as np

from ..utils import atomic_path


def reliability_bins(predicted: np.ndarray,
                     gt_oks: np.ndarray,
                     num_bins: int = 10) -> Dict[str, list]:
    """Equal-width bins of the predicted value over [0, 1] (values outside
    are clipped into the end bins) with the mean predicted value, the mean
    GT OKS and the number of poses of each.

    Args:
        predicted (np.ndarray): The predicted OKS (or any score), shape (N,).
        gt_oks (np.ndarray): The GT OKS, shape (N,).
        num_bins (int): The number of bins. Defaults to 10.

    Returns:
        dict: ``edges`` (num_bins + 1), and per bin ``count``,
        ``mean_predicted`` and ``mean_gt_oks`` (None for an empty bin).
    """
    edges = np.linspace(0., 1., num_bins + 1)
    # right-closed last bin: a prediction of exactly 1 is in bin num_bins-1
    index = np.clip(np.digitize(np.clip(predicted, 0., 1.), edges[1:-1]), 0,
                    num_bins - 1)
    count, mean_predicted, mean_gt_oks = [], [], []
    for b in range(num_bins):
        in_bin = index == b
        count.append(int(in_bin.sum()))
        mean_predicted.append(
            float(predicted[in_bin].mean()) if in_bin.any() else None)
        mean_gt_oks.append(
            float(gt_oks[in_bin].mean()) if in_bin.any() else None)
    return dict(edges=edges.tolist(),
                count=count,
                mean_predicted=mean_predicted,
                mean_gt_oks=mean_gt_oks)


def expected_calibration_error(predicted: np.ndarray,
                               gt_oks: np.ndarray,
                               num_bins: int = 10) -> Optional[float]:
    """ECE of a predicted OKS: the pose-weighted mean over the bins of
    :func:`reliability_bins` of |mean predicted - mean GT OKS|. 0 for a
    perfectly calibrated predictor; None without poses."""
    if len(predicted) == 0:
        return None
    bins = reliability_bins(predicted, gt_oks, num_bins)
    total = 0.
    for count, pred, gt in zip(bins['count'], bins['mean_predicted'],
                               bins['mean_gt_oks']):
        if count:
            total += count * abs(pred - gt)
    return float(total / len(predicted))


def plot_reliability(bins_by_score: Dict[str, dict], out_file: str) -> str:
    """Reliability diagram: mean GT OKS against mean predicted value per
    bin, one panel per score, with the pose count per bin below."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    names = list(bins_by_score)
    fig, axes = plt.subplots(2,
                             len(names),
                             figsize=(4.2 * len(names), 5.6),
                             gridspec_kw=dict(height_ratios=(3, 1)),
                             squeeze=False)
    for col, name in enumerate(names):
        bins = bins_by_score[name]
        edges = np.asarray(bins['edges'])
        centers = (edges[:-1] + edges[1:]) / 2
        gt = np.asarray(
            [np.nan if v is None else v for v in bins['mean_gt_oks']])
        ax = axes[0, col]
        ax.bar(centers,
               gt,
               width=np.diff(edges) * 0.9,
               alpha=0.7,
               label='mean GT OKS')
        ax.plot([0, 1], [0, 1], 'k--', lw=0.8, label='perfect calibration')
        ax.set(title=name, xlim=(0, 1), ylim=(0, 1), ylabel='mean GT OKS')
        ax.legend(fontsize=7, loc='upper left')
        axes[1, col].bar(centers, bins['count'], width=np.diff(edges) * 0.9)
        axes[1, col].set(xlim=(0, 1), xlabel='score (bin)', ylabel='poses')
    fig.tight_layout()
    with atomic_path(out_file) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return out_file
