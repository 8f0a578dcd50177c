# Copyright (c) oksnet-mmpose contributors.
"""How long :func:`~oksnet_mmpose.analysis.analyze_quality` takes on N
poses: a COCO annotation file made by repeating the images of a small one,
a results file of N noisy copies of its GT instances (several per instance,
random scores), and the analysis with every output written."""
import json
import os.path as osp
import tempfile
import time
from typing import Any, Dict, Tuple

import numpy as np

from ..analysis import analyze_quality

# the sample val2017 annotations, relative to the repository root
SAMPLE_ANN_FILE = osp.join('tests', 'data', 'coco', 'annotations',
                           'person_keypoints_val2017_sample.json')


def build_analysis_inputs(ann_file: str,
                          num_poses: int,
                          poses_per_gt: int,
                          out_dir: str,
                          seed: int = 0) -> Tuple[str, str, int]:
    """Write an annotation file and a results file of ``num_poses`` poses.

    The images of ``ann_file`` are repeated (with new ids) until their
    labelled instances, ``poses_per_gt`` predictions each, give
    ``num_poses``. A prediction is its GT keypoints plus Gaussian noise of a
    random size (2 % to 40 % of the instance's scale), with random
    ``heatmap_score`` and ``oksnet_score``, as QualityCocoMetric writes
    them.

    Args:
        ann_file (str): A COCO keypoint annotation file with at least one
            labelled instance.
        num_poses (int): Poses in the results file.
        poses_per_gt (int): Predictions per labelled GT instance.
        out_dir (str): Where ``annotations.json`` and
            ``results.keypoints.json`` go (an existing folder).
        seed (int): Seed of the noise and scores. Defaults to 0.

    Returns:
        tuple[str, str, int]: The annotation file, the results file and the
        number of images.

    Raises:
        ValueError: If ``num_poses`` or ``poses_per_gt`` is below 1, or
            ``ann_file`` has no labelled instance.
    """
    if num_poses < 1 or poses_per_gt < 1:
        raise ValueError('num_poses and poses_per_gt must be at least 1, got '
                         f'{num_poses} and {poses_per_gt}')
    rng = np.random.default_rng(seed)
    with open(ann_file) as f:
        data = json.load(f)
    labelled = [a for a in data['annotations'] if a['num_keypoints'] > 0]
    if not labelled:
        raise ValueError(f'{ann_file} has no instance with labelled '
                         'keypoints to make poses of')
    copies = int(np.ceil(num_poses / (poses_per_gt * len(labelled))))
    images, anns, poses = [], [], []
    for copy in range(copies):
        offset = (copy + 1) * 10**7
        images += [dict(img, id=img['id'] + offset) for img in data['images']]
        for ann in data['annotations']:
            anns.append(
                dict(ann, id=len(anns) + 1, image_id=ann['image_id'] + offset))
            if ann['num_keypoints'] == 0:
                continue
            gt = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
            for _ in range(poses_per_gt):
                noise = rng.uniform(0.02, 0.4) * np.sqrt(ann['area'])
                pred = gt[:, :2] + rng.normal(0, noise, gt[:, :2].shape)
                poses.append(
                    dict(
                        image_id=ann['image_id'] + offset,
                        category_id=1,
                        keypoints=np.concatenate(
                            [pred, np.ones((len(gt), 1))], 1).ravel().tolist(),
                        score=0.,
                        heatmap_score=float(rng.uniform()),
                        oksnet_score=float(rng.uniform())))
    poses = poses[:num_poses]
    ann_out = osp.join(out_dir, 'annotations.json')
    res_out = osp.join(out_dir, 'results.keypoints.json')
    with open(ann_out, 'w') as f:
        json.dump(dict(data, images=images, annotations=anns), f)
    with open(res_out, 'w') as f:
        json.dump(poses, f)
    return ann_out, res_out, len(images)


def time_analyze_quality(ann_file: str = SAMPLE_ANN_FILE,
                         num_poses: int = 10000,
                         poses_per_gt: int = 2) -> Dict[str, Any]:
    """Time :func:`~oksnet_mmpose.analysis.analyze_quality` with all its
    outputs on the inputs of :func:`build_analysis_inputs` (written to a
    temporary folder, removed after).

    Returns:
        dict: ``seconds`` (wall time of the analysis), ``num_poses`` and
        ``num_images``.
    """
    with tempfile.TemporaryDirectory() as tmp:
        ann_out, results, num_images = build_analysis_inputs(
            ann_file, num_poses, poses_per_gt, tmp)
        start = time.perf_counter()
        analyze_quality(ann_out, results, osp.join(tmp, 'analysis'))
        seconds = time.perf_counter() - start
    return dict(seconds=seconds, num_poses=num_poses, num_images=num_images)
