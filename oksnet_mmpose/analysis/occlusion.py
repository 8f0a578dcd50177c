# Copyright (c) oksnet-mmpose contributors.
"""Occlusion benchmarks (paper Fig. 6 / 12): COCO AP on the GT instances
with 0-5, 6-10, 11-15 and 16-17 visible keypoints, as Ronchi & Perona's
error-diagnosis tool (coco-analyze) defines them: the GT instances outside a
benchmark are ignored, and so are the poses matched to them."""
from typing import Dict, List, Tuple

import numpy as np
from xtcocotools.coco import COCO

from ..utils import atomic_path
from .keypoint_eval import KeypointEvaluator, ap_at_oks, pr_curve

# (name, fewest, most) labelled keypoints; the last bucket's upper bound is
# the number of keypoints of the dataset
VISIBLE_BUCKETS: Tuple[Tuple[str, int, int],
                       ...] = (('0-5', 0, 5), ('6-10', 6, 10),
                               ('11-15', 11, 15), ('16-17', 16, 17))
BUCKET_OKS = 0.75  # the OKS threshold of the paper's PR curves (Fig. 12)


def visible_keypoints(ann: dict) -> int:
    """The number of labelled keypoints (v > 0) of a GT instance: what
    COCOeval counts (and COCO's ``num_keypoints``)."""
    return int(np.count_nonzero(np.asarray(ann['keypoints'])[2::3] > 0))


def occlusion_buckets(coco: COCO, img_ids: List[int]) -> Dict[str, List[int]]:
    """GT annotation ids of ``img_ids`` per visible-keypoint bucket. The
    buckets partition the GT instances of those images."""
    buckets = {name: [] for name, _, _ in VISIBLE_BUCKETS}
    last = VISIBLE_BUCKETS[-1][0]
    for ann in coco.loadAnns(coco.getAnnIds(imgIds=img_ids)):
        visible = visible_keypoints(ann)
        for name, fewest, most in VISIBLE_BUCKETS:
            # datasets with more than 17 keypoints: all above 15 go last
            if fewest <= visible <= most or (name == last and visible > most):
                buckets[name].append(ann['id'])
                break
    return buckets


def evaluate_occlusion(evaluator: KeypointEvaluator,
                       scores_by_name: Dict[str, np.ndarray],
                       img_ids: List[int]) -> Dict[str, dict]:
    """AP per occlusion benchmark and score.

    Args:
        evaluator (KeypointEvaluator): The poses and GT.
        scores_by_name (dict): Score name -> one score per pose.
        img_ids (List[int]): The evaluated images.

    Returns:
        dict: Per score name and bucket: ``ap`` (over OKS .50:.95), ``ap75``
        (AP at OKS .75), ``num_gt`` (GT instances COCO evaluates in the
        bucket: not crowd, at least one labelled keypoint) and
        ``precision75`` (the PR curve at OKS .75, precision at COCO's 101
        recall points; -1 where recall is not reached).
    """
    buckets = occlusion_buckets(evaluator.coco, img_ids)
    all_ids = set(evaluator.coco.getAnnIds(imgIds=img_ids))
    results = {name: {} for name in scores_by_name}
    for bucket, gt_ids in buckets.items():
        ignore = all_ids - set(gt_ids)
        num_gt = sum(1 for ann in evaluator.coco.loadAnns(gt_ids)
                     if not ann.get('iscrowd', 0) and visible_keypoints(ann))
        for name, scores in scores_by_name.items():
            if num_gt == 0:
                results[name][bucket] = dict(ap=None,
                                             ap75=None,
                                             num_gt=0,
                                             precision75=None)
                continue
            coco_eval = evaluator.evaluate(scores,
                                           gt_ignore_ids=ignore,
                                           area_all_only=True)
            precision = coco_eval.eval['precision'][:, :, :, 0, -1]
            valid = precision[precision > -1]
            results[name][bucket] = dict(
                ap=float(valid.mean()) if valid.size else None,
                ap75=ap_at_oks(coco_eval, BUCKET_OKS),
                num_gt=num_gt,
                precision75=pr_curve(coco_eval, BUCKET_OKS).tolist())
    return results


def plot_occlusion_pr(occlusion: Dict[str, dict], out_file: str) -> str:
    """PR curves at OKS .75 per occlusion benchmark (one panel each), one
    line per score (paper Fig. 12)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    recall = np.linspace(0., 1., 101)
    buckets = [name for name, _, _ in VISIBLE_BUCKETS]
    fig, axes = plt.subplots(1,
                             len(buckets),
                             figsize=(4 * len(buckets), 3.8),
                             sharey=True)
    for ax, bucket in zip(axes, buckets):
        num_gt = 0
        for name, per_bucket in occlusion.items():
            entry = per_bucket[bucket]
            num_gt = entry['num_gt']
            if entry['precision75'] is None:
                continue
            precision = np.asarray(entry['precision75'], dtype=np.float64)
            precision[precision < 0] = np.nan
            ap75 = 'n/a' if entry['ap75'] is None else \
                f'{entry["ap75"] * 100:.1f}'
            ax.plot(recall, precision, label=f'{name} (AP75 {ap75})')
        ax.set(title=f'{bucket} visible keypoints ({num_gt} GT)',
               xlabel='recall',
               xlim=(0, 1),
               ylim=(0, 1.02))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc='lower left')
    axes[0].set_ylabel('precision at OKS .75')
    fig.tight_layout()
    with atomic_path(out_file) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return out_file
