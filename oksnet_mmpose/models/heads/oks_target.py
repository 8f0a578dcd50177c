# Copyright (c) oksnet-mmpose contributors.
"""The OKS-net branch's training target: the GT OKS of the pose the codec
decodes from the head's own prediction (paper Eq. 1), with the keypoint
sigmas of the dataset metainfo."""
from typing import Dict, Tuple, Union

import numpy as np
import torch
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.utils.typing import OptSampleList
from torch import Tensor

from oksnet_mmpose.codecs import decode_keypoints_batched
from oksnet_mmpose.codecs.batched_decode import Encoded
from oksnet_mmpose.evaluation.functional import (compute_oks,
                                                 keypoint_similarities)


class OKSTargetMixin:
    """The online GT-OKS target of an OKS-net head: decode the encoded
    prediction with the head's ``decoder`` and compare it with the GT
    keypoints that :class:`PackOKSPoseInputs` packs. The head calls
    :meth:`_init_oks_target` in its ``__init__``."""

    default_metainfo = 'configs/_base_/datasets/coco.py'

    def _init_oks_target(self, metainfo: Union[str, dict, None]) -> None:
        """Keep ``metainfo`` (the default's when None) and its keypoint
        sigmas as the buffer ``sigmas``."""
        self.metainfo = self.default_metainfo if metainfo is None else metainfo
        # not persistent: it comes from the dataset metainfo, and stock
        # checkpoints must load with only `oks_net.*` missing
        self.register_buffer(
            'sigmas', torch.as_tensor(self._load_sigmas(self.metainfo)),
            persistent=False)

    def _load_sigmas(self, metainfo: Union[str, dict]) -> np.ndarray:
        """The keypoint sigmas of ``metainfo``; one clear line if there are
        none."""
        source = dict(from_file=metainfo) if isinstance(metainfo,
                                                        str) else metainfo
        try:
            sigmas = parse_pose_metainfo(source)['sigmas']
        except AssertionError:
            # parse_pose_metainfo asserts its required keys without a message
            sigmas = None
        if sigmas is None or len(sigmas) == 0:
            raise ValueError(
                f'{type(self).__name__}: the dataset metainfo {metainfo!r} '
                'has no keypoint `sigmas` (the OKS needs one per keypoint): '
                'set `model.head.metainfo` to a dataset metainfo file or dict '
                'with `sigmas`')
        return np.asarray(sigmas, dtype=np.float32)

    def decode_keypoints(self, encoded: Encoded) -> Tensor:
        """Decode keypoints (input image space, (B, K, 2)) from a batch of
        encoded predictions (heatmaps, or SimCC ``(x, y)``) with the
        test-time codec, without gradient, batched on the device (see
        :func:`decode_keypoints_batched`). Every OKS target goes through
        here."""
        if self.decoder is None:
            raise ValueError(
                f'{type(self).__name__} needs a `decoder` to compute the OKS '
                'targets: set `model.head.decoder` (the codec)')
        return decode_keypoints_batched(self.decoder, encoded)

    def get_oks_targets(self, encoded: Encoded,
                        batch_data_samples: OptSampleList
                        ) -> Tuple[Tensor, Tensor]:
        """The GT OKS of the poses decoded from ``encoded`` (paper Eq. 1).

        Returns:
            tuple: ``gt_oks`` (B, ) and per-sample loss ``weights`` (B, ),
            0 for an instance with no labelled keypoint.
        """
        targets = self.get_quality_targets(encoded, batch_data_samples)
        return targets['gt_oks'], targets['weights']

    @torch.no_grad()
    def get_quality_targets(self, encoded: Encoded,
                            batch_data_samples: OptSampleList
                            ) -> Dict[str, Tensor]:
        """The GT OKS of the poses decoded from ``encoded`` (paper Eq. 1)
        and its per-keypoint parts.

        Computed in the model input frame: the GT keypoints after the
        affine transform and the annotation area scaled by the same factor
        squared (both packed by :class:`PackOKSPoseInputs`).

        Returns:
            dict: ``gt_oks`` (B, ); per-sample loss ``weights`` (B, ), 0 for
            an instance with no labelled keypoint; ``keypoint_similarity``
            (B, K), each keypoint's OKS term; ``keypoint_labelled`` (B, K),
            1 where the keypoint is labelled (``v > 0``).
        """
        # float32 even under AMP: bf16 coordinates would be ~1 px coarse
        parts = (encoded, ) if isinstance(encoded, Tensor) else encoded
        parts = tuple(p.float() for p in parts)
        encoded = parts[0] if isinstance(encoded, Tensor) else parts
        bad = torch.stack([(~torch.isfinite(p)).flatten(1).any(1)
                           for p in parts]).any(0)
        if bad.any():
            raise FloatingPointError(
                f'{type(self).__name__}: the predicted keypoint outputs of '
                f'batch samples {bad.nonzero().flatten().tolist()} contain '
                'NaN/Inf; the OKS targets cannot be computed (training '
                'diverged?)')
        gt_instances = [d.gt_instances for d in batch_data_samples]
        for name in ('transformed_keypoints', 'transformed_areas'):
            if name not in gt_instances[0]:
                raise KeyError(
                    f'{type(self).__name__} needs `gt_instances.{name}` to '
                    'compute the OKS targets: end the train pipeline with '
                    "dict(type='PackOKSPoseInputs') instead of "
                    'PackPoseInputs')
        reference = parts[0]
        gt_keypoints = reference.new_tensor(
            np.concatenate([g.transformed_keypoints
                            for g in gt_instances])[..., :2])
        gt_visible = reference.new_tensor(
            np.concatenate([g.keypoints_visible for g in gt_instances]))
        areas = reference.new_tensor(
            np.concatenate([g.transformed_areas for g in gt_instances]))

        pred_keypoints = self.decode_keypoints(encoded)
        if gt_keypoints.shape[:2] != pred_keypoints.shape[:2]:
            raise ValueError(
                f'{type(self).__name__}: got GT keypoints of shape '
                f'{tuple(gt_keypoints.shape)} for decoded keypoints of shape '
                f'{tuple(pred_keypoints.shape)}: one instance per sample '
                'with the same keypoints is expected')
        if pred_keypoints.shape[1] != len(self.sigmas):
            raise ValueError(
                f'{type(self).__name__}: {pred_keypoints.shape[1]} keypoints '
                f'but the metainfo {self.metainfo!r} has {len(self.sigmas)} '
                'sigmas: set `model.head.metainfo` to the training '
                "dataset's metainfo")
        gt_oks = compute_oks(pred_keypoints, gt_keypoints, gt_visible, areas,
                             self.sigmas)
        labelled = (gt_visible > 0).to(gt_oks)
        return dict(
            gt_oks=gt_oks,
            weights=labelled.amax(dim=1),
            keypoint_similarity=keypoint_similarities(
                pred_keypoints, gt_keypoints, areas, self.sigmas),
            keypoint_labelled=labelled)
