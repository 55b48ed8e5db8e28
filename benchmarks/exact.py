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

import numpy as np
from scipy.special import logsumexp

import statmech as sm
from statmech.exact._beale import _degeneracies
from statmech.exact._enumerate import all_states


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


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
