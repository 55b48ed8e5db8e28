"""TAP free entropy and magnetisations with the Onsager reaction term (method ``"tap"``).

    Φ_TAP(m) = Σ_i θ_i m_i + Σ_e K_e m_i m_j + Σ_i H(m_i) + ½ Σ_e K_e² (1 − m_i²)(1 − m_j²) − βc₀,

stationary at m_i = tanh(θ_i + Σ_j K_ij m_j − m_i Σ_j K_ij² (1 − m_j²))
(Thouless, Anderson & Palmer, Phil. Mag. 35, 593 (1977)), solved by
Bolthausen's iteration (Commun. Math. Phys. 325, 333 (2014)). For dense,
weakly coupled models (SK). Derivation: docs/derivations.md.
"""
from __future__ import annotations

import warnings

import numpy as np

from statmech.approx._common import ApproxResult, ConvergenceWarning, Graph, binary_entropy, check_call, check_iteration_options

TAP_OPTIONS = ("damping", "tol", "max_iter", "init", "seed")
_DEFAULTS = {"damping": 0.0, "tol": 1e-12, "max_iter": 2000, "init": "field", "seed": 0}


def tap_residual(graph: Graph, beta: float, m: np.ndarray) -> float:
    """max_i |m_i − tanh(θ_i + Σ_j K_ij m_j − m_i Σ_j K_ij² (1 − m_j²))| (0 at a TAP solution)."""
    K = beta * graph.J
    matrix, squares = graph.matrix(K), graph.matrix(K * K)
    field = beta * graph.h + matrix @ m - m * (squares @ (1.0 - m * m))
    return float(np.max(np.abs(m - np.tanh(field)))) if m.size else 0.0


def _tap_free_entropy(graph: Graph, beta: float, m: np.ndarray):
    K = beta * graph.J
    mi, mj = m[graph.i], m[graph.j]
    reaction = (1.0 - mi * mi) * (1.0 - mj * mj)
    log_z = (float(beta * graph.h @ m) + float(K @ (mi * mj)) + float(np.sum(binary_entropy(m)))
             + 0.5 * float((K * K) @ reaction) - beta * graph.constant)
    correlations = mi * mj + K * reaction
    energy = -float(graph.J @ correlations) - float(graph.h @ m) + graph.constant
    return log_z, energy, correlations


def _initial(graph: Graph, beta: float, init, seed: int):
    if isinstance(init, str):
        if init == "field":
            return np.zeros(graph.n), np.tanh(beta * graph.h)
        if init == "random":
            start = np.random.default_rng(seed).uniform(-1.0, 1.0, graph.n)
            return start, start
        raise ValueError(f"init must be 'field', 'random' or an array of {graph.n} "
                         f"magnetisations in [-1, 1]; got {init!r}")
    array = np.array(init, dtype=np.float64).reshape(-1)
    if array.size != graph.n or not np.all(np.abs(array) <= 1.0):
        raise ValueError(f"init array must hold {graph.n} magnetisations in [-1, 1]")
    return array, array


def _tap(graph: Graph, beta: float, damping: float, tol: float, max_iter: int, init, seed: int,
         warn: bool = True):
    theta = beta * graph.h
    K = beta * graph.J
    matrix, squares = graph.matrix(K), graph.matrix(K * K)
    previous, m = _initial(graph, beta, init, seed)
    residual = np.inf
    converged = False
    iterations = 0
    for iterations in range(1, max_iter + 1):
        reaction = squares @ (1.0 - m * m)
        # The residual of the TAP equations themselves (reaction on the current m).
        residual = float(np.max(np.abs(m - np.tanh(theta + matrix @ m - m * reaction)))) \
            if m.size else 0.0
        if residual <= tol:
            converged = True
            break
        new = np.tanh(theta + matrix @ m - reaction * previous)
        if damping:
            new = (1.0 - damping) * new + damping * m
        previous, m = m, new
    if not converged and warn:
        warnings.warn(
            f"TAP iteration did not converge at beta={beta:.6g}: residual of the TAP equations "
            f"{residual:.3g} after {iterations} iterations (tol {tol:.3g}); below the "
            "de Almeida-Thouless line there are many TAP solutions and this iteration need not "
            "find one; try damping=0.5 or another init",
            ConvergenceWarning, stacklevel=3)
    log_z, energy, correlations = _tap_free_entropy(graph, beta, m)
    result = ApproxResult(
        method="tap", beta=beta, n_sites=graph.n, log_z=log_z, energy=energy, magnetizations=m,
        correlations=graph.per_bond(correlations, 1.0), iterations=iterations,
        residual=residual, converged=converged,
        meta={"damping": damping, "tol": tol, "max_iter": max_iter,
              "init": init if isinstance(init, str) else "array", "seed": seed})
    return result, m


def _check(options):
    options = {**_DEFAULTS, **options}
    damping, tol, max_iter, seed = check_iteration_options(
        options["damping"], options["tol"], options["max_iter"], options["seed"])
    return damping, tol, max_iter, options["init"], seed


def tap(model, beta, *, damping=0.0, tol=1e-12, max_iter=2000, init="field", seed=0) -> ApproxResult:
    """TAP solution at one β by Bolthausen's iteration; returns an :class:`ApproxResult`.

    ``log_z`` is the TAP free entropy Φ_TAP at the solution (no bound),
    ``magnetizations`` the TAP m_i. ``init``: ``"field"`` (m⁰ = 0, m¹ = tanh βh),
    ``"random"`` (seeded) or an array of m_i. Warns
    (:class:`ConvergenceWarning`) with the residual when not converged.
    """
    beta = check_call(model, beta, "tap")
    damping, tol, max_iter, init, seed = _check({"damping": damping, "tol": tol,
                                                 "max_iter": max_iter, "init": init, "seed": seed})
    return _tap(Graph.of(model), beta, damping, tol, max_iter, init, seed)[0]


def tap_runner(graph: Graph, options: dict):
    damping, tol, max_iter, init, seed = _check(options)

    def run(beta, warm=None, warn=True):
        return _tap(graph, beta, damping, tol, max_iter, init if warm is None else warm, seed,
                    warn=warn)

    return run
