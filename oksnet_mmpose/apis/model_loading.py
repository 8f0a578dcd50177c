# Copyright (c) oksnet-mmpose contributors.
"""Load a pose config and a checkpoint for tools that must not run a model
with silently random layers (export, analysis of a trained model)."""
import copy
import os
import os.path as osp
from collections import OrderedDict
from typing import Union

from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.runner.checkpoint import CheckpointLoader
from torch import nn


def load_pose_config(config: Union[str, Config]) -> Config:
    """Load a config without modifying the caller's.

    Args:
        config (str | Config): A :class:`Config` (copied), a config file, or
            a config of an installed package such as
            ``'mmpose::body_2d_keypoint/...py'``.

    Returns:
        Config: The loaded config.
    """
    if isinstance(config, Config):
        return copy.deepcopy(config)
    config = os.fspath(config)
    if '::' in config:
        return get_config(config)
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config} does not exist')
    return Config.fromfile(config)


def load_checkpoint_strict(model: nn.Module, checkpoint: str) -> None:
    """Load every parameter and buffer of ``model`` from ``checkpoint``.

    Exporting must not leave a layer at its random init silently, as
    MMEngine's default non-strict loading would: a stock MMPose checkpoint
    has no ``head.oks_net.*``, and its exported quality would be noise.
    torch loads the file with ``weights_only=True``; importing
    ``oksnet_mmpose`` allowlists what MMEngine checkpoints hold.

    Args:
        model (nn.Module): The model to fill.
        checkpoint (str): The checkpoint file (an MMEngine checkpoint with a
            ``state_dict``, or a bare state dict).

    Raises:
        ValueError: The checkpoint misses keys of the model or has keys the
            model does not have (both listed), or a tensor shape differs.
    """
    loaded = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    if not isinstance(loaded, dict):
        raise ValueError(f'checkpoint {checkpoint} holds a '
                         f'{type(loaded).__name__}, not a state dict')
    state_dict = loaded.get('state_dict', loaded)
    # a checkpoint saved from a DDP-wrapped model
    state_dict = OrderedDict(
        (k[len('module.'):] if k.startswith('module.') else k, v)
        for k, v in state_dict.items())
    try:
        result = model.load_state_dict(state_dict, strict=False)
    except RuntimeError as err:  # shape mismatches, named by torch
        raise ValueError(
            f'checkpoint {checkpoint} does not fit the model: {err}') from err
    # BatchNorm fills a missing num_batches_tracked, which inference never
    # reads
    missing = [
        k for k in result.missing_keys if not k.endswith('num_batches_tracked')
    ]
    problems = []
    for what, keys in (('misses', missing),
                       ('has unexpected', result.unexpected_keys)):
        if keys:
            shown = ', '.join(keys[:8]) + (', ...' if len(keys) > 8 else '')
            problems.append(f'{what} {len(keys)} keys ({shown})')
    if problems:
        raise ValueError(f'checkpoint {checkpoint} does not fit the model: '
                         f'it {" and ".join(problems)}')
