# Copyright (c) oksnet-mmpose contributors.
from typing import Iterator, List, Optional, Union

from mmengine.infer.infer import ModelType
from mmpose.apis.inferencers import MMPoseInferencer

from .oksnet_pose2d_inferencer import OKSNetPose2DInferencer


class OKSNetInferencer(MMPoseInferencer):
    """:class:`MMPoseInferencer` for 2D OKS-net models: each predicted
    instance has ``pose_quality`` (the predicted OKS), and the
    ``quality_thr`` call argument keeps only the poses with
    ``pose_quality >= quality_thr`` (also in the visualizations and in the
    JSON files of ``pred_out_dir``). ``bboxes`` and
    ``whole_image_fallback`` work as in :class:`OKSNetPose2DInferencer`,
    which runs the model.

    Example::

        >>> inferencer = OKSNetInferencer(
        ...     'configs/oksnet_hrnet.py', 'epoch_250.pth',
        ...     det_model='rtmdet_m_8xb32-300e_coco.py', det_weights=...)
        >>> result = next(inferencer('demo.jpg', quality_thr=0.5))
        >>> [p['pose_quality'] for p in result['predictions'][0]]

    Args:
        pose2d (str): The OKS-net config (path or MMPose model name).
        pose2d_weights (str, optional): Its checkpoint. Defaults to None.
        device, scope, det_model, det_weights, det_cat_ids, show_progress:
            As in :class:`MMPoseInferencer` (``det_model='whole_image'``
            uses the whole image as the person box).

    Raises:
        ValueError: If the model's head is not an OKS-net head.
    """

    preprocess_kwargs: set = MMPoseInferencer.preprocess_kwargs | {
        'whole_image_fallback'
    }
    forward_kwargs: set = MMPoseInferencer.forward_kwargs | {'quality_thr'}

    def __init__(self,
                 pose2d: str,
                 pose2d_weights: Optional[str] = None,
                 device: Optional[str] = None,
                 scope: str = 'mmpose',
                 det_model: Optional[Union[ModelType, str]] = None,
                 det_weights: Optional[str] = None,
                 det_cat_ids: Optional[Union[int, List]] = None,
                 show_progress: bool = False) -> None:
        # MMPoseInferencer.__init__ would build a stock Pose2DInferencer;
        # this sets the same attributes with the OKS-net one
        self.visualizer = None
        self.show_progress = show_progress
        self.inferencer = OKSNetPose2DInferencer(pose2d, pose2d_weights,
                                                 device, scope, det_model,
                                                 det_weights, det_cat_ids,
                                                 show_progress)

    def postprocess(self, *args, **kwargs) -> dict:
        """Delegated to :meth:`OKSNetPose2DInferencer.postprocess`, which
        adds ``pose_quality`` to the instance dicts (the stock method drops
        it). Both share ``video_info``, so a video's predictions are still
        gathered for :meth:`_finalize_video_processing`."""
        return self.inferencer.postprocess(*args, **kwargs)

    def __call__(self, *args, **kwargs) -> Iterator[dict]:
        """:meth:`MMPoseInferencer.__call__` within the pose inferencer's
        :meth:`~OKSNetPose2DInferencer.atomic_outputs`."""
        with self.inferencer.atomic_outputs():
            yield from super().__call__(*args, **kwargs)

    def _finalize_video_processing(self, pred_out_dir: str = '') -> None:
        """Delegated, as :meth:`postprocess` is."""
        self.inferencer._finalize_video_processing(pred_out_dir)
