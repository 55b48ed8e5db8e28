"""Loopy belief propagation and the Bethe free entropy (method ``"bp"``).

Messages are cavity fields. With θ_i = βh_i and K_e = βJ_e, the message
i → j along bond (ij) is

    u_{i→j} = atanh(tanh K_ij · tanh g_{i\\j}),   g_{i\\j} = θ_i + Σ_{k ∈ ∂i \\ j} u_{k→i},

updated for all 2E directed bonds (vectorised over the edge list): in
red-black sweeps on bipartite graphs (first the messages out of one colour
class, then those out of the other), else in parallel with damping
u ← (1 − d) F(u) + d u, and with Anderson mixing. At a fixed point the site
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

import numba as nb
import numpy as np

from statmech.approx._common import ApproxResult, ConvergenceWarning, Graph, binary_entropy_of_field, cavity_bias, check_call, check_count, check_iteration_options
from statmech._numerics import log_2cosh

BP_OPTIONS = ("damping", "tol", "max_iter", "init", "seed", "anderson", "schedule")
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


@nb.njit(cache=True)
def _anderson_history(x, g, last_g, last_r, r, dr, dg, k, c, products):
    """One pass: r = g − x, ΔR_k = r − r_last, ΔG_k = g − g_last, products_j = ΔR_j · r (j < c);
    returns |ΔR_k|²."""
    norm = 0.0
    for p in range(x.size):
        value = g[p] - x[p]
        r[p] = value
        difference = value - last_r[p]
        dr[k, p] = difference
        dg[k, p] = g[p] - last_g[p]
        norm += difference * difference
    for j in range(c):
        total = 0.0
        row = dr[j]
        for p in range(x.size):
            total += row[p] * r[p]
        products[j] = total
    return norm


@nb.njit(cache=True)
def _anderson_mix(g, dg, gamma, out):
    """out = g − Σ_j γ_j ΔG_j."""
    c = gamma.size
    for p in range(g.size):
        value = g[p]
        for j in range(c):
            value -= gamma[j] * dg[j, p]
        out[p] = value


class Anderson:
    """Anderson mixing of a fixed-point map G (Walker & Ni, SIAM J. Numer. Anal. 49, 1715 (2011)).

    ``step(x, g)`` takes an iterate x and its image g = G(x) (flat arrays) and
    returns g − ΔG γ, γ the least-squares fit of the residual r = g − x by the
    last ``memory`` residual differences ΔR (ΔG the matching differences of
    G). The history is a ring buffer; the Gram matrix ΔRᵀΔR is updated from
    the products ΔRᵀr of consecutive steps; the passes over the messages are
    compiled loops (numba), two per step.
    """

    def __init__(self, memory: int, size: int):
        self.memory = memory
        self.dg = np.empty((memory, size))
        self.dr = np.empty((memory, size))
        self.gram = np.zeros((memory, memory))
        self.r = np.empty(size)
        self.last_r = np.empty(size)
        self.last_g = np.empty(size)
        self.products = np.zeros(memory)
        self.last_products = np.zeros(memory)
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.slot = 0
        self.started = False

    def step(self, x: np.ndarray, g: np.ndarray) -> np.ndarray:
        if not self.started:
            np.subtract(g, x, out=self.last_r)
            self.last_g[:] = g
            self.started = True
            return g
        k = self.slot
        previous = self.count
        self.count = min(self.count + 1, self.memory)
        self.slot = (k + 1) % self.memory
        c = self.count
        norm = _anderson_history(x, g, self.last_g, self.last_r, self.r, self.dr, self.dg, k, c,
                                 self.products)
        products = self.products[:c]
        # ΔR_j · ΔR_k = ΔR_j · r − ΔR_j · r_last for the columns that were already there.
        old = [j for j in range(previous) if j != k]
        self.gram[old, k] = self.gram[k, old] = products[old] - self.last_products[old]
        self.gram[k, k] = norm
        self.last_products[:c] = products
        self.last_g[:] = g
        self.r, self.last_r = self.last_r, self.r
        gram = self.gram[:c, :c]
        ridge = 1e-12 * float(np.trace(gram)) / c
        try:
            gamma = np.linalg.solve(gram + ridge * np.eye(c), products)
        except np.linalg.LinAlgError:
            self.reset()
            return g
        if not np.all(np.isfinite(gamma)):
            self.reset()
            return g
        out = np.empty_like(g)
        _anderson_mix(g, self.dg[:c], gamma, out)
        return out


SCHEDULES = ("auto", "parallel", "red-black")


def pass_messages(graph: Graph, beta: float, messages: np.ndarray, rho, damping: float,
                  tol: float, max_iter: int, memory: int = 0, schedule: str = "parallel"):
    """Iterate (TRW-)BP to a fixed point. Returns (messages, H, iterations, residual, converged).

    ``rho`` is None (BP) or the edge appearance probabilities (E,). The
    residual is the undamped max |F(u) − u| at the messages returned;
    convergence when it is at most ``tol`` · (1 + max |u|). ``schedule``:
    ``"parallel"`` updates all 2E messages from the old ones,
    u ← u + (1 − d)(F(u) − u); ``"red-black"`` (bipartite graphs) first the
    messages out of one colour class, then those out of the other from the
    new ones (a Gauss–Seidel sweep, the cost of one parallel update);
    ``"auto"`` is red-black where the graph is bipartite. ``memory`` > 0 adds
    Anderson mixing (:class:`Anderson`) of the last ``memory`` sweeps.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    theta = beta * graph.h
    coupling = beta * graph.J if rho is None else beta * graph.J / rho
    tanh_coupling = np.tanh(coupling)
    weight = np.ones(graph.n_edges) if rho is None else rho
    u = np.array(messages, dtype=np.float64)
    if graph.n_edges == 0:
        return u, theta.copy(), 0, 0.0, True
    red = None if schedule == "parallel" else graph.two_colouring
    if schedule == "red-black" and red is None:
        raise ValueError("schedule='red-black' needs a bipartite graph; use 'parallel' or 'auto'")
    if red is None:  # parallel: one block of 2E messages, sources (i, j), targets (j, i)
        source = np.concatenate([graph.i, graph.j])
        blocks = [slice(0, 2 * graph.n_edges)]
        order = None
    else:  # the messages out of red sites, then those out of black sites
        red_is_i = red[graph.i]
        first = np.where(red_is_i, 0, graph.n_edges) + np.arange(graph.n_edges)
        second = np.where(red_is_i, graph.n_edges, 0) + np.arange(graph.n_edges)
        order = np.concatenate([first, second])
        source = np.concatenate([graph.i, graph.j])[order]
        blocks = [slice(0, graph.n_edges), slice(graph.n_edges, 2 * graph.n_edges)]
    E = graph.n_edges
    reverse = np.concatenate([np.arange(E, 2 * E), np.arange(E)])  # flat index of the reverse
    if red is None:  # the identity order
        back = reverse
        coupling_x = np.concatenate([coupling, coupling])
        tanh_x = np.concatenate([tanh_coupling, tanh_coupling])
        weight_x = None if rho is None else np.concatenate([weight, weight])
    else:  # in x = u.ravel()[order], the reverse of message k is at back[k]
        position = np.empty(2 * E, dtype=np.int64)
        position[order] = np.arange(2 * E)
        back = position[reverse[order]]
        coupling_x = np.concatenate([coupling, coupling])[order]
        tanh_x = np.concatenate([tanh_coupling, tanh_coupling])[order]
        weight_x = None if rho is None else np.concatenate([weight, weight])[order]
    target = source[back]
    # The sites sending block b hear only the messages of feeds[b] (the other colour's).
    feeds = blocks if len(blocks) == 1 else blocks[::-1]
    plans = [(block, feed, source[block], back[block], target[feed], coupling_x[block],
              tanh_x[block], None if weight_x is None else weight_x[feed])
             for block, feed in zip(blocks, feeds)]
    step = 1.0 - damping
    x = u.ravel().copy() if order is None else u.ravel()[order]

    def changes(x, plan):
        """F(x) − x on one block of messages, F from the current x."""
        block, feed, sources, backs, targets, couplings, tanhs, weights = plan
        incoming = x[feed] if weights is None else x[feed] * weights
        field = np.bincount(targets, weights=incoming, minlength=graph.n)
        field += theta
        cavity = field[sources]
        cavity -= x[backs]
        out = cavity_bias(couplings, tanhs, cavity)
        out -= x[block]
        return out

    def full_residual(x):
        change = np.concatenate([changes(x, plan) for plan in plans])
        return max(float(change.max()), -float(change.min()))

    def scale(x):
        return tol * (1.0 + max(float(x.max()), -float(x.min())))

    accelerator = Anderson(memory, 2 * E) if memory else None
    residual = np.inf
    converged = False
    iterations = 0
    for iterations in range(1, max_iter + 1):
        change = changes(x, plans[0])
        first_residual = max(float(change.max()), -float(change.min()))
        if first_residual <= scale(x):
            residual = first_residual if len(plans) == 1 else full_residual(x)
            if residual <= scale(x):
                converged = True
                break
        new = x.copy()
        new[plans[0][0]] += change if step == 1.0 else step * change
        for plan in plans[1:]:
            change = changes(new, plan)
            new[plan[0]] += change if step == 1.0 else step * change
        x = new if accelerator is None else accelerator.step(x, new)
    if not converged:
        residual = full_residual(x)
        converged = residual <= scale(x)
    if order is None:
        u = x.reshape(2, E)
    else:
        u = np.empty(2 * E)
        u[order] = x
        u = u.reshape(2, E)
    H = theta + graph.neighbor_sum(u[0] * weight, u[1] * weight)
    return u, H, iterations, residual, converged


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


def _bp(graph: Graph, beta: float, damping, tol: float, max_iter: int, init, seed: int,
        anderson: int = 5, schedule: str = "auto",
        warn: bool = True) -> tuple[ApproxResult, np.ndarray]:
    messages = initial_messages(graph, beta, init, seed)
    if schedule == "auto":
        schedule = "red-black" if graph.two_colouring is not None else "parallel"
    if damping is None:  # red-black sweeps have no period-2 mode to damp
        damping = 0.0 if schedule == "red-black" else 0.5
    u, H, iterations, residual, converged = pass_messages(graph, beta, messages, None, damping,
                                                          tol, max_iter, anderson, schedule)
    if not converged and warn:
        warn_not_converged("belief propagation", beta, residual, iterations, tol,
                           "the result is not a BP fixed point; raise damping (e.g. "
                           "damping=0.5) or max_iter")
    log_z, energy, m, c = bethe_quantities(graph, beta, u, H)
    result = ApproxResult(
        method="bp", beta=beta, n_sites=graph.n, log_z=log_z, energy=energy, magnetizations=m,
        correlations=graph.per_bond(c, 1.0), iterations=iterations, residual=residual,
        converged=converged, meta={"damping": damping, "tol": tol, "max_iter": max_iter,
                                   "anderson": anderson, "schedule": schedule,
                                   "init": init if isinstance(init, str) else "array",
                                   "seed": seed})
    return result, u


def check_bp_options(damping, tol, max_iter, seed, anderson=5, schedule="auto"):
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    checked, tol, max_iter, seed = check_iteration_options(0.0 if damping is None else damping,
                                                           tol, max_iter, seed)
    return (None if damping is None else checked, tol, max_iter, seed,
            check_count(anderson, "anderson", 0), schedule)


def belief_propagation(model, beta, *, damping=None, tol=1e-12, max_iter=1000, init="random",
                       seed=0, anderson=5, schedule="auto") -> ApproxResult:
    """Loopy belief propagation on any Ising model at one β; returns an :class:`ApproxResult`.

    ``log_z`` is the Bethe free entropy at the fixed point reached (exact on
    trees), ``magnetizations`` m_i = tanh H_i, ``correlations`` the bond
    beliefs' ⟨s_i s_j⟩ for each bond of ``model.edges``. ``init``: ``"random"``
    (seeded by ``seed``), ``"zero"``, ``"up"``, ``"down"`` or a (2, E) array.
    ``schedule``: ``"parallel"``, ``"red-black"`` (bipartite graphs: a
    Gauss–Seidel sweep over the two colour classes) or ``"auto"`` (red-black
    where the graph is bipartite). ``damping`` u ← (1 − d) F(u) + d u; None
    means 0 for red-black sweeps and 0.5 for parallel updates. ``anderson``:
    memory of the Anderson mixing (0: none). A :class:`ConvergenceWarning`
    with the residual is issued when the messages have not converged after
    ``max_iter`` updates (sweeps).
    """
    beta = check_call(model, beta, "bp")
    damping, tol, max_iter, seed, anderson, schedule = check_bp_options(
        damping, tol, max_iter, seed, anderson, schedule)
    return _bp(Graph.of(model), beta, damping, tol, max_iter, init, seed, anderson, schedule)[0]


def bp_runner(graph: Graph, beta: float, options: dict, warm=None, warn: bool = True):
    """(result, state) for the registry; ``warm`` restarts from earlier messages."""
    damping, tol, max_iter, seed, anderson, schedule = check_bp_options(
        options.get("damping"), options.get("tol", 1e-12), options.get("max_iter", 1000),
        options.get("seed", 0), options.get("anderson", 5), options.get("schedule", "auto"))
    init = options.get("init", "random") if warm is None else warm
    return _bp(graph, beta, damping, tol, max_iter, init, seed, anderson, schedule, warn=warn)
