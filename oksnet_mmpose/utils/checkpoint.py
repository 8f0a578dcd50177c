# Copyright (c) oksnet-mmpose contributors.
"""Let torch >= 2.6 load MMEngine / MMPose checkpoints with
``weights_only=True`` kept on.

``torch.load`` defaults to ``weights_only=True`` since torch 2.6, and MMEngine
0.10 checkpoints hold a few non-tensor globals (numpy arrays in
``meta.dataset_meta`` and in the message hub's ``HistoryBuffer`` logs), so
``mim test --checkpoint`` / ``--resume`` / ``load_from`` fail with
``Unsupported global``. We allowlist exactly those globals with
``torch.serialization.add_safe_globals`` instead of switching the safety off:
a checkpoint holding any other global is still refused by torch.

One of them is ``builtins.getattr``: a ``HistoryBuffer`` pickles its
statistics methods as ``getattr(HistoryBuffer, 'mean')``. Allowing the real
``getattr`` would let a checkpoint fetch any attribute of any allowed object,
so that name is bound to :func:`history_buffer_method`, which resolves only
those methods.
"""
import inspect
import pickle

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer

try:  # numpy >= 2 (its pickles name ``numpy._core``)
    from numpy._core.multiarray import _reconstruct, scalar
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct, scalar


def history_buffer_method(owner: type, name: str):
    """Stands for ``getattr`` while unpickling: only
    ``getattr(HistoryBuffer, <a statistics method>)``, i.e. one of its
    built-in statistics or one registered with ``register_statistics``."""
    allowed = {'min', 'max', 'current', 'mean'}
    allowed.update(HistoryBuffer._statistics_methods)
    method = getattr(HistoryBuffer, name, None) if owner is HistoryBuffer \
        and name in allowed else None
    if not inspect.isfunction(method):
        raise pickle.UnpicklingError(
            f'checkpoint asks for getattr({owner!r}, {name!r}); '
            'oksnet_mmpose only allows the statistics methods of '
            'HistoryBuffer')
    return method


def _numpy_dtype_classes() -> list:
    """The classes of numpy dtype instances (numpy >= 1.25: ``numpy.dtypes``).
    They are no pickle GLOBAL, but torch only BUILDs (sets the state of)
    objects whose type is allowlisted, and a pickled dtype is built."""
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is None:
        return []
    names = ('BoolDType', 'UInt8DType', 'Int8DType', 'Int16DType',
             'Int32DType', 'Int64DType', 'Float16DType', 'Float32DType',
             'Float64DType')
    return [getattr(dtypes, name) for name in names if hasattr(dtypes, name)]


def checkpoint_safe_globals() -> list:
    """The globals MMEngine / MMPose checkpoints need, in the form
    :func:`torch.serialization.add_safe_globals` takes (measured with
    ``torch.serialization.get_unsafe_globals_in_checkpoint`` on checkpoints
    MMEngine 0.10.7 wrote for this package's configs). Checkpoints written
    under numpy 1 name ``numpy.core.multiarray``; under numpy 2,
    ``numpy._core.multiarray``: both names are listed."""
    safe = [np.ndarray, np.dtype, HistoryBuffer,
            (history_buffer_method, 'builtins.getattr')]
    safe += _numpy_dtype_classes()
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        safe += [(_reconstruct, f'{module}._reconstruct'),
                 (scalar, f'{module}.scalar')]
    return safe


def register_checkpoint_safe_globals() -> None:
    """Allowlist :func:`checkpoint_safe_globals` for ``torch.load``
    (a no-op on torch < 2.4, whose ``torch.load`` is not weights-only by
    default)."""
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is not None:
        add_safe_globals(checkpoint_safe_globals())
