"""Exact Z of an Ising model on any sparse graph by tensor-network contraction (``"tensor-network"``).

    Z(β) = Σ_s Π_{(i,j)} W_ij(s_i, s_j),   W_ij = exp(β J_ij s_i s_j + β h_i s_i [+ β h_j s_j]),

one tensor per bond (each field absorbed into one bond), contracted in the
log domain along an order from cotengra (Gray & Kourtis, Quantum 5, 410
(2021)); cost exponential in the contraction width (Markov & Shi, SIAM J.
Comput. 38, 963 (2008)). Tensors carry β- and field-Taylor coefficients, so
U, C, ⟨M⟩ and χ are exact. Derivation and numerics: docs/derivations.md.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import time
import warnings

import numpy as np

from statmech._types import Method, Moments
from statmech._validation import check_time
from statmech.models._ising import Ising

DEFAULT_MAX_MEMORY = 2 * 1024**3
"""Default memory budget (bytes) of one contraction: 2 GiB."""

_BAD = 1e-200  # a scaled product below this is recomputed by exact log-sum-exp
_CHUNK = 1 << 22  # elements per chunk of an exact log-sum-exp / min-plus fallback

_OPTIONS = ("max_memory",)


# ----------------------------------------------------------------- the network
@dataclasses.dataclass(frozen=True)
class Network:
    """The tensors of an Ising model: one per merged nonzero bond, one per bond-less site.

    ``inputs[t]`` are the site indices of tensor t (1 or 2 of them);
    ``energies[t]`` / ``magnetizations[t]`` its local energy e_t(s) and the
    part of Σ s_i whose field it carries, as arrays over its spins (axis value
    0 is s = −1, 1 is s = +1). H(s) = Σ_t e_t(s_t) + ``constant``.
    """

    n_sites: int
    inputs: tuple[tuple[int, ...], ...]
    energies: tuple[np.ndarray, ...]
    magnetizations: tuple[np.ndarray, ...]
    constant: float

    @property
    def structure(self) -> tuple:
        """The hashable structure (sites and tensor index lists) that fixes the contraction order."""
        return (self.n_sites, self.inputs)


_SPIN = np.array([-1.0, 1.0])


def build_network(model: Ising) -> Network:
    """The :class:`Network` of ``model`` (parallel bonds merged, zero bonds dropped)."""
    if not isinstance(model, Ising):
        raise TypeError(f"the tensor network needs an Ising model, got {type(model).__name__}")
    if np.ndim(model.couplings) != 1 or np.ndim(model.field) != 1:
        raise ValueError("this is a batch of models; contract one instance at a time")
    n = model.n_sites
    edges = np.asarray(model.edges, dtype=np.int64)
    couplings = np.asarray(model.couplings, dtype=np.float64)
    field = np.asarray(model.field, dtype=np.float64)
    constant = float(model.constant_energy())
    merged: dict[tuple[int, int], float] = {}
    for (i, j), coupling in zip(edges.tolist(), couplings.tolist()):
        if i == j:
            continue
        key = (i, j) if i < j else (j, i)
        merged[key] = merged.get(key, 0.0) + coupling
    pairs = sorted(key for key, value in merged.items() if value != 0.0)
    owner = np.full(n, -1)
    for t, (i, j) in enumerate(pairs):
        for site in (i, j):
            if owner[site] < 0:
                owner[site] = t
    inputs, energies, magnetizations = [], [], []
    for t, (i, j) in enumerate(pairs):
        si, sj = _SPIN[:, None], _SPIN[None, :]
        energy = -merged[(i, j)] * si * sj
        magnetization = np.zeros((2, 2))
        if owner[i] == t:
            energy = energy - field[i] * si
            magnetization = magnetization + si
        if owner[j] == t:
            energy = energy - field[j] * sj
            magnetization = magnetization + sj
        inputs.append((i, j))
        energies.append(energy)
        magnetizations.append(magnetization)
    for site in np.flatnonzero(owner < 0).tolist():
        inputs.append((site,))
        energies.append(-field[site] * _SPIN)
        magnetizations.append(_SPIN.copy())
    return Network(n, tuple(inputs), tuple(energies), tuple(magnetizations), constant)


# -------------------------------------------------------------- the contraction order
@dataclasses.dataclass(frozen=True)
class ContractionCost:
    """Cost of contracting a model's tensor network along the order found for it.

    ``width``: log2 of the number of entries of the largest intermediate tensor
    (time and memory grow like 2^width). ``flops``: multiply-adds of one log Z
    contraction. ``memory``: peak bytes of one log Z contraction (float64).
    ``moments_memory``: peak bytes with the β-derivatives (U, C), three
    arrays per tensor. ``n_tensors``: tensors in the network;
    ``search_seconds``: time spent finding the order (once per graph: cached);
    ``optimizer``: ``"greedy"`` (opt_einsum) or ``"cotengra"`` (hyper-optimised).
    """

    width: float
    flops: float
    memory: float
    moments_memory: float
    n_tensors: int
    search_seconds: float
    optimizer: str = "greedy"

    def as_meta(self) -> dict:
        """The cost as a plain dict (the ``meta`` of an Estimate)."""
        return {"contraction_width": self.width, "contraction_flops": self.flops,
                "contraction_memory": self.memory, "contraction_moments_memory": self.moments_memory,
                "n_tensors": self.n_tensors, "contraction_optimizer": self.optimizer}


@dataclasses.dataclass(frozen=True)
class _Plan:
    ssa_path: tuple[tuple[int, int], ...]
    cost: ContractionCost


_QUICK_WIDTH = 16  # a greedy order this narrow is used as it is (no hyper-optimisation)
_QUICK_FLOPS = 1e9  # nor one this cheap (about a second): searching would cost more than it saves
_SEARCH_TRIALS = 32  # cotengra trials per round of the order search
_SEARCH_ROUNDS = 3  # at most this many rounds
_HOPELESS_MARGIN = 8  # a greedy order this much wider than the budget is refused without searching further


def _tree_plan(tree, n_tensors, seconds, optimizer) -> _Plan:
    peak = float(tree.peak_size())
    largest = float(tree.max_size())
    cost = ContractionCost(
        width=float(tree.contraction_width()),
        flops=float(tree.contraction_cost()),
        memory=8.0 * (peak + 2 * largest),
        moments_memory=8.0 * 3 * (peak + 2 * largest),
        n_tensors=n_tensors,
        search_seconds=seconds,
        optimizer=optimizer,
    )
    return _Plan(tuple(tuple(int(k) for k in pair) for pair in tree.get_ssa_path()), cost)


def _trivial_plan(inputs) -> _Plan:
    width = float(max((len(term) for term in inputs), default=0))
    return _Plan((), ContractionCost(width, 0.0, 8.0 * 2**width, 24.0 * 2**width, len(inputs), 0.0, "none"))


@functools.lru_cache(maxsize=64)
def _greedy_plan(structure: tuple) -> _Plan:
    """opt_einsum's greedy order (fast even for thousands of tensors), cached by structure."""
    n_sites, inputs = structure
    if len(inputs) <= 1:
        return _trivial_plan(inputs)
    import cotengra as ctg
    import opt_einsum as oe

    start = time.perf_counter()
    sizes = {site: 2 for term in inputs for site in term}
    path = oe.paths.greedy([set(term) for term in inputs], set(), sizes)
    tree = ctg.ContractionTree.from_path([tuple(t) for t in inputs], (), sizes, path=path)
    return _tree_plan(tree, len(inputs), time.perf_counter() - start, "greedy")


@functools.lru_cache(maxsize=64)
def _best_plan(structure: tuple) -> _Plan:
    """The better of the greedy order and a time-capped cotengra hyper-optimised one, cached by structure."""
    greedy = _greedy_plan(structure)
    n_sites, inputs = structure
    if greedy.cost.width <= _QUICK_WIDTH and greedy.cost.flops <= _QUICK_FLOPS:
        return greedy
    import cotengra as ctg

    start = time.perf_counter()
    sizes = {site: 2 for term in inputs for site in term}
    n_tensors = len(inputs)
    best = None
    # Rounds of up to _SEARCH_TRIALS trials (each round time-capped), until a round no longer
    # narrows the best order: a loaded machine runs fewer trials per round, and more rounds.
    round_seconds = min(10.0 + n_tensors / 20.0, 30.0)
    for _ in range(_SEARCH_ROUNDS):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # cotengra warns when the optional kahypar is missing
            optimizer = ctg.HyperOptimizer(
                methods=("greedy", "labels"), minimize="combo", max_repeats=_SEARCH_TRIALS,
                max_time=round_seconds, parallel=False, progbar=False)
            tree = optimizer.search([tuple(term) for term in inputs], (), sizes)
        key = (tree.contraction_width(), tree.contraction_cost())
        if best is not None and key[0] >= best[0][0]:
            best = min(best, (key, tree), key=lambda item: item[0])
            break
        best = (key, tree) if best is None or key < best[0] else best
    hyper = _tree_plan(best[1], n_tensors, time.perf_counter() - start + greedy.cost.search_seconds,
                       "cotengra")
    if (hyper.cost.width, hyper.cost.flops) < (greedy.cost.width, greedy.cost.flops):
        return hyper
    return _Plan(greedy.ssa_path, dataclasses.replace(greedy.cost, search_seconds=hyper.cost.search_seconds))


def _power_of_two(width: float) -> float:
    """2^width as a float, inf past float64's range (a 2048-wide lattice must not raise OverflowError)."""
    return 2.0**width if width < 1024 else math.inf


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.3g} GiB" if math.isfinite(n_bytes) else "more than 1e290 GiB"


def _width_lower_bound(model) -> float:
    """A lower bound on the contraction width from the lattice geometry (0 when none is known).

    The width is at least the treewidth minus one; the treewidth of an open
    Lx × Ly grid is min(Lx, Ly), that of an L1 × L2 × L3 grid at least
    L1·L2/2 for its two shortest sides (periodic bonds only add to it).
    """
    lattice = model.lattice
    if lattice.kind == "square":
        return float(min(lattice.shape) - 1)
    if lattice.kind == "cubic":
        sides = sorted(lattice.shape)
        return float(sides[0] * sides[1] // 2 - 1)
    return 0.0


def _refuse_early(model, max_memory, derivatives) -> str | None:
    """A refusal message when the geometry alone shows the budget cannot be met (no order search)."""
    bound = _width_lower_bound(model)
    need = (72.0 if derivatives else 24.0) * _power_of_two(bound)
    if need <= max_memory:
        return None
    return (f"contracting {model!r} needs at least {_gib(need)} (its geometry forces a "
            f"contraction width of at least {bound:g}), over the memory budget of "
            f"{max_memory / 2**30:.3g} GiB; use method='transfer' for a strip, or estimate with a "
            "sampler (method='pt' or 'ais')")


#: Seconds per tensor of one contraction (Python overhead of a pairwise step, twice for the moments).
_SECONDS_PER_TENSOR = 6e-4
#: Seconds per site and boundary state of a sweep (measured 1.0e-7 to 1.4e-7 on 14x14 and 18x18 open
#: lattices with a field, moments at one beta; shared 2-core machine).
_SECONDS_PER_SWEEP_STATE = 1.2e-7


def _sweep_width(model) -> float | None:
    """The contraction width of a sweep along the longer side of an Lx × Ly square lattice, in closed form.

    The boundary between swept and unswept columns cuts min(Lx, Ly) bonds on an
    open lattice and twice that on a torus, so the swept tensor has 2^width
    entries. None for any other lattice (whose order must be searched).
    """
    lattice = model.lattice
    if lattice.kind != "square" or np.ndim(model.couplings) != 1 or np.ndim(model.field) != 1:
        return None
    side = min(lattice.shape)
    return float(2 * side if lattice.periodic else side)


def _sweep_seconds(model) -> float:
    """Rough seconds per β of the moments of a square lattice, before any order search:
    6e-4 s per tensor plus 1.2e-7 s per site and boundary state (N · 2^width)."""
    return (_SECONDS_PER_TENSOR * (model.n_edges + model.n_sites)
            + _SECONDS_PER_SWEEP_STATE * model.n_sites * _power_of_two(_sweep_width(model)))


def _sweep_over_budget(model, max_memory, derivatives) -> str | None:
    """A refusal when the sweep estimate of a square lattice's memory exceeds ``max_memory`` (else None)."""
    width = _sweep_width(model)
    need = (72.0 if derivatives else 24.0) * _power_of_two(width)
    if need <= max_memory:
        return None
    return (f"contracting {model!r} would need about {_gib(need)} (estimated contraction width "
            f"{width:g}: min(Lx, Ly){' x 2 on a torus' if model.lattice.periodic else ''}), over the memory "
            f"budget of {max_memory / 2**30:.3g} GiB; raise max_memory=..., use method='transfer' for a strip, "
            "method='pfaffian' when h = 0, or estimate with a sampler (method='pt' or 'ais')")


def _plan(network: Network, max_memory: float = np.inf, derivatives: bool = True) -> _Plan:
    """The order used to contract ``network``: greedy when it is narrow or hopelessly over budget, else the best found."""
    greedy = _greedy_plan(network.structure)
    need = greedy.cost.moments_memory if derivatives else greedy.cost.memory
    quick = greedy.cost.width <= _QUICK_WIDTH or greedy.cost.flops <= _QUICK_FLOPS
    if (quick and need <= max_memory) or need > max_memory * 2.0**_HOPELESS_MARGIN:
        return greedy
    return _best_plan(network.structure)


def contraction_cost(model: Ising, max_memory=DEFAULT_MAX_MEMORY) -> ContractionCost:
    """The :class:`ContractionCost` of ``model`` before contracting (finds and caches the order).

    Read ``width`` first: one contraction holds arrays of 2^width float64
    entries (2^27 entries = 1 GiB). ``method="tensor-network"`` refuses a
    model whose ``moments_memory`` (``memory`` for log Z alone) exceeds
    ``max_memory`` (2 GiB by default). The order is searched for only as long
    as it can matter: a greedy order within ``max_memory`` that is narrower
    than 2^16 entries or costs under 10^9 flops, or one hopelessly (2^8 times)
    over ``max_memory``, is used as it is.
    """
    return _plan(build_network(model), _check_max_memory(max_memory)).cost


def _check_budget(model, cost: ContractionCost, max_memory, derivatives: bool) -> None:
    need = cost.moments_memory if derivatives else cost.memory
    if need > max_memory:
        raise ValueError(_over_budget(model, cost, need, max_memory))


def _over_budget(model, cost, need, max_memory) -> str:
    return (f"contracting {model!r} needs about {need / 2**30:.3g} GiB (contraction width "
            f"{cost.width:g}: intermediates of 2^{cost.width:g} entries), over the memory budget of "
            f"{max_memory / 2**30:.3g} GiB; raise max_memory=..., use method='transfer' for a strip, "
            "or estimate with a sampler (method='pt' or 'ais')")


def _check_max_memory(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"max_memory must be a number of bytes, got {value!r}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"max_memory must be a positive number of bytes, got {value!r}")
    return float(value)


# ------------------------------------------------------------ pairwise contraction
def _layout(ainds, binds, keep):
    bset, aset = set(binds), set(ainds)
    batch = [i for i in ainds if i in bset and i in keep]
    summed = [i for i in ainds if i in bset and i not in keep]
    left = [i for i in ainds if i not in bset]
    right = [i for i in binds if i not in aset]
    return batch, left, summed, right


def _arrange(arrays, inds, first, second, third):
    """Transpose each array of ``arrays`` (axes named ``inds``) to (first, second, third), flattened to 3D."""
    order = first + second + third
    perm = [inds.index(i) for i in order]
    shape = (2 ** len(first), 2 ** len(second), 2 ** len(third))
    return [np.ascontiguousarray(np.transpose(x, perm)).reshape(shape) for x in arrays]


def _pair_log(a, ainds, b, binds, keep, order):
    """Contract two log-domain tensors over their shared indices.

    A tensor is [log W] (``order`` 0) or [log W, μ, v] (``order`` 2): the log
    weight of each entry and the mean and variance of an observable (an
    energy or a magnetisation) conditioned on the entry's spins. A product of
    two parts adds means and variances; the sum over the shared spins k mixes
    them with the weights W_a W_b. Means are taken about the value at each
    row's and column's heaviest k, so that sharp distributions (large β)
    lose no digits; the entries where that is not enough are recomputed
    exactly (:func:`_exact_entries`).
    """
    batch, left, summed, right = _layout(ainds, binds, keep)
    A = _arrange(a, ainds, batch, left, summed)
    B = _arrange(b, binds, batch, summed, right)
    top_a = A[0].argmax(axis=2)[:, :, None]
    top_b = B[0].argmax(axis=1)[:, None, :]
    shift_a = np.take_along_axis(A[0], top_a, axis=2)
    shift_b = np.take_along_axis(B[0], top_b, axis=1)
    wa = np.exp(A[0] - shift_a)
    wb = np.exp(B[0] - shift_b)
    c0 = wa @ wb
    bad = ~(c0 >= _BAD)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_c = shift_a + shift_b + np.log(c0)
        stats = []
        if order:
            center_a = np.take_along_axis(A[1], top_a, axis=2)
            center_b = np.take_along_axis(B[1], top_b, axis=1)
            da, db = A[1] - center_a, B[1] - center_b
            wda, wdb = wa * da, wb * db
            first = (wda @ wb + wa @ wdb) / c0
            second = ((wa * (A[2] + da * da)) @ wb + 2.0 * (wda @ wdb) + wa @ (wb * (B[2] + db * db))) / c0
            variance = second - first * first
            # Rounding in `second − first²` is ~1e-16·second: recompute where that is not negligible.
            bad |= ~(variance >= 1e-11 * second)
            bad &= second > 0
            bad |= ~(c0 >= _BAD)
            stats = [center_a + center_b + first, np.maximum(variance, 0.0)]
    if np.any(bad):
        _exact_entries(bad, A, B, log_c, stats, order)
    out_inds = batch + left + right
    shape = (2,) * len(out_inds)
    return [log_c.reshape(shape)] + [x.reshape(shape) for x in stats], out_inds


def _exact_entries(bad, A, B, log_c, stats, order):
    """Recompute the entries ``bad`` by log-sum-exp over the summed spins and a two-pass variance."""
    bi, li, ri = np.nonzero(bad)
    if len(bi) > 0.05 * bad.size:
        _exact_all(bad, A, B, log_c, stats, order)
        return
    k = A[0].shape[2]
    step = max(1, _CHUNK // max(k, 1))
    for start in range(0, len(bi), step):
        sl = slice(start, start + step)
        b_, l_, r_ = bi[sl], li[sl], ri[sl]
        logs = A[0][b_, l_, :] + B[0][b_, :, r_]
        top = logs.max(axis=1, keepdims=True)
        weights = np.exp(logs - top)
        total = weights.sum(axis=1)
        log_c[b_, l_, r_] = top[:, 0] + np.log(total)
        if order:
            means = A[1][b_, l_, :] + B[1][b_, :, r_]
            mean = np.sum(weights * means, axis=1) / total
            spread = A[2][b_, l_, :] + B[2][b_, :, r_] + (means - mean[:, None]) ** 2
            stats[0][b_, l_, r_] = mean
            stats[1][b_, l_, r_] = np.sum(weights * spread, axis=1) / total


def _exact_all(bad, A, B, log_c, stats, order):
    """:func:`_exact_entries` for every entry, one summed value k at a time (entries ``bad`` stored)."""
    k_size = A[0].shape[2]

    def term(k):
        return A[0][:, :, k, None] + B[0][:, None, k, :]

    top = np.full(log_c.shape, -np.inf)
    for k in range(k_size):
        np.maximum(top, term(k), out=top)
    total = np.zeros(log_c.shape)
    first = np.zeros(log_c.shape)
    for k in range(k_size):
        weight = np.exp(term(k) - top)
        total += weight
        if order:
            first += weight * (A[1][:, :, k, None] + B[1][:, None, k, :])
    log_c[bad] = (top + np.log(total))[bad]
    if not order:
        return
    mean = first / total
    second = np.zeros(log_c.shape)
    for k in range(k_size):
        weight = np.exp(term(k) - top)
        deviation = A[1][:, :, k, None] + B[1][:, None, k, :] - mean
        second += weight * (A[2][:, :, k, None] + B[2][:, None, k, :] + deviation * deviation)
    stats[0][bad] = mean[bad]
    stats[1][bad] = (second / total)[bad]


def _sum_out_log(t, inds, index, order):
    """Sum a log-domain tensor over one of its indices (an index no other tensor holds)."""
    one = [np.zeros(2)] + [np.zeros(2) for _ in range(order)]
    return _pair_log(t, inds, one, [index], set(i for i in inds if i != index), order)


def contract(network: Network, plan: _Plan, leaves, pair, sum_out, combine_scalars, history=None):
    """Contract the leaf tensors ``leaves`` (one per network input) along ``plan`` with the given algebra.

    ``pair(a, ainds, b, binds, keep)`` contracts two tensors and returns
    (tensor, inds); ``sum_out(t, inds, index)`` sums an index held by one
    tensor only; ``combine_scalars`` joins the final scalars (one per connected
    component). With a list ``history``, every step is appended to it as
    ``(out, inds_out, children)``, ``children`` a list of (tensor, inds), for
    back-tracking (see :mod:`statmech.exact._tropical`).
    """
    counts: dict[int, int] = {}
    for term in network.inputs:
        for i in term:
            counts[i] = counts.get(i, 0) + 1
    live = {}
    for t, term in enumerate(network.inputs):
        tensor, inds = leaves[t], list(term)
        for i in list(inds):
            if counts[i] == 1:
                reduced, reduced_inds = sum_out(tensor, inds, i)
                if history is not None:
                    history.append((reduced, list(reduced_inds), [(tensor, inds)]))
                tensor, inds = reduced, list(reduced_inds)
        live[t] = (tensor, inds)
    next_id = len(live)
    for x, y in plan.ssa_path:
        (a, ainds), (b, binds) = live.pop(x), live.pop(y)
        for i in set(ainds) | set(binds):
            counts[i] -= (i in ainds) + (i in binds)
        keep = {i for i in set(ainds) | set(binds) if counts[i] > 0}
        tensor, inds = pair(a, ainds, b, binds, keep)
        for i in inds:
            counts[i] += 1
        if history is not None:
            history.append((tensor, list(inds), [(a, ainds), (b, binds)]))
        live[next_id] = (tensor, list(inds))
        next_id += 1
    remaining = list(live.values())
    if any(inds for _, inds in remaining):
        raise RuntimeError("the contraction order left open indices (please report this)")
    return combine_scalars([tensor for tensor, _ in remaining])


# ------------------------------------------------------------------ real values
def _contract_real(network, plan, beta, order, direction):
    """(log Z, mean, variance) of −H (``direction="beta"``) or of M (``"field"``); no moments at ``order`` 0.

    Local energies are shifted by their minimum: the mean of −H is returned
    about the total shift, which is returned too.
    """
    shifts = [float(e.min()) for e in network.energies]
    leaves = []
    for energy, magnetization, shift in zip(network.energies, network.magnetizations, shifts):
        leaf = [-beta * (energy - shift)]
        if order:
            leaf += [-(energy - shift) if direction == "beta" else magnetization.copy(),
                     np.zeros_like(energy)]
        leaves.append(leaf)

    def pair(a, ainds, b, binds, keep):
        return _pair_log(a, ainds, b, binds, keep, order)

    def sum_out(t, inds, index):
        return _sum_out_log(t, inds, index, order)

    def combine(scalars):
        total = [np.zeros(()) for _ in range(1 + (2 if order else 0))]
        for scalar in scalars:
            total, _ = _pair_log(total, [], scalar, [], set(), order)
        return total

    result = contract(network, plan, leaves, pair, sum_out, combine)
    energy_shift = float(sum(shifts)) + network.constant
    return float(result[0]) - beta * energy_shift, [float(x) for x in result[1:]], energy_shift


# ------------------------------------------------------------------ the method
def _why_not(model, options) -> str | None:
    if not isinstance(model, Ising):
        return f"it needs an Ising model, got {type(model).__name__}"
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        return f"unknown option(s) {', '.join(unknown)}; it takes max_memory=<bytes>"
    if np.ndim(model.couplings) != 1 or np.ndim(model.field) != 1:
        return "this is a batch of models; call it on one instance at a time"
    try:
        max_memory = _check_max_memory(options.get("max_memory", DEFAULT_MAX_MEMORY))
    except (TypeError, ValueError) as error:
        return str(error)
    early = _refuse_early(model, max_memory, derivatives=True)
    if early is not None:
        return early
    if _sweep_width(model) is not None:  # a square lattice: the closed-form estimate, no order search
        return _sweep_over_budget(model, max_memory, derivatives=True)
    cost = _plan(build_network(model), max_memory).cost
    if cost.moments_memory > max_memory:
        return _over_budget(model, cost, cost.moments_memory, max_memory)
    return None


def _cost(model, options) -> float:
    """Seconds per β of the moments, from the greedy order alone (no search):
    about 6e-4 s per tensor (one pairwise contraction in Python, twice) plus 1e-6 s per flop
    of the order's cost (the Taylor arrays and their log scaling); inf where it does not apply.
    Measured against enumeration on random 3-regular and complete graphs of 8-28 spins.
    On a square lattice: the closed-form :func:`_sweep_seconds` (no order is searched).
    """
    if not isinstance(model, Ising) or np.ndim(model.couplings) != 1 or np.ndim(model.field) != 1:
        return math.inf
    if _sweep_width(model) is not None:
        return _sweep_seconds(model)
    cost = _greedy_plan(build_network(model).structure).cost
    return 6e-4 * cost.n_tensors + 1e-6 * cost.flops


def _prepare(model, options, derivatives, n_betas):
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ValueError(f"method 'tensor-network' got unknown option(s) {', '.join(unknown)}; "
                         "it takes max_memory=<bytes>")
    max_memory = _check_max_memory(options.get("max_memory", DEFAULT_MAX_MEMORY))
    early = _refuse_early(model, max_memory, derivatives)
    if early is None and _sweep_width(model) is not None:
        early = _sweep_over_budget(model, max_memory, derivatives)
    if early is not None:
        raise ValueError(early)
    if _sweep_width(model) is not None:
        check_time(n_betas * _sweep_seconds(model),
                   f"method 'tensor-network' on {model!r} at {n_betas} beta(s) (a rough estimate)",
                   "pass fewer betas, use a shorter or narrower strip, method='transfer' for strips "
                   "up to width 16, or method='pfaffian' when h = 0")
    network = build_network(model)
    plan = _plan(network, max_memory, derivatives)
    _check_budget(model, plan.cost, max_memory, derivatives)
    return network, plan


def _moments(model, betas, **options) -> Moments:
    """Exact log Z, U, Var(H), ⟨M⟩, Var(M) on the grid ``betas`` (two Taylor contractions per β)."""
    betas = np.asarray(betas, dtype=np.float64).reshape(-1)
    network, plan = _prepare(model, options, derivatives=True, n_betas=len(betas))
    out = np.empty((5, len(betas)))
    for k, beta in enumerate(betas):
        log_z, (minus_energy, energy_variance), shift = _contract_real(network, plan, float(beta), 2, "beta")
        _, (magnetization, magnetization_variance), _ = _contract_real(network, plan, float(beta), 2, "field")
        out[:, k] = (log_z, shift - minus_energy, energy_variance, magnetization, magnetization_variance)
    return Moments(out[0], out[1], out[2], out[3], out[4], None, meta=plan.cost.as_meta())


def _log_z_moments(model, betas, **options) -> Moments:
    """Exact log Z alone on the grid ``betas`` (one plain contraction per β)."""
    betas = np.asarray(betas, dtype=np.float64).reshape(-1)
    network, plan = _prepare(model, options, derivatives=False, n_betas=len(betas))
    values = np.array([_contract_real(network, plan, float(beta), 0, "beta")[0] for beta in betas])
    return Moments(values, meta=plan.cost.as_meta())


# Registered by statmech._registry (this module does not import the registry).
METHODS: list[Method] = []
METHODS.append(Method(name="tensor-network", exact=True, why_not=_why_not, moments=_moments,
                       log_z_moments=_log_z_moments, auto_rank=35, model_types=(Ising,), options=_OPTIONS,
                       cost=_cost))
