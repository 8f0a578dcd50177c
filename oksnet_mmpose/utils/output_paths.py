# Copyright (c) oksnet-mmpose contributors.
"""Check where results will go before the work that makes them: a run
that could not write its results fails at once, in one line, rather than
after an hour of inference."""
import os
import os.path as osp


def _check_creatable(folder: str, what: str, path: str) -> None:
    """``folder`` exists as a folder, or can be created: its nearest
    existing ancestor is a writable folder. Messages name ``path``."""
    existing = osp.abspath(folder)
    while not osp.exists(existing):
        existing = osp.dirname(existing)
    if not osp.isdir(existing):
        raise ValueError(f'{what} {path}: {existing} is a file, not a '
                         'folder')
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f'{what} {path}: the folder {existing} is not '
                         'writable')


def check_output_dir(path: str, what: str = 'output folder') -> None:
    """Raise unless ``path`` is a writable folder or can be created as one.

    Args:
        path (str): The output folder.
        what (str): How the message names it (e.g. ``'--out-dir'``).

    Raises:
        ValueError: ``path`` or one of its parents is a file, or the folder
            that would hold it is not writable.
    """
    _check_creatable(path, what, path)


def check_output_file(path: str, what: str = 'output file') -> None:
    """Raise unless the file ``path`` can be written: it is not a folder,
    and its folder exists writable or can be created.

    Args:
        path (str): The output file.
        what (str): How the message names it (e.g. ``'--out'``).

    Raises:
        ValueError: ``path`` is a folder, a parent of it is a file, or the
            folder that would hold it is not writable.
    """
    if osp.isdir(path):
        raise ValueError(f'{what} {path} is a folder, not a file')
    _check_creatable(osp.dirname(osp.abspath(path)), what, path)
