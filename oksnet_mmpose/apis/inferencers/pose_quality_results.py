# Copyright (c) oksnet-mmpose contributors.
"""Predicted instances with their ``pose_quality``: the quality threshold and
the per-instance dicts MMPose writes, with the predicted OKS added."""
from typing import List, Optional

import numpy as np
from mmengine.structures import InstanceData
from mmpose.structures import split_instances

from ...models import oksnet_head_types


def check_quality_thr(quality_thr: Optional[float]) -> None:
    """Refuse a quality threshold outside the range of an OKS.

    Args:
        quality_thr (float, optional): The threshold; ``None`` means none.

    Raises:
        ValueError: If ``quality_thr`` is not in [0, 1].
    """
    if quality_thr is not None and not 0. <= quality_thr <= 1.:
        raise ValueError(f'quality_thr must be in [0, 1] (a predicted OKS), '
                         f'got {quality_thr}')


def _pose_quality(instances: InstanceData) -> np.ndarray:
    if 'pose_quality' not in instances:
        raise KeyError(
            'the predicted instances have no `pose_quality` (fields: '
            f'{sorted(instances.keys())}): the model needs an OKS-net head '
            f'({", ".join(oksnet_head_types())})')
    return np.asarray(instances.pose_quality, dtype=np.float64).reshape(-1)


def filter_by_quality(instances: InstanceData,
                      quality_thr: Optional[float]) -> InstanceData:
    """Keep the instances whose predicted OKS is at least ``quality_thr``.

    Args:
        instances (InstanceData): Predicted instances with ``pose_quality``.
        quality_thr (float, optional): Keep ``pose_quality >= quality_thr``;
            ``None`` keeps every instance.

    Returns:
        InstanceData: The kept instances (``instances`` itself when
        ``quality_thr`` is ``None``).
    """
    check_quality_thr(quality_thr)
    if quality_thr is None:
        return instances
    return instances[_pose_quality(instances) >= quality_thr]


def split_instances_with_quality(
        instances: Optional[InstanceData]) -> List[dict]:
    """:func:`mmpose.structures.split_instances` plus each instance's
    ``pose_quality`` (and ``keypoint_quality`` when the head predicts it).

    Args:
        instances (InstanceData, optional): Predicted instances with
            ``keypoints``, ``keypoint_scores``, ``pose_quality`` and
            optionally ``keypoint_quality``, ``bboxes`` and ``bbox_scores``.

    Returns:
        list[dict]: One JSON-serializable dict per instance, with MMPose's
        keys (``keypoints``, ``keypoint_scores``, ``bbox`` as
        ``[[x1, y1, x2, y2]]``, ``bbox_score``), ``pose_quality`` (float,
        the predicted OKS) and, from a ``keypoint`` branch,
        ``keypoint_quality`` (one float per keypoint: its predicted OKS
        term, how close it is to where the person's keypoint is).
    """
    results = split_instances(instances)
    if instances is None:
        return results
    keypoint_quality = (np.asarray(instances.keypoint_quality,
                                   dtype=np.float64)
                        if 'keypoint_quality' in instances else None)
    for i, (result, quality) in enumerate(
            zip(results, _pose_quality(instances))):
        result['pose_quality'] = float(quality)
        if keypoint_quality is not None:
            result['keypoint_quality'] = keypoint_quality[i].tolist()
        if 'bbox' in result:
            # MMPose makes it a 1-tuple of [x1, y1, x2, y2]; a list is what
            # its JSON files hold, so the dict equals what is read back
            result['bbox'] = list(result['bbox'])
        if 'bbox_score' in result:
            # numpy scalars are not JSON-serializable
            result['bbox_score'] = float(result['bbox_score'])
    return results

