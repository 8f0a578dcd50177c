# Copyright (c) oksnet-mmpose contributors.
"""Refuse non-finite annotation values where the package reads them: a NaN
keypoint, area or box would otherwise flow into the OKS targets, the loss
and the weights (training) or into the GT OKS and the AP (evaluation)."""
from typing import Any

import numpy as np


def check_finite_values(where: str, hint: str = '', **values: Any) -> None:
    """Raise if a value is not a finite number.

    Args:
        where (str): What holds the values, for the message (the file, the
            image id and the annotation or entry).
        hint (str): Appended to the message (what to fix).
        **values: Name -> a number or an array-like of numbers; ``None`` is
            skipped (the field is absent). A JSON ``null`` inside an array
            counts as non-finite.

    Raises:
        ValueError: Naming ``where``, the field, how many of its values are
            not finite and the first one.
    """
    for name, value in values.items():
        if value is None:
            continue
        try:
            array = np.asarray(value, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise ValueError(f'{where}: `{name}` is not numeric: '
                             f'{repr(value)[:80]}{hint}') from None
        bad = np.flatnonzero(~np.isfinite(array))
        if len(bad):
            raise ValueError(
                f'{where}: `{name}` has {len(bad)} non-finite value(s) '
                f'(value {bad[0]} of {len(array)} is {array[bad[0]]})'
                f'{hint}')
