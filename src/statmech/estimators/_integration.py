"""log Z by thermodynamic integration over β from β = 0 (``"ti"``).

    log Z(β) = N log 2 − ∫₀^β U(β') dβ',   U = ⟨H⟩_β,

with U measured by independent Monte Carlo runs at Clenshaw–Curtis nodes and
the Γ-method errors of the nodes propagated through the weights; the nested
half rule gives a free estimate of the discretisation error (``meta``, and a
warning where it exceeds the noise). D. Frenkel and B. Smit, *Understanding
Molecular Simulation*, 2nd ed., 2002, ch. 7; L. N. Trefethen, SIAM Rev. 50,
67 (2008). Quadrature accuracy and error bars: docs/derivations.md.
"""
from __future__ import annotations

import math
import time
from typing import Any

import jax
import numpy as np

from statmech._validation import as_beta_array, check_positive_int, renamed_option
from statmech.estimators import _budget
from statmech.estimators._annealing import _check_model, _random_spins, _why_not, chunk_rows, kernel_for, run_rows
from statmech._validation import check_seed
from statmech.stats._autocorr import MIN_DRAWS
from statmech.models import Ising
from statmech.stats import Estimate, chain_statistics
from statmech._types import Method


def clenshaw_curtis(n_intervals: int) -> tuple[np.ndarray, np.ndarray]:
    """Clenshaw–Curtis nodes x_k = cos(kπ/n), k = 0..n, and weights on [−1, 1].

    The rule integrates polynomials of degree n exactly; the weights are
    positive. (Trefethen, *Spectral Methods in MATLAB*, 2000, ``clencurt``.)
    """
    n = check_positive_int(n_intervals, "n_intervals")
    theta = np.pi * np.arange(n + 1) / n
    weights = np.zeros(n + 1)
    inner = np.ones(n - 1)
    if n % 2 == 0:
        weights[0] = weights[n] = 1.0 / (n**2 - 1)
        for k in range(1, n // 2):
            inner -= 2.0 * np.cos(2 * k * theta[1:n]) / (4 * k**2 - 1)
        inner -= np.cos(n * theta[1:n]) / (n**2 - 1)
    else:
        weights[0] = weights[n] = 1.0 / n**2
        for k in range(1, (n - 1) // 2 + 1):
            inner -= 2.0 * np.cos(2 * k * theta[1:n]) / (4 * k**2 - 1)
    weights[1:n] = 2.0 * inner / n
    return np.cos(theta), weights


def quadrature_plan(targets: np.ndarray, n_nodes: int):
    """Nodes and cumulative weights for ∫₀^{b_j} U for every target b_j > 0 (sorted, unique).

    Segment [b_{j−1}, b_j] gets n_j = 2·max(1, round(n_nodes·(b_j − b_{j−1})/(2 b_max)))
    Clenshaw–Curtis intervals (even, so the half rule exists). Returns
    (nodes (M,) with β > 0, W (T, M), w0 (T,), W_half (T, M), w0_half (T,)):
    ∫₀^{b_j} U ≈ W[j] @ U(nodes) + w0[j] U(0), and the same with the half rule.
    """
    edges = np.concatenate([[0.0], targets])
    nodes: list[float] = []
    columns = []  # per segment: (weights, half-rule weights, index of the left end, index of the first new node)
    left = -1  # index of the left end in `nodes`; −1 is β = 0
    for a, b in zip(edges[:-1], edges[1:]):
        intervals = 2 * max(1, int(round(n_nodes * (b - a) / (2 * edges[-1]))))
        x, w = clenshaw_curtis(intervals)
        _, w_half = clenshaw_curtis(intervals // 2)
        half = np.zeros_like(w)
        half[::2] = w_half
        scale = 0.5 * (b - a)
        betas = a + scale * (1.0 - x)  # k = 0 → a, k = n → b
        betas[0], betas[-1] = a, b  # exactly, so the requested β are nodes bit for bit
        first = len(nodes)
        nodes.extend(betas[1:].tolist())
        columns.append((scale * w, scale * half, left, first))
        left = first + intervals - 1
    m, t = len(nodes), targets.size
    W, W_half = np.zeros((t, m)), np.zeros((t, m))
    w0, w0_half = np.zeros(t), np.zeros(t)
    for j, (w, half, left, first) in enumerate(columns):
        for target in range(j, t):  # segment j enters every cumulative integral from b_j on
            for matrix, zero, weights in ((W, w0, w), (W_half, w0_half, half)):
                if left < 0:
                    zero[target] += weights[0]
                else:
                    matrix[target, left] += weights[0]
                matrix[target, first:first + weights.size - 1] += weights[1:]
    return np.array(nodes), W, w0, W_half, w0_half


def _check_ti_budget(model, betas, n_nodes, n_sweeps, n_chains, burn_in) -> None:
    """Refuse a TI run over the memory or time budget before any work: nodes · n_chains chain states and
    their recorded energy series, and the quadrature weights; nodes · n_chains · (burn_in + n_sweeps) · N
    spin updates (nodes ≈ n_nodes + 1, at least 2 per segment)."""
    n_targets = np.unique(betas[betas > 0]).size
    n_points = max(n_nodes, 2 * n_targets) + 1
    chains = float(n_points) * n_chains
    n = model.n_sites
    n_bytes = _budget.spin_run_bytes(chains, n, n_draws=n_sweeps) + 32.0 * n_targets * n_points
    _budget.check_budget(
        f"TI with {n_points} nodes x {n_chains} chains of {n} spins x {burn_in + n_sweeps} sweeps", n_bytes,
        _budget.spin_update_seconds(chains * (burn_in + n_sweeps) * n),
        "use fewer nodes (n_nodes), chains (n_chains) or sweeps (n_sweeps, burn_in)")


def thermodynamic_integration(model, beta, *, n_nodes: int = 32, n_sweeps: int = 1000, n_chains: int = 4,
                              burn_in: int | None = None, kernel: str | None = None, backend: str = "auto",
                              seed: int = 0, sampler: str | None = None) -> Estimate:
    """log Z(β) of an Ising model by thermodynamic integration of U = ⟨H⟩ from β = 0.

    ``n_nodes`` Clenshaw–Curtis intervals over [0, max β] (shared out between
    the segments of a grid in proportion to their length, at least 2 each);
    at each node ``n_chains`` independent chains (``kernel``: "heatbath"
    (default; Metropolis with a systematic scan is periodic near β = 0),
    "metropolis", "wolff" — where one step is one cluster — or
    "swendsen-wang") run ``burn_in`` steps (default n_sweeps // 5; β ramps
    linearly from 0 to the node's β over the first half, an anneal rather
    than a quench) then ``n_sweeps`` recorded steps. Returns log Z at every
    requested β from one cumulative integral, with the propagated Γ-method
    stderr; β = 0 gives N log 2 exactly (stderr 0). ``meta`` holds the nodes,
    U and its stderr and τ_int per node, the energy U at the requested β
    (``energy_at_beta``), the discretisation difference D and its noise σ_D,
    and warnings. Cost: (number of nodes)·n_chains·(burn_in + n_sweeps) sweeps.
    """
    started = time.perf_counter()
    betas, scalar = as_beta_array(beta)
    _check_model(model)
    n_nodes = check_positive_int(n_nodes, "n_nodes", minimum=2)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    n_chains = check_positive_int(n_chains, "n_chains")
    if n_sweeps < MIN_DRAWS:
        raise ValueError(f"n_sweeps must be >= {MIN_DRAWS} for a Γ-method error bar at each node, got {n_sweeps}; "
                         "in practice use >= 50 autocorrelation times")
    burn_in = n_sweeps // 5 if burn_in is None else check_positive_int(burn_in, "burn_in", minimum=0)
    seed = check_seed(seed)
    _check_ti_budget(model, betas, n_nodes, n_sweeps, n_chains, burn_in)
    kernel_name = renamed_option("thermodynamic_integration", "sampler", sampler, "kernel", kernel, "heatbath")
    kernel = kernel_for(model, kernel_name, backend)
    n = model.n_sites
    targets = np.unique(betas[betas > 0])
    meta: dict[str, Any] = {"beta": betas[0] if scalar else betas, "n_sites": n, "seed": seed,
                            "n_nodes": n_nodes, "n_sweeps": n_sweeps, "n_chains": n_chains,
                            "burn_in": burn_in, "kernel": kernel.name, "backend": backend,
                            "quadrature": "clenshaw-curtis per segment, nested half rule for the error estimate",
                            "stderr_method": "Gamma-method stderr of U per node, propagated through the weights; "
                                             "discretisation not included (see warnings)"}
    log_z = np.full(betas.shape, n * math.log(2.0))
    stderr = np.zeros(betas.shape)
    if targets.size == 0:
        meta.update(warnings=(), wall_time=time.perf_counter() - started, nodes=np.zeros(0))
        return _estimate(log_z, stderr, scalar, meta)

    nodes, W, w0, W_half, w0_half = quadrature_plan(targets, n_nodes)
    energy, energy_se, tau, warnings = _node_energies(kernel, model, nodes, n_chains, burn_in, n_sweeps, seed)
    energy_zero = model.constant_energy()  # ⟨H⟩ at β = 0: every s_i s_j (i ≠ j) and s_i average to 0
    integral = W @ energy + w0 * energy_zero
    integral_se = np.sqrt((W**2) @ energy_se**2)
    difference = (W - W_half) @ energy + (w0 - w0_half) * energy_zero
    difference_se = np.sqrt(((W - W_half) ** 2) @ energy_se**2)
    for j, b in enumerate(targets):
        if abs(difference[j]) - 2.0 * difference_se[j] > integral_se[j]:
            warnings.append(
                f"beta={b:.6g}: the half-resolution quadrature differs by {difference[j]:.3g} "
                f"(noise {difference_se[j]:.2g}), more than the statistical error {integral_se[j]:.2g}; "
                "the discretisation error may be comparable to the error bar; increase n_nodes")
    where = np.searchsorted(targets, betas)
    positive = betas > 0
    log_z[positive] -= integral[where[positive]]
    stderr[positive] = integral_se[where[positive]]
    node_index = {float(b): i for i, b in enumerate(nodes)}
    at_beta = np.array([energy[node_index[float(b)]] if b > 0 else energy_zero for b in betas])
    at_beta_se = np.array([energy_se[node_index[float(b)]] if b > 0 else 0.0 for b in betas])
    meta.update(
        nodes=nodes, node_energy=energy, node_energy_stderr=energy_se, node_tau_int=tau,
        energy_at_beta=at_beta[0] if scalar else at_beta, energy_at_beta_stderr=at_beta_se[0] if scalar else at_beta_se,
        discretisation_difference=_pick(difference, where, positive, scalar),
        discretisation_difference_stderr=_pick(difference_se, where, positive, scalar),
        warnings=tuple(warnings), wall_time=time.perf_counter() - started)
    return _estimate(log_z, stderr, scalar, meta)


def _pick(per_target, where, positive, scalar):
    values = np.where(positive, per_target[np.minimum(where, per_target.size - 1)], 0.0)
    return values[0] if scalar else values


def _estimate(log_z, stderr, scalar, meta):
    if scalar:
        return Estimate(log_z[0], stderr[0], "ti", meta)
    return Estimate(log_z, stderr, "ti", meta)


def _node_energies(kernel, model, nodes, n_chains, burn_in, n_sweeps, seed):
    """U, its Γ-method stderr and τ_int at every node, from independent vmapped chains."""
    n_chain_total = nodes.size * n_chains
    chain_beta = np.repeat(nodes, n_chains)  # chain b runs at node b // n_chains
    init_key, run_key = jax.random.split(jax.random.key(seed))
    spins = _random_spins(init_key, n_chain_total, model.n_sites)
    kernel.init(spins[0], model, float(nodes[0]))  # validates the model for the kernel
    ramp = max(burn_in // 2, 1)

    def burn_rows(start, count):
        fraction = np.minimum(1.0, (start + np.arange(1, count + 1)) / ramp)
        return fraction[:, None] * chain_beta[None, :]

    chunk = chunk_rows(max(burn_in, n_sweeps), n_chain_total)  # one compilation for both phases
    for _, spins, _, _ in run_rows(kernel, run_key, spins, model, burn_rows, burn_in, 1, chunk):
        pass
    record_rows = lambda start, count: np.broadcast_to(chain_beta, (count, n_chain_total))  # noqa: E731
    series = np.concatenate([energy for _, _, energy, _ in run_rows(
        kernel, run_key, spins, model, record_rows, n_sweeps, 1, chunk, first_row=burn_in)], axis=0)
    series = series.reshape(n_sweeps, nodes.size, n_chains)
    energy, energy_se, tau = np.zeros(nodes.size), np.zeros(nodes.size), np.zeros(nodes.size)
    warnings: list[str] = []
    for k, b in enumerate(nodes):
        try:
            stats = chain_statistics(series[:, k, :].T)
        except ValueError as error:
            raise ValueError(f"ti: node beta={b:.6g}: {error}; increase n_sweeps") from error
        energy[k], energy_se[k], tau[k] = stats.mean, stats.stderr, stats.tau_int
        warnings.extend(f"node beta={b:.6g}: {w}" for w in stats.warnings)
    return energy, energy_se, tau, warnings


def _ti_log_z(model, beta, **options) -> Estimate:
    return thermodynamic_integration(model, beta, **options)


# Registered by statmech._registry (this module does not import the registry).
METHODS: list[Method] = []
METHODS.append(Method(name="ti", exact=False, why_not=_why_not, log_z_fn=_ti_log_z, model_types=(Ising,)))
