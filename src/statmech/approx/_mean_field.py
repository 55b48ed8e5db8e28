"""Naive mean field: a lower bound on log Z (method ``"mean-field"``).

For the product law q(s) = Π_i (1 + m_i s_i)/2 the Gibbs–Bogoliubov
inequality log Z ≥ E_q[−βH] + S(q) gives, for every m ∈ [−1, 1]^N,

    log Z ≥ Φ_MF(m) = Σ_i θ_i m_i + Σ_e K_e m_i m_j + Σ_i H(m_i) − βc₀,

H(m) the entropy of a ±1 spin with mean m (e.g. Mézard & Montanari,
*Information, Physics, and Computation* (2009), §4.4; Opper & Saad,
*Advanced Mean Field Methods* (2001)). Stationary points solve
m_i = tanh(θ_i + Σ_j K_ij m_j). They are found by parallel updates
m ← m + t (tanh(θ + K m) − m): the direction has the sign of ∂Φ/∂m_i in
every coordinate, so a backtracking step t ≤ 1 − damping increases Φ at
every iteration (an Anderson-mixed step is taken instead when it raises Φ more).
Several starts (paramagnetic, all up, all down, random)
are run and the largest bound is kept. At a stationary point
−∂Φ_MF/∂β = U_MF = −Σ_e J_e m_i m_j − Σ_i h_i m_i.
"""
from __future__ import annotations

import warnings

import numpy as np

from statmech.approx._common import ApproxResult, ConvergenceWarning, Graph, binary_entropy, check_call, check_count, check_iteration_options

MF_OPTIONS = ("damping", "tol", "max_iter", "n_starts", "seed")
_DEFAULTS = {"damping": 0.0, "tol": 1e-12, "max_iter": 10_000, "n_starts": 3, "seed": 0}


def _objective(graph: Graph, theta, K, m) -> float:
    return (float(theta @ m) + float(K @ (m[graph.i] * m[graph.j]))
            + float(np.sum(binary_entropy(m))))


def _ascend(graph: Graph, beta: float, m: np.ndarray, damping: float, tol: float, max_iter: int):
    """Monotone fixed-point ascent from ``m``; returns (m, Φ, iterations, residual, converged)."""
    theta = beta * graph.h
    K = beta * graph.J
    matrix = graph.matrix(K)
    m = np.clip(np.array(m, dtype=np.float64), -1.0, 1.0)
    value = _objective(graph, theta, K, m)
    residual = np.inf
    converged = False
    iterations = 0
    step_max = 1.0 - damping
    history_m: list[np.ndarray] = []
    history_d: list[np.ndarray] = []
    for iterations in range(1, max_iter + 1):
        direction = np.tanh(theta + matrix @ m) - m
        residual = float(np.max(np.abs(direction))) if direction.size else 0.0
        if residual <= tol:
            converged = True
            break
        step = step_max
        slack = 1e-13 * (1.0 + abs(value))  # rounding of Φ: near the fixed point gains are smaller
        while True:
            trial = np.clip(m + step * direction, -1.0, 1.0)
            trial_value = _objective(graph, theta, K, trial)
            if trial_value >= value - slack or step < 1e-12:
                break
            step *= 0.5
        if trial_value < value - slack:  # no ascent even at a tiny step: stop here
            break
        # Safeguarded Anderson mixing (memory 5): taken only when it raises Φ further,
        # which speeds up the slow linear convergence near a critical point.
        history_m.append(m)
        history_d.append(direction)
        if len(history_m) > 6:
            history_m.pop(0)
            history_d.pop(0)
        if len(history_m) > 2:
            dm = np.stack([b - a for a, b in zip(history_m, history_m[1:])], axis=1)
            dd = np.stack([b - a for a, b in zip(history_d, history_d[1:])], axis=1)
            gamma = np.linalg.lstsq(dd, direction, rcond=None)[0]
            mixed = np.clip(m + step * direction - (dm + step * dd) @ gamma, -1.0, 1.0)
            if np.all(np.isfinite(mixed)):
                mixed_value = _objective(graph, theta, K, mixed)
                if mixed_value > trial_value:
                    trial, trial_value = mixed, mixed_value
        m, value = trial, trial_value
    return m, value, iterations, residual, converged


def _starts(graph: Graph, beta: float, n_starts: int, seed: int):
    theta = beta * graph.h
    yield "paramagnetic", np.tanh(theta)
    yield "up", np.ones(graph.n)
    yield "down", -np.ones(graph.n)
    rng = np.random.default_rng(seed)
    for k in range(n_starts):
        yield f"random {k}", rng.uniform(-1.0, 1.0, graph.n)


def _mean_field(graph: Graph, beta: float, damping: float, tol: float, max_iter: int,
                n_starts: int, seed: int, warm=None, warn: bool = True):
    starts = [("warm", warm)] if warm is not None else list(_starts(graph, beta, n_starts, seed))
    best = None
    for label, m0 in starts:
        m, value, iterations, residual, converged = _ascend(graph, beta, m0, damping, tol, max_iter)
        if best is None or value > best[1]:
            best = (m, value, iterations, residual, converged, label)
    m, value, iterations, residual, converged, label = best
    if not converged and warn:
        warnings.warn(
            f"mean field did not converge at beta={beta:.6g}: fixed-point residual {residual:.3g} "
            f"after {iterations} iterations (tol {tol:.3g}); the value is still a lower bound on "
            "log Z; raise max_iter for the stationary point",
            ConvergenceWarning, stacklevel=3)
    correlations = m[graph.i] * m[graph.j]
    log_z = value - beta * graph.constant
    energy = -float(graph.J @ correlations) - float(graph.h @ m) + graph.constant
    result = ApproxResult(
        method="mean-field", beta=beta, n_sites=graph.n, log_z=log_z, energy=energy,
        magnetizations=m, correlations=graph.per_bond(correlations, 1.0), iterations=iterations,
        residual=residual, converged=converged,
        meta={"damping": damping, "tol": tol, "max_iter": max_iter, "n_starts": n_starts,
              "seed": seed, "start": label})
    return result, m


def _check(options):
    options = {**_DEFAULTS, **options}
    damping, tol, max_iter, seed = check_iteration_options(
        options["damping"], options["tol"], options["max_iter"], options["seed"])
    return damping, tol, max_iter, check_count(options["n_starts"], "n_starts", 0), seed


def mean_field(model, beta, *, damping=0.0, tol=1e-12, max_iter=10_000, n_starts=3,
               seed=0) -> ApproxResult:
    """Naive mean field at one β: ``log_z`` is a lower bound on log Z (Gibbs–Bogoliubov).

    Runs the paramagnetic, all-up and all-down starts plus ``n_starts``
    random ones (seeded by ``seed``) and keeps the largest bound.
    ``magnetizations`` are the m_i of that solution; ``correlations`` m_i m_j.
    """
    beta = check_call(model, beta, "mean-field")
    args = _check({"damping": damping, "tol": tol, "max_iter": max_iter, "n_starts": n_starts,
                   "seed": seed})
    return _mean_field(Graph.of(model), beta, *args)[0]


def mean_field_runner(graph: Graph, options: dict):
    args = _check(options)

    def run(beta, warm=None, warn=True):
        return _mean_field(graph, beta, *args, warm=warm, warn=warn)

    return run
