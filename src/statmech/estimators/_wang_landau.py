"""Wang–Landau density of states with the 1/t refinement, and log Z from it.

Single-spin-flip walk accepted with min(1, g(E)/g(E′)), ln g(E) += ln f after
every step, ln f halved on flat histograms and then set to 1/t (F. Wang and
D. P. Landau, PRL 86, 2050 (2001); R. E. Belardinelli and V. D. Pereyra,
PRE 75, 046701 (2007)). Only models whose couplings and fields are integer
multiples of one unit are handled (energies on an exact grid); continuous
couplings are refused. Σ_E g(E) = 2^N; error bars from the spread of
``n_walkers`` independent walkers (Student's t). The schedule, the energy
grid and the coverage: docs/derivations.md.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import time
from fractions import Fraction
from typing import Any, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from statmech._validation import as_beta_array, check_positive_int
from statmech.exact._levels import level_moments
from statmech._validation import check_seed
from statmech.estimators import _budget
from statmech.models import Ising
from statmech.stats import Estimate
from statmech._types import Method, Thermo

METHOD = "wang-landau"
#: Refuse grids with more energy levels than this (continuous-looking couplings).
MAX_LEVELS = 1_000_000
#: Largest denominator accepted when reading couplings as rationals.
MAX_DENOMINATOR = 1_000
#: Default number of single-spin-flip attempts between flatness checks (at least one sweep).
CHECK_ATTEMPTS = 1_000
_UNROLL = 1


# ------------------------------------------------------------------ energy grid
@dataclasses.dataclass(frozen=True)
class EnergyGrid:
    """Exact energy levels of an integer-valued Ising model.

    Level k has energy ``offset + unit * (low + step * k)`` for k = 0 … n_levels−1;
    ``unit`` is the common unit of the couplings and fields, ``offset`` the
    constant energy of self-bonds, ``low``/``step`` integers.
    """

    unit: float
    offset: float
    low: int
    step: int
    n_levels: int

    def energies(self, levels=None) -> np.ndarray:
        """Energies (float64) of ``levels`` (default: all grid levels)."""
        k = np.arange(self.n_levels) if levels is None else np.asarray(levels)
        return self.offset + self.unit * (self.low + self.step * k.astype(np.float64))


def _common_unit(values: np.ndarray) -> float | None:
    """Largest u > 0 such that every value is an integer multiple of u, or None.

    Values are read as fractions with denominators up to ``MAX_DENOMINATOR``;
    a value that is not such a fraction (to 1e-12 relative) gives None.
    """
    magnitudes = np.unique(np.abs(values[values != 0]))
    if magnitudes.size == 0:
        return 1.0
    fractions = []
    for value in magnitudes.tolist():
        fraction = Fraction(value).limit_denominator(MAX_DENOMINATOR)
        if abs(float(fraction) - value) > 1e-12 * value:
            return None
        fractions.append(fraction)
    denominator = math.lcm(*(f.denominator for f in fractions))
    numerator = math.gcd(*(f.numerator * (denominator // f.denominator) for f in fractions))
    return numerator / denominator


def _integer_tables(model: Ising):
    """(grid, neighbours, neighbour couplings, fields, all-up energy) in integer units, or a reason."""
    edges = np.asarray(model.edges)
    couplings = np.asarray(model.couplings, dtype=np.float64)
    field = np.asarray(model.field, dtype=np.float64)
    off = edges[:, 0] != edges[:, 1]
    unit = _common_unit(np.concatenate([couplings[off], field]))
    if unit is None:
        return ("its couplings/fields are not integer multiples of one unit (continuous "
                "couplings have no discrete energy levels); use method='mbar', 'pt' or an exact method")
    j_int = np.rint(couplings / unit).astype(np.int64) * off
    h_int = np.rint(field / unit).astype(np.int64)
    bound = int(np.abs(j_int).sum() + np.abs(h_int).sum())
    if bound >= 2**30:
        return f"its energy range is {bound} units of {unit:g}, too fine a grid for Wang–Landau"
    padded = np.concatenate([j_int, [0]])
    neighbor_couplings = padded[np.asarray(model.neighbor_edges)]
    site_sums = neighbor_couplings.sum(axis=1) + h_int
    step = math.gcd(*(2 * site_sums).tolist(), *(4 * j_int).tolist())
    e_up = int(-j_int.sum() - h_int.sum())
    if step == 0:  # no couplings and no fields: one level
        low, n_levels = e_up, 1
    else:
        low = e_up - step * ((e_up + bound) // step)
        high = e_up + step * ((bound - e_up) // step)
        n_levels = (high - low) // step + 1
    if n_levels > MAX_LEVELS:
        return (f"it has up to {n_levels} energy levels (more than {MAX_LEVELS}); "
                "Wang–Landau needs a coarse discrete spectrum")
    grid = EnergyGrid(unit=float(unit), offset=model.constant_energy(), low=int(low),
                      step=int(max(step, 1)), n_levels=int(n_levels))
    return grid, np.asarray(model.neighbors, np.int32), neighbor_couplings.astype(np.int32), \
        h_int.astype(np.int32), e_up


def energy_grid(model: Ising) -> EnergyGrid:
    """The exact energy grid Wang–Landau uses for ``model`` (ValueError if it has none)."""
    _check_model(model)
    tables = _integer_tables(model)
    if isinstance(tables, str):
        raise ValueError(f"Wang–Landau cannot run on {model!r}: {tables}")
    return tables[0]


def _check_model(model):
    if not isinstance(model, Ising):
        raise TypeError(f"Wang–Landau needs an sm.Ising model, got {type(model).__name__}")


# ----------------------------------------------------------------------- walk
class _Walker(NamedTuple):
    spins: jax.Array        # (N,) int32
    level: jax.Array        # () int32, current energy level
    log_g: jax.Array        # (K,) float64
    histogram: jax.Array    # (K,) int32, since the last reset
    visited: jax.Array      # (K,) bool, ever
    n_visited: jax.Array    # () int64
    log_f: jax.Array        # () float64
    stage: jax.Array        # () int32: 0 halving, 1 ln f = 1/t
    n_steps: jax.Array      # () int64 attempts so far
    n_halvings: jax.Array   # () int32


def _walker_chunk(key, walker: _Walker, tables, chunk_steps: int, flatness):
    """``chunk_steps`` single-spin-flip attempts of one walker, then the flatness check."""
    neighbors, neighbor_couplings, fields, step = tables
    n_sites = fields.shape[0]
    site_key, u_key = jax.random.split(key)
    sites = jax.random.randint(site_key, (chunk_steps,), 0, n_sites, jnp.int32)
    log_u = jnp.log(jax.random.uniform(u_key, (chunk_steps,), jnp.float64))

    def move(w: _Walker, inputs):
        site, lu = inputs
        spin = w.spins[site]
        local = fields[site] + jnp.sum(neighbor_couplings[site] * w.spins[neighbors[site]], dtype=jnp.int32)
        proposed = w.level + (2 * spin * local) // step
        accept = lu < w.log_g[w.level] - w.log_g[proposed]
        spins = w.spins.at[site].set(jnp.where(accept, -spin, spin))
        level = jnp.where(accept, proposed, w.level)
        n_steps = w.n_steps + 1
        n_visited = w.n_visited + jnp.where(w.visited[level], 0, 1)
        log_f = jnp.where(w.stage == 1, n_visited / n_steps, w.log_f)
        return w._replace(
            spins=spins, level=level, log_g=w.log_g.at[level].add(log_f),
            histogram=w.histogram.at[level].add(1), visited=w.visited.at[level].set(True),
            n_visited=n_visited, log_f=log_f, n_steps=n_steps,
        ), None

    w, _ = lax.scan(move, walker, (sites, log_u), unroll=_UNROLL)
    counts = jnp.where(w.visited, w.histogram, 0)
    lowest = jnp.min(jnp.where(w.visited, w.histogram, jnp.iinfo(jnp.int32).max))
    mean = jnp.sum(counts) / jnp.maximum(w.n_visited, 1)
    flat = (w.stage == 0) & (lowest > 0) & (lowest >= flatness * mean)
    log_f = jnp.where(flat, w.log_f / 2, w.log_f)
    inverse_time = w.n_visited / w.n_steps
    switch = flat & (log_f <= inverse_time)
    return w._replace(
        histogram=jnp.where(flat, 0, w.histogram),
        log_f=jnp.where(switch, inverse_time, log_f),
        stage=jnp.where(switch, 1, w.stage).astype(jnp.int32),
        n_halvings=w.n_halvings + flat.astype(jnp.int32),
    )


@functools.partial(jax.jit, static_argnames=("chunk_steps",))
def _walk(walker_keys, walkers, tables, n_chunks, chunk_steps, flatness):
    def body(c, walkers):
        keys = jax.vmap(jax.random.fold_in, in_axes=(0, None))(walker_keys, c)
        return jax.vmap(_walker_chunk, in_axes=(0, 0, None, None, None))(
            keys, walkers, tables, chunk_steps, flatness)

    return lax.fori_loop(0, n_chunks, body, walkers)


def _start(key, n_walkers, grid, neighbors, neighbor_couplings, fields, e_up):
    """Random ±1 starts and their energy levels."""
    spins = jax.random.rademacher(key, (n_walkers, fields.shape[0]), jnp.int32)
    local = jnp.sum(neighbor_couplings[None] * spins[:, neighbors], axis=-1)  # (W, N)
    energy = -jnp.sum(spins * local, axis=-1) // 2 - spins @ fields  # each bond seen twice
    level = ((energy - grid.low) // grid.step).astype(jnp.int32)
    k = grid.n_levels
    return _Walker(
        spins=spins, level=level,
        log_g=jnp.zeros((n_walkers, k), jnp.float64),
        histogram=jnp.zeros((n_walkers, k), jnp.int32),
        visited=jnp.zeros((n_walkers, k), bool),
        n_visited=jnp.zeros(n_walkers, jnp.int64),
        log_f=jnp.ones(n_walkers, jnp.float64),
        stage=jnp.zeros(n_walkers, jnp.int32),
        n_steps=jnp.zeros(n_walkers, jnp.int64),
        n_halvings=jnp.zeros(n_walkers, jnp.int32),
    )


# --------------------------------------------------------------------- result
def _logsumexp(x, axis=-1):
    shift = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(shift, axis) + np.log(np.sum(np.exp(x - shift), axis=axis))


def _mean_and_stderr(per_walker: np.ndarray):
    """Mean over walkers (axis 0) and its standard error std/√W (ddof = 1)."""
    n = per_walker.shape[0]
    return per_walker.mean(axis=0), per_walker.std(axis=0, ddof=1) / math.sqrt(n)


@dataclasses.dataclass(frozen=True, eq=False)
class WangLandauResult:
    """Density of states from independent Wang–Landau walkers.

    ``energies`` (K,): the levels every walker visited (float64, increasing);
    ``log_g`` (K,): mean over walkers of ln g(E), each walker normalised to
    Σ_E g(E) = 2^N; ``log_g_stderr``: std across walkers / √W;
    ``walker_log_g`` (W, K): the normalised estimates of each walker;
    ``meta``: seed, run lengths, wall time, per-walker final ln f, halvings
    and warnings.
    """

    energies: np.ndarray
    log_g: np.ndarray
    log_g_stderr: np.ndarray
    walker_log_g: np.ndarray
    n_sites: int
    meta: Mapping[str, Any]

    @property
    def n_walkers(self) -> int:
        """Number of independent walkers W."""
        return int(self.walker_log_g.shape[0])

    def _walker_log_z(self, betas):
        log_w = self.walker_log_g[:, None, :] - betas[None, :, None] * self.energies[None, None, :]
        return _logsumexp(log_w, axis=-1)  # (W, B)

    def log_z(self, beta) -> Estimate:
        """ln Z(β) = ln Σ_E g(E) e^{−βE} (log-sum-exp), mean over walkers ± std/√W.

        ``beta`` is a scalar or a 1-D array (≥ 0, finite).
        """
        betas, scalar = as_beta_array(beta)
        value, stderr = _mean_and_stderr(self._walker_log_z(betas))
        meta = {"beta": betas[0] if scalar else betas, "n_sites": self.n_sites, **self.meta}
        if scalar:
            return Estimate(value[0], stderr[0], METHOD, meta)
        return Estimate(value, stderr, METHOD, meta)

    def probabilities(self, beta) -> np.ndarray:
        """P(E; β) = g(E) e^{−βE} / Z(β) from the mean ln g: shape (K,) for scalar β, (B, K) for a grid."""
        betas, scalar = as_beta_array(beta)
        log_w = self.log_g[None, :] - betas[:, None] * self.energies[None, :]
        p = np.exp(log_w - _logsumexp(log_w, axis=-1)[:, None])
        return p[0] if scalar else p

    def thermo(self, beta) -> Thermo:
        """ln Z, F, U, S and C at ``beta`` from the levels, each mean ± std/√W over walkers.

        No magnetisation (the walk records energies only).
        """
        betas, scalar = as_beta_array(beta)
        per_walker = [level_moments(betas, self.energies, log_g) for log_g in self.walker_log_g]
        log_z = np.array([m.log_z for m in per_walker])
        energy = np.array([m.energy for m in per_walker])
        heat = betas**2 * np.array([m.energy_variance for m in per_walker])
        info = {"beta": betas[0] if scalar else betas, "n_sites": self.n_sites, **self.meta}

        def est(per_walker_values):
            value, stderr = _mean_and_stderr(per_walker_values)
            return Estimate(value[0], stderr[0], METHOD, info) if scalar else Estimate(value, stderr, METHOD, info)

        return Thermo.from_estimates(betas[0] if scalar else betas, self.n_sites, METHOD, meta=dict(self.meta),
                                     log_z=est(log_z), energy=est(energy),
                                     entropy=est(betas * energy + log_z), specific_heat=est(heat))


# ----------------------------------------------------------------- front door
def _check_wang_landau_budget(n_sites, n_walkers, n_sweeps, check_every, n_levels, n_neighbor_entries) -> None:
    """Refuse a Wang–Landau run over the memory or time budget before any work: per walker its spins,
    the neighbour gather of its start (int32 each), log g, histogram and visited flags per level, and
    one chunk of random sites and uniforms; n_walkers · n_sweeps · N attempts."""
    per_walker = 4.0 * (n_sites + n_neighbor_entries) + 13.0 * n_levels + 12.0 * check_every
    _budget.check_budget(
        f"Wang-Landau with {n_walkers} walkers of {n_sites} spins x {n_sweeps} sweeps", n_walkers * per_walker,
        float(n_walkers) * n_sweeps * n_sites * _budget.SECONDS_PER_WANG_LANDAU_ATTEMPT,
        "use fewer walkers (n_walkers) or sweeps (n_sweeps)")


def wang_landau(model: Ising, *, n_sweeps: int = 20_000, n_walkers: int = 8,
                flatness: float = 0.8, check_every: int | None = None,
                seed: int = 0) -> WangLandauResult:
    """Density of states g(E) of an integer-valued Ising model by 1/t Wang–Landau.

    ``n_sweeps``: length of each walker's run in sweeps (N single-spin-flip
    attempts each) — the whole budget, the 1/t stage included;
    ``n_walkers`` (≥ 2): independent walkers, their spread gives the error
    bars; ``flatness`` in [0, 1): a histogram is flat when min H ≥ flatness ×
    mean H over the visited levels (0 gives Belardinelli & Pereyra's "every
    level visited"); ``check_every``: single-spin-flip attempts between
    flatness checks (default max(N, 1000)); ``seed``: int.

    Walkers still halving ln f at the end (never reached ln f = 1/t) and
    levels that only some walkers visited are reported in ``meta["warnings"]``.
    """
    _check_model(model)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    n_walkers = check_positive_int(n_walkers, "n_walkers")
    if n_walkers < 2:
        raise ValueError(f"n_walkers must be >= 2 (their spread is the error bar), got {n_walkers}")
    if isinstance(flatness, bool) or not isinstance(flatness, (int, float, np.floating, np.integer)):
        raise TypeError(f"flatness must be a number in [0, 1), got {flatness!r}")
    if not 0.0 <= float(flatness) < 1.0:
        raise ValueError(f"flatness must be in [0, 1) (0.8 is usual), got {flatness}")
    seed = check_seed(seed)
    n_sites = model.n_sites
    if check_every is None:
        check_every = max(n_sites, CHECK_ATTEMPTS)
    check_every = check_positive_int(check_every, "check_every")
    tables = _integer_tables(model)
    if isinstance(tables, str):
        raise ValueError(f"Wang–Landau cannot run on {model!r}: {tables}")
    grid, neighbors, neighbor_couplings, fields, e_up = tables
    _check_wang_landau_budget(n_sites, n_walkers, n_sweeps, check_every, grid.n_levels, np.size(neighbors))
    n_attempts = n_sweeps * n_sites
    n_chunks = -(-n_attempts // check_every)

    start_time = time.perf_counter()
    with jax.enable_x64(True):
        start_key, walk_key = jax.random.split(jax.random.key(seed))
        arrays = (jnp.asarray(neighbors), jnp.asarray(neighbor_couplings), jnp.asarray(fields))
        walkers = _start(start_key, n_walkers, grid, *arrays, e_up)
        walker_keys = jax.random.split(walk_key, n_walkers)
        walkers = _walk(walker_keys, walkers, arrays + (jnp.asarray(grid.step, jnp.int32),),
                        jnp.asarray(n_chunks), check_every, jnp.asarray(float(flatness)))
        log_g = np.asarray(walkers.log_g, dtype=np.float64)
        visited = np.asarray(walkers.visited)
        stage = np.asarray(walkers.stage)
        log_f = np.asarray(walkers.log_f)
        halvings = np.asarray(walkers.n_halvings)
    wall_time = time.perf_counter() - start_time

    warnings = []
    everywhere = visited.all(axis=0)
    partly = visited.any(axis=0) & ~everywhere
    if partly.any():
        warnings.append(
            f"{int(partly.sum())} energy levels were visited by some walkers but not all "
            f"(E = {grid.energies(np.flatnonzero(partly))[:5].tolist()}…); they are left out, "
            "which biases the normalisation: run longer")
    unfinished = int(np.sum(stage == 0))
    if unfinished:
        warnings.append(
            f"{unfinished} of {n_walkers} walkers never reached the 1/t stage (ln f still "
            f"{log_f[stage == 0].max():.3g}); the error bars understate the error: increase n_sweeps")
    kept = np.flatnonzero(everywhere)
    walker_log_g = log_g[:, kept]
    walker_log_g = walker_log_g - _logsumexp(walker_log_g, axis=-1)[:, None] + n_sites * math.log(2.0)
    value, stderr = _mean_and_stderr(walker_log_g)
    meta = {
        "seed": seed, "n_sweeps": n_sweeps, "n_walkers": n_walkers, "flatness": float(flatness),
        "check_every": check_every, "n_attempts": n_chunks * check_every,
        "wall_time": wall_time, "final_log_f": log_f.tolist(), "n_halvings": halvings.tolist(),
        "grid": dataclasses.asdict(grid), "n_levels": int(kept.size),
        "warnings": tuple(warnings),
    }
    return WangLandauResult(energies=grid.energies(kept), log_g=value, log_g_stderr=stderr,
                            walker_log_g=walker_log_g, n_sites=n_sites, meta=meta)


# ------------------------------------------------------------------- registry
def _why_not(model, options) -> str | None:
    tables = _integer_tables(model)
    return tables if isinstance(tables, str) else None


def _log_z(model, beta, **options) -> Estimate:
    return wang_landau(model, **options).log_z(beta)


def _thermo(model, beta, **options) -> Thermo:
    return wang_landau(model, **options).thermo(beta)


# Registered by statmech._registry (this module does not import the registry).
METHODS: list[Method] = []
METHODS.append(Method(name=METHOD, exact=False, why_not=_why_not, log_z_fn=_log_z,
                       thermo_fn=_thermo, model_types=(Ising,)))
