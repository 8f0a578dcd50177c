# Copyright (c) oksnet-mmpose contributors.
from typing import Optional

import numpy as np
from mmpose.structures import PoseDataSample
from mmpose.visualization import PoseLocalVisualizer


def draw_poses_with_quality(visualizer: PoseLocalVisualizer,
                            image: np.ndarray,
                            data_sample: Optional[PoseDataSample],
                            kpt_thr: float = 0.3,
                            notice: Optional[str] = None) -> np.ndarray:
    """Draw the predicted poses (skeleton and box, by MMPose's visualizer)
    with each pose's predicted OKS written at the top-left corner of its
    box.

    Args:
        visualizer (PoseLocalVisualizer): The visualizer, with the dataset
            meta (skeleton, colors) set.
        image (np.ndarray): The image, RGB, shape (H, W, 3).
        data_sample (PoseDataSample, optional): The predictions of the image:
            ``pred_instances`` with ``keypoints``, ``keypoint_scores``,
            ``bboxes`` and ``pose_quality``. ``None`` draws no pose.
        kpt_thr (float): Keypoints scoring below it are not drawn.
            Defaults to 0.3.
        notice (str, optional): A line written at the top-left corner of the
            image (e.g. that no person was found). Defaults to None.

    Returns:
        np.ndarray: The drawn image, RGB, the size of ``image``.
    """
    if data_sample is not None and len(data_sample.pred_instances) > 0:
        visualizer.add_datasample('pose_quality',
                                  image,
                                  data_sample,
                                  draw_gt=False,
                                  draw_bbox=True,
                                  show=False,
                                  kpt_thr=kpt_thr)
        drawn = visualizer.get_image()
    else:
        drawn = image
    visualizer.set_image(drawn)

    # the text scales with the image, as MMPose's visualizer sizes lines;
    # one text per call and colors as RGB tuples: what both of MMPose's
    # drawing backends (opencv, matplotlib) accept
    font_size = max(8, int(min(image.shape[:2]) / 40))
    label_box = [dict(facecolor=(0, 0, 0), alpha=0.6)]
    if data_sample is not None and len(data_sample.pred_instances) > 0:
        instances = data_sample.pred_instances
        quality = np.asarray(instances.pose_quality).reshape(-1)
        corners = np.asarray(instances.bboxes)[:, :2]
        # inside the image, also for a box touching its border
        corners = corners.clip(0, [image.shape[1] - 1, image.shape[0] - 1])
        for q, corner in zip(quality, corners):
            visualizer.draw_texts(f'OKS {q:.2f}',
                                  corner,
                                  font_sizes=font_size,
                                  colors=(255, 255, 255),
                                  bboxes=label_box)
    if notice:
        visualizer.draw_texts(notice,
                              np.array([2, 2]),
                              font_sizes=font_size,
                              colors=(255, 255, 0),
                              bboxes=label_box)
    return visualizer.get_image()
