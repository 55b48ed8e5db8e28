"""References and checks for testing a method: brute force, closed forms, χ², z-scores, coverage.

Used by statmech's own tests, and meant for anyone who adds a method or a
sampler: compare it with the brute-force sum over all 2^N states, test a
sampler's histogram against the exact Boltzmann distribution, and check that
an estimator's error bars cover the truth as often as they claim.

Everything here is written independently of the methods it checks: energies
come from the model's edge list term by term, never from ``model.energy``.

    from statmech import testing
    reference = testing.brute_force_moments(model, [0.2, 0.5])
    p = testing.chi2_pvalue(samples, testing.boltzmann_probabilities(model, 0.5))
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import special, stats

from statmech._registry import get_method
from statmech._types import Estimate, Moments, Thermo
from statmech.exact._matching import _open_bonds
from statmech.models import Ising
from statmech.thermo import log_z, thermo

#: Largest N the brute-force references enumerate (2^20 states, a few hundred MB at most).
MAX_BRUTE_FORCE_SITES = 20


def all_spin_states(n: int) -> np.ndarray:
    """Every configuration of n ±1 spins, shape (2^n, n), int8; bit i of the row index set ↔ s_i = −1."""
    if not 1 <= n <= MAX_BRUTE_FORCE_SITES:
        raise ValueError(f"brute force enumerates 1 <= N <= {MAX_BRUTE_FORCE_SITES} spins, got N = {n}")
    codes = np.arange(2**n)
    return (1 - 2 * ((codes[:, None] >> np.arange(n)) & 1)).astype(np.int8)


def state_codes(spins) -> np.ndarray:
    """Row index in :func:`all_spin_states` of each configuration in ``spins`` (shape (..., N))."""
    bits = (1 - np.asarray(spins, dtype=np.int64)) // 2
    return bits @ (1 << np.arange(bits.shape[-1]))


def edge_list_energy(model, spins) -> np.ndarray:
    """H(s) = −Σ_e J_e s_i s_j − Σ_i h_i s_i from the edge list (self-bonds give −J_ii), for spins (..., N)."""
    s = np.asarray(spins, dtype=np.float64)
    edges = np.asarray(model.edges, dtype=np.int64).reshape(-1, 2)
    couplings = np.asarray(model.couplings, dtype=np.float64)
    return -(s[..., edges[:, 0]] * s[..., edges[:, 1]]) @ couplings - s @ np.asarray(model.field, dtype=np.float64)


def brute_force_energies(model) -> np.ndarray:
    """H(s) of every state in :func:`all_spin_states` order, from the edge list."""
    return edge_list_energy(model, all_spin_states(model.n_sites))


def brute_force_moments(model, betas) -> Moments:
    """Exact log Z, ⟨H⟩, Var H, ⟨M⟩, Var M and ⟨|M|⟩ over all 2^N states (log domain), for a β grid."""
    betas = np.atleast_1d(np.asarray(betas, dtype=np.float64))
    energies = brute_force_energies(model)
    magnetization = all_spin_states(model.n_sites).sum(axis=1).astype(np.float64)
    log_w = -betas[:, None] * (energies - energies.min())[None, :]
    log_z = special.logsumexp(log_w, axis=1) - betas * energies.min()
    p = np.exp(log_w - special.logsumexp(log_w, axis=1, keepdims=True))

    def mean(x):
        return p @ x

    energy, m = mean(energies), mean(magnetization)
    return Moments(log_z=log_z, energy=energy, energy_variance=mean(energies**2) - energy**2,
                   magnetization=m, magnetization_variance=mean(magnetization**2) - m**2,
                   abs_magnetization=mean(np.abs(magnetization)))


def brute_force_log_z(model, beta) -> float | np.ndarray:
    """log Z by brute force: a float for scalar β, an array for a grid."""
    values = brute_force_moments(model, beta).log_z
    return float(values[0]) if np.ndim(beta) == 0 else values


def boltzmann_probabilities(model, beta: float) -> np.ndarray:
    """p(s) = exp(−βH(s))/Z for every state, in the order of :func:`all_spin_states`."""
    log_w = -float(beta) * brute_force_energies(model)
    return np.exp(log_w - special.logsumexp(log_w))


# ------------------------------------------------------------------ closed forms
def independent_spins_log_z(h, beta) -> float:
    """log Z = Σ_i ln(2 cosh βh_i) of uncoupled spins in fields h_i."""
    h = np.atleast_1d(np.asarray(h, dtype=np.float64))
    x = np.abs(float(beta) * h)
    return float(np.sum(x + np.log1p(np.exp(-2.0 * x))))


def open_chain_log_z(couplings, beta) -> float:
    """log Z = ln 2 + Σ_b ln(2 cosh βJ_b) of an open chain at h = 0 (N = len(J) + 1 spins)."""
    return math.log(2.0) + independent_spins_log_z(couplings, beta)


def periodic_chain_log_z(n: int, J: float, h: float, beta: float) -> float:
    """Periodic chain of n spins: Z = λ₊ⁿ + λ₋ⁿ, λ± = e^{βJ} cosh βh ± sqrt(e^{2βJ} sinh² βh + e^{−2βJ}).

    (Kramers & Wannier 1941; any textbook, e.g. Baxter, *Exactly Solved Models*, ch. 2.)
    """
    a = math.exp(beta * J) * math.cosh(beta * h)
    root = math.sqrt(math.exp(2 * beta * J) * math.sinh(beta * h) ** 2 + math.exp(-2 * beta * J))
    return n * math.log(a + root) + math.log1p(((a - root) / (a + root)) ** n)


# ---------------------------------------------------------------- random instances
def random_chain(n: int, seed: int, J=(0.2, 1.5), field_scale: float = 0.0, periodic: bool = False):
    """An Ising chain of ``n`` spins with couplings uniform in ``J`` = (low, high) and, when
    ``field_scale`` > 0, Gaussian fields N(0, field_scale²), drawn in that order from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    couplings = rng.uniform(J[0], J[1], n if periodic else n - 1)
    field = rng.normal(0.0, field_scale, n) if field_scale > 0 else 0.0
    return Ising.chain(n, J=couplings, h=field, periodic=periodic)


def gaussian_couplings(rng: np.random.Generator, n: int, scale: float = 1.0) -> np.ndarray:
    """A symmetric (n, n) coupling matrix with zero diagonal and N(0, scale²) entries above it (all-to-all)."""
    upper = np.triu(rng.normal(size=(n, n)) * scale, 1)
    return upper + upper.T


def sk_instance(n: int = 10, seed: int = 3, field_scale: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """(J, h) of an SK instance: J_ij ~ N(0, 1/n) (:func:`gaussian_couplings`), then h_i ~ N(0, field_scale²)."""
    rng = np.random.default_rng(seed)
    couplings = gaussian_couplings(rng, n) / math.sqrt(n)
    return couplings, rng.normal(scale=field_scale, size=n)


# ------------------------------------------------------------------ statistics
def chi2_pvalue(spins, probabilities, min_expected: float = 5.0) -> float:
    """Pearson χ² p-value of the histogram of ``spins`` (shape (n, N)) against ``probabilities``.

    States expected fewer than ``min_expected`` times are pooled into one bin
    (Cochran's rule), so the χ² approximation holds.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    counts = np.bincount(state_codes(np.asarray(spins).reshape(-1, np.shape(spins)[-1])),
                         minlength=probabilities.size)
    expected = counts.sum() * probabilities
    small = expected < min_expected
    observed, expect = counts[~small], expected[~small]
    if small.any():
        observed = np.append(observed, counts[small].sum())
        expect = np.append(expect, expected[small].sum())
    return float(stats.chisquare(observed, expect * observed.sum() / expect.sum()).pvalue)


def fisher_combined_pvalue(pvalues) -> float:
    """Fisher's combination −2 Σ ln p ~ χ²(2k) of independent p-values (Fisher 1932).

    A p-value of exactly 0 (a χ² far in the tail) is taken as 1e−300, so the
    combination is a tiny number instead of a division by zero.
    """
    pvalues = np.maximum(np.asarray(pvalues, dtype=np.float64), 1e-300)
    return float(stats.combine_pvalues(pvalues, method="fisher").pvalue)


def z_score(estimate, exact) -> np.ndarray | float:
    """(value − exact)/stderr of an :class:`~statmech.Estimate` (raises for an exact Estimate)."""
    if estimate.stderr is None:
        raise ValueError(f"{estimate!r} is exact (no stderr); compare its value directly")
    z = (np.asarray(estimate.value, dtype=np.float64) - np.asarray(exact, dtype=np.float64)) / estimate.stderr
    return float(z) if np.ndim(z) == 0 else z


@dataclasses.dataclass(frozen=True)
class Coverage:
    """How often error bars cover the truth: rms z and the fractions with |z| < 1 and |z| < 2."""

    n: int
    rms_z: float
    mean_z: float
    one_sigma: float
    two_sigma: float

    def consistent(self, tolerance: float = 0.05) -> bool:
        """Whether 1σ coverage is 0.683 ± ``tolerance`` and 2σ coverage at least 0.954 − ``tolerance``."""
        return abs(self.one_sigma - 0.6827) <= tolerance and self.two_sigma >= 0.9545 - tolerance


def coverage(z_scores) -> Coverage:
    """Coverage of a set of z-scores (one per independent run)."""
    z = np.asarray(z_scores, dtype=np.float64).ravel()
    if z.size == 0 or not np.all(np.isfinite(z)):
        raise ValueError("coverage needs at least one finite z-score")
    return Coverage(n=int(z.size), rms_z=float(np.sqrt(np.mean(z**2))), mean_z=float(np.mean(z)),
                    one_sigma=float(np.mean(np.abs(z) < 1.0)), two_sigma=float(np.mean(np.abs(z) < 2.0)))


def reference_ess_mean(samples) -> float:
    """Effective sample size of the mean of (n_chains, n_draws) draws, Vehtari et al. (2021), as ArviZ.

    A test reference written from the paper (Bayesian Analysis 16, 667, eqs. 10-11 and Geyer's initial
    monotone sequence), the same as ArviZ's ``ess(method="mean")``: chains are split in halves, then
    ρ̂_t = 1 − (W − C̄_t)/var⁺ with W the mean within-chain variance (ddof 1), C̄_t the mean (biased)
    autocovariance at lag t and var⁺ = (n−1)/n W + B/n, so chains that disagree lower the ESS.
    """
    chains = np.atleast_2d(np.asarray(samples, dtype=np.float64))
    half = chains.shape[1] // 2
    chains = np.concatenate([chains[:, :half], chains[:, chains.shape[1] - half:]])
    n_chain, n_draw = chains.shape
    if np.ptp(chains) < np.finfo(float).resolution:
        return float(n_chain * n_draw)
    centred = chains - chains.mean(axis=1, keepdims=True)
    acov = np.array([[np.dot(c[: n_draw - t], c[t:]) / n_draw for t in range(n_draw)] for c in centred])
    mean_var = acov[:, 0].mean() * n_draw / (n_draw - 1.0)
    var_plus = mean_var * (n_draw - 1.0) / n_draw + np.var(chains.mean(axis=1), ddof=1)
    rho = np.zeros(n_draw)
    rho[0], rho_even, rho_odd = 1.0, 1.0, 1.0 - (mean_var - acov[:, 1].mean()) / var_plus
    rho[1] = rho_odd
    t = 1
    while t < n_draw - 3 and rho_even + rho_odd > 0.0:
        rho_even = 1.0 - (mean_var - acov[:, t + 1].mean()) / var_plus
        rho_odd = 1.0 - (mean_var - acov[:, t + 2].mean()) / var_plus
        if rho_even + rho_odd >= 0:
            rho[t + 1], rho[t + 2] = rho_even, rho_odd
        t += 2
    max_t = t - 2
    if rho_even > 0:
        rho[max_t + 1] = rho_even
    t = 1
    while t <= max_t - 2:  # Geyer's initial monotone sequence
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = rho[t + 2] = (rho[t - 1] + rho[t]) / 2.0
        t += 2
    total = n_chain * n_draw
    tau = -1.0 + 2.0 * np.sum(rho[: max_t + 1]) + np.sum(rho[max_t + 1: max_t + 2])
    return float(total / max(tau, 1.0 / np.log10(total)))


def reference_mcse_mean(samples) -> float:
    """Monte Carlo standard error of the mean as ArviZ's ``mcse(method="mean")``: sd / sqrt(ESS)."""
    chains = np.atleast_2d(np.asarray(samples, dtype=np.float64))
    return float(np.std(chains, ddof=1) / math.sqrt(reference_ess_mean(chains)))


def networkx_ground_energy(model):
    """Ground-state energy of an open square-lattice glass at h = 0, by an independent, slow route.

    E₀ = −Σ|J| + 2·(minimum T-join of the frustrated plaquettes) (Barahona 1982), the T-join by
    networkx's exact blossom matching on the complete graph of the frustrated plaquettes with Dijkstra
    distances on the dual lattice (float weights, no rounding): a reference for
    :func:`statmech.planar_ground_energy`, O(F³) in the F frustrated plaquettes (minutes at L = 32).
    """
    import networkx as nx
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    Lx, Ly = model.lattice.shape
    Jh, Jv = model.bond_arrays()
    coupling, _, _, face_a, face_b = _open_bonds(Lx, Ly, Jh, Jv)
    n_faces = (Lx - 1) * (Ly - 1) + 1
    a, b = np.where(face_a < 0, n_faces - 1, face_a), np.where(face_b < 0, n_faces - 1, face_b)
    odd = np.zeros(n_faces, bool)
    np.logical_xor.at(odd, a[coupling < 0], True)
    np.logical_xor.at(odd, b[coupling < 0], True)
    terminals = np.flatnonzero(odd)
    total = float(np.sum(np.abs(coupling)))
    if terminals.size == 0:
        return -total
    lightest = {}
    for u, v, w in zip(a.tolist(), b.tolist(), np.abs(coupling).tolist()):
        key = (min(u, v), max(u, v))
        lightest[key] = min(w, lightest.get(key, np.inf))
    rows, cols = np.array(list(lightest)).T
    graph = coo_matrix((np.array(list(lightest.values())) + 1e-300, (rows, cols)),
                       shape=(n_faces, n_faces)).tocsr()
    distance = dijkstra(graph, directed=False, indices=terminals)[:, terminals]
    complete = nx.Graph()
    for i in range(terminals.size):
        for j in range(i + 1, terminals.size):
            complete.add_edge(i, j, weight=float(distance[i, j]))
    matching = nx.min_weight_matching(complete)
    return -total + 2.0 * float(sum(distance[i, j] for i, j in matching))


__all__ = [
    "networkx_ground_energy",
    "reference_ess_mean", "reference_mcse_mean",
    "MAX_BRUTE_FORCE_SITES", "all_spin_states", "state_codes", "edge_list_energy", "brute_force_energies", "brute_force_moments",
    "brute_force_log_z", "boltzmann_probabilities", "independent_spins_log_z", "open_chain_log_z",
    "periodic_chain_log_z",
    "chi2_pvalue", "fisher_combined_pvalue", "z_score", "Coverage", "coverage",
    "random_chain", "gaussian_couplings", "sk_instance",
]


# ------------------------------------------------------------------ the method contract
def _log_z_at_infinite_temperature(model) -> float:
    """log Z at β = 0: N ln 2 for spins, (d/2) ln(2π/λ) for a Gibbs model over d weights with prior precision λ."""
    if hasattr(model, "prior_precision"):
        return 0.5 * model.dim * math.log(2.0 * math.pi / model.prior_precision)
    return model.n_sites * math.log(2.0)


def check_method_contract(model, method: str, options: dict | None = None, betas=(0.2, 0.4)) -> None:
    """Assert that registered method ``method`` keeps the contract of ``sm.log_z``/``sm.thermo`` on ``model``.

    Checks: ``log_z`` returns an :class:`~statmech.Estimate` recording the
    method (and the seed, for sampled methods), scalar for scalar β and of
    shape (B,) for a grid; exact methods carry no stderr, the others a finite
    one (an approximation says so in ``meta["approximation"]``); log Z at β = 0
    equals N ln 2 (spins) or (d/2) ln(2π/λ) (Gibbs models) to 1e−10, or
    within 4 standard errors; ``thermo`` on the grid returns a
    :class:`~statmech.Thermo` of the same method whose quantities have shape
    (B,), unless the method computes log Z only (it must then say so with a
    ValueError). Raises AssertionError naming the broken promise.
    """
    options = dict(options or {})
    entry = get_method(method, model)
    betas = np.asarray(betas, dtype=np.float64)

    def check_estimate(estimate, shape, where):
        assert isinstance(estimate, Estimate), f"{method}: {where} returned {type(estimate).__name__}, not Estimate"
        assert estimate.method == method, f"{method}: {where} recorded method {estimate.method!r}"
        assert np.shape(estimate.value) == shape, f"{method}: {where} value shape {np.shape(estimate.value)} != {shape}"
        assert np.all(np.isfinite(estimate.value)), f"{method}: {where} value not finite: {estimate.value}"
        if entry.exact:
            assert estimate.stderr is None, f"{method}: exact method gave a stderr at {where}"
        elif estimate.stderr is None:
            assert estimate.meta.get("approximation") is True, \
                f"{method}: no stderr at {where} and not flagged meta['approximation']"
        else:
            assert np.all(np.isfinite(estimate.stderr)) and np.all(np.asarray(estimate.stderr) >= 0), \
                f"{method}: stderr at {where} not finite and >= 0: {estimate.stderr}"
            assert "seed" in estimate.meta, f"{method}: sampled estimate at {where} does not record its seed"

    gives_log_z = any(f is not None for f in (entry.log_z_fn, entry.log_z_moments, entry.moments))
    if not gives_log_z:  # a sampler of configurations: log_z must refuse and point to the estimators
        try:
            log_z(model, float(betas[-1]), method=method, **options)
        except ValueError as refusal:
            assert "estimator" in str(refusal), f"{method}: log_z refusal does not name the estimators: {refusal}"
        else:
            raise AssertionError(f"{method}: gives no log Z but log_z did not refuse")
        _check_thermo(model, method, entry, options, betas)
        return
    scalar = log_z(model, float(betas[-1]), method=method, **options)
    check_estimate(scalar, (), f"log_z(beta={betas[-1]:g})")
    grid = log_z(model, betas, method=method, **options)
    check_estimate(grid, betas.shape, "log_z(beta grid)")

    at_zero = log_z(model, 0.0, method=method, **options)
    check_estimate(at_zero, (), "log_z(beta=0)")
    expected = _log_z_at_infinite_temperature(model)
    error = abs(float(at_zero) - expected)
    allowed = 1e-10 * max(1.0, abs(expected)) if at_zero.stderr is None else 4.0 * float(at_zero.stderr) + 1e-10
    assert error <= allowed, f"{method}: log Z(0) = {float(at_zero)!r}, expected {expected!r} (|diff| {error:.3g})"

    _check_thermo(model, method, entry, options, betas)


def _check_thermo(model, method, entry, options, betas) -> None:
    try:
        result = thermo(model, betas, method=method, **options)
    except ValueError as refusal:
        assert entry.thermo_fn is None and entry.moments is None, \
            f"{method}: thermo refused although the method provides it: {refusal}"
        assert "log_z" in str(refusal) or "log Z" in str(refusal), f"{method}: thermo refusal unclear: {refusal}"
        return
    assert isinstance(result, Thermo), f"{method}: thermo returned {type(result).__name__}, not Thermo"
    assert result.method == method, f"{method}: Thermo records method {result.method!r}"
    for name in result.available():
        value = getattr(result, name).value
        assert np.shape(value) == betas.shape, f"{method}: Thermo.{name} has shape {np.shape(value)}"
    if not entry.exact and all(getattr(result, name).stderr is None for name in result.available()):
        assert result.meta.get("approximation") is True, f"{method}: Thermo has no error bars and no approximation flag"


__all__ += ["check_method_contract"]
