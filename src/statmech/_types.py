"""Value types at the bottom of statmech: ``Estimate``, ``Moments``, ``Thermo`` and ``Method``.

This module imports nothing from statmech but the leaf helpers of
``statmech._numerics``, so every other module (models, exact methods,
samplers, estimators, the registry, the front doors) can use it without an
import cycle. ``Thermo.from_moments`` builds an exact bundle from a method's
moments with one set of formulas, and ``Thermo.from_estimates`` a sampled one:

    F = −log Z / β,   S = β (U − F) = β U + log Z,   C = β² Var(H),
    χ/N = β Var(M) / N.
"""
from __future__ import annotations

import dataclasses
import json
import math
from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np

from statmech._numerics import json_safe, readonly_float64


class StatmechWarning(UserWarning):
    """Base class of every warning statmech raises; filter them all with this category."""


class SamplingWarning(StatmechWarning):
    """A sampled answer doubts itself: short chains, R̂ above threshold, an autocorrelation window that did
    not close, a coarse quadrature. The value is kept; its error bar may be too small."""


@dataclasses.dataclass(frozen=True, eq=False)
class Estimate:
    """A computed quantity: ``value``, its standard error, and how it was made.

    ``value`` is a float64 scalar or array (one entry per β of a grid).
    ``stderr`` is ``None`` when the value is exact (up to float64 rounding),
    otherwise an array of the same shape holding one standard error.
    ``method`` names the method (``"enumerate"``, ``"kaufman"``, ...) and
    ``meta`` records β, N, the seed and method-specific diagnostics.

    ``float(est)`` works for scalar estimates; ``repr`` reads like
    ``-0.7612 ± 0.0021 [ais]``.
    """

    value: np.ndarray
    stderr: np.ndarray | None
    method: str
    meta: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        value = readonly_float64(self.value)
        object.__setattr__(self, "value", value)
        if self.stderr is not None:
            stderr = readonly_float64(self.stderr)
            if stderr.shape != value.shape:
                raise ValueError(
                    f"stderr shape {stderr.shape} must equal value shape {value.shape}"
                )
            object.__setattr__(self, "stderr", stderr)
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

    @property
    def is_exact(self) -> bool:
        """True when the value carries no statistical error."""
        return self.stderr is None

    def __float__(self) -> float:
        if self.value.ndim != 0:
            raise TypeError(
                f"float() needs a scalar Estimate; this one has shape {self.value.shape}. "
                "Index it first, e.g. est[0]."
            )
        return float(self.value)

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.value, dtype=dtype)

    def __len__(self) -> int:
        if self.value.ndim == 0:
            raise TypeError("len() of a scalar Estimate")
        return len(self.value)

    def __getitem__(self, index) -> "Estimate":
        stderr = None if self.stderr is None else self.stderr[index]
        return Estimate(self.value[index], stderr, self.method, self.meta)

    def __repr__(self) -> str:
        def fmt(x):
            return f"{x:.6g}"

        if self.value.ndim == 0:
            text = fmt(float(self.value))
            if self.stderr is not None:
                text += f" ± {float(self.stderr):.2g}"
        else:
            values = np.array2string(self.value, precision=6, threshold=8)
            text = values
            if self.stderr is not None:
                text += " ± " + np.array2string(self.stderr, threshold=8,
                                                formatter={"float_kind": lambda x: f"{x:.2g}"})
        return f"{text} [{self.method}]"

    def to_dict(self) -> dict:
        """JSON-friendly form: value, stderr, method (meta values made plain)."""

        def plain(x):
            if isinstance(x, np.ndarray):
                return x.tolist() if x.ndim else float(x)
            if isinstance(x, (np.floating, np.integer)):
                return x.item()
            if isinstance(x, float) and not math.isfinite(x):
                return x
            return x

        return {
            "value": plain(self.value),
            "stderr": None if self.stderr is None else plain(self.stderr),
            "method": self.method,
        }


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
    meta: Mapping[str, Any] | None = None
    """What the method reports about itself (e.g. a contraction's cost); copied into the Thermo and its Estimates."""


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
    """Thermodynamics of one model at a scalar β or on a β grid (names as in docs/conventions.md).

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
    def from_estimates(cls, beta, n_sites: int, method: str, *, log_z: Estimate | None = None,
                       energy: Estimate | None = None, entropy: Estimate | None = None,
                       specific_heat: Estimate | None = None, magnetization: Estimate | None = None,
                       abs_magnetization: Estimate | None = None,
                       susceptibility_density: Estimate | None = None,
                       binder_cumulant: Estimate | None = None,
                       meta: Mapping[str, Any] | None = None) -> "Thermo":
        """A sampled Thermo from the totals a method measured (each an :class:`Estimate` with a stderr).

        Derived here, the same way for every sampled method: ``free_entropy`` = log Z; each
        ``*_density`` = total / N (stderr / N, same meta); F = −log Z/β with stderr
        δlog Z/β, and at β = 0 F = −∞·sign(log Z) with stderr 0 (F = −T log Z diverges
        whatever the estimate of log Z: the limit is not uncertain). The entropy's error
        depends on the method's correlation of U and log Z, so the method passes it.
        """
        n = float(n_sites)

        def scaled(estimate, scale):
            if estimate is None:
                return None
            stderr = None if estimate.stderr is None else np.asarray(estimate.stderr) * abs(scale)
            return Estimate(np.asarray(estimate.value) * scale, stderr, estimate.method, estimate.meta)

        fields: dict[str, Any] = {"energy": energy, "entropy": entropy, "specific_heat": specific_heat,
                                  "magnetization": magnetization,
                                  "susceptibility_density": susceptibility_density,
                                  "binder_cumulant": binder_cumulant,
                                  "abs_magnetization_density": scaled(abs_magnetization, 1.0 / n)}
        for name in ("energy", "entropy", "specific_heat", "magnetization"):
            fields[f"{name}_density"] = scaled(fields[name], 1.0 / n)
        if log_z is not None:
            betas = np.asarray(beta, dtype=np.float64)
            value = np.asarray(log_z.value, dtype=np.float64)
            positive = betas > 0
            inverse = 1.0 / np.where(positive, betas, 1.0)
            with np.errstate(invalid="ignore"):
                free_energy = np.where(positive, -value * inverse, -np.inf * np.sign(value))
            stderr = None if log_z.stderr is None else np.where(positive, np.asarray(log_z.stderr) * inverse, 0.0)
            free_energy = Estimate(free_energy, stderr, log_z.method, log_z.meta)
            fields.update(log_z=log_z, free_entropy=log_z, free_entropy_density=scaled(log_z, 1.0 / n),
                          free_energy=free_energy, free_energy_density=scaled(free_energy, 1.0 / n))
        return cls(beta=beta, n_sites=int(n_sites), method=method, meta=dict(meta or {}), **fields)

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

    def _columns(self) -> dict[str, np.ndarray]:
        """Each available quantity (and ``<name>_stderr`` where sampled) as a float64 array over β."""
        n_beta = np.atleast_1d(np.asarray(self.beta)).size
        columns: dict[str, np.ndarray] = {}
        for name in self.available():
            estimate = getattr(self, name)
            columns[name] = np.broadcast_to(np.atleast_1d(estimate.value), (n_beta,)).astype(np.float64)
            if estimate.stderr is not None:
                columns[f"{name}_stderr"] = np.broadcast_to(np.atleast_1d(estimate.stderr),
                                                            (n_beta,)).astype(np.float64)
        return columns

    def _attrs(self) -> dict[str, Any]:
        """JSON-safe attributes: method, n_sites, seed (when recorded) and the whole meta as JSON text."""
        meta = json_safe(self.meta)
        attrs: dict[str, Any] = {"method": self.method}
        if self.n_sites is not None:
            attrs["n_sites"] = int(self.n_sites)
        if isinstance(meta, dict) and isinstance(meta.get("seed"), int):
            attrs["seed"] = meta["seed"]
        attrs["meta"] = json.dumps(meta, sort_keys=True)
        return attrs

    def to_xarray(self):
        """This Thermo as an ``xarray.Dataset`` with dimension and coordinate ``beta``.

        One data variable per available quantity (``log_z``, ``free_energy``,
        ``energy``, ``entropy``, ``specific_heat``, ... and their densities),
        plus ``<name>_stderr`` for each sampled one. A scalar β gives a
        ``beta`` dimension of length 1. ``attrs``: ``method``, ``n_sites``
        (absent for a Thermo of densities), ``seed`` (when recorded) and
        ``meta``, the method's metadata as JSON text (``json.loads`` reads it
        back; arrays become lists, NaN/inf become null). Everything is
        netCDF-safe: ``ds.to_netcdf(path)`` works.
        """
        import xarray as xr

        beta = np.atleast_1d(np.asarray(self.beta, dtype=np.float64))
        data = {name: (("beta",), values) for name, values in self._columns().items()}
        return xr.Dataset(data, coords={"beta": beta}, attrs=self._attrs())

    def to_dataframe(self):
        """This Thermo as a ``pandas.DataFrame``: index ``beta``, one column per quantity and stderr.

        The columns are those of :meth:`to_xarray`; ``df.attrs`` holds the same JSON-safe attributes.
        """
        import pandas as pd

        beta = np.atleast_1d(np.asarray(self.beta, dtype=np.float64))
        frame = pd.DataFrame(self._columns(), index=pd.Index(beta, name="beta"))
        frame.attrs.update(self._attrs())
        return frame

    def __repr__(self) -> str:
        lines = [f"Thermo(method={self.method!r}, n_sites={self.n_sites}, beta={self.beta})"]
        for name in self.available():
            lines.append(f"  {name:<26} {getattr(self, name)!r}")
        return "\n".join(lines)


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
    ``cost(model, options) -> float``, where given, is a quick estimate of the
    seconds one β takes (inf where unknown); ``method="auto"`` takes the
    cheapest of the applicable methods that have one when the first
    applicable method by rank has one too.
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
    options: tuple[str, ...] | None = None
    """The option names the method accepts, where its functions take ``**options`` (else read from signatures)."""
    cost: Callable[..., float] | None = None
