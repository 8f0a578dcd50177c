# Copyright (c) oksnet-mmpose contributors.
"""Scoring errors (paper Fig. 11, after Ronchi & Perona): poses with a high
GT OKS but a low score, and vice versa."""
from typing import Dict, List

import numpy as np

from ..utils import atomic_path
from .keypoint_eval import KeypointEvaluator

# Ronchi & Perona's constants: a detection "covers" a GT from OKS .1; the
# matching of the scoring-error count needs OKS .5
COVER_OKS = 0.1
MATCH_OKS = 0.5
HIST_BINS = np.linspace(0., 1., 21)


def _images(evaluator: KeypointEvaluator) -> List[tuple]:
    """Per image: its pose indices and, per evaluated GT instance (not
    crowd, a labelled keypoint), those poses' OKS with it; the GTs in the
    order of their best OKS, highest first (the tool's order)."""
    images = []
    for key, dt_rows in evaluator.oks_rows.items():
        anns = evaluator.coco.loadAnns(evaluator.gt_ids[key])
        dt_index = np.asarray([dt_id - 1 for dt_id in dt_rows])
        matrix = np.stack(list(dt_rows.values()))
        columns = [
            matrix[:, j] for j, ann in enumerate(anns)
            if not ann.get('iscrowd', 0) and np.count_nonzero(
                np.asarray(ann['keypoints'])[2::3] > 0)
        ]
        columns.sort(key=lambda oks: -oks.max())
        images.append((dt_index, columns))
    return images


def scoring_errors(evaluator: KeypointEvaluator,
                   scores_by_name: Dict[str, np.ndarray],
                   gt_oks: np.ndarray) -> Dict[str, dict]:
    """Scoring-error counts per score.

    - ``high_oks_low_score``: poses with GT OKS >= .75 whose score is in the
      lowest quarter of that score's values; ``low_oks_high_score``: poses
      with GT OKS < .5 whose score is in the highest quarter (rank-based, so
      scores on different scales compare).
    - Ronchi & Perona's histograms, over the GT instances covered by at
      least two poses (OKS > .1): the scores of the best pose of each
      (highest OKS) and of the others; ``overlap`` = the poses in the
      overlapping part of the two histograms (the red bars of Fig. 11:
      best poses scored as low as others, or others as high as best ones).
    - ``misranked_gt``: GT instances where, among the unmatched poses with
      OKS >= .5, the highest-scored one is not the highest-OKS one (greedy
      matching over the GTs in order of their best OKS, as the tool does).

    Returns:
        dict: Per score name the counts above, ``num_gt_covered_twice`` and
        the two histograms (``hist_best``, ``hist_others``; bins of 0.05
        over [0, 1], scores clipped).
    """
    images = _images(evaluator)
    results = {}
    for name, scores in scores_by_name.items():
        low_cut, high_cut = np.quantile(scores, [0.25, 0.75])
        best, others = [], []
        misranked = 0
        for dt_index, columns in images:
            for oks in columns:
                covering = np.where(oks > COVER_OKS)[0]
                if len(covering) >= 2:
                    top = covering[np.argmax(oks[covering])]
                    best.append(scores[dt_index[top]])
                    others.extend(scores[dt_index[covering[covering != top]]])
            used = set()
            for oks in columns:
                available = [
                    i for i in np.where(oks >= MATCH_OKS)[0] if i not in used
                ]
                if not available:
                    break  # as the tool: GTs further down are worse covered
                by_oks = available[int(np.argmax(oks[available]))]
                used.add(by_oks)
                by_score = available[int(np.argmax(
                    scores[dt_index[available]]))]
                if len(available) > 1 and by_score != by_oks:
                    misranked += 1
        hist_best = np.histogram(np.clip(best, 0, 1), HIST_BINS)[0]
        hist_others = np.histogram(np.clip(others, 0, 1), HIST_BINS)[0]
        results[name] = dict(
            high_oks_low_score=int(
                ((gt_oks >= 0.75) & (scores <= low_cut)).sum()),
            low_oks_high_score=int(
                ((gt_oks < 0.5) & (scores >= high_cut)).sum()),
            overlap=int(np.minimum(hist_best, hist_others).sum()),
            misranked_gt=misranked,
            num_gt_covered_twice=len(best),
            hist_best=hist_best.tolist(),
            hist_others=hist_others.tolist())
    return results


def plot_scoring_errors(errors: Dict[str, dict], out_file: str) -> str:
    """Fig. 11: per score, the histograms of the best poses' and the other
    poses' scores, their overlap in red."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    centers = (HIST_BINS[:-1] + HIST_BINS[1:]) / 2
    width = HIST_BINS[1] - HIST_BINS[0]
    fig, axes = plt.subplots(1,
                             len(errors),
                             figsize=(4.4 * len(errors), 3.8),
                             sharey=True,
                             squeeze=False)
    for ax, (name, entry) in zip(axes[0], errors.items()):
        best = np.asarray(entry['hist_best'])
        others = np.asarray(entry['hist_others'])
        ax.plot(centers, best, '-', lw=2, label='best pose of a GT')
        ax.plot(centers, others, '--', lw=2, label='other poses (OKS > .1)')
        ax.bar(centers,
               np.minimum(best, others),
               width=width * 0.9,
               color='red',
               alpha=0.6,
               label=f'overlap: {entry["overlap"]}')
        ax.set(title=name, xlabel='score', xlim=(0, 1))
        ax.legend(fontsize=7)
    axes[0, 0].set_ylabel('poses')
    fig.tight_layout()
    with atomic_path(out_file) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return out_file
