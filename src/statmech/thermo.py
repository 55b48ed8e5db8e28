"""The front doors ``log_z`` and ``thermo``: dispatch by method, build ``Thermo``.

Every method registers itself with :func:`register_method`. An exact method
supplies ``moments(model, betas, **options) -> Moments``: log Z, ⟨H⟩, Var(H)
and, where it can, the magnetisation moments, for a 1-D float64 grid of β.
:func:`Thermo.from_moments` derives everything else with one set of formulas:

    F = −log Z / β,   S = β (U − F) = β U + log Z,   C = β² Var(H),
    χ/N = β Var(M) / N.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

import numpy as np

from statmech._registry import (
    all_methods,
    available_methods,
    get_method,
    register_method,
    resolve_method,
    why_not,
)
from statmech._types import Estimate, Method, Moments, Thermo
from statmech._validation import as_beta_array


def _thermo_from_moments(chosen: Method, moments: Moments, model, betas, scalar: bool) -> Thermo:
    """The Thermo of a method's Moments; a method that is not exact marks it ``meta["approximation"]``."""
    meta = {**getattr(moments, "meta", {}), **({} if chosen.exact else {"approximation": True})}
    return Thermo.from_moments(moments, betas, model.n_sites, chosen.name, scalar, meta=meta)


def thermo(model, beta, method: str = "auto", **options) -> Thermo:
    """Thermodynamics of ``model`` at inverse temperature(s) ``beta``.

    ``beta`` is a scalar or a 1-D array; ``method`` a registered method name
    or ``"auto"`` (the best applicable exact method). Returns a :class:`Thermo`.
    """
    betas, scalar = as_beta_array(beta)
    chosen = resolve_method(model, method, options)
    options = {k: v for k, v in options.items()}
    if chosen.moments is not None:
        return _thermo_from_moments(chosen, chosen.moments(model, betas, **options), model, betas, scalar)
    if chosen.thermo_fn is None:
        raise ValueError(f"method {chosen.name!r} computes log Z only; use sm.log_z")
    return chosen.thermo_fn(model, betas if not scalar else betas[0], **options)


def log_z(model, beta, method: str = "auto", **options) -> Estimate:
    """log Z(β) of ``model`` as an :class:`Estimate` (exact ones have ``stderr=None``)."""
    betas, scalar = as_beta_array(beta)
    chosen = resolve_method(model, method, options)
    if chosen.log_z_fn is not None:
        return chosen.log_z_fn(model, betas if not scalar else betas[0], **options)
    if chosen.log_z_moments is not None:
        moments = chosen.log_z_moments(model, betas, **options)
        return _thermo_from_moments(chosen, moments, model, betas, scalar).log_z
    if chosen.moments is None:
        estimators = sorted({m.name for m in all_methods()
                             if m.log_z_fn is not None and why_not(m, model, options) is None})
        raise ValueError(
            f"method {chosen.name!r} samples configurations and gives no log Z; use an exact "
            f"method or a log Z estimator ({', '.join(estimators) or 'none registered'})"
        )
    return thermo(model, beta, method=chosen.name, **options).log_z
