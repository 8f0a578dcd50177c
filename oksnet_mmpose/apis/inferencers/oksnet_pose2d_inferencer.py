# Copyright (c) oksnet-mmpose contributors.
import logging
import os.path as osp
from collections import defaultdict
from contextlib import ExitStack, contextmanager
from typing import (Callable, Iterator, List, Optional, Sequence, Tuple,
                    Union)

import mmcv
import numpy as np
import torch
from mmengine.infer.infer import ModelType
from mmengine.logging import print_log
from mmengine.structures import InstanceData
from mmpose.apis.inferencers import Pose2DInferencer
from mmpose.evaluation.functional import nms
from mmpose.registry import INFERENCERS
from mmpose.structures import PoseDataSample

from ...models import oksnet_head
from ...utils import atomic_path, dump_json_atomic
from .pose_quality_results import (check_quality_thr, filter_by_quality,
                                   split_instances_with_quality)

# the notice drawn on an image without a person box
NO_PERSON_NOTICE = 'no person detected'


def _scalar_radius(draw_circles: Callable) -> Callable:
    """MMPose 1.3.2 draws a keypoint with ``radius=np.array([r])``, which its
    OpenCV backend turns into an int: numpy 2 refuses that for a 1-d array,
    so drawing any keypoint above ``kpt_thr`` would fail. The OpenCV path
    gets the scalar."""

    def draw(center, radius, *args, **kwargs):
        return draw_circles(center, float(np.asarray(radius).reshape(-1)[0]),
                            *args, **kwargs)

    return draw


def _release_writer(video_info: dict) -> None:
    if video_info['writer'] is not None:
        video_info['writer'].release()


@INFERENCERS.register_module()
class OKSNetPose2DInferencer(Pose2DInferencer):
    """:class:`Pose2DInferencer` for OKS-net models: every predicted instance
    carries ``pose_quality`` (the predicted OKS, flip-averaged with
    ``flip_test``), and ``quality_thr`` drops the poses below a quality.

    What it changes in MMPose 1.3.2's top-down inference:

    - ``bboxes`` (one entry per input, e.g. from
      :func:`~oksnet_mmpose.apis.inferencers.load_boxes_file`) is used:
      an entry with boxes replaces the detector; boxes with a score column
      get the detector's selection (score above ``bbox_thr``, then NMS at
      ``nms_thr``). The stock inferencer ignores it.
    - ``whole_image_fallback=False``: an image without a person box gets no
      pose (its data sample has no instances and ``num_person_boxes`` 0;
      its drawing says so) instead of the pose of the whole image.
    - Each data sample's metainfo has ``num_person_boxes`` (the boxes
      given to the pose model) and ``num_below_quality_thr``.
    - The instance dicts have ``pose_quality`` (MMPose's
      :func:`split_instances` drops it); the drawings label each box with
      its ``OKS 0.83``.
    - Every file of ``vis_out_dir`` and ``pred_out_dir`` is written under a
      temporary name and renamed when complete; a video's drawing is named
      ``NAME.mp4`` (its container) and appears after its last frame.

    Args:
        model, weights, device, scope, det_model, det_weights, det_cat_ids,
        show_progress: As in :class:`Pose2DInferencer`.

    Raises:
        ValueError: If the model's head is not an OKS-net head.
    """

    preprocess_kwargs: set = Pose2DInferencer.preprocess_kwargs | {
        'whole_image_fallback'
    }
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
        # an OKS-net head sets pred_instances.pose_quality
        oksnet_head(self.model, needed_by=type(self).__name__)
        self._outputs: Optional[ExitStack] = None
        if getattr(self.visualizer, 'backend', None) == 'opencv':
            self.visualizer.draw_circles = _scalar_radius(
                self.visualizer.draw_circles)

    def __call__(self, *args, **kwargs) -> Iterator[dict]:
        """As :meth:`BaseMMPoseInferencer.__call__`; a video's drawing is
        renamed into place when the last frame is done, and removed if the
        run stops before."""
        with self.atomic_outputs():
            yield from super().__call__(*args, **kwargs)

    @contextmanager
    def atomic_outputs(self) -> Iterator[None]:
        """The scope of one run's streamed outputs (a video's drawing):
        published on a clean exit, removed on an error."""
        try:
            with ExitStack() as self._outputs:
                yield
        finally:
            self._outputs = None

    def person_boxes(self, input: Union[str, np.ndarray],
                     bboxes: Union[Sequence, np.ndarray], bbox_thr: float,
                     nms_thr: float) -> np.ndarray:
        """The person boxes of one input: the given ``bboxes`` if any, else
        the detector's (if one), selected as MMPose selects detections.

        Returns:
            np.ndarray: ``x1, y1, x2, y2, score``, shape (N, 5), N >= 0.
        """
        boxes = np.asarray(bboxes, dtype=np.float32)
        if boxes.size > 0:
            boxes = boxes.reshape(-1, boxes.shape[-1])
            if boxes.shape[1] == 4:  # given without scores
                return np.concatenate([boxes, np.ones((len(boxes), 1))], 1)
        elif self.detector is not None:
            pred = self.detector(
                input, return_datasamples=True)['predictions'][0]
            pred = pred.pred_instances.cpu().numpy()
            boxes = np.concatenate([pred.bboxes, pred.scores[:, None]], 1)
            boxes = boxes[np.isin(pred.labels, self.det_cat_ids)]
        else:
            return np.zeros((0, 5), np.float32)
        boxes = boxes[boxes[:, 4] > bbox_thr]
        return boxes[nms(boxes, nms_thr)] if len(boxes) else boxes

    def preprocess_single(self,
                          input: Union[str, np.ndarray],
                          index: int,
                          bbox_thr: float = 0.3,
                          nms_thr: float = 0.3,
                          bboxes: Union[List, np.ndarray] = [],
                          whole_image_fallback: bool = True) -> List[dict]:
        """One data info per person box of :meth:`person_boxes`; without a
        box, the whole image (``whole_image_fallback``, MMPose's default)
        or one item holding an empty prediction that :meth:`forward`
        passes on.

        Args:
            input (str | np.ndarray): An image path or a BGR image.
            index (int): Its index among the inputs.
            bbox_thr, nms_thr: As in :meth:`Pose2DInferencer.preprocess`.
            bboxes (list | np.ndarray): This input's given boxes, (N, 4) or
                (N, 5); empty: the detector's. Defaults to ``[]``.
            whole_image_fallback (bool): Without a person box, estimate the
                pose of the whole image. Defaults to True.
        """
        if self.cfg.data_mode != 'topdown':
            return super().preprocess_single(input, index, bbox_thr, nms_thr,
                                             bboxes)
        if isinstance(input, str):
            data_info = dict(img_path=input)
        else:
            data_info = dict(img=input, img_path=f'{index}.jpg'.rjust(10, '0'))
        data_info.update(self.model.dataset_meta)
        boxes = self.person_boxes(input, bboxes, bbox_thr, nms_thr)
        if len(boxes) == 0:
            image = mmcv.imread(input) if isinstance(input, str) else input
            h, w = image.shape[:2]
            if not whole_image_fallback:
                return [dict(data_samples=self._no_person_sample(
                    data_info['img_path'], (h, w)))]
            boxes = np.array([[0, 0, w, h, 1]], dtype=np.float32)
        return [
            self.pipeline(
                dict(data_info,
                     bbox=box[None, :4].astype(np.float32),
                     bbox_score=box[4:5].astype(np.float32)))
            for box in boxes
        ]

    def _no_person_sample(self, img_path: str,
                          ori_shape: Tuple[int, int]) -> PoseDataSample:
        num_keypoints = self.model.dataset_meta['num_keypoints']
        instances = InstanceData(
            keypoints=np.zeros((0, num_keypoints, 2), np.float32),
            keypoint_scores=np.zeros((0, num_keypoints), np.float32),
            bboxes=np.zeros((0, 4), np.float32),
            bbox_scores=np.zeros(0, np.float32),
            pose_quality=np.zeros(0, np.float32))
        if oksnet_head(self.model).reads_keypoint_statistics:
            instances.keypoint_quality = np.zeros((0, num_keypoints),
                                                  np.float32)
        return PoseDataSample(
            metainfo=dict(img_path=img_path, ori_shape=ori_shape),
            pred_instances=instances)

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
            have ``pose_quality``, their metainfo ``num_person_boxes`` and
            ``num_below_quality_thr``.
        """
        check_quality_thr(quality_thr)
        if 'inputs' in inputs:
            data_samples = super().forward(inputs,
                                           merge_results=merge_results,
                                           bbox_thr=bbox_thr,
                                           pose_based_nms=pose_based_nms)
        else:  # no person box (see preprocess_single): nothing to run
            data_samples = inputs['data_samples']
        for data_sample in data_samples:
            instances = data_sample.pred_instances
            kept = filter_by_quality(instances, quality_thr)
            data_sample.pred_instances = kept
            data_sample.set_metainfo(
                dict(num_person_boxes=len(instances),
                     num_below_quality_thr=len(instances) - len(kept)))
        return data_samples

    def visualize(self,
                  inputs: list,
                  preds: List[PoseDataSample],
                  return_vis: bool = False,
                  show: bool = False,
                  wait_time: float = 0,
                  vis_out_dir: str = '',
                  window_name: str = '',
                  **kwargs) -> List[np.ndarray]:
        """:meth:`BaseMMPoseInferencer.visualize` with each box labelled
        with its predicted OKS (and a notice on an image without a person
        box); the files are written by :meth:`save_visualization`."""
        if not (return_vis or show or vis_out_dir):
            return
        drawn = super().visualize(inputs, preds, return_vis=True, **kwargs)
        drawn = [
            self._draw_pose_quality(image, pred)
            for image, pred in zip(drawn, preds)
        ]
        for image, pred in zip(drawn, preds):
            img_name = osp.basename(pred.metainfo['img_path'])
            if show:
                self.visualizer.show(
                    image,
                    win_name=window_name or img_name,
                    wait_time=1e-5 if self._video_input else wait_time)
            if vis_out_dir:
                self.save_visualization(image, vis_out_dir, img_name)
        return drawn if return_vis else []

    def _draw_pose_quality(self, image: np.ndarray,
                           pred: PoseDataSample) -> np.ndarray:
        """``OKS 0.83`` at the top-left corner of each box (inside the
        image), sized with the image as MMPose sizes its lines."""
        visualizer = self.visualizer
        visualizer.set_image(image)
        # one text per call and RGB tuples: what both of MMPose's drawing
        # backends (opencv, matplotlib) accept
        font_size = max(8, int(min(image.shape[:2]) / 40))
        label_box = [dict(facecolor=(0, 0, 0), alpha=0.6)]
        instances = pred.pred_instances
        if len(instances) > 0 and 'bboxes' in instances:
            corners = np.asarray(instances.bboxes)[:, :2].clip(
                0, [image.shape[1] - 1, image.shape[0] - 1])
            for quality, corner in zip(
                    np.asarray(instances.pose_quality).reshape(-1), corners):
                visualizer.draw_texts(f'OKS {quality:.2f}',
                                      corner,
                                      font_sizes=font_size,
                                      colors=(255, 255, 255),
                                      bboxes=label_box)
        if pred.metainfo.get('num_person_boxes', 1) == 0:
            visualizer.draw_texts(NO_PERSON_NOTICE,
                                  np.array([2, 2]),
                                  font_sizes=font_size,
                                  colors=(255, 255, 0),
                                  bboxes=label_box)
        return visualizer.get_image()

    def save_visualization(self,
                           visualization: np.ndarray,
                           vis_out_dir: str,
                           img_name: Optional[str] = None) -> None:
        """As :meth:`BaseMMPoseInferencer.save_visualization`, through a
        temporary file: an image's is renamed when written, a video's (named
        ``NAME.mp4``) when the run ends (see :meth:`atomic_outputs`)."""
        if osp.splitext(vis_out_dir)[1]:  # a file name
            out_file = vis_out_dir
        elif self._video_input:
            stem = osp.splitext(osp.basename(self.video_info['name']))[0]
            out_file = osp.join(vis_out_dir, f'{stem}.mp4')
        else:
            out_file = osp.join(vis_out_dir, img_name or 'visualization.jpg')
        if not self._video_input:
            with atomic_path(out_file) as tmp:
                mmcv.imwrite(mmcv.rgb2bgr(visualization), tmp)
            return
        video_info = self.video_info
        if video_info['writer'] is None and self._outputs is not None:
            video_info['partial_file'] = self._outputs.enter_context(
                atomic_path(out_file))
            # the writer is released before the rename, also on an error
            self._outputs.callback(_release_writer, video_info)
        super().save_visualization(visualization,
                                   video_info.get('partial_file', out_file))

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
                    # gathered per frame, written by
                    # `_finalize_video_processing`
                    self.video_info['predictions'].append(instances)
                else:
                    name = osp.splitext(
                        osp.basename(data_sample.metainfo['img_path']))[0]
                    dump_json_atomic(instances,
                                     osp.join(pred_out_dir, f'{name}.json'))
        return result_dict

    def _finalize_video_processing(self, pred_out_dir: str = '') -> None:
        """Release the video writer (the drawing is renamed into place when
        the run ends) and write the video's predictions, one JSON file."""
        _release_writer(self.video_info)
        if pred_out_dir:
            stem = osp.splitext(osp.basename(self.video_info['name']))[0]
            dump_json_atomic([
                dict(frame_id=i, instances=instances)
                for i, instances in enumerate(self.video_info['predictions'])
            ], osp.join(pred_out_dir, f'{stem}.json'))
