# Copyright (c) oksnet-mmpose contributors.
import numpy as np
import torch
from torch import Tensor

# COCOeval adds this to the area before dividing by it
# (``np.spacing(1)`` in ``COCOeval.computeOks``).
_AREA_EPS = float(np.spacing(1))


def compute_oks(pred_keypoints: Tensor, gt_keypoints: Tensor,
                gt_visible: Tensor, areas: Tensor, sigmas: Tensor) -> Tensor:
    """Object Keypoint Similarity of each predicted pose with its ground truth
    (COCO, paper Eq. 1), computed exactly as ``COCOeval.computeOks`` does for
    a ground-truth instance with at least one labelled keypoint.

    .. math::
        OKS = \\frac{\\sum_i \\exp(-d_i^2 / 2 s^2 k_i^2) \\delta(v_i > 0)}
                   {\\sum_i \\delta(v_i > 0)},\\quad k_i = 2\\sigma_i,
                   \\quad s^2 = area

    All coordinates and areas must be in one frame (e.g. the original image,
    or the model input after the affine transform, with the area scaled by
    the same factor squared).

    Note:
        - instance number: N
        - keypoint number: K

    Args:
        pred_keypoints (Tensor): Predicted keypoints in shape (N, K, 2).
        gt_keypoints (Tensor): Ground-truth keypoints in shape (N, K, 2).
        gt_visible (Tensor): Ground-truth visibility flags in shape (N, K);
            a keypoint counts when its flag is > 0 (COCO's ``v > 0``).
        areas (Tensor): Ground-truth areas (the object scale squared, COCO's
            ``area``) in shape (N, ).
        sigmas (Tensor): Per-keypoint sigmas of the dataset in shape (K, ).

    Returns:
        Tensor: The OKS of each instance in shape (N, ). An instance with no
        labelled keypoint has OKS 0 (COCOeval falls back to a bbox-distance
        there; such instances are ignored by COCO's keypoint evaluation and
        get zero loss weight in :class:`OKSNetHead`).
    """
    if pred_keypoints.shape != gt_keypoints.shape or pred_keypoints.ndim != 3 \
            or pred_keypoints.shape[-1] != 2:
        raise ValueError('compute_oks: pred_keypoints and gt_keypoints must '
                         'both be (N, K, 2), got '
                         f'{tuple(pred_keypoints.shape)} and '
                         f'{tuple(gt_keypoints.shape)}')
    num_instances, num_keypoints = pred_keypoints.shape[:2]
    if tuple(gt_visible.shape) != (num_instances, num_keypoints):
        raise ValueError(f'compute_oks: gt_visible must be ({num_instances}, '
                         f'{num_keypoints}), got {tuple(gt_visible.shape)}')
    if tuple(areas.shape) != (num_instances, ):
        raise ValueError(f'compute_oks: areas must be ({num_instances},), '
                         f'got {tuple(areas.shape)}')
    if tuple(sigmas.shape) != (num_keypoints, ):
        raise ValueError(f'compute_oks: sigmas must be ({num_keypoints},), '
                         f'got {tuple(sigmas.shape)}')

    visible = (gt_visible > 0).to(pred_keypoints)
    similarity = (keypoint_similarities(pred_keypoints, gt_keypoints, areas,
                                        sigmas) * visible).sum(dim=-1)
    return similarity / visible.sum(dim=-1).clamp(min=1)


def keypoint_similarities(pred_keypoints: Tensor, gt_keypoints: Tensor,
                          areas: Tensor, sigmas: Tensor) -> Tensor:
    """The per-keypoint terms :math:`\exp(-d_i^2 / 2 s^2 k_i^2)` of the OKS
    (see :func:`compute_oks`, which averages them over labelled keypoints;
    this function checks no shapes), in shape (N, K)."""
    sigmas = sigmas.to(pred_keypoints)
    variances = (sigmas * 2)**2
    squared_dist = ((pred_keypoints - gt_keypoints)**2).sum(dim=-1)
    areas = areas.to(pred_keypoints)[:, None] + _AREA_EPS
    return torch.exp(-squared_dist / variances / areas / 2)
