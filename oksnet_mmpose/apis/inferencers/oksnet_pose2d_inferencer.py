# Copyright (c) oksnet-mmpose contributors.
import logging
import os.path as osp
from collections import defaultdict
from typing import List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.infer.infer import ModelType
from mmengine.logging import print_log
from mmpose.apis.inferencers import Pose2DInferencer
from mmpose.registry import INFERENCERS
from mmpose.structures import PoseDataSample

from ..pose_quality_results import (check_quality_thr, dump_json_atomic,
                                    filter_by_quality,
                                    split_instances_with_quality)


@INFERENCERS.register_module()
class OKSNetPose2DInferencer(Pose2DInferencer):
    """:class:`Pose2DInferencer` for OKS-net models: every predicted instance
    carries ``pose_quality`` (the predicted OKS, flip-averaged with
    ``flip_test``), and ``quality_thr`` drops the poses below a quality.

    MMPose's inferencers convert predictions with
    :func:`mmpose.structures.split_instances`, which keeps only keypoints,
    keypoint scores and boxes; this one adds ``pose_quality`` to each
    instance dict (in the returned predictions and in the JSON files of
    ``pred_out_dir``).

    Args:
        model, weights, device, scope, det_model, det_weights, det_cat_ids,
        show_progress: As in :class:`Pose2DInferencer`.

    Raises:
        ValueError: If the model's head has no OKS-net branch.
    """

    forward_kwargs: set = Pose2DInferencer.forward_kwargs | {'quality_thr'}

    def __init__(self,
                 model: Union[ModelType, str],
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 scope: Optional[str] = 'mmpose',
                 det_model: Optional[Union[ModelType, str]] = None,
                 det_weights: Optional[str] = None,
                 det_cat_ids: Optional[Union[int, Tuple]] = None,
                 show_progress: bool = False) -> None:
        super().__init__(model=model,
                         weights=weights,
                         device=device,
                         scope=scope,
                         det_model=det_model,
                         det_weights=det_weights,
                         det_cat_ids=det_cat_ids,
                         show_progress=show_progress)
        head = getattr(self.model, 'head', None)
        if not hasattr(head, 'oks_net'):
            raise ValueError(
                f'{type(self).__name__}: the model of {model} has a '
                f'{type(head).__name__} head without an OKS-net branch '
                '(`head.oks_net`); pose_quality needs OKSNetHead or '
                'OKSNetCPMHead (see configs/)')

    @torch.no_grad()
    def forward(self,
                inputs: Union[dict, tuple],
                merge_results: bool = True,
                bbox_thr: float = -1,
                pose_based_nms: bool = False,
                quality_thr: Optional[float] = None) -> List[PoseDataSample]:
        """:meth:`Pose2DInferencer.forward`, then keep only the instances
        with ``pose_quality >= quality_thr``.

        Args:
            inputs, merge_results, bbox_thr, pose_based_nms: As in
                :meth:`Pose2DInferencer.forward`.
            quality_thr (float, optional): The lowest predicted OKS kept,
                in [0, 1]. Defaults to ``None`` (keep all).

        Returns:
            list[PoseDataSample]: The data samples; their ``pred_instances``
            have ``pose_quality``.
        """
        check_quality_thr(quality_thr)
        data_samples = super().forward(inputs,
                                       merge_results=merge_results,
                                       bbox_thr=bbox_thr,
                                       pose_based_nms=pose_based_nms)
        for data_sample in data_samples:
            data_sample.pred_instances = filter_by_quality(
                data_sample.pred_instances, quality_thr)
        return data_samples

    def postprocess(self,
                    preds: List[PoseDataSample],
                    visualization: List[np.ndarray],
                    return_datasample: Optional[bool] = None,
                    return_datasamples: bool = False,
                    pred_out_dir: str = '') -> dict:
        """As :meth:`BaseMMPoseInferencer.postprocess`, with ``pose_quality``
        in each instance dict; the JSON file of an image is written through
        a temporary file, so it is never left partial.

        Args:
            preds (list[PoseDataSample]): Predictions of :meth:`forward`.
            visualization (list[np.ndarray]): Returned by :meth:`visualize`.
            return_datasample (bool, optional): Deprecated name of
                ``return_datasamples``.
            return_datasamples (bool): Return the data samples instead of
                instance dicts. Defaults to False.
            pred_out_dir (str): Folder of the JSON predictions; ``''``
                writes none. Defaults to ``''``.

        Returns:
            dict: ``visualization`` and ``predictions`` (per input, a list
            of instance dicts with ``pose_quality``, or a data sample).
        """
        if return_datasample is not None:
            print_log(
                'The `return_datasample` argument is deprecated '
                'and will be removed in future versions. Please '
                'use `return_datasamples`.',
                logger='current',
                level=logging.WARNING)
            return_datasamples = return_datasample

        result_dict = defaultdict(list)
        result_dict['visualization'] = visualization
        instance_lists = [
            split_instances_with_quality(pred.pred_instances) for pred in preds
        ]
        result_dict['predictions'] = (list(preds) if return_datasamples else
                                      instance_lists)

        if pred_out_dir != '':
            for instances, data_sample in zip(instance_lists, preds):
                if self._video_input:
                    # gathered per frame; MMPose's
                    # `_finalize_video_processing` writes one file per video
                    self.video_info['predictions'].append(instances)
                else:
                    name = osp.splitext(
                        osp.basename(data_sample.metainfo['img_path']))[0]
                    dump_json_atomic(instances,
                                     osp.join(pred_out_dir, f'{name}.json'))
        return result_dict
