"""Timings of the exact methods, each next to a naive baseline run in the same process.

usage: python benchmarks/exact.py [--quick]

Prints, for each method, its wall time, the naive baseline's wall time on the
same problem (where a naive version is feasible) and the speed-up ratio, plus
an accuracy check against an independent value.
"""
from __future__ import annotations

import math
import sys
import time
import tracemalloc

import numpy as np
from scipy.special import logsumexp

import statmech as sm
from statmech.exact._beale import _degeneracies
from statmech.exact._enumerate import all_states
from statmech.exact._kaufman import kaufman_moments


def timed(function, repeat=3):
    """Best wall time of ``repeat`` calls, and the last result."""
    best, result = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def naive_chain_log_z(couplings, fields, beta):
    """Periodic chain: Tr Π T_k with a Python loop over 2x2 matrices, rescaled each step."""
    log_scale = 0.0
    product = np.eye(2)
    spins = np.array([1.0, -1.0])
    for coupling, field in zip(couplings, fields):
        matrix = np.exp(beta * (coupling * np.outer(spins, spins) + field * spins[:, None]))
        product = product @ matrix
        norm = np.abs(product).max()
        product /= norm
        log_scale += math.log(norm)
    return log_scale + math.log(np.trace(product))


def naive_enumeration_log_z(model, beta, chunk_bits=18):
    """All 2^N states through model.energy in chunks, then log-sum-exp."""
    n = model.n_sites
    chunk_bits = min(chunk_bits, n)
    low = all_states(chunk_bits).astype(np.float64)
    partial = []
    for high in range(2 ** (n - chunk_bits)):
        high_bits = ((high >> np.arange(n - chunk_bits)) & 1) * 2.0 - 1.0
        states = np.concatenate([low, np.broadcast_to(high_bits, (len(low), n - chunk_bits))], axis=1)
        partial.append(logsumexp(-beta * model.energy(states)))
    return float(logsumexp(partial))


def naive_square_model_arrays(L):
    """The edge-list model as it was built before: meshgrid bonds, couplings, fields, padded neighbour table."""
    x, y = np.meshgrid(np.arange(L), np.arange(L))
    site = y * L + x
    edges = np.concatenate([np.stack([site.ravel(), (y * L + (x + 1) % L).ravel()], axis=1),
                            np.stack([site.ravel(), (((y + 1) % L) * L + x).ravel()], axis=1)]).astype(np.int32)
    couplings = np.ones(len(edges))
    field = np.zeros(L * L)
    ends = np.concatenate([edges[:, 0], edges[:, 1]])
    others = np.concatenate([edges[:, 1], edges[:, 0]])
    bond = np.concatenate([np.arange(len(edges)), np.arange(len(edges))])
    order = np.argsort(ends, kind="stable")
    ends, others, bond = ends[order], others[order], bond[order]
    starts = np.concatenate([[0], np.cumsum(np.bincount(ends, minlength=L * L))[:-1]])
    slot = np.arange(len(ends)) - starts[ends]
    neighbors = np.zeros((L * L, 4), np.int32)
    neighbor_edges = np.full((L * L, 4), len(edges), np.int32)
    neighbors[ends, slot] = others
    neighbor_edges[ends, slot] = bond
    return edges, couplings, field, neighbors, neighbor_edges


def naive_kaufman_thermo(couplings, field, L, beta):
    """Kaufman with the coupling checks done over the whole bond list on every call (as before)."""
    def uniform_directions():
        horizontal, vertical = couplings[: L * L], couplings[L * L:]
        if not (np.all(horizontal == horizontal[0]) and np.all(vertical == vertical[0])):
            return None
        return float(horizontal[0]), float(vertical[0])

    if np.any(field != 0) or uniform_directions() is None:  # applicability check
        raise ValueError("not applicable")
    Jh, Jv = uniform_directions()  # and again when evaluating
    return kaufman_moments(np.atleast_1d(beta), L, L, Jh, Jv)


def measured(function):
    """(wall seconds, peak bytes allocated (tracemalloc), result, CPU seconds) of one call."""
    tracemalloc.start()
    try:
        start, cpu = time.perf_counter(), time.process_time()
        result = function()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return seconds, peak, result, cpu


def lattice_section(quick: bool) -> None:
    """Kaufman per β at large L (O(L) evaluation, O(1) checks) and the memory of large lattice models."""
    beta_c = sm.CRITICAL_BETA
    for L in ((1024, 2048) if quick else (2048, 4096)):
        model = sm.Ising.square(L)
        seconds, _ = timed(lambda: sm.thermo(model, beta_c, method="kaufman"), 5)
        dense, zeros = np.ones(2 * L * L), np.zeros(L * L)  # what the checks scanned before
        naive_seconds, naive = timed(lambda: naive_kaufman_thermo(dense, zeros, L, beta_c), 3)
        ours = sm.thermo(model, beta_c, method="kaufman")
        check = abs(ours.log_z.value - naive.log_z[0]) / abs(naive.log_z[0])
        row(f"kaufman L={L}, 1 beta (checks + evaluation)", seconds, naive_seconds,
            f"naive: O(L^2) checks per call; rel. diff of lnZ {check:.1e}")
        del dense, zeros

    L_naive = 512 if quick else 1024
    naive_seconds, naive_peak, _, _ = measured(lambda: naive_square_model_arrays(L_naive))
    seconds, peak, _, _ = measured(lambda: sm.Ising.square(L_naive))
    n = L_naive * L_naive
    row(f"Ising.square({L_naive}) build", seconds, naive_seconds,
        f"peak {peak / n:.2g} B/site vs naive edge list + neighbour table {naive_peak / n:.0f} B/site")
    for L in ((2048,) if quick else (4096,)):
        n = L * L
        seconds, peak, model, _ = measured(lambda: sm.Ising.square(L))
        per_site = naive_seconds / (L_naive * L_naive) * n
        row(f"Ising.square({L}) build, scalar J", seconds, per_site,
            f"peak {peak / n:.2g} B/site; naive time scaled from L={L_naive} by N")
        rng = np.random.default_rng(1)
        Jh, Jv, h = rng.normal(size=(L, L)), rng.normal(size=(L, L)), rng.normal(size=(L, L))
        seconds, peak, model, cpu = measured(lambda: sm.Ising.square(L, J=(Jh, Jv), h=h))
        kept = sum(leaf.nbytes for leaf in (model.couplings, model.field))
        row(f"Ising.square({L}) build, (Jh, Jv) and h arrays", seconds, per_site,
            f"CPU {cpu:.2f}s (copies the bonds once); peak {peak / n:.0f} B/site, kept {kept / n:.0f} B/site")
        del model, Jh, Jv, h


def row(name, seconds, baseline=None, note=""):
    ratio = f"{baseline / seconds:8.1f}x" if baseline else "        -"
    base = f"{baseline:9.4f}s" if baseline else "         -"
    print(f"{name:<44} {seconds:9.4f}s {base} {ratio}   {note}")


def main(quick: bool = False) -> None:
    print(f"{'case':<44} {'statmech':>10} {'naive':>10} {'speed-up':>9}   check")
    rng = np.random.default_rng(0)
    beta_c = sm.CRITICAL_BETA

    # Kaufman, L = 1024, all quantities.
    L = 256 if quick else 1024
    model = sm.Ising.square(L)
    seconds, result = timed(lambda: sm.thermo(model, beta_c, method="kaufman"))
    onsager = sm.onsager(0.3)
    far = sm.thermo(model, 0.3, method="kaufman")
    row(f"kaufman L={L}, lnZ/U/C, 1 beta", seconds, None,
        f"|f_L - f_inf| at beta=0.3: {abs(far.free_energy_density.value - onsager.free_energy_density.value):.1e}")
    grid = np.linspace(0.05, 1.0, 100)
    seconds, _ = timed(lambda: sm.thermo(model, grid, method="kaufman"))
    row(f"kaufman L={L}, lnZ/U/C, 100 betas", seconds)

    # Transfer matrix, chain of 10^6 spins with random J and h.
    n = 100_000 if quick else 1_000_000
    couplings, fields = rng.normal(size=n), rng.normal(size=n) * 0.3
    chain = sm.Ising.chain(n, J=couplings, h=fields, periodic=True)
    seconds, result = timed(lambda: sm.thermo(chain, 0.7, method="transfer"))
    n_naive = min(n, 100_000)
    naive_seconds, naive = timed(lambda: naive_chain_log_z(couplings[:n_naive], fields[:n_naive], 0.7), 1)
    naive_seconds *= n / n_naive
    small = sm.Ising.chain(n_naive, J=couplings[:n_naive], h=fields[:n_naive], periodic=True)
    check = abs(float(sm.log_z(small, 0.7, method="transfer")) - naive) / abs(naive)
    row(f"transfer chain N={n}, all moments", seconds, naive_seconds,
        f"naive timed on {n_naive} sites and scaled; rel. diff of lnZ {check:.1e}")

    # Enumeration, N = 24 Gaussian spin glass.
    n = 20 if quick else 24
    J = np.triu(rng.normal(size=(n, n)) / math.sqrt(n), 1)
    glass = sm.Ising.from_couplings(J + J.T)
    seconds, result = timed(lambda: sm.thermo(glass, 1.0, method="enumerate"), 1)
    n_naive = n - 4
    sub = np.triu(J[:n_naive, :n_naive], 1)
    sub_glass = sm.Ising.from_couplings(sub + sub.T)
    naive_seconds, naive = timed(lambda: naive_enumeration_log_z(sub_glass, 1.0), 1)
    naive_seconds *= 2 ** (n - n_naive)  # the naive cost is linear in the number of states
    check = abs(float(sm.log_z(sub_glass, 1.0, method="enumerate")) - naive)
    row(f"enumerate SK N={n}, all moments", seconds, naive_seconds,
        f"naive timed at N={n_naive}, scaled by 2^{n - n_naive}; |lnZ - naive| = {check:.1e}")

    # Beale, exact density of states at L = 32.
    L = 16 if quick else 32
    _degeneracies.cache_clear()  # time the integer computation, not the cache
    seconds, dos = timed(lambda: sm.density_of_states(sm.Ising.square(L)), 1)
    exact_sum = sum(dos.degeneracies) == 2 ** (L * L)
    row(f"beale L={L}, exact g(E) ({len(dos.degeneracies)} levels)", seconds, None,
        f"sum g = 2^N exactly: {exact_sum}")

    lattice_section(quick)


# ----------------------------------------------------------------- tensor networks
def tensor_network_section(quick: bool = False) -> None:
    """Reach of method="tensor-network": systems no other exact method handles, with their times.

    "order" is the one-off search for the contraction order (cached per graph);
    "contract" one log Z. The enumeration column extrapolates the measured
    time per state of method="enumerate" to 2^N states.
    """
    import networkx as nx

    print()
    print(f"{'tensor network':<44} {'order':>9} {'contract':>9} {'width':>6}   next-best exact method")
    rng = np.random.default_rng(12)
    n_probe = 18 if quick else 22
    probe = sm.Ising.from_edges(n_probe, nx.random_regular_graph(3, n_probe, seed=0).edges, 1.0, h=0.1)
    probe_seconds, _ = timed(lambda: sm.log_z(probe, 0.5, method="enumerate"), 1)
    per_state = probe_seconds / 2**n_probe

    def reach(name, model, beta=0.5, other=None, max_memory=sm.exact._tensor_network.DEFAULT_MAX_MEMORY):
        start = time.perf_counter()
        cost = sm.contraction_cost(model, max_memory=max_memory)
        order_seconds = time.perf_counter() - start
        seconds, estimate = timed(lambda: sm.log_z(model, beta, method="tensor-network",
                                                   max_memory=max_memory), 1)
        if other is None:
            log10 = math.log10(per_state) + model.n_sites * math.log10(2.0)
            note = f"enumeration ~10^{log10:.0f} s (extrapolated from N={n_probe})"
        else:
            other_seconds, value = timed(lambda: sm.log_z(model, beta, method=other), 1)
            note = (f"{other}: {other_seconds:.3f}s, ratio {other_seconds / seconds:.2f}x, "
                    f"|dlnZ| = {abs(float(value) - float(estimate)):.1e}")
        print(f"{name:<44} {order_seconds:8.2f}s {seconds:8.3f}s {cost.width:6.0f}   {note}")
        return estimate

    L = 12 if quick else 20
    Jh, Jv = rng.normal(size=(L, L - 1)), rng.normal(size=(L - 1, L))
    reach(f"square {L}x{L} open, random J and h", sm.Ising.square(L, J=(Jh, Jv), h=rng.normal(size=L * L),
                                                             periodic=False))
    reach(f"square {L}x{L} open, random J, h = 0", sm.Ising.square(L, J=(Jh, Jv), periodic=False),
          other="pfaffian")
    reach("square 8x8 periodic, uniform J = 1", sm.Ising.square(8), beta=sm.CRITICAL_BETA, other="kaufman")
    reach("strip 12x40 open, random J and h",
          sm.Ising.square((12, 40), J=(rng.normal(size=(40, 11)), rng.normal(size=(39, 12))),
                          h=rng.normal(size=480), periodic=False), other="transfer")
    if not quick:
        cubic = sm.EdwardsAnderson(4, dim=3, couplings="pm1", periodic=True).sample(0)
        reach("cubic 4x4x4 periodic, +-J spin glass", cubic, max_memory=4 * 1024**3)
    graph = nx.random_regular_graph(3, 80 if quick else 150, seed=1)
    for u, v in graph.edges:
        graph.edges[u, v]["J"] = float(rng.choice([-1.0, 1.0]))
    regular = sm.Ising.from_networkx(graph)
    reach(f"random 3-regular N={regular.n_sites}, +-J", regular)
    chimera = sm.chimera_graph(2 if quick else 4, 4, 4)
    for u, v in chimera.edges:
        chimera.edges[u, v]["J"] = float(rng.normal())
    for node in chimera.nodes:
        chimera.nodes[node]["h"] = float(rng.normal()) * 0.5
    reach(f"chimera N={chimera.number_of_nodes()}, random J and h", sm.Ising.from_networkx(chimera))

    # Tropical ground state and exact g(E), next to matching / enumeration / Beale.
    L = 12 if quick else 16
    glass = sm.Ising.square(L, J=(rng.normal(size=(L, L - 1)), rng.normal(size=(L - 1, L))), periodic=False)
    seconds, state = timed(lambda: sm.tropical_ground_state(glass), 1)
    other_seconds, matched = timed(lambda: sm.planar_ground_energy(glass), 1)
    print(f"{'tropical ground state, ' + f'{L}x{L} open glass':<44} {'':>9} {seconds:8.3f}s {'':>6}   "
          f"matching: {other_seconds:.3f}s, ratio {other_seconds / seconds:.2f}x, |dE0| = "
          f"{abs(state.energy - matched):.1e}")
    L = 6 if quick else 8
    seconds, dos = timed(lambda: sm.polynomial_density_of_states(sm.Ising.square(L)), 1)
    _degeneracies.cache_clear()
    other_seconds, beale = timed(lambda: sm.density_of_states(sm.Ising.square(L)), 1)
    print(f"{'polynomial g(E), ' + f'{L}x{L} torus':<44} {'':>9} {seconds:8.3f}s {'':>6}   "
          f"beale: {other_seconds:.3f}s, ratio {other_seconds / seconds:.2f}x, same g(E): "
          f"{dos.degeneracies == tuple(beale.degeneracies)}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
    tensor_network_section(quick="--quick" in sys.argv)
