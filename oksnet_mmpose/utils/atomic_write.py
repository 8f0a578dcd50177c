# Copyright (c) oksnet-mmpose contributors.
"""Atomic result files: a result path is either absent or complete.

Every result file the package and its tools write (JSON results, reports,
images, videos, ONNX models) goes through :func:`atomic_path`: the content is
written under a hidden temporary name in the destination folder and renamed
onto the destination only once complete (``os.replace`` is atomic within a
file system), so an interrupted run never leaves a half-written file that a
later run or a user would take for a result.
"""
import json
import os
import os.path as osp
from contextlib import contextmanager
from typing import Any, Iterator


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path to write ``path``'s content to; on a clean exit
    the temporary file replaces ``path``, on an error it is removed and
    ``path`` is left as it was.

    The destination folder is created when missing. The temporary name keeps
    the destination's extension, for writers that choose the format by it
    (OpenCV, matplotlib).

    Args:
        path (str): The file to write.

    Yields:
        str: The temporary path to write to.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    stem, ext = osp.splitext(osp.basename(path))
    tmp = osp.join(folder, f'.{stem}.{os.getpid()}.tmp{ext}')
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def write_text_atomic(text: str, path: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(text)


def dump_json_atomic(obj: Any, path: str, indent: int = 2) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (see
    :func:`atomic_path`).

    Args:
        obj: A JSON-serializable object.
        path (str): The file to write.
        indent (int): JSON indentation. Defaults to 2.
    """
    with atomic_path(path) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(obj, f, indent=indent)
