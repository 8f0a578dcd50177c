# Copyright (c) oksnet-mmpose contributors.
"""A post-hoc peer of OKS-net: DEKR's rescoring net, trained offline as DEKR
trains it.

DEKR (Geng et al., CVPR 2021; github.com/HRNet/DEKR, ``lib/utils/rescore.py``
and ``tools/train_scorenet.py``) scores a pose by an MLP on features of the
pose alone: the limb vectors and lengths of the skeleton, normalised by the
torso, and the keypoint scores. It is trained after the pose model, on the
model's predictions on the training split against their OKS with the
ground truth, with an MSE loss and Adam (lr 1e-3, batch 1024). MMPose ships
the net (:class:`mmpose.models.heads.hybrid_heads.dekr_head.RescoreNet`, with
DEKR's feature) for inference only; this module trains it.

The peer's score of a pose is the net's predicted OKS, clipped to [0, 1],
times the pose's box score (1 with GT boxes), as OKS-net's score is.
"""
import json
import warnings
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch

from oksnet_mmpose.utils import dump_json_atomic
from .post_hoc import HELD_OUT, MAX_STEPS, train_with_held_out

# DEKR's recipe (experiments/coco/rescore_coco.yaml)
DEKR_LR = 1e-3
DEKR_BATCH_SIZE = 1024

# the torso sides, whose mean length normalises the pose (DEKR's links 9
# and 11 of COCO; MMPose's DEKR configs: norm_indexes=(5, 6))
TORSO_LINKS = (('left_shoulder', 'left_hip'), ('right_shoulder', 'right_hip'))


def coco_skeleton() -> Tuple[List[Tuple[int, int]], Tuple[int, int]]:
    """The skeleton links of MMPose's COCO meta and the indexes of the two
    torso links in it (RescoreNet's ``norm_indexes``)."""
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    with warnings.catch_warnings():
        # MMPose warns when it resolves the file in its own package
        warnings.simplefilter('ignore', UserWarning)
        meta = parse_pose_metainfo(
            dict(from_file='configs/_base_/datasets/coco.py'))
    links = [tuple(link) for link in meta['skeleton_links']]
    ids = meta['keypoint_name2id']
    norm = []
    for a, b in TORSO_LINKS:
        pair = {ids[a], ids[b]}
        norm.append(
            next(i for i, link in enumerate(links) if set(link) == pair))
    return links, tuple(norm)


def build_rescorenet(seed: int = 0):
    """MMPose's RescoreNet for COCO's 17 keypoints, freshly initialised.

    Returns:
        tuple: The net and the skeleton links its ``forward`` takes.
    """
    from mmpose.models.heads.hybrid_heads.dekr_head import RescoreNet
    links, norm_indexes = coco_skeleton()
    torch.manual_seed(seed)
    # feature: 2 x limb vector + limb length per link, one score per keypoint
    net = RescoreNet(in_channels=3 * len(links) + 17,
                     norm_indexes=norm_indexes)
    return net, links


def pose_arrays(poses: Sequence[dict]) -> Tuple[torch.Tensor, torch.Tensor]:
    """Keypoints (N, K, 2) and keypoint scores (N, K) of results-JSON
    poses (COCO results format: ``keypoints`` x, y, score per keypoint)."""
    kpts = np.asarray([p['keypoints'] for p in poses],
                      dtype=np.float32).reshape(len(poses), -1, 3)
    return torch.from_numpy(kpts[..., :2]), torch.from_numpy(kpts[..., 2])


def train_rescorenet(
        poses: Sequence[dict],
        seed: int = 0,
        max_steps: int = MAX_STEPS,
        batch_size: int = DEKR_BATCH_SIZE,
        lr: float = DEKR_LR,
        held_out: float = HELD_OUT) -> Tuple[torch.nn.Module, dict]:
    """Train RescoreNet on poses with their GT OKS (the ``gt_oks`` field
    :class:`QualityCocoMetric` writes with GT boxes), as DEKR does: MSE on
    the OKS, Adam, shuffled mini-batches of 1024. DEKR trains 20 epochs on
    the poses of all COCO train images; a synthetic training split is
    ~50x smaller, so the length is chosen on a held-out share of the
    training poses instead: the net of the epoch with the lowest held-out
    MSE within ``max_steps`` is kept (2000 steps on ~1600 poses overfit:
    training MSE 0.0005, a val Pearson below the heatmap mean's).

    Returns:
        tuple: The trained net (eval mode) and a log dict (``num_poses``,
        ``num_held_out``, ``num_steps`` of the kept net, ``held_out_mse``
        of it, ``first_loss`` and ``final_loss``: mean training MSE of the
        first and the last epoch run).
    """
    missing = [i for i, p in enumerate(poses) if 'gt_oks' not in p]
    if not poses or missing:
        raise ValueError(
            'RescoreNet trains on poses with their GT OKS (results of mim '
            'test with GT boxes, QualityCocoMetric); '
            f'{len(missing) if poses else "no"} poses lack gt_oks')
    net, links = build_rescorenet(seed)
    keypoints, scores = pose_arrays(poses)
    with torch.no_grad():
        features = net.make_feature(keypoints, scores, links)
    target = torch.tensor([p['gt_oks'] for p in poses], dtype=torch.float32)

    def loss_fn(net, index: torch.Tensor) -> torch.Tensor:
        # DEKR's train_core: MSE between the net's output and the GT OKS
        return torch.nn.functional.mse_loss(_mlp(net, features[index]),
                                            target[index])

    def error_fn(net, index: torch.Tensor) -> float:
        return loss_fn(net, index).item()

    net, log = train_with_held_out(net, len(poses), loss_fn, error_fn,
                                   seed=seed, max_steps=max_steps,
                                   batch_size=batch_size, lr=lr,
                                   held_out=held_out)
    return net, dict(num_poses=len(poses),
                     num_held_out=log['num_held_out'],
                     num_steps=log['num_steps'],
                     held_out_mse=log['held_out_error'],
                     first_loss=log['first_loss'],
                     final_loss=log['final_loss'])


def _mlp(net, features: torch.Tensor) -> torch.Tensor:
    """RescoreNet.forward after its make_feature."""
    x = net.relu(net.l2(net.relu(net.l1(features))))
    return net.l3(x).squeeze(1)


def rescore(net: torch.nn.Module, poses: Sequence[dict]) -> np.ndarray:
    """The net's predicted OKS of each pose, clipped to [0, 1]; NaN (a
    degenerate pose) is 0, as in MMPose's DEKRHead."""
    links, _ = coco_skeleton()
    keypoints, scores = pose_arrays(poses)
    with torch.no_grad():
        pred = net(keypoints, scores, links)
    pred[torch.isnan(pred)] = 0
    return pred.clamp(0, 1).numpy().astype(np.float64)


def add_rescorenet_scores(net: torch.nn.Module, results_file: str,
                          out_file: str) -> Dict[str, int]:
    """Copy a results JSON with each pose's ``rescorenet_score``: the
    predicted OKS times the pose's ``bbox_score`` (1 when absent: GT
    boxes)."""
    with open(results_file) as f:
        poses = json.load(f)
    if not poses:
        raise ValueError(f'{results_file} holds no poses')
    predicted = rescore(net, poses)
    for pose, value in zip(poses, predicted):
        pose['rescorenet_score'] = float(value) * float(
            pose.get('bbox_score', 1.))
    dump_json_atomic(poses, out_file, indent=None)
    return dict(num_poses=len(poses))
