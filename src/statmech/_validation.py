"""Input checks shared by the public entry points. Each error says how to fix it."""
from __future__ import annotations

import numbers
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
