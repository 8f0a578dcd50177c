# Copyright (c) oksnet-mmpose contributors.
"""Reading a results JSON of :class:`QualityCocoMetric`, the correlation
of a score with GT OKS (paper Tab. I) and the paper's Fig. 3 (scatter) and
Fig. 4 (histograms)."""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from scipy.stats import pearsonr, spearmanr

from ..utils import atomic_path

# score name -> field of a pose in the results JSON
SCORE_FIELDS = {
    'heatmap': 'heatmap_score',
    'oksnet': 'oksnet_score',
    # the peers' scores, each analysed when every pose has it (the main job
    # adds them: oksnet_mmpose.benchmark.rescorenet, .ccnet)
    'rescorenet': 'rescorenet_score',
    'ccnet': 'ccnet_score',
    'gt_oks': 'gt_oks',
}
OPTIONAL_SCORES = ('rescorenet', 'ccnet')


def load_results(
    ann_file: str,
    results_file: str,
    required: Sequence[str] = ('heatmap_score', 'oksnet_score')
) -> List[dict]:
    """Load a results JSON (COCO results format plus score fields) and check
    it against the annotation file, naming the file and what is wrong."""
    for path, what in ((ann_file, 'annotation file'), (results_file,
                                                       'results file')):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what} {path} not found')
    with open(results_file) as f:
        try:
            poses = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f'{results_file} is not valid JSON: {error}')
    if not isinstance(poses, list) or not poses:
        raise ValueError(f'{results_file} holds no poses (empty or not a '
                         'COCO results list)')
    with open(ann_file) as f:
        annotations = json.load(f)
    if 'images' not in annotations or 'annotations' not in annotations:
        raise KeyError(f'{ann_file} is not a COCO annotation file (no '
                       '"images" / "annotations")')
    image_ids = {img['id'] for img in annotations['images']}
    for index, pose in enumerate(poses):
        if not isinstance(pose, dict):
            raise ValueError(f'{results_file}: pose {index} is not an object')
        missing = [
            k for k in ('image_id', 'category_id', 'keypoints', *required)
            if k not in pose
        ]
        if missing:
            raise KeyError(
                f'{results_file}: pose {index} has no '
                f'{", ".join(missing)}' +
                (' (written by QualityCocoMetric, i.e. a model '
                 'with OKS-net)' if 'oksnet_score' in missing else ''))
    unknown = [
        i for i, p in enumerate(poses) if p['image_id'] not in image_ids
    ]
    if unknown:
        first = poses[unknown[0]]['image_id']
        raise KeyError(f'{results_file}: {len(unknown)} of {len(poses)} poses '
                       f'have an image_id that {ann_file} does not have '
                       f'(first: pose {unknown[0]}, image_id {first}); are '
                       'they results on another split?')
    return poses


def correlations(scores: np.ndarray,
                 gt_oks: np.ndarray) -> Dict[str, Optional[float]]:
    """Pearson and Spearman correlation with GT OKS (None when undefined,
    e.g. a constant score)."""
    if len(scores) < 2 or np.ptp(scores) == 0 or np.ptp(gt_oks) == 0:
        return dict(pearson=None, spearman=None)
    return dict(pearson=float(pearsonr(scores, gt_oks)[0]),
                spearman=float(spearmanr(scores, gt_oks)[0]))


def gap_closed(summary: Dict[str, dict],
               key: str = 'ap',
               name: str = 'oksnet') -> Optional[float]:
    """Share of the heatmap -> GT-OKS upper-bound AP gap that the score
    ``name`` (default: OKS-net's) closes (None when there is no gap)."""
    gap = summary['gt_oks'][key] - summary['heatmap'][key]
    if gap <= 0:
        return None
    return (summary[name][key] - summary['heatmap'][key]) / gap


def plot_scores(poses: List[dict],
                out_dir: str,
                gt_oks: Optional[np.ndarray] = None) -> Dict[str, str]:
    """Fig. 3 (score vs GT OKS scatter, per score) and Fig. 4 (histograms of
    both scores next to the GT OKS histogram). ``gt_oks`` defaults to the
    poses' ``gt_oks`` field. Returns the PNG paths."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    if gt_oks is None:
        gt_oks = np.asarray([p['gt_oks'] for p in poses])
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), sharey=True)
    for ax, (name, title) in zip(axes, [('heatmap', 'heatmap-mean score'),
                                        ('oksnet', 'OKS-net score')]):
        scores = np.asarray([p[SCORE_FIELDS[name]] for p in poses])
        ax.scatter(gt_oks, scores, s=4, alpha=0.4)
        ax.plot([0, 1], [0, 1], 'k--', lw=0.8)
        ax.set(xlabel='GT OKS',
               ylabel='score',
               title=title,
               xlim=(0, 1),
               ylim=(0, 1.02))
    fig.tight_layout()
    paths['scatter'] = osp.join(out_dir, 'scatter_score_vs_gt_oks.png')
    with atomic_path(paths['scatter']) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
    bins = np.linspace(0, 1, 26)
    for ax, (name, title) in zip(axes, [('heatmap', 'heatmap-mean score'),
                                        ('oksnet', 'OKS-net score'),
                                        ('gt_oks', 'GT OKS')]):
        values = gt_oks if name == 'gt_oks' else np.asarray(
            [p[SCORE_FIELDS[name]] for p in poses])
        ax.hist(np.clip(values, 0, 1), bins=bins)
        ax.set(xlabel=title, ylabel='poses')
    fig.tight_layout()
    paths['histograms'] = osp.join(out_dir, 'histograms.png')
    with atomic_path(paths['histograms']) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return paths
