# Copyright (c) oksnet-mmpose contributors.
"""oksnet_mmpose.benchmark.analysis_timing: the inputs it times
analyze_quality on. No timing is asserted."""
import json

import pytest

from oksnet_mmpose.analysis import analyze_quality
from oksnet_mmpose.benchmark.analysis_timing import build_analysis_inputs
from tests.conftest import SAMPLE_ANN


def test_inputs_hold_the_poses_asked_for_on_repeated_images(tmp_path):
    with open(SAMPLE_ANN) as f:
        sample = json.load(f)
    labelled = sum(a['num_keypoints'] > 0 for a in sample['annotations'])
    num_poses = 2 * labelled + 3  # a third copy of the images, in part
    ann_file, results, num_images = build_analysis_inputs(
        SAMPLE_ANN, num_poses, 1, str(tmp_path))
    with open(ann_file) as f:
        ann = json.load(f)
    with open(results) as f:
        poses = json.load(f)
    assert len(poses) == num_poses
    assert num_images == len(ann['images']) == 3 * len(sample['images'])
    assert len(ann['annotations']) == 3 * len(sample['annotations'])
    image_ids = {image['id'] for image in ann['images']}
    assert len(image_ids) == num_images
    assert {pose['image_id'] for pose in poses} <= image_ids
    assert all(0 <= p['oksnet_score'] <= 1 and 0 <= p['heatmap_score'] <= 1
               for p in poses)
    # what analyze_quality takes
    summary = analyze_quality(ann_file, results)
    assert 0 <= summary['oksnet']['ap'] <= 1


def test_bad_counts_are_refused(tmp_path):
    with pytest.raises(ValueError, match='at least 1, got 0 and 2'):
        build_analysis_inputs(SAMPLE_ANN, 0, 2, str(tmp_path))
