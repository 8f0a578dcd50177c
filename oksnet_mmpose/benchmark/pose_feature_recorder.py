# Copyright (c) oksnet-mmpose contributors.
"""Record the pose feature of each test sample, for a post-hoc peer that
reads the pose model's features (CCNet, :mod:`.ccnet`).

Only the benchmark's derived test config imports this module (through its
``custom_imports``); ``import oksnet_mmpose`` does not, so the hook is
registered only where it is used.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import all_gather_object, is_main_process
from mmengine.hooks import Hook
from mmpose.registry import HOOKS

from oksnet_mmpose.models.heads import oksnet_head
from oksnet_mmpose.utils import atomic_path


def pool_pose_feature(feature: torch.Tensor) -> torch.Tensor:
    """Global mean and max pooling over the spatial dims of a pose feature
    (B, C, ...) -> (B, 2C), mean first, as float32."""
    flat = feature.detach().float().flatten(2) if feature.dim() > 2 else \
        feature.detach().float()[..., None]
    return torch.cat([flat.mean(-1), flat.amax(-1)], dim=1)


@HOOKS.register_module()
class PoseFeatureRecorderHook(Hook):
    """During ``runner.test()``, record each data sample's pose feature
    (what the OKS-net head's keypoint layer reads: the input of
    ``head.keypoint_layer``), pooled by :func:`pool_pose_feature`, and
    write them to ``out_file``: an ``.npz`` with ``ids`` (N, ) (each
    sample's ``metainfo['id']``: the GT annotation id with GT boxes, the
    detection index with detector boxes, as in the results JSON of
    :class:`QualityCocoMetric`) and ``features`` (N, 2C) float32.

    With flip test the keypoint layer runs twice per batch, the original
    view first; only the first call of each iteration is kept, so the
    feature is the un-flipped view's. In a distributed test every rank's
    samples are gathered and the main process writes the file (a sample
    repeated by the sampler's padding is kept once).

    Args:
        out_file (str): The ``.npz`` to write (atomically).
    """

    priority = 'NORMAL'

    def __init__(self, out_file: str):
        self.out_file = out_file
        self._handle = None
        self._batch_feature: Optional[torch.Tensor] = None
        self._ids: List = []
        self._features: List[np.ndarray] = []

    def before_test(self, runner) -> None:
        head = oksnet_head(runner.model, needed_by=type(self).__name__)
        self._remove()
        self._ids, self._features = [], []
        self._handle = head.keypoint_layer.register_forward_pre_hook(
            self._record)

    def _record(self, module, args) -> None:
        # the first call of the iteration: the un-flipped view
        if self._batch_feature is None:
            self._batch_feature = pool_pose_feature(args[0]).cpu()

    def before_test_iter(self, runner, batch_idx: int,
                         data_batch: Optional[dict] = None) -> None:
        self._batch_feature = None

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch: Optional[dict] = None,
                        outputs: Optional[Sequence] = None) -> None:
        feature, self._batch_feature = self._batch_feature, None
        samples = outputs if outputs is not None else \
            data_batch['data_samples']
        if feature is None:
            raise RuntimeError(
                f'{type(self).__name__}: the keypoint layer did not run in '
                f'test iteration {batch_idx}')
        if len(feature) != len(samples):
            # e.g. a head that calls its keypoint layer per instance
            raise RuntimeError(
                f'{type(self).__name__}: the keypoint layer read '
                f'{len(feature)} poses in test iteration {batch_idx}, the '
                f'batch has {len(samples)} data samples')
        for sample, row in zip(samples, feature.numpy()):
            self._ids.append(sample.metainfo['id'])
            self._features.append(row)

    def after_test_epoch(self,
                         runner,
                         metrics: Optional[Dict[str, float]] = None) -> None:
        self._remove()
        gathered = all_gather_object((self._ids, self._features))
        self._ids, self._features = [], []
        if not is_main_process():
            return
        ids, features, seen = [], [], set()
        for rank_ids, rank_features in gathered:
            for sample_id, row in zip(rank_ids, rank_features):
                if sample_id not in seen:
                    seen.add(sample_id)
                    ids.append(sample_id)
                    features.append(row)
        if not features:
            raise RuntimeError(f'{type(self).__name__}: no test sample was '
                               f'recorded; {self.out_file} not written')
        with atomic_path(self.out_file) as tmp:
            # a file object: np.savez would append '.npz' to a path
            with open(tmp, 'wb') as f:
                np.savez(f, ids=np.asarray(ids), features=np.stack(features))
        runner.logger.info(f'{type(self).__name__}: {len(ids)} pose '
                           f'features written to {self.out_file}')

    def _remove(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

