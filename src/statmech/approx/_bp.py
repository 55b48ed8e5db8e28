"""Loopy belief propagation and the Bethe free entropy (method ``"bp"``).

Messages are cavity fields. With θ_i = βh_i and K_e = βJ_e, the message
i → j along bond (ij) is

    u_{i→j} = atanh(tanh K_ij · tanh g_{i\\j}),   g_{i\\j} = θ_i + Σ_{k ∈ ∂i \\ j} u_{k→i},

updated in parallel for all 2E directed bonds (vectorised over the edge
list; optional damping u ← (1 − d) F(u) + d u). At a fixed point the site
beliefs are b_i(s) ∝ e^{H_i s}, H_i = θ_i + Σ_k u_{k→i}, m_i = tanh H_i, and
the bond beliefs b_ij(s, t) ∝ exp(K st + g_{i\\j} s + g_{j\\i} t), whose
correlation is c_ij = tanh(K + ½[ln cosh(g_{i\\j} + g_{j\\i}) − ln cosh(g_{i\\j} − g_{j\\i})]).
The Bethe free entropy is

    log Z_Bethe = Σ_i θ_i m_i + Σ_e K_e c_e + Σ_e H(b_e) + Σ_i (1 − d_i) H(b_i)

(Yedidia, Freeman & Weiss, IEEE Trans. Inf. Theory 51, 2282 (2005);
Mézard & Montanari, *Information, Physics, and Computation* (2009), ch. 14).
It is exact on trees. Fixed points are stationary points of the Bethe free
entropy, so −∂ log Z_Bethe/∂β = U_Bethe = −Σ_e J_e c_e − Σ_i h_i m_i.

The same code with edge weights ρ_e (couplings K_e/ρ_e, incoming messages
weighted by ρ) is tree-reweighted BP (:mod:`statmech.approx._trw`); BP is ρ ≡ 1.
"""
from __future__ import annotations

import warnings

import numpy as np

from statmech.approx._common import (
    ApproxResult,
    ConvergenceWarning,
    Graph,
    binary_entropy_of_field,
    cavity_bias,
    check_beta,
    check_count,
    check_damping,
    check_model,
    check_tol,
    log_2cosh,
)

BP_OPTIONS = ("damping", "tol", "max_iter", "init", "seed")
_INITS = ("random", "zero", "up", "down")


def initial_messages(graph: Graph, beta: float, init, seed: int) -> np.ndarray:
    """Starting cavity fields, shape (2, E): row 0 the messages i → j, row 1 j → i.

    ``"random"``: uniform in [−1, 1] times |βJ_e| (seeded); ``"zero"``: all 0
    (at h = 0 this is the paramagnetic fixed point); ``"up"``/``"down"``: the
    message of a fully polarised neighbour, ±atanh(tanh|βJ_e|) in the
    direction that favours all spins up (down); an array of shape (2, E).
    """
    E = graph.n_edges
    K = beta * graph.J
    if isinstance(init, str):
        if init == "random":
            rng = np.random.default_rng(seed)
            return rng.uniform(-1.0, 1.0, size=(2, E)) * np.abs(K)
        if init == "zero":
            return np.zeros((2, E))
        if init in ("up", "down"):
            sign = 1.0 if init == "up" else -1.0
            return np.broadcast_to(sign * K, (2, E)).copy()
        raise ValueError(f"init must be one of {', '.join(_INITS)} or an array of shape (2, {E}); "
                         f"got {init!r}")
    array = np.array(init, dtype=np.float64)
    if array.shape != (2, E):
        raise ValueError(f"init array must have shape (2, {E}) (messages i->j and j->i of each "
                         f"merged bond), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError("init contains NaN or inf")
    return array


def pass_messages(graph: Graph, beta: float, messages: np.ndarray, rho, damping: float,
                  tol: float, max_iter: int, memory: int = 0):
    """Iterate (TRW-)BP to a fixed point. Returns (messages, H, iterations, residual, converged).

    ``rho`` is None (BP) or the edge appearance probabilities (E,). The
    residual is the undamped max |F(u) − u|; convergence when it is at most
    ``tol`` · (1 + max |u|). Parallel updates u ← u + (1 − d)(F(u) − u); with
    ``memory`` > 0, Anderson mixing of the last ``memory`` steps (Walker & Ni,
    SIAM J. Numer. Anal. 49, 1715 (2011)) accelerates slowly contracting maps.
    """
    i, j = graph.i, graph.j
    theta = beta * graph.h
    coupling = beta * graph.J if rho is None else beta * graph.J / rho
    coupling2 = np.stack([coupling, coupling])
    tanh2 = np.tanh(coupling2)
    u = np.array(messages, dtype=np.float64)
    residual = np.inf
    converged = False
    iterations = 0
    if graph.n_edges == 0:
        return u, theta.copy(), 0, 0.0, True
    step = 1.0 - damping
    history_x: list[np.ndarray] = []
    history_r: list[np.ndarray] = []

    def field(u):
        weighted = u if rho is None else u * rho
        return theta + graph.neighbor_sum(weighted[0], weighted[1])

    cavity = np.empty_like(u)
    for iterations in range(1, max_iter + 1):
        H = field(u)
        np.subtract(H[i], u[1], out=cavity[0])
        np.subtract(H[j], u[0], out=cavity[1])
        change = cavity_bias(coupling2, tanh2, cavity)
        change -= u
        residual = max(float(change.max()), -float(change.min()))
        if residual <= tol * (1.0 + max(float(u.max()), -float(u.min()))):
            converged = True
            break
        new = u + step * change if step != 1.0 else u + change
        if memory:
            history_x.append(u)
            history_r.append(change)
            if len(history_x) > memory + 1:
                history_x.pop(0)
                history_r.pop(0)
            if len(history_x) > 1:
                dx = np.stack([(b - a).ravel() for a, b in zip(history_x, history_x[1:])], axis=1)
                dr = np.stack([(b - a).ravel() for a, b in zip(history_r, history_r[1:])], axis=1)
                gamma = np.linalg.lstsq(dr, change.ravel(), rcond=None)[0]
                mixed = new - ((dx + step * dr) @ gamma).reshape(u.shape)
                if np.all(np.isfinite(mixed)):
                    new = mixed
                else:  # restart the history from a plain step
                    history_x.clear()
                    history_r.clear()
        u = new
    return u, field(u), iterations, residual, converged


def bethe_quantities(graph: Graph, beta: float, u: np.ndarray, H: np.ndarray, rho=None):
    """(log Z, U, m, c) of the (reweighted) Bethe free entropy at messages ``u``.

    log Z = Σ θ m + Σ K c + Σ_i (1 − Σ_{e∋i} ρ_e) H(b_i) + Σ_e ρ_e H(b_e) − βc₀
    (ρ ≡ 1 for BP), every entropy written as ln(normaliser) − ⟨exponent⟩.
    """
    i, j = graph.i, graph.j
    theta = beta * graph.h
    K = beta * graph.J
    Kd = K if rho is None else K / rho
    m = np.tanh(H)
    a = H[i] - u[1]            # cavity field of i without j
    b = H[j] - u[0]            # cavity field of j without i
    aligned = Kd + log_2cosh(a + b)
    anti = -Kd + log_2cosh(a - b)
    log_norm = np.logaddexp(aligned, anti)
    c = np.tanh(0.5 * (aligned - anti))
    p = 0.5 * (1.0 + c)        # weight of the sector s = t
    m_i = p * np.tanh(a + b) + (1.0 - p) * np.tanh(a - b)
    m_j = p * np.tanh(a + b) - (1.0 - p) * np.tanh(a - b)
    edge_entropy = log_norm - Kd * c - a * m_i - b * m_j
    site_entropy = binary_entropy_of_field(H, m)
    weights = np.ones(graph.n_edges) if rho is None else rho
    site_weight = 1.0 - graph.neighbor_sum(weights, weights)
    log_z = (float(theta @ m) + float(K @ c) + float(site_weight @ site_entropy)
             + float(weights @ edge_entropy) - beta * graph.constant)
    energy = -float(graph.J @ c) - float(graph.h @ m) + graph.constant
    return log_z, energy, m, c


def warn_not_converged(name: str, beta: float, residual: float, iterations: int, tol: float,
                       advice: str) -> None:
    warnings.warn(
        f"{name} did not converge at beta={beta:.6g}: fixed-point residual {residual:.3g} after "
        f"{iterations} iterations (tol {tol:.3g}); {advice}",
        ConvergenceWarning, stacklevel=3)


def _bp(graph: Graph, beta: float, damping: float, tol: float, max_iter: int, init, seed: int,
        warn: bool = True) -> tuple[ApproxResult, np.ndarray]:
    messages = initial_messages(graph, beta, init, seed)
    u, H, iterations, residual, converged = pass_messages(graph, beta, messages, None, damping,
                                                          tol, max_iter)
    if not converged and warn:
        warn_not_converged("belief propagation", beta, residual, iterations, tol,
                           "the result is not a BP fixed point; raise damping (e.g. "
                           "damping=0.5) or max_iter")
    log_z, energy, m, c = bethe_quantities(graph, beta, u, H)
    result = ApproxResult(
        method="bp", beta=beta, n_sites=graph.n, log_z=log_z, energy=energy, magnetizations=m,
        correlations=graph.per_bond(c, 1.0), iterations=iterations, residual=residual,
        converged=converged, meta={"damping": damping, "tol": tol, "max_iter": max_iter,
                                   "init": init if isinstance(init, str) else "array",
                                   "seed": seed})
    return result, u


def check_bp_options(damping, tol, max_iter, seed):
    return (check_damping(damping), check_tol(tol), check_count(max_iter, "max_iter", 1),
            check_count(seed, "seed", 0))


def belief_propagation(model, beta, *, damping=0.5, tol=1e-12, max_iter=1000, init="random",
                       seed=0) -> ApproxResult:
    """Loopy belief propagation on any Ising model at one β; returns an :class:`ApproxResult`.

    ``log_z`` is the Bethe free entropy at the fixed point reached (exact on
    trees), ``magnetizations`` m_i = tanh H_i, ``correlations`` the bond
    beliefs' ⟨s_i s_j⟩ for each bond of ``model.edges``. ``init``: ``"random"``
    (seeded by ``seed``), ``"zero"``, ``"up"``, ``"down"`` or a (2, E) array.
    A :class:`ConvergenceWarning` with the residual is issued when the messages
    have not converged after ``max_iter`` parallel updates.
    """
    check_model(model, "bp")
    beta = check_beta(beta)
    damping, tol, max_iter, seed = check_bp_options(damping, tol, max_iter, seed)
    return _bp(Graph.of(model), beta, damping, tol, max_iter, init, seed)[0]


def bp_runner(graph: Graph, beta: float, options: dict, warm=None, warn: bool = True):
    """(result, state) for the registry; ``warm`` restarts from earlier messages."""
    damping, tol, max_iter, seed = check_bp_options(options.get("damping", 0.5),
                                                    options.get("tol", 1e-12),
                                                    options.get("max_iter", 1000),
                                                    options.get("seed", 0))
    init = options.get("init", "random") if warm is None else warm
    return _bp(graph, beta, damping, tol, max_iter, init, seed, warn=warn)

