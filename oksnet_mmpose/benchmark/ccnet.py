# Copyright (c) oksnet-mmpose contributors.
"""A second post-hoc peer of OKS-net: CCNet-style quality from the pose
model's own features, trained after the model.

CCNet (ICML 2024) predicts, from the penultimate features of a frozen,
trained pose model, per keypoint its OKS term
:math:`\\exp(-d_i^2 / 2 s^2 k_i^2)` and whether it is visible, and is
trained post hoc. Here the feature is the one OKS-net's branch reads (the
input of the head's keypoint layer), recorded during ``mim test`` by
:class:`~.pose_feature_recorder.PoseFeatureRecorderHook` and pooled
globally (mean and max over space: 2C floats). An MLP (2C -> 256 -> 256 ->
2K, ReLU) gives per keypoint the logit of its OKS term and the logit of
"the keypoint is labelled" (COCO's v > 0); the pose's score is their COCO
combination (:meth:`KeypointOKSNet.combine`) times the pose's box score
(1 with GT boxes), as RescoreNet's score is.

It is trained on the model's own predictions on the training split (GT
boxes) against the per-keypoint terms of their GT, with
:class:`KeypointOKSLoss` (BCE on the terms of labelled keypoints plus BCE
on the labelled flags; a pose whose GT has no labelled keypoint gets weight
0), Adam lr 1e-3 and mini-batches; the length is chosen on a held-out share
as RescoreNet's (:func:`.post_hoc.train_with_held_out`), on the L1 between
the combined OKS and the GT OKS.
"""
import json
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from oksnet_mmpose.evaluation.functional import keypoint_similarities
from oksnet_mmpose.models.heads.keypoint_oks_net import KeypointOKSNet
from oksnet_mmpose.models.losses import KeypointOKSLoss
from oksnet_mmpose.utils import dump_json_atomic
from .post_hoc import HELD_OUT, MAX_STEPS, train_with_held_out

CCNET_LR = 1e-3
CCNET_BATCH_SIZE = 256
HIDDEN_CHANNELS = 256


class CCNet(nn.Module):
    """The peer's MLP on a pooled pose feature: 2C -> 256 -> 256 -> 2K.

    The input is standardised with the training features' per-channel mean
    and std (buffers, saved with the weights): the pooled channels of a
    trained network differ in scale by orders of magnitude (max- vs
    mean-pooled, dead and saturated channels), and Adam on a few thousand
    poses otherwise fits the large ones only.

    Args:
        in_channels (int): The pooled feature's length (2C).
        num_keypoints (int): K.
        hidden_channels (int): Width of the two hidden layers.
    """

    def __init__(self,
                 in_channels: int,
                 num_keypoints: int,
                 hidden_channels: int = HIDDEN_CHANNELS):
        super().__init__()
        self.in_channels = in_channels
        self.num_keypoints = num_keypoints
        self.register_buffer('feature_mean', torch.zeros(in_channels))
        self.register_buffer('feature_std', torch.ones(in_channels))
        self.mlp = nn.Sequential(
            nn.Linear(in_channels, hidden_channels),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_channels, hidden_channels),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_channels, 2 * num_keypoints),
        )

    def set_normalisation(self, features: Tensor) -> None:
        """Standardise inputs by the mean and std of ``features`` (N, 2C);
        a constant channel is only centred."""
        self.feature_mean.copy_(features.mean(0))
        self.feature_std.copy_(features.std(0).clamp(min=1e-6))

    def forward(self, features: Tensor) -> Tuple[Tensor, Tensor]:
        """The logits of the keypoint OKS terms and of the keypoints being
        labelled, each (N, K)."""
        x = (features - self.feature_mean) / self.feature_std
        term_logits, labelled_logits = self.mlp(x).chunk(2, -1)
        return term_logits, labelled_logits

    def predict_oks(self, features: Tensor) -> Tensor:
        """The predicted OKS (N, ): the COCO combination of the keypoint
        terms weighted by the labelled probabilities."""
        term_logits, labelled_logits = self(features)
        return KeypointOKSNet.combine(term_logits.sigmoid(),
                                      labelled_logits.sigmoid())

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, '
                f'num_keypoints={self.num_keypoints}')


def load_pose_features(path: str) -> Dict[object, np.ndarray]:
    """A :class:`PoseFeatureRecorderHook` file as sample id -> pooled
    feature (2C, )."""
    with np.load(path) as data:
        return {
            sample_id.item(): row
            for sample_id, row in zip(data['ids'], data['features'])
        }


def pose_features(poses: Sequence[dict], features_file: str) -> np.ndarray:
    """The recorded feature of each results-JSON pose, matched by its
    ``id`` (N, 2C).

    Raises:
        ValueError: A pose has no ``id`` or no feature recorded under it
            (never scored 0 silently); the message names the file and id.
    """
    recorded = load_pose_features(features_file)
    rows = []
    for index, pose in enumerate(poses):
        if 'id' not in pose:
            raise ValueError(
                f'pose {index} has no sample `id` (results JSON written '
                'before QualityCocoMetric wrote ids?); re-run mim test')
        row = recorded.get(pose['id'])
        if row is None:
            raise ValueError(
                f'{features_file} holds no feature of sample id '
                f'{pose["id"]!r} (pose {index}, image {pose.get("image_id")}'
                f'); {len(recorded)} features recorded')
        rows.append(row)
    return np.stack(rows).astype(np.float32)


def keypoint_targets(poses: Sequence[dict], ann_file: str,
                     sigmas: Optional[Sequence[float]] = None
                     ) -> Tuple[Tensor, Tensor]:
    """Per keypoint the GT OKS term of each pose (with GT boxes its ``id``
    is its GT annotation's) and whether the GT keypoint is labelled, both
    (N, K) float32, in the original image frame with the annotation's
    ``area`` (as :class:`QualityCocoMetric`'s ``gt_oks``).

    Args:
        sigmas (Sequence[float], optional): Keypoint sigmas. Defaults to
            COCO's (17 keypoints).
    """
    from oksnet_mmpose.analysis.analyze import default_sigmas
    with open(ann_file) as f:
        anns = {ann['id']: ann for ann in json.load(f)['annotations']}
    pred, gt, areas = [], [], []
    for index, pose in enumerate(poses):
        ann = anns.get(pose.get('id'))
        if ann is None:
            raise ValueError(
                f'pose {index} (id {pose.get("id")!r}) matches no '
                f'annotation of {ann_file}: CCNet trains on results with GT '
                'boxes, whose ids are annotation ids')
        pred.append(np.asarray(pose['keypoints']).reshape(-1, 3)[:, :2])
        gt.append(np.asarray(ann['keypoints']).reshape(-1, 3))
        areas.append(float(ann['area']))
    pred = torch.from_numpy(np.stack(pred).astype(np.float64))
    gt = torch.from_numpy(np.stack(gt).astype(np.float64))
    sigmas = default_sigmas(pred.shape[1]) if sigmas is None else sigmas
    terms = keypoint_similarities(pred, gt[..., :2],
                                  torch.tensor(areas, dtype=torch.float64),
                                  torch.as_tensor(sigmas,
                                                  dtype=torch.float64))
    return terms.float(), (gt[..., 2] > 0).float()


def combined_gt_oks(terms: Tensor, labelled: Tensor) -> Tensor:
    """The OKS of the GT terms: their mean over labelled keypoints (0 for
    a GT without one), as :func:`compute_oks`."""
    return (terms * labelled).sum(-1) / labelled.sum(-1).clamp(min=1)


def train_ccnet(features,
                terms: Tensor,
                labelled: Tensor,
                seed: int = 0,
                max_steps: int = MAX_STEPS,
                batch_size: int = CCNET_BATCH_SIZE,
                lr: float = CCNET_LR,
                held_out: float = HELD_OUT) -> Tuple[CCNet, dict]:
    """Train the CCNet peer on pooled features (N, 2C) and their GT
    keypoint terms and labelled flags (N, K) (:func:`keypoint_targets`).

    Returns:
        tuple: The trained net (eval mode) and a log dict: ``num_poses``,
        ``num_labelled_poses`` (GT with a labelled keypoint: the rest have
        loss weight 0), ``in_channels``, ``num_keypoints``,
        ``num_held_out``, ``num_steps`` (of the kept net), ``held_out_l1``
        (mean |combined OKS - GT OKS| of the held-out poses with a labelled
        keypoint, of the kept net), ``first_loss`` and ``final_loss``.
    """
    features = torch.as_tensor(np.asarray(features), dtype=torch.float32)
    terms, labelled = terms.float(), labelled.float()
    if features.dim() != 2 or not len(features) or \
            terms.shape != labelled.shape or len(terms) != len(features):
        raise ValueError(
            'CCNet trains on features (N, 2C) with GT terms and labelled '
            f'flags (N, K); got {tuple(features.shape)}, '
            f'{tuple(terms.shape)} and {tuple(labelled.shape)}')
    weights = labelled.any(-1).float()
    if not weights.any():
        raise ValueError('CCNet: no training pose has a GT with a labelled '
                         'keypoint')
    gt_oks = combined_gt_oks(terms, labelled)
    torch.manual_seed(seed)
    net = CCNet(features.shape[1], terms.shape[1])
    net.set_normalisation(features)
    criterion = KeypointOKSLoss()

    def loss_fn(net: CCNet, index: Tensor) -> Tensor:
        return criterion(*net(features[index]), terms[index], labelled[index],
                         weights[index])

    def error_fn(net: CCNet, index: Tensor) -> float:
        index = index[weights[index] > 0]  # GT OKS undefined otherwise
        return (net.predict_oks(features[index]) -
                gt_oks[index]).abs().mean().item()

    net, log = train_with_held_out(net, len(features), loss_fn, error_fn,
                                   seed=seed, max_steps=max_steps,
                                   batch_size=batch_size, lr=lr,
                                   held_out=held_out)
    return net, dict(num_poses=len(features),
                     num_labelled_poses=int(weights.sum()),
                     in_channels=net.in_channels,
                     num_keypoints=net.num_keypoints,
                     num_held_out=log['num_held_out'],
                     num_steps=log['num_steps'],
                     held_out_l1=log['held_out_error'],
                     first_loss=log['first_loss'],
                     final_loss=log['final_loss'])


def ccnet_oks(net: CCNet, features) -> np.ndarray:
    """The net's predicted OKS of each pooled feature (N, ), in [0, 1]."""
    with torch.no_grad():
        pred = net.predict_oks(
            torch.as_tensor(np.asarray(features), dtype=torch.float32))
    return pred.numpy().astype(np.float64)


def add_ccnet_scores(net: CCNet, results_file: str, features_file: str,
                     out_file: str) -> Dict[str, int]:
    """Copy a results JSON (``out_file`` may be ``results_file``) with each
    pose's ``ccnet_score``: the predicted OKS of its recorded feature times
    its ``bbox_score`` (1 when absent: GT boxes)."""
    with open(results_file) as f:
        poses = json.load(f)
    if not poses:
        raise ValueError(f'{results_file} holds no poses')
    try:
        features = pose_features(poses, features_file)
    except ValueError as err:
        raise ValueError(f'{results_file}: {err}') from err
    for pose, value in zip(poses, ccnet_oks(net, features)):
        pose['ccnet_score'] = float(value) * float(pose.get('bbox_score', 1.))
    dump_json_atomic(poses, out_file, indent=None)
    return dict(num_poses=len(poses))
