# Copyright (c) oksnet-mmpose contributors.
"""The main job's post-hoc peer steps: the test config that records the
pose features, and the training of RescoreNet and CCNet on the training
split's ``mim test`` results, each adding its score to the val results."""
import ast
import json
import os.path as osp
import pprint
import time
from typing import Type

import torch
from mmengine.config import Config

from oksnet_mmpose.utils import (atomic_path, dump_json_atomic,
                                 write_text_atomic)
from .ccnet import (add_ccnet_scores, keypoint_targets, pose_features,
                    train_ccnet)
from .rescorenet import add_rescorenet_scores, train_rescorenet
from .steps import StepError, say

RESULTS = 'results.keypoints.json'
# the val results with the peers' scores added (rescorenet_score,
# ccnet_score)
RESCORED_RESULTS = 'results_rescorenet.keypoints.json'
# the pooled pose feature of each pose of a main-model test run (CCNet's
# input), written by PoseFeatureRecorderHook
FEATURES = 'pose_features.npz'
FEATURE_RECORDER = 'oksnet_mmpose.benchmark.pose_feature_recorder'


def _plain(value):
    """Config values as plain dicts, lists and tuples."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def feature_config(config: str, out: str, features_file: str) -> str:
    """Write ``out``: ``config`` plus a :class:`PoseFeatureRecorderHook`
    writing ``features_file``.

    ``out`` inherits ``config`` (``_base_``, its absolute path) and sets
    ``custom_imports`` (the base's plus the recorder's module, which only
    this config imports) and ``custom_hooks`` (the base's plus the
    recorder), both written out in full: a child's list replaces its base's.
    Should a base hook hold a value with no Python literal form, the whole
    merged config is dumped instead.

    Returns:
        str: ``out``.
    """
    cfg = Config.fromfile(config)
    base_imports = _plain(cfg.get('custom_imports') or {})
    imports = dict(base_imports,
                   imports=list(base_imports.get('imports', [])) +
                   [FEATURE_RECORDER],
                   allow_failed_imports=base_imports.get(
                       'allow_failed_imports', False))
    hooks = _plain(list(cfg.get('custom_hooks') or [])) + [
        dict(type='PoseFeatureRecorderHook', out_file=features_file)
    ]
    sections = dict(custom_imports=imports, custom_hooks=hooks)
    code = {
        k: pprint.pformat(v, sort_dicts=False)
        for k, v in sections.items()
    }
    try:
        literal = all(
            ast.literal_eval(code[k]) == v for k, v in sections.items())
    except (SyntaxError, ValueError):
        literal = False
    if literal:
        write_text_atomic(
            "# the main job's test config: the trained model's config, "
            "recording\n# each pose's pose feature for the CCNet peer\n"
            f'_base_ = [{osp.abspath(config)!r}]\n\n' +
            ''.join(f'{k} = {v}\n' for k, v in code.items()), out)
    else:
        cfg.merge_from_dict(sections)
        with atomic_path(out) as tmp:
            cfg.dump(tmp)
    return out


def train_rescorenet_step(work_dir: str, seed: int, job: str,
                          error: Type[StepError]) -> None:
    """Train the RescoreNet peer on the training split's poses and write
    the val results (GT and detector boxes) with its score
    (:data:`RESCORED_RESULTS`)."""
    start = time.time()
    say(job, "step 'rescorenet': training DEKR's RescoreNet on the training "
        "split's poses")
    with open(osp.join(work_dir, 'test_train', RESULTS)) as f:
        train_poses = json.load(f)
    try:
        net, log = train_rescorenet(train_poses, seed=seed)
    except ValueError as err:
        raise error(f"step 'rescorenet' failed: {err}") from err
    with atomic_path(osp.join(work_dir, 'rescorenet.pth')) as tmp:
        torch.save(net.state_dict(), tmp)
    dump_json_atomic(log, osp.join(work_dir, 'rescorenet_log.json'))
    for name in ('gt', 'det'):
        test_dir = osp.join(work_dir, f'test_{name}')
        add_rescorenet_scores(net, osp.join(test_dir, RESULTS),
                              osp.join(test_dir, RESCORED_RESULTS))
    mse = log['held_out_mse']
    say(job, f"step 'rescorenet' done ({time.time() - start:.0f} s; "
        f"{log['num_poses']} poses, {log['num_held_out']} of them held out "
        f"to choose the length: net of step {log['num_steps']} kept, "
        f"held-out MSE {'n/a' if mse is None else f'{mse:.4f}'})")


def train_ccnet_step(work_dir: str, seed: int, train_ann_file: str, job: str,
                     error: Type[StepError]) -> None:
    """Train the CCNet peer on the training split's poses and pose
    features against the training annotations, and add its score to the
    val results of :func:`train_rescorenet_step` (GT and detector boxes),
    which then carry both peers' scores."""
    start = time.time()
    say(job, "step 'ccnet': training the CCNet peer on the training "
        "split's pose features")
    train_dir = osp.join(work_dir, 'test_train')
    with open(osp.join(train_dir, RESULTS)) as f:
        train_poses = json.load(f)
    try:
        features = pose_features(train_poses, osp.join(train_dir, FEATURES))
        terms, labelled = keypoint_targets(train_poses, train_ann_file)
        net, log = train_ccnet(features, terms, labelled, seed=seed)
        for name in ('gt', 'det'):
            test_dir = osp.join(work_dir, f'test_{name}')
            rescored = osp.join(test_dir, RESCORED_RESULTS)
            add_ccnet_scores(net, rescored, osp.join(test_dir, FEATURES),
                             rescored)
    except (OSError, ValueError) as err:
        raise error(f"step 'ccnet' failed: {err}") from err
    with atomic_path(osp.join(work_dir, 'ccnet.pth')) as tmp:
        torch.save(net.state_dict(), tmp)
    dump_json_atomic(log, osp.join(work_dir, 'ccnet_log.json'))
    l1 = log['held_out_l1']
    say(job, f"step 'ccnet' done ({time.time() - start:.0f} s; "
        f"{log['num_poses']} poses, {log['num_held_out']} of them held out "
        f"to choose the length: net of step {log['num_steps']} kept, "
        f"held-out L1 {'n/a' if l1 is None else f'{l1:.4f}'})")
