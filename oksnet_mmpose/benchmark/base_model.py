# Copyright (c) oksnet-mmpose contributors.
"""Train the benchmark's base model (our model zoo's one entry) and export
its checkpoint: the plain top-down recipe, no OKS-net, on a large synthetic
``coco_like`` training set drawn with a seed of its own (never a benchmark
seed's val split). ``tools/train_base_model.py`` is its command line.

An interrupted training resumes from the last epoch checkpoint; the wall
time of every run is added up in ``<work_dir>/base_model.json`` so the
exported record says how long the whole training took.
"""
import glob
import io
import json
import os
import os.path as osp
import platform
import time
from typing import Optional, Sequence

import torch
from mmengine.config import Config

from oksnet_mmpose.synthetic import generate_synthetic_coco
from oksnet_mmpose.utils import atomic_path, dump_json_atomic
from .model_zoo import (ZooCheckpointError, check_zoo_checkpoint, sha256_of,
                        zoo_file_name, zoo_model_of_checkpoint)
from .steps import (StepError, check_job_dirs, data_options, mim_command,
                    run_step, say)

JOB = 'base model'
STATE_FILE = 'base_model.json'


def _load_state(work_dir: str, settings: dict) -> dict:
    path = osp.join(work_dir, STATE_FILE)
    if osp.isfile(path):
        with open(path) as f:
            state = json.load(f)
        if state['settings'] != settings:
            raise StepError(
                f'{work_dir} holds a base-model training with other settings '
                f"({state['settings']}); use another --work-dir")
        return state
    return dict(settings=settings, train_seconds=0.0, runs=0)


def check_load_from(config: str) -> Optional[dict]:
    """A later stage of the base model starts from an earlier stage's
    shipped checkpoint (the config's ``load_from``), with its hash checked:
    a stage never starts from an altered or unknown file."""
    load_from = Config.fromfile(config).get('load_from')
    if not load_from:
        return None
    model = zoo_model_of_checkpoint(load_from)
    if model is None:
        raise StepError(
            f'{config}: load_from {load_from} is not a model-zoo checkpoint '
            '(MODEL_ZOO in oksnet_mmpose/benchmark/model_zoo.py); a base '
            'model starts from scratch or from a shipped earlier stage')
    try:
        check_zoo_checkpoint(model)
    except ZooCheckpointError as err:
        raise StepError(str(err)) from None
    return dict(path=model.checkpoint, sha256=model.sha256)


def train_base_model(config: str,
                     work_dir: str,
                     data_dir: str,
                     seed: int,
                     num_train: int,
                     num_val: int,
                     profile: str = 'coco_like',
                     extra_options: Sequence[str] = ()) -> tuple:
    """Generate the base model's dataset (kept when present) and train
    ``config`` on it with ``mim train``, resuming an interrupted training.

    Returns:
        tuple[str, dict]: The last epoch checkpoint, and the training's
        record (``train_seconds`` over all runs, ``runs``, and
        ``load_from``: the earlier stage it starts from, or None).
    """
    work_dir, data_dir = osp.abspath(work_dir), osp.abspath(data_dir)
    check_job_dirs(work_dir, data_dir)
    load_from = check_load_from(config)
    os.makedirs(work_dir, exist_ok=True)
    settings = dict(config=osp.basename(config), seed=seed,
                    num_train=num_train, num_val=num_val, profile=profile,
                    extra_options=list(extra_options))
    state = _load_state(work_dir, settings)
    say(JOB, f"step 'generate': {num_train} train + {num_val} val images "
        f"(profile '{profile}', seed {seed}) in {data_dir}")
    paths = generate_synthetic_coco(data_dir, num_train=num_train,
                                    num_val=num_val, seed=seed,
                                    profile=profile)
    resume = bool(glob.glob(osp.join(work_dir, 'epoch_*.pth')))
    if resume:
        say(JOB, "step 'train': resuming from the last epoch checkpoint")
    command = [
        mim_command(), 'train', 'mmpose', config, '--gpus', '0',
        '--work-dir', work_dir, *(['--resume'] if resume else []),
        '--cfg-options', *data_options(paths['data_root']),
        f'randomness.seed={seed}', *extra_options
    ]
    start = time.time()
    try:
        run_step(JOB, 'train', command, osp.join(
            work_dir, f"train_{state['runs']}.log"))
    finally:
        state['train_seconds'] += time.time() - start
        state['runs'] += 1
        dump_json_atomic(state, osp.join(work_dir, STATE_FILE))
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip(), dict(state, load_from=load_from)


def export_base_checkpoint(checkpoint: str,
                           out_dir: str,
                           name: str,
                           record: Optional[dict] = None) -> str:
    """Write the weights of an MMEngine training checkpoint as a model-zoo
    checkpoint ``<out_dir>/<name>-<sha256[:8]>.pth`` (``state_dict`` and a
    JSON-able ``meta``: no optimizer, no message hub), and its record
    ``<same stem>.json`` (sha256, size and ``record``'s provenance).

    Returns:
        str: The path of the written checkpoint.
    """
    ckpt = torch.load(checkpoint, map_location='cpu', weights_only=True)
    meta = ckpt.get('meta', {})
    zoo = dict(state_dict=ckpt['state_dict'],
               meta=dict(epoch=int(meta.get('epoch', -1)),
                         iter=int(meta.get('iter', -1)),
                         mmpose_version=str(meta.get('mmpose_version', '')),
                         torch_version=str(torch.__version__)))
    # torch.save names the zip archive's folder after the file it writes
    # to; serialised in memory, the folder is always 'archive', so the same
    # weights give the same bytes and hash whatever the file name or process
    buffer = io.BytesIO()
    torch.save(zoo, buffer)
    os.makedirs(out_dir, exist_ok=True)
    tmp_path = osp.join(out_dir, f'{name}.pth')
    with atomic_path(tmp_path) as tmp:
        with open(tmp, 'wb') as f:
            f.write(buffer.getvalue())
    digest = sha256_of(tmp_path)
    path = osp.join(out_dir, zoo_file_name(name, digest))
    os.replace(tmp_path, path)
    info = dict(record or {})
    info.update(file=osp.basename(path), sha256=digest,
                bytes=osp.getsize(path),
                num_parameters=sum(v.numel()
                                   for v in zoo['state_dict'].values()),
                epoch=zoo['meta']['epoch'], iter=zoo['meta']['iter'],
                machine=dict(platform=platform.platform(),
                             processor=platform.processor(),
                             cpus=os.cpu_count(),
                             torch=str(torch.__version__)))
    dump_json_atomic(info, osp.splitext(path)[0] + '.json')
    return path
