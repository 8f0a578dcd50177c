# Copyright (c) oksnet-mmpose contributors.
"""Writing the synthetic COCO-format person-keypoint dataset: the layout,
the completion marker that keeps an older or different dataset from being
reused, and the worker processes that draw the images."""
import contextlib
import json
import multiprocessing
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, Iterable, Iterator, Optional, Tuple

import cv2
from mmengine.logging import print_log

from oksnet_mmpose.utils import atomic_path
from .profiles import DEFAULT_PROFILE, get_profile
from .scene import SPLIT_ID_BASE, generate_image

# Bump whenever the drawn data changes, so that a dataset made by an older
# generator is not silently reused (it is part of the completion marker).
GENERATOR_VERSION = '2.0'
MARKER_FILE = '.complete.json'

COCO_KEYPOINT_NAMES = ('nose', 'left_eye', 'right_eye', 'left_ear',
                       'right_ear', 'left_shoulder', 'right_shoulder',
                       'left_elbow', 'right_elbow', 'left_wrist',
                       'right_wrist', 'left_hip', 'right_hip', 'left_knee',
                       'right_knee', 'left_ankle', 'right_ankle')
# COCO's person skeleton, 1-based keypoint indices as in the annotation files.
COCO_SKELETON = ((16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12),
                 (7, 13), (6, 7), (6, 8), (7, 9), (8, 10), (9, 11), (2, 3),
                 (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7))

_PERSON_CATEGORY = dict(supercategory='person',
                        id=1,
                        name='person',
                        keypoints=list(COCO_KEYPOINT_NAMES),
                        skeleton=[list(link) for link in COCO_SKELETON])

# Spawned workers, not forked ones: a fork of a process whose OpenCV or torch
# thread pools already ran (a test session, a training script) can deadlock
# in the child (seen here: the workers hung in ``cv2.setNumThreads``).
_START_METHOD = 'spawn'


def _init_worker() -> None:
    # Each worker draws one image at a time; OpenCV's own threads would only
    # compete with the other workers.
    cv2.setNumThreads(1)


def _progress(results: Iterable[dict], total: int, desc: str,
              enabled: bool) -> Iterator[dict]:
    """Iterate with a progress bar (tqdm when installed, else mmengine's)."""
    if not enabled:
        yield from results
        return
    try:
        from tqdm import tqdm
    except ImportError:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(total)
        for result in results:
            bar.update()
            yield result
        return
    yield from tqdm(results, total=total, desc=desc, unit='img')


def _dump_json(obj: object, path: str) -> None:
    # compact: the annotation files of thousands of images stay small
    with atomic_path(path) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(obj, f, separators=(',', ':'))


def _paths(out_dir: str) -> Dict[str, str]:
    return dict(data_root=out_dir,
                train_img_dir=osp.join(out_dir, 'train'),
                val_img_dir=osp.join(out_dir, 'val'),
                train_ann_file=osp.join(out_dir, 'annotations',
                                        'person_keypoints_train.json'),
                val_ann_file=osp.join(out_dir, 'annotations',
                                      'person_keypoints_val.json'),
                val_bbox_file=osp.join(out_dir, 'person_detection_results',
                                       'detections_val.json'),
                marker_file=osp.join(out_dir, MARKER_FILE))


# What the generator writes directly under ``out_dir``; ``overwrite`` deletes
# these and nothing else.
_OWN_ENTRIES = ('train', 'val', 'annotations', 'person_detection_results',
                MARKER_FILE)


def _prepare_out_dir(out_dir: str, params: dict, overwrite: bool) -> bool:
    """Check (and with ``overwrite`` clear) the output directory.

    Returns:
        bool: True when a complete dataset with these parameters is there.
    """
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise FileExistsError(
            f'the output path {out_dir} exists and is not a directory')
    if osp.isdir(out_dir):
        entries = sorted(os.listdir(out_dir))
        foreign = [e for e in entries if e not in _OWN_ENTRIES]
        marker = osp.join(out_dir, MARKER_FILE)
        if overwrite:
            if foreign:
                raise FileExistsError(
                    f'refusing to overwrite {out_dir}: it holds files the '
                    f'synthetic dataset generator did not write: {foreign}')
            # The marker goes first: an interrupted deletion must not leave a
            # directory that passes for complete.
            for entry in (MARKER_FILE, 'train', 'val', 'annotations',
                          'person_detection_results'):
                path = osp.join(out_dir, entry)
                if osp.isdir(path):
                    shutil.rmtree(path)
                elif osp.exists(path):
                    os.remove(path)
        elif osp.isfile(marker):
            try:
                with open(marker, encoding='utf-8') as f:
                    found = json.load(f)
            except (OSError, ValueError):
                found = None
            if found == params:
                return True
            raise FileExistsError(
                f'{out_dir} holds a synthetic dataset made with other '
                f'parameters ({found} instead of {params}); pass '
                'overwrite=True (--overwrite) to delete it and regenerate')
        elif entries:
            raise FileExistsError(
                f'{out_dir} exists but has no {MARKER_FILE}: it is a '
                'partial (interrupted) dataset or something else; pass '
                'overwrite=True (--overwrite) to delete it and regenerate')
    return False


def generate_synthetic_coco(out_dir: str,
                            num_train: int,
                            num_val: int,
                            seed: int = 0,
                            image_size: Tuple[int, int] = (256, 256),
                            overwrite: bool = False,
                            num_workers: Optional[int] = None,
                            progress: bool = True,
                            profile: str = DEFAULT_PROFILE) -> Dict[str, str]:
    """Write the synthetic COCO-format person-keypoint dataset.

    Layout under ``out_dir``::

        train/*.jpg, val/*.jpg
        annotations/person_keypoints_{train,val}.json   (COCO keypoints)
        person_detection_results/detections_val.json    (COCO results)
        .complete.json                                   (written last)

    The same arguments give byte-identical files (with the same OpenCV
    build, whose JPEG encoder writes the images), however many workers make
    them. A complete dataset made with the same parameters is kept as it is
    (logged as present and skipped); any other non-empty directory is an
    error unless ``overwrite`` is set, which first deletes the old dataset
    so that old and new data never mix.

    Args:
        out_dir (str): The dataset root.
        num_train (int): Number of training images.
        num_val (int): Number of validation images.
        seed (int): Random seed. Defaults to 0.
        image_size (tuple[int, int]): Image (width, height). Defaults to
            (256, 256).
        overwrite (bool): Delete an existing dataset in ``out_dir`` first.
            Defaults to False.
        num_workers (int, optional): Worker processes; 0 draws in this
            process. The data does not depend on it. Defaults to the number
            of CPUs (at most 8).
        progress (bool): Show a progress bar. Defaults to True.
        profile (str): The data profile (:mod:`.profiles`): ``'coco_like'``
            or ``'occlusion_stress'``. Defaults to ``'coco_like'``.

    Returns:
        dict[str, str]: Paths: ``data_root``, ``train_img_dir``,
        ``val_img_dir``, ``train_ann_file``, ``val_ann_file``,
        ``val_bbox_file`` and ``marker_file``.
    """
    img_w, img_h = (int(v) for v in image_size)
    if min(img_w, img_h) < 32:
        raise ValueError(f'image_size must be at least 32x32, got '
                         f'{tuple(image_size)}')
    if not (0 <= int(num_train) < SPLIT_ID_BASE
            and 0 <= int(num_val) < SPLIT_ID_BASE):
        raise ValueError(f'num_train and num_val must be in [0, '
                         f'{SPLIT_ID_BASE}), got {num_train} and {num_val}')
    if int(seed) < 0:
        raise ValueError(f'seed must be >= 0, got {seed}')
    profile = get_profile(profile)
    out_dir = osp.abspath(out_dir)
    params = dict(generator='oksnet_mmpose.synthetic',
                  version=GENERATOR_VERSION,
                  profile=profile.name,
                  seed=int(seed),
                  num_train=int(num_train),
                  num_val=int(num_val),
                  image_size=[img_w, img_h])
    paths = _paths(out_dir)
    if _prepare_out_dir(out_dir, params, overwrite):
        print_log(f'{out_dir}: synthetic dataset present, skipping',
                  logger='current')
        return paths

    try:
        for d in (paths['train_img_dir'], paths['val_img_dir'],
                  osp.dirname(paths['train_ann_file']),
                  osp.dirname(paths['val_bbox_file'])):
            os.makedirs(d, exist_ok=True)
        # Fail here, naming the directory, rather than in a worker.
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as err:
        raise OSError(f'cannot write the synthetic dataset to {out_dir}: '
                      f'{err}') from err

    if num_workers is None:
        num_workers = min(8, os.cpu_count() or 1)
    with contextlib.ExitStack() as stack:
        pool = None
        if num_workers > 0 and num_train + num_val > 1:
            pool = stack.enter_context(
                multiprocessing.get_context(_START_METHOD).Pool(
                    num_workers, initializer=_init_worker))
        for split, num in (('train', num_train), ('val', num_val)):
            tasks = [(int(seed), split, i, img_w, img_h,
                      paths[f'{split}_img_dir'], profile) for i in range(num)]
            # ``imap`` keeps the task order, so the files do not depend on
            # which worker finishes first.
            results = (pool.imap(generate_image, tasks, chunksize=8)
                       if pool is not None else map(generate_image, tasks))
            images, annotations, detections = [], [], []
            for result in _progress(results, num, f'synthetic {split}',
                                    progress):
                images.append(result['image'])
                annotations += result['annotations']
                detections += result.get('detections', [])
            _dump_json(
                dict(info=dict(description='oksnet_mmpose synthetic people',
                               version=GENERATOR_VERSION),
                     licenses=[],
                     images=images,
                     annotations=annotations,
                     categories=[_PERSON_CATEGORY]),
                paths[f'{split}_ann_file'])
            if split == 'val':
                _dump_json(detections, paths['val_bbox_file'])
    _dump_json(params, paths['marker_file'])
    print_log(
        f'synthetic dataset written to {out_dir} ({num_train} train and '
        f'{num_val} val images)',
        logger='current')
    return paths
