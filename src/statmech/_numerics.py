"""Small helpers shared across statmech: overflow-free ln cosh, read-only float64 arrays, JSON-safe values.

A leaf module: it imports nothing from statmech, so any module may use it.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

LN2 = math.log(2.0)


def log_2cosh(x):
    """ln(2 cosh x) = |x| + ln(1 + e^{−2|x|}), finite for every finite x (a float for a float, else an array)."""
    if isinstance(x, float):
        a = abs(x)
        return a + math.log1p(math.exp(-2.0 * a))
    a = np.abs(np.asarray(x, dtype=np.float64))
    return a + np.log1p(np.exp(-2.0 * a))


def log_cosh(x):
    """ln cosh x = |x| + ln(1 + e^{−2|x|}) − ln 2, finite for every finite x (a float for a float, else an array)."""
    return log_2cosh(x) - LN2


def readonly_float64(array_like) -> np.ndarray:
    """A float64 copy of ``array_like`` that cannot be written to (for the fields of frozen results)."""
    array = np.array(array_like, dtype=np.float64)
    array.setflags(write=False)
    return array


def json_safe(value):
    """``value`` made of dicts, lists, str, int, float, bool and None only (NaN and inf become None).

    NumPy arrays become lists and NumPy scalars numbers; any other object becomes its ``repr``.
    """
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return repr(value)
