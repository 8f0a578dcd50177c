# Copyright (c) oksnet-mmpose contributors.
"""The benchmark's model zoo: checkpoints shipped in the repository
(``checkpoints/``, paths relative to the repository root, where the jobs
run), each with the sha256 it must have. A missing, truncated or altered
checkpoint is refused with one line naming the file and the expected hash:
the benchmark never retrains silently and never starts from a random model.
"""
import hashlib
import os.path as osp
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class ZooModel:
    """A shipped checkpoint and the config it was trained with."""
    config: str
    checkpoint: str
    sha256: str


class ZooCheckpointError(RuntimeError):
    """A model-zoo checkpoint is missing or does not have its hash."""


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def check_zoo_checkpoint(model: ZooModel) -> str:
    """Return ``model.checkpoint`` if it exists with the expected hash.

    Raises:
        ZooCheckpointError: Missing, or another hash (truncated, altered).
    """
    path = model.checkpoint
    if not osp.isfile(path):
        raise ZooCheckpointError(
            f'model-zoo checkpoint {path} not found (expected sha256 '
            f'{model.sha256}); run from the repository root of a full '
            'clone')
    digest = sha256_of(path)
    if digest != model.sha256:
        raise ZooCheckpointError(
            f'model-zoo checkpoint {path} has sha256 {digest}, expected '
            f'{model.sha256} (truncated or altered; restore it with git '
            'checkout)')
    return path


# The base model's first stage: 9 epochs from scratch
# (tools/train_base_model.py; its record is the .json next to the checkpoint).
BASE_MODEL_STAGE1 = ZooModel(
    config='configs/synthetic/td-hm_res18_1xb32-9e_synthetic-base-128x96.py',
    checkpoint=('checkpoints/synthetic/'
                'td-hm_res18_synthetic-base-128x96-0e520a57.pth'),
    sha256='0e520a576cf3bf403dc631a8f27f6d551befff00bf485e7e43073aa3b6a023f2')

# The second stage: the first trained 15 more epochs (its config's
# ``load_from`` is the first stage's checkpoint).
BASE_MODEL_STAGE2 = ZooModel(
    config=('configs/synthetic/'
            'td-hm_res18_1xb32-ft-15e_synthetic-base-128x96.py'),
    checkpoint=('checkpoints/synthetic/'
                'td-hm_res18_synthetic-base-ft-128x96-a3c6ded8.pth'),
    sha256='a3c6ded80fc21ddba80e46af10f8340568c28ffac3a0f8385464cee7e6f4c3bf')

# The third stage: the second trained 15 more epochs (base-split AP 54.5 ->
# 57.9).
BASE_MODEL_STAGE3 = ZooModel(
    config=('configs/synthetic/'
            'td-hm_res18_1xb32-ft2-15e_synthetic-base-128x96.py'),
    checkpoint=('checkpoints/synthetic/'
                'td-hm_res18_synthetic-base-ft2-128x96-a9a7a724.pth'),
    sha256='a9a7a7249057a0a6b301c2671bdfd8121676301c2ef39d9d8e33032301e8f834')

# The benchmark's base model: the third stage trained 15 more epochs.
BASE_MODEL = ZooModel(
    config=('configs/synthetic/'
            'td-hm_res18_1xb32-ft3-15e_synthetic-base-128x96.py'),
    checkpoint=('checkpoints/synthetic/'
                'td-hm_res18_synthetic-base-ft3-128x96-46968007.pth'),
    sha256='46968007caf67d3eb9e4c2d1536faca5df88cd9b89bb65ccb406079f4fe40d19')

# every shipped checkpoint, in the order they were trained (each stage's
# load_from is the one before it)
MODEL_ZOO = (BASE_MODEL_STAGE1, BASE_MODEL_STAGE2, BASE_MODEL_STAGE3,
             BASE_MODEL)


def zoo_file_name(name: str, sha256: str) -> str:
    """The file name a checkpoint exported under ``name`` gets:
    ``<name>-<sha256[:8]>.pth``."""
    return f'{name}-{sha256[:8]}.pth'


def zoo_name(model: ZooModel) -> str:
    """The name ``model`` was exported under: the inverse of
    :func:`zoo_file_name` for its checkpoint."""
    file_name = osp.basename(model.checkpoint)
    suffix = zoo_file_name('', model.sha256)
    if not file_name.endswith(suffix):
        raise ZooCheckpointError(
            f'model-zoo checkpoint {model.checkpoint} does not end with '
            f'{suffix}, the first 8 hex digits of its sha256')
    return file_name[:-len(suffix)]


def zoo_model_of_checkpoint(path: str) -> Optional[ZooModel]:
    """The :data:`MODEL_ZOO` entry whose checkpoint is ``path`` (a path
    relative to the repository root, as in the configs), or None."""
    for model in MODEL_ZOO:
        if osp.normpath(model.checkpoint) == osp.normpath(path):
            return model
    return None
