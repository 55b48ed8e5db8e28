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

_METHODS_DOC = """
    Methods (``sm.available_methods(model)`` lists those that apply to a model;
    an unknown or inapplicable one is a ValueError naming those that do; an
    option the method does not take is a TypeError naming the ones it does):

    Exact, for Ising models (no stderr):
      ``"kaufman"``          periodic L1 x L2 square lattice, uniform J, h = 0 (Kaufman 1949)
      ``"transfer"``         chains of any length; strips of width <= 16 (open) / 10 (periodic)
      ``"enumerate"``        any model with N <= 30 spins ("auto" takes the tensor network where cheaper)
      ``"pfaffian"``         planar / toroidal square lattices with any bonds at h = 0; certified, refused past float64
      ``"tensor-network"``   any sparse graph, fields allowed; options: max_memory
      ``"beale"``            exact density of states of the periodic square lattice
      ``"curie-weiss"``      uniform all-to-all couplings
      ``"rem-sum"``          a random energy model instance
    Approximations for Ising models (``meta["approximation"]``), options: damping, tol, max_iter, seed (+ init):
      ``"mean-field"``       naive mean field, a lower bound on log Z; also n_starts
      ``"bp"``               belief propagation (Bethe free entropy); also schedule, anderson
      ``"tap"``              TAP with the Onsager term (dense models)
      ``"trw"``              tree-reweighted BP, an upper bound on log Z; also edge_probabilities, anderson
    Monte Carlo samplers for Ising models (thermo only), options: n_sweeps, n_chains, burn_in, thin, seed, start, backend:
      ``"metropolis"``, ``"heatbath"``, ``"wolff"``, ``"swendsen-wang"``
      ``"pt"``               parallel tempering over a beta ladder (one beta: a default ladder ending there);
                             n_sweeps, n_chains, burn_in, seed, backend, kernel, n_sweeps_between_swaps
    log Z estimators for Ising models (stderr from the sampling), all take seed:
      ``"ti"``               thermodynamic integration; n_nodes, n_sweeps, n_chains, burn_in, kernel, backend
      ``"ais"``              annealed importance sampling; n_chains, n_steps, n_sweeps, schedule, kernel, backend
      ``"pa"``               population annealing; population, n_runs, n_sweeps, target_ess, schedule, kernel
      ``"mbar"``             MBAR over a tempering ladder; n_sweeps, burn_in, ladder, n_temperatures, spacing, kernel
      ``"wang-landau"``      Wang-Landau density of states; n_sweeps, n_walkers, flatness, check_every
    Gibbs models over weights (``sm.ml``):
      ``"exact"``            linear regression (a Gaussian integral)
      ``"quadrature"``       d <= 3 weights; step, u_max, hessian
      ``"laplace"``          saddle point (an approximation); hessian
      ``"ti"``, ``"ais"``, ``"smc"``  sampling estimators; kernel, seed, and n_sweeps / n_particles ...
"""


def _thermo_from_moments(chosen: Method, moments: Moments, model, betas, scalar: bool) -> Thermo:
    """The Thermo of a method's Moments; a method that is not exact marks it ``meta["approximation"]``."""
    meta = {**(moments.meta or {}), **({} if chosen.exact else {"approximation": True})}
    return Thermo.from_moments(moments, betas, model.n_sites, chosen.name, scalar, meta=meta)


def _check_model(model) -> None:
    if not hasattr(model, "n_sites"):
        raise TypeError(f"pass a model such as sm.Ising.square(8) or sm.ml.LinearRegression(X, y), not "
                        f"{type(model).__name__} {model!r}")


def _warn(result, method: str, expected: type):
    """Raise the diagnostics a sampled result records (``meta["warnings"]``) as one :class:`SamplingWarning`."""
    if not isinstance(result, expected):
        raise TypeError(f"method {method!r} returned {type(result).__name__}, not {expected.__name__}: "
                        f"a registered method must keep the contract of statmech.testing.check_method_contract")
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
    return _warn(chosen.thermo_fn(model, betas if not scalar else betas[0], **options), chosen.name, Thermo)


def log_z(model, beta, method: str = "auto", **options) -> Estimate:
    """log Z(β) of ``model`` as an :class:`Estimate` (exact ones have ``stderr=None``)."""
    _check_model(model)
    betas, scalar = as_beta_array(beta)
    chosen = _registry().resolve_method(model, method, options)
    if chosen.log_z_fn is not None:
        return _warn(chosen.log_z_fn(model, betas if not scalar else betas[0], **options), chosen.name, Estimate)
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


thermo.__doc__ += _METHODS_DOC
log_z.__doc__ += _METHODS_DOC
