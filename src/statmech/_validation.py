"""Input checks shared by the public entry points. Each error says how to fix it."""
from __future__ import annotations

import numbers
import os
import warnings

import numpy as np


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    """Return ``value`` as int, or raise if it is not an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            raise TypeError(f"{name} must be an int, got the float {value!r}; pass {int(value)}")
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def renamed_option(function: str, old: str, old_value, new: str, new_value, default):
    """The value of option ``new``, accepting its old name ``old`` for one release with a DeprecationWarning.

    Options share one set of names across statmech (``n_chains``, ``n_sweeps``,
    ``burn_in``, ``kernel``, ``seed``). Passing both names is a TypeError.
    """
    if old_value is None:
        return default if new_value is None else new_value
    if new_value is not None:
        raise TypeError(f"{function}: pass {new}= only ({old}= is its old name)")
    warnings.warn(f"{function}: option {old}= is renamed {new}=; the old name will be removed in the next release",
                  DeprecationWarning, stacklevel=3)
    return old_value


MAX_SEED = 2**63 - 1


def check_seed(seed, name: str = "seed") -> int:
    """``seed`` must be an int in [0, 2**63 - 1] (there is no global random state)."""
    seed = check_positive_int(seed, name, minimum=0)
    if seed > MAX_SEED:
        raise ValueError(f"{name} must be < 2**63, got {seed}; pass a smaller int (e.g. seed % 2**63)")
    return seed


def check_real(value, name: str) -> None:
    """Complex input would lose its imaginary part in a float64 cast: refuse it by name."""
    if isinstance(value, np.ndarray) or np.isscalar(value):
        is_complex = np.iscomplexobj(value)
    else:  # a list or tuple: look at its entries without building a large copy first
        try:
            is_complex = np.iscomplexobj(np.asarray(value))
        except (TypeError, ValueError):
            return
    if is_complex:
        raise TypeError(f"{name} must be real; got complex values (take .real if the imaginary part is zero)")


def check_finite_real(value, name: str) -> float:
    """``value`` as a float, or raise if it is not one finite real number."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} is {value}; it must be a finite number")
    return value


def as_beta_array(beta) -> tuple[np.ndarray, bool]:
    """Return (β as a float64 1-D array, whether the input was a scalar).

    β must be finite and >= 0; a grid must be one-dimensional.
    """
    if isinstance(beta, (str, bytes)) or beta is None:
        raise TypeError(f"beta must be a number or a 1-D array of numbers, got {beta!r}")
    check_real(beta, "beta")
    try:
        array = np.asarray(beta, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"beta must be a number or a 1-D array of numbers, got {beta!r}") from error
    scalar = array.ndim == 0
    if array.ndim > 1:
        raise ValueError(f"beta must be a scalar or a 1-D array, got shape {array.shape}; flatten it")
    array = np.atleast_1d(array)
    if array.size == 0:
        raise ValueError("beta is empty; pass at least one inverse temperature")
    if np.any(np.isnan(array)):
        raise ValueError("beta contains NaN; pass finite inverse temperatures >= 0")
    if np.any(np.isinf(array)):
        raise ValueError(
            "beta must be finite (use a large value such as 1e6 for the ground state, "
            "or T = 1/beta > 0)"
        )
    if np.any(array < 0):
        raise ValueError(f"beta must be >= 0 (inverse temperature), got {array[array < 0][0]}")
    return array, scalar


def as_nonnegative_array(value, name: str, strictly_positive: bool = False) -> np.ndarray:
    """Finite float64 array of ``value`` whose entries are >= 0 (> 0 with ``strictly_positive``)."""
    if isinstance(value, (str, bytes, bool)) or value is None:
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}")
    array = as_finite_float_array(value, name)
    bad = array <= 0 if strictly_positive else array < 0
    if np.any(bad):
        raise ValueError(f"{name} must be {'> 0' if strictly_positive else '>= 0'}, got {array[bad].flat[0]}")
    return array


def as_finite_float_array(value, name: str, copy: bool = True) -> np.ndarray:
    """float64 array of ``value`` (a copy unless ``copy=False`` and it already is one); raise on NaN/inf,
    complex or non-numeric input."""
    check_real(value, name)
    try:
        array = np.array(value, dtype=np.float64) if copy else np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be numeric, got {value!r}") from error
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or inf; every entry must be a finite number")
    return array


# ------------------------------------------------------------------ resource guards
MEMORY_LIMIT_VARIABLE = "STATMECH_MEMORY_LIMIT"
"""Environment variable overriding the memory budget of :func:`check_memory` (bytes, or e.g. ``"64GB"``)."""
TIME_LIMIT_VARIABLE = "STATMECH_TIME_LIMIT"
"""Environment variable overriding the time budget of :func:`check_time` (seconds, or e.g. ``"2h"``)."""
DEFAULT_TIME_LIMIT = 600.0
"""Seconds an exact method may be expected to run before it is refused (when the variable is unset)."""
_FALLBACK_MEMORY_LIMIT = 8 * 10**9
_BYTE_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
               "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
_SECOND_UNITS = {"": 1.0, "S": 1.0, "MIN": 60.0, "M": 60.0, "H": 3600.0, "D": 86400.0}


def _parse_amount(text: str, units: dict, variable: str) -> float:
    """``"64GB"`` → 64e9 with ``units``; a clear error naming ``variable`` otherwise."""
    stripped = text.strip().upper().replace(" ", "")
    number = stripped.rstrip("KMGTIBSMINHD")
    unit = stripped[len(number):]
    try:
        value = float(number) * units[unit]
    except (KeyError, ValueError):
        raise ValueError(f"{variable}={text!r} is not understood; use a number with an optional unit "
                         f"({', '.join(u for u in units if u)}), e.g. {variable}=64GB") from None
    if not (value > 0 and np.isfinite(value)):
        raise ValueError(f"{variable}={text!r} must be a positive amount")
    return value


def memory_limit() -> int:
    """The memory budget in bytes: ``$STATMECH_MEMORY_LIMIT`` if set, else half the machine's physical memory."""
    text = os.environ.get(MEMORY_LIMIT_VARIABLE)
    if text:
        return int(_parse_amount(text, _BYTE_UNITS, MEMORY_LIMIT_VARIABLE))
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) // 2
    except (AttributeError, ValueError, OSError):  # pragma: no cover - platforms without sysconf
        return _FALLBACK_MEMORY_LIMIT


def time_limit() -> float:
    """The time budget in seconds for one exact computation: ``$STATMECH_TIME_LIMIT`` if set, else 600."""
    text = os.environ.get(TIME_LIMIT_VARIABLE)
    return _parse_amount(text, _SECOND_UNITS, TIME_LIMIT_VARIABLE) if text else DEFAULT_TIME_LIMIT


def format_bytes(n_bytes: float) -> str:
    """``21.6 GB`` (decimal units)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= size:
            return f"{n_bytes / size:.3g} {unit}"
    return f"{int(n_bytes)} bytes"


def format_seconds(seconds: float) -> str:
    """``5.2 hours`` / ``12 minutes`` / ``40 s``."""
    for unit, size in (("days", 86400.0), ("hours", 3600.0), ("minutes", 60.0)):
        if seconds >= 2 * size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} s"


def check_memory(n_bytes: float, what: str, alternative: str) -> None:
    """Refuse, before any work, a computation whose estimated memory exceeds the budget.

    ``n_bytes`` is the up-front estimate of the peak memory of ``what`` (a
    phrase such as ``"sample() of 4 chains x 1000 draws of 900000000 spins"``);
    ``alternative`` says what to do instead. The budget is
    :func:`memory_limit`: half the physical memory, or ``$STATMECH_MEMORY_LIMIT``
    (e.g. ``STATMECH_MEMORY_LIMIT=64GB``). Raises ``ValueError`` naming the
    estimate, the budget and the alternative.
    """
    limit = memory_limit()
    if n_bytes > limit:
        raise ValueError(
            f"{what} would need about {format_bytes(n_bytes)} of memory, more than the budget of "
            f"{format_bytes(limit)}; {alternative} (or, on a machine that has the memory, raise the "
            f"budget with {MEMORY_LIMIT_VARIABLE}=<bytes, e.g. 64GB>)")


def check_time(seconds: float, what: str, alternative: str) -> None:
    """Refuse, before any work, a computation whose estimated run time exceeds the budget.

    ``seconds`` is an up-front estimate (on one core of a current CPU); the
    budget is :func:`time_limit`: 600 s, or ``$STATMECH_TIME_LIMIT`` (e.g.
    ``STATMECH_TIME_LIMIT=6h``). Raises ``ValueError`` naming the estimate,
    the budget and ``alternative``.
    """
    limit = time_limit()
    if seconds > limit:
        raise ValueError(
            f"{what} would take about {format_seconds(seconds)}, more than the budget of "
            f"{format_seconds(limit)}; {alternative} (or, to wait that long, raise the budget with "
            f"{TIME_LIMIT_VARIABLE}=<seconds, e.g. 6h>)")
