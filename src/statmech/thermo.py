"""The front doors ``log_z`` and ``thermo``: dispatch by method, build ``Thermo``.

Methods are registered in :mod:`statmech._registry`. An exact method
supplies ``moments(model, betas, **options) -> Moments``: log Z, ⟨H⟩, Var(H)
and, where it can, the magnetisation moments, for a 1-D float64 grid of β.
:func:`Thermo.from_moments` derives everything else with one set of formulas:

    F = −log Z / β,   S = β (U − F) = β U + log Z,   C = β² Var(H),
    χ/N = β Var(M) / N.
"""
from __future__ import annotations

import importlib
import warnings

from statmech._types import Estimate, Method, Moments, SamplingWarning, Thermo
from statmech._validation import as_beta_array

__all__ = ["Estimate", "Method", "Moments", "Thermo", "log_z", "thermo"]

_REGISTRY_NAMES = ("all_methods", "available_methods", "get_method", "register_method", "resolve_method", "why_not")


def _registry():
    """The registry module, imported on the first call: ``import statmech`` stays light (no JAX, no methods).

    ``statmech/__init__`` imports this module eagerly, so that the name
    ``statmech.thermo`` is the function, never this module.
    """
    return importlib.import_module("statmech._registry")


def __getattr__(name: str):
    if name in _REGISTRY_NAMES:
        return getattr(_registry(), name)
    raise AttributeError(f"module 'statmech.thermo' has no attribute {name!r}")


def _thermo_from_moments(chosen: Method, moments: Moments, model, betas, scalar: bool) -> Thermo:
    """The Thermo of a method's Moments; a method that is not exact marks it ``meta["approximation"]``."""
    meta = {**(moments.meta or {}), **({} if chosen.exact else {"approximation": True})}
    return Thermo.from_moments(moments, betas, model.n_sites, chosen.name, scalar, meta=meta)


def _check_model(model) -> None:
    if not hasattr(model, "n_sites"):
        raise TypeError(f"pass a model such as sm.Ising.square(8) or sm.ml.LinearRegression(X, y), not "
                        f"{type(model).__name__} {model!r}")


def _warn(result, method: str):
    """Raise the diagnostics a sampled result records (``meta["warnings"]``) as one :class:`SamplingWarning`."""
    messages = list(dict.fromkeys(result.meta.get("warnings", ()) or ()))
    if messages:
        shown = "; ".join(messages[:3]) + (f"; and {len(messages) - 3} more" if len(messages) > 3 else "")
        warnings.warn(SamplingWarning(f"[{method}] {len(messages)} diagnostic(s) doubt this result (all in "
                                      f"meta['warnings']): {shown}"), stacklevel=3)
    return result


def thermo(model, beta, method: str = "auto", **options) -> Thermo:
    """Thermodynamics of ``model`` at inverse temperature(s) ``beta``.

    ``beta`` is a scalar or a 1-D array; ``method`` a registered method name
    or ``"auto"`` (the best applicable exact method; ``sm.available_methods(model)``
    lists those that apply). Returns a :class:`Thermo`. A sampled result whose
    diagnostics doubt it (``meta["warnings"]``) also raises each as a
    :class:`~statmech.SamplingWarning`.
    """
    _check_model(model)
    betas, scalar = as_beta_array(beta)
    chosen = _registry().resolve_method(model, method, options)
    if chosen.moments is not None:
        return _thermo_from_moments(chosen, chosen.moments(model, betas, **options), model, betas, scalar)
    if chosen.thermo_fn is None:
        raise ValueError(f"method {chosen.name!r} computes log Z only; use sm.log_z")
    return _warn(chosen.thermo_fn(model, betas if not scalar else betas[0], **options), chosen.name)


def log_z(model, beta, method: str = "auto", **options) -> Estimate:
    """log Z(β) of ``model`` as an :class:`Estimate` (exact ones have ``stderr=None``)."""
    _check_model(model)
    betas, scalar = as_beta_array(beta)
    chosen = _registry().resolve_method(model, method, options)
    if chosen.log_z_fn is not None:
        return _warn(chosen.log_z_fn(model, betas if not scalar else betas[0], **options), chosen.name)
    if chosen.log_z_moments is not None:
        moments = chosen.log_z_moments(model, betas, **options)
        return _thermo_from_moments(chosen, moments, model, betas, scalar).log_z
    if chosen.moments is None:
        registry = _registry()
        estimators = sorted({m.name for m in registry.all_methods()
                             if m.log_z_fn is not None and registry.why_not(m, model, options) is None})
        raise ValueError(
            f"method {chosen.name!r} samples configurations and gives no log Z; use an exact "
            f"method or a log Z estimator ({', '.join(estimators) or 'none registered'})"
        )
    return thermo(model, beta, method=chosen.name, **options).log_z
