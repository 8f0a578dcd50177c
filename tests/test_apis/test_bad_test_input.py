# Copyright (c) oksnet-mmpose contributors.
"""Bad input at `mim test` time (Runner.test, what `mim test` runs) with the
checkpoint the tests train: a NaN detection score is named, an unwritable
outfile_prefix fails before inference; nothing is written."""
import json

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from tests.conftest import SAMPLE_DETS


def _runner(trained_oksnet, work_dir, **options):
    cfg = Config.fromfile(trained_oksnet.config)
    cfg.work_dir = str(work_dir)
    cfg.load_from = trained_oksnet.checkpoint
    cfg.merge_from_dict(options)
    return Runner.from_cfg(cfg)


def test_nan_detection_score_is_named(trained_oksnet, tmp_path):
    with open(SAMPLE_DETS) as f:
        dets = json.load(f)
    # keep the test short: only the boxes above 0.8, and the NaN one
    # (MMPose's bbox_score_thr filter keeps NaN: NaN < thr is False)
    # the person entries: "detection N" is the N-th of them
    people = [d for d in dets if d['category_id'] == 1]
    bad = max(range(len(people)), key=lambda i: people[i]['score'])
    people[bad]['score'] = float('nan')
    bbox_file = tmp_path / 'dets.json'
    bbox_file.write_text(json.dumps(people))
    runner = _runner(
        trained_oksnet,
        tmp_path,
        **{
            'test_dataloader.dataset.bbox_file': str(bbox_file),
            'test_dataloader.dataset.filter_cfg': dict(bbox_score_thr=0.8),
            'test_evaluator.outfile_prefix': str(tmp_path / 'results')
        })
    with pytest.raises(ValueError) as err:
        runner.test()
    message = str(err.value)
    assert (f'image {people[bad]["image_id"]} (' in message
            and f'detection {bad}: `bbox_scores` has 1 '
            'non-finite value(s)' in message
            and 'test_dataloader.dataset.bbox_file' in message), message
    assert not (tmp_path / 'results.keypoints.json').exists()


def test_outfile_prefix_under_a_file_fails_before_inference(
        trained_oksnet, tmp_path, monkeypatch):
    a_file = tmp_path / 'a_file'
    a_file.write_text('')
    runner = _runner(
        trained_oksnet, tmp_path / 'work',
        **{'test_evaluator.outfile_prefix': str(a_file / 'results')})
    predicted = []
    monkeypatch.setattr(runner.model, 'test_step', predicted.append)
    with pytest.raises(ValueError,
                       match=rf'{a_file} is a file, not a folder'):
        runner.test()
    assert predicted == []
    assert a_file.read_text() == ''
