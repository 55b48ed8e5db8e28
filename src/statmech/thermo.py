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

from statmech._validation import as_beta_array
from statmech.stats import Estimate


@dataclasses.dataclass(frozen=True)
class Moments:
    """What an exact method computes on a β grid (float64 arrays, shape (B,)).

    Optional entries are None when the method cannot give them.
    """

    log_z: np.ndarray
    energy: np.ndarray | None = None
    energy_variance: np.ndarray | None = None
    magnetization: np.ndarray | None = None
    magnetization_variance: np.ndarray | None = None
    abs_magnetization: np.ndarray | None = None


_QUANTITIES = (
    "log_z",
    "free_entropy", "free_entropy_density",
    "free_energy", "free_energy_density",
    "energy", "energy_density",
    "entropy", "entropy_density",
    "specific_heat", "specific_heat_density",
    "magnetization", "magnetization_density",
    "abs_magnetization_density",
    "susceptibility_density",
    "binder_cumulant",
)


def _exact_estimates(beta, scalar, method, n_sites, meta):
    """A function turning a float64 array over the β grid into an exact Estimate (None stays None)."""

    def est(array):
        if array is None:
            return None
        array = np.asarray(array, dtype=np.float64)
        return Estimate(array[0] if scalar else array, None, method,
                        {"beta": beta[0] if scalar else beta, "n_sites": n_sites, **meta})

    return est


def _free_energy(beta, free_entropy):
    """F = −(free entropy)/β; at β = 0, F = −T log Z → −∞ (for log Z > 0), reported as such."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(beta > 0, -free_entropy / np.where(beta > 0, beta, 1.0), -np.inf * np.sign(free_entropy))


@dataclasses.dataclass(frozen=True, repr=False)
class Thermo:
    """Thermodynamics of one model at a scalar β or on a β grid (DESIGN.md §2).

    Every quantity is an :class:`Estimate` (``stderr=None`` when exact) or
    ``None`` when the method does not provide it (e.g. ``"kaufman"`` gives no
    magnetisation). Totals and per-site densities are both present, except in
    a *Thermo of densities* (the thermodynamic limit, e.g. :func:`statmech.onsager`)
    where ``n_sites`` is None and only the ``*_density`` fields are set.
    """

    beta: np.ndarray
    n_sites: int | None
    method: str
    log_z: Estimate | None = None
    free_entropy: Estimate | None = None
    free_entropy_density: Estimate | None = None
    free_energy: Estimate | None = None
    free_energy_density: Estimate | None = None
    energy: Estimate | None = None
    energy_density: Estimate | None = None
    entropy: Estimate | None = None
    entropy_density: Estimate | None = None
    specific_heat: Estimate | None = None
    specific_heat_density: Estimate | None = None
    magnetization: Estimate | None = None
    magnetization_density: Estimate | None = None
    abs_magnetization_density: Estimate | None = None
    susceptibility_density: Estimate | None = None
    binder_cumulant: Estimate | None = None
    meta: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    QUANTITIES = _QUANTITIES

    @classmethod
    def from_moments(cls, moments: Moments, beta: np.ndarray, n_sites: int, method: str,
                     scalar: bool = False, meta: Mapping[str, Any] | None = None) -> "Thermo":
        """Build the exact Thermo bundle from a method's :class:`Moments`."""
        meta = dict(meta or {})
        beta = np.asarray(beta, dtype=np.float64)
        n = float(n_sites)
        est = _exact_estimates(beta, scalar, method, n_sites, meta)
        log_z = np.asarray(moments.log_z, dtype=np.float64)
        free_energy = _free_energy(beta, log_z)
        fields: dict[str, Any] = {
            "log_z": est(log_z),
            "free_entropy": est(log_z),
            "free_entropy_density": est(log_z / n),
            "free_energy": est(free_energy),
            "free_energy_density": est(free_energy / n),
        }
        if moments.energy is not None:
            energy = np.asarray(moments.energy, dtype=np.float64)
            entropy = beta * energy + log_z
            fields.update(energy=est(energy), energy_density=est(energy / n),
                          entropy=est(entropy), entropy_density=est(entropy / n))
        if moments.energy_variance is not None:
            heat = beta**2 * np.asarray(moments.energy_variance, dtype=np.float64)
            fields.update(specific_heat=est(heat), specific_heat_density=est(heat / n))
        if moments.magnetization is not None:
            magnetization = np.asarray(moments.magnetization, dtype=np.float64)
            fields.update(magnetization=est(magnetization),
                          magnetization_density=est(magnetization / n))
        if moments.magnetization_variance is not None:
            fields["susceptibility_density"] = est(
                beta * np.asarray(moments.magnetization_variance, dtype=np.float64) / n)
        if moments.abs_magnetization is not None:
            fields["abs_magnetization_density"] = est(np.asarray(moments.abs_magnetization) / n)
        return cls(beta=beta[0] if scalar else beta, n_sites=int(n_sites), method=method,
                   meta=meta, **fields)

    @classmethod
    def from_densities(cls, beta, method: str, free_entropy_density, energy_density=None,
                       specific_heat_density=None, magnetization_density=None,
                       abs_magnetization_density=None, susceptibility_density=None,
                       scalar: bool = False, meta: Mapping[str, Any] | None = None) -> "Thermo":
        """Exact Thermo of densities (thermodynamic limit): per-site values only.

        f = −(free entropy density)/β and s = β u + (free entropy density) are derived.
        """
        meta = dict(meta or {})
        beta = np.asarray(beta, dtype=np.float64)
        est = _exact_estimates(beta, scalar, method, None, meta)
        phi = np.asarray(free_entropy_density, dtype=np.float64)
        free_energy = _free_energy(beta, phi)
        fields = {"free_entropy_density": est(phi), "free_energy_density": est(free_energy)}
        if energy_density is not None:
            energy_density = np.asarray(energy_density, dtype=np.float64)
            fields["energy_density"] = est(energy_density)
            fields["entropy_density"] = est(beta * energy_density + phi)
        fields.update(specific_heat_density=est(specific_heat_density),
                      magnetization_density=est(magnetization_density),
                      abs_magnetization_density=est(abs_magnetization_density),
                      susceptibility_density=est(susceptibility_density))
        return cls(beta=beta[0] if scalar else beta, n_sites=None, method=method, meta=meta, **fields)

    def available(self) -> tuple[str, ...]:
        """Names of the quantities this Thermo holds (the others are None)."""
        return tuple(name for name in _QUANTITIES if getattr(self, name) is not None)

    def to_dict(self) -> dict:
        """JSON-friendly dict: β, N, method, and each available quantity's value/stderr."""
        beta = np.asarray(self.beta)
        out: dict[str, Any] = {
            "beta": beta.tolist() if beta.ndim else float(beta),
            "n_sites": self.n_sites,
            "method": self.method,
        }
        for name in self.available():
            out[name] = getattr(self, name).to_dict()
            out[name].pop("method")
        return out

    def __repr__(self) -> str:
        lines = [f"Thermo(method={self.method!r}, n_sites={self.n_sites}, beta={self.beta})"]
        for name in self.available():
            lines.append(f"  {name:<26} {getattr(self, name)!r}")
        return "\n".join(lines)


# --------------------------------------------------------------------- registry
@dataclasses.dataclass(frozen=True)
class Method:
    """A registered method.

    ``why_not(model, options) -> str | None`` returns None when the method
    applies and a one-line reason when it does not. ``moments`` computes
    exact :class:`Moments`; ``log_z_moments``, where given, the same with only
    ``log_z`` filled, for methods whose log Z alone costs less (used by
    :func:`log_z`); ``thermo_fn``/``log_z_fn`` compute a Thermo /
    Estimate directly (estimators). ``auto_rank`` orders exact methods for
    ``method="auto"`` (lower first; None = never chosen automatically).
    """

    name: str
    exact: bool
    why_not: Callable[..., str | None]
    moments: Callable[..., Moments] | None = None
    thermo_fn: Callable[..., Thermo] | None = None
    log_z_fn: Callable[..., Estimate] | None = None
    log_z_moments: Callable[..., Moments] | None = None
    auto_rank: int | None = None
    model_types: tuple[type, ...] = ()


_REGISTRY: dict[str, list[Method]] = {}


def register_method(method: Method) -> Method:
    """Add ``method`` to the registry used by :func:`log_z` and :func:`thermo`.

    One name may have several implementations for different model types
    (``"ais"`` for Ising models and for Gibbs models over weights); the one
    whose ``model_types`` match the model is used. Registering the same name
    for the same model types again replaces the earlier entry.
    """
    entries = _REGISTRY.setdefault(method.name, [])
    entries[:] = [m for m in entries if m.model_types != method.model_types]
    entries.append(method)
    return method


def _matches(method: Method, model) -> bool:
    return not method.model_types or isinstance(model, method.model_types)


def get_method(name: str, model=None) -> Method:
    """The registered :class:`Method` called ``name`` (for ``model``'s type when given)."""
    _load_methods()
    entries = _REGISTRY.get(name.lower(), [])
    if not entries:
        raise ValueError(f"unknown method {name!r}; registered: {', '.join(sorted(_REGISTRY))}")
    if model is None:
        return entries[0]
    for method in entries:
        if _matches(method, model):
            return method
    raise ValueError(f"method {name!r} does not apply to {type(model).__name__} models")


def available_methods(model=None, **options) -> list[str]:
    """Names of registered methods; with a model, only those that apply to it."""
    _load_methods()
    if model is None:
        return sorted(_REGISTRY)
    return sorted(name for name, entries in _REGISTRY.items()
                  if any(_why_not(m, model, options) is None for m in entries))


def _why_not(method: Method, model, options) -> str | None:
    if not _matches(method, model):
        return f"it does not apply to {type(model).__name__} models"
    return method.why_not(model, options)


def _load_methods() -> None:
    """Import the modules that register methods (done lazily, no import-time work)."""
    import statmech.exact  # noqa: F401  (registers the exact methods)
    import statmech.mc._sampling  # noqa: F401  (registers the Monte Carlo samplers)
    import statmech.estimators._mbar  # noqa: F401  (registers "mbar")
    import statmech.estimators._wang_landau  # noqa: F401  (registers "wang-landau")
    from statmech.estimators import _annealing, _integration  # noqa: F401  (registers ais, pa, ti)
    import statmech.ml  # noqa: F401  (registers exact, laplace, quadrature, ti, ais, smc for loss models)


def _resolve(model, method: str, options) -> Method:
    _load_methods()
    if not isinstance(method, str):
        raise TypeError(f"method must be a string such as 'auto' or 'enumerate', got {method!r}")
    name = method.lower()
    if name == "auto":
        candidates = sorted((m for entries in _REGISTRY.values() for m in entries
                             if m.exact and m.auto_rank is not None and _matches(m, model)),
                            key=lambda m: m.auto_rank)
        reasons = []
        for candidate in candidates:
            reason = _why_not(candidate, model, options)
            if reason is None:
                return candidate
            reasons.append(f"{candidate.name}: {reason}")
        estimators = {m.name for entries in _REGISTRY.values() for m in entries
                      if not m.exact and _why_not(m, model, options) is None}
        hint = (f"; estimators that apply: {', '.join(sorted(estimators))}" if estimators
                else "")
        raise ValueError(f"no exact method applies to {model!r} ({'; '.join(reasons)}){hint}")
    if name not in _REGISTRY:
        applicable = available_methods(model, **options)
        raise ValueError(
            f"unknown method {method!r}; methods that apply to {model!r}: "
            f"{', '.join(applicable) or 'none'} (or 'auto')"
        )
    matching = [m for m in _REGISTRY[name] if _matches(m, model)]
    chosen = matching[0] if matching else _REGISTRY[name][0]
    reason = _why_not(chosen, model, options)
    if reason is not None:
        applicable = available_methods(model, **options)
        raise ValueError(
            f"method {name!r} does not apply to {model!r}: {reason}. "
            f"Methods that apply: {', '.join(applicable) or 'none'}"
        )
    return chosen


def _thermo_from_moments(chosen: Method, moments: Moments, model, betas, scalar: bool) -> Thermo:
    """The Thermo of a method's Moments; a method that is not exact marks it ``meta["approximation"]``."""
    meta = {} if chosen.exact else {"approximation": True}
    return Thermo.from_moments(moments, betas, model.n_sites, chosen.name, scalar, meta=meta)


def thermo(model, beta, method: str = "auto", **options) -> Thermo:
    """Thermodynamics of ``model`` at inverse temperature(s) ``beta``.

    ``beta`` is a scalar or a 1-D array; ``method`` a registered method name
    or ``"auto"`` (the best applicable exact method). Returns a :class:`Thermo`.
    """
    betas, scalar = as_beta_array(beta)
    chosen = _resolve(model, method, options)
    options = {k: v for k, v in options.items()}
    if chosen.moments is not None:
        return _thermo_from_moments(chosen, chosen.moments(model, betas, **options), model, betas, scalar)
    if chosen.thermo_fn is None:
        raise ValueError(f"method {chosen.name!r} computes log Z only; use sm.log_z")
    return chosen.thermo_fn(model, betas if not scalar else betas[0], **options)


def log_z(model, beta, method: str = "auto", **options) -> Estimate:
    """log Z(β) of ``model`` as an :class:`Estimate` (exact ones have ``stderr=None``)."""
    betas, scalar = as_beta_array(beta)
    chosen = _resolve(model, method, options)
    if chosen.log_z_fn is not None:
        return chosen.log_z_fn(model, betas if not scalar else betas[0], **options)
    if chosen.log_z_moments is not None:
        moments = chosen.log_z_moments(model, betas, **options)
        return _thermo_from_moments(chosen, moments, model, betas, scalar).log_z
    if chosen.moments is None:
        estimators = sorted({m.name for entries in _REGISTRY.values() for m in entries
                             if m.log_z_fn is not None and _why_not(m, model, options) is None})
        raise ValueError(
            f"method {chosen.name!r} samples configurations and gives no log Z; use an exact "
            f"method or a log Z estimator ({', '.join(estimators) or 'none registered'})"
        )
    return thermo(model, beta, method=chosen.name, **options).log_z
