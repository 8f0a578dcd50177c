# Copyright (c) oksnet-mmpose contributors.
"""Rescoring comparison (paper Tab. VI): MMPose's OKS-NMS and soft-OKS-NMS
with the heatmap-mean score against OKS-NMS with the OKS-net score."""
from collections import defaultdict
from typing import Dict, List, Sequence

import numpy as np
from mmpose.evaluation.functional import oks_nms, soft_oks_nms

from .keypoint_eval import KeypointEvaluator, ap_names

# (row name, score name, MMPose NMS function)
RESCORING_METHODS = (('OKS-NMS', 'heatmap',
                      oks_nms), ('soft-OKS-NMS', 'heatmap', soft_oks_nms),
                     ('OKS-net + OKS-NMS', 'oksnet', oks_nms),
                     ('RescoreNet + OKS-NMS', 'rescorenet', oks_nms),
                     ('CCNet + OKS-NMS', 'ccnet', oks_nms))


def nms_keep(poses: List[dict], areas: np.ndarray, scores: np.ndarray, nms,
             nms_thr: float, sigmas: Sequence[float]) -> np.ndarray:
    """Indices of the poses an MMPose NMS function keeps, image by image,
    as :class:`CocoMetric` calls it (``keypoints`` (K, 3), ``score``,
    ``area``)."""
    by_image = defaultdict(list)
    for index, pose in enumerate(poses):
        by_image[pose['image_id']].append(index)
    sigmas = np.asarray(sigmas)
    keep = []
    for indices in by_image.values():
        kpts_db = [
            dict(keypoints=np.asarray(poses[i]['keypoints']).reshape(-1, 3),
                 score=float(scores[i]),
                 area=float(areas[i])) for i in indices
        ]
        keep.extend(indices[k] for k in nms(kpts_db, nms_thr, sigmas=sigmas))
    return np.sort(np.asarray(keep, dtype=np.int64))


def compare_rescoring(evaluator: KeypointEvaluator,
                      poses: List[dict],
                      scores_by_name: Dict[str, np.ndarray],
                      nms_thr: float = 0.9) -> Dict[str, dict]:
    """COCO AP of each row of :data:`RESCORING_METHODS`.

    NMS reads each pose's ``area`` field when present (what
    :class:`QualityCocoMetric` used), else the area of its keypoints'
    bounding box (COCO's ``loadRes``). MMPose's ``soft_oks_nms`` keeps at
    most 20 poses per image, ordered by the decayed scores, and the kept
    poses keep their own score, as in ``CocoMetric(nms_mode=
    'soft_oks_nms')``.

    Args:
        evaluator (KeypointEvaluator): The poses and GT.
        poses (List[dict]): The poses, in the evaluator's order.
        scores_by_name (dict): Score name -> one score per pose.
        nms_thr (float): The NMS OKS threshold (CocoMetric's default 0.9).

    Returns:
        dict: Per row: ``ap``... of :func:`ap_names`, ``kept`` (poses
        left by NMS) and ``score``.
    """
    areas = np.asarray([
        pose['area'] if 'area' in pose else evaluator.dt_anns[i]['area']
        for i, pose in enumerate(poses)
    ],
                       dtype=np.float64)
    rows = {}
    for row, score_name, nms in RESCORING_METHODS:
        if score_name not in scores_by_name:  # an optional peer
            continue
        scores = scores_by_name[score_name]
        keep = nms_keep(poses, areas, scores, nms, nms_thr, evaluator.sigmas)
        rows[row] = dict(**ap_names(evaluator.evaluate(scores, keep=keep)),
                         kept=int(len(keep)),
                         score=score_name)
    return rows
