"""Belief propagation on a large periodic square lattice, against a naive per-site Python loop.

usage: python benchmarks/mean_field.py [--quick]

The vectorised BP (NumPy over the edge list, parallel updates of all 2E
cavity fields) is timed per iteration on an L x L torus (L = 1000 by default,
300 with --quick) and to convergence. The baseline, run in the same process,
is the BP a user would write first: a Python loop over sites and their four
neighbours, timed on a 60 x 60 torus and scaled by the number of messages
(its cost per message does not depend on L). Both are checked to give the
same messages, and the converged free entropy against ln 2 + 2 ln cosh β
(the paramagnetic Bethe value at h = 0 below the Bethe point). Exact Kaufman
time on the same lattice is printed as a second reference.

Near the Bethe point β_B = atanh(1/3) the parallel update contracts at rate
3 tanh β → 1. There the default (red-black sweeps with Anderson mixing) is
timed from random and from zero messages against plain damped parallel
updates (damping 0.5, no Anderson: the earlier default) in the same run, each
with max_iter = 1000.
"""
from __future__ import annotations

import math
import sys
import time
import warnings

import numpy as np

import statmech as sm
from statmech.approx._bp import initial_messages, pass_messages
from statmech.approx._common import Graph


def naive_bp_sweep(L, beta, u):
    """One parallel BP update with Python loops; u[(site, direction)] = message site -> neighbour."""
    steps = ((1, 0), (-1, 0), (0, 1), (0, -1))
    new = {}
    t = math.tanh(beta)
    for y in range(L):
        for x in range(L):
            site = y * L + x
            incoming = []
            for dx, dy in steps:
                neighbour = ((y + dy) % L) * L + (x + dx) % L
                back = steps.index((-dx, -dy))
                incoming.append(u[(neighbour, back)])
            total = sum(incoming)
            for k in range(4):
                new[(site, k)] = math.atanh(t * math.tanh(total - incoming[k]))
    return new


def main():
    quick = "--quick" in sys.argv
    L = 300 if quick else 1000
    beta = 0.3
    model = sm.Ising.square(L)
    graph = Graph.of(model)
    n_messages = 2 * graph.n_edges

    # Per-iteration cost: 10 undamped parallel updates from random messages.
    start_messages = initial_messages(graph, beta, "random", 0)
    start = time.perf_counter()
    pass_messages(graph, beta, start_messages, None, 0.0, 1e-300, 10, schedule="parallel")
    fast_per_iter = (time.perf_counter() - start) / 10

    # Baseline: the naive loop on a 60 x 60 torus, one update, scaled per message.
    L_small = 60
    rng = np.random.default_rng(0)
    u = {(s, k): float(rng.uniform(-0.3, 0.3)) for s in range(L_small * L_small) for k in range(4)}
    start = time.perf_counter()
    naive_bp_sweep(L_small, beta, u)
    naive_per_message = (time.perf_counter() - start) / (4 * L_small * L_small)
    naive_per_iter = naive_per_message * n_messages

    # Same messages: one vectorised update of the 60 x 60 torus from the naive loop's start.
    small = Graph.of(sm.Ising.square(L_small))
    messages = np.zeros((2, small.n_edges))
    index = {}
    for e, (a, b) in enumerate(zip(small.i, small.j)):
        index[(a, b)], index[(b, a)] = (0, e), (1, e)
    steps = ((1, 0), (-1, 0), (0, 1), (0, -1))
    for (site, k), value in u.items():
        x, y = site % L_small, site // L_small
        neighbour = ((y + steps[k][1]) % L_small) * L_small + (x + steps[k][0]) % L_small
        messages[index[(site, neighbour)]] = value
    H = small.neighbor_sum(messages[0], messages[1])
    cavity = np.stack([H[small.i] - messages[1], H[small.j] - messages[0]])
    vectorised = np.arctanh(math.tanh(beta) * np.tanh(cavity))
    naive = naive_bp_sweep(L_small, beta, u)
    worst = 0.0
    for (site, k), value in naive.items():
        x, y = site % L_small, site // L_small
        neighbour = ((y + steps[k][1]) % L_small) * L_small + (x + steps[k][0]) % L_small
        worst = max(worst, abs(vectorised[index[(site, neighbour)]] - value))

    # To convergence (random start, default damping 0.5, tol 1e-12 relative).
    start = time.perf_counter()
    result = sm.approx.belief_propagation(model, beta)
    converged_time = time.perf_counter() - start
    start = time.perf_counter()
    from_zero = sm.approx.belief_propagation(model, beta, init="zero")
    zero_time = time.perf_counter() - start
    start = time.perf_counter()
    field = sm.approx.belief_propagation(sm.Ising.square(L, h=0.1), 0.5, damping=0.0, init="up")
    field_time = time.perf_counter() - start

    start = time.perf_counter()
    exact = float(sm.log_z(model, beta, method="kaufman")) / model.n_sites
    kaufman_time = time.perf_counter() - start

    bethe = math.log(2) + 2 * math.log(math.cosh(beta))
    print(f"BP on a {L} x {L} periodic square lattice ({n_messages:,} messages), beta = {beta}")
    print(f"  one parallel update: vectorised {fast_per_iter:.3f} s, naive Python loop "
          f"{naive_per_iter:.1f} s (measured on {L_small}x{L_small}, scaled) -> "
          f"ratio {naive_per_iter / fast_per_iter:.0f}x; same messages to {worst:.1e}")
    print(f"  to convergence from random messages: {converged_time:.2f} s, "
          f"{result.iterations} iterations ({converged_time / result.iterations:.3f} s each, "
          f"ratio {naive_per_iter * result.iterations / converged_time:.0f}x to the naive loop), "
          f"residual {result.residual:.1e}, "
          f"log Z/N - (ln 2 + 2 ln cosh beta) = {result.free_entropy_density - bethe:.1e}")
    print(f"  from zero messages (the paramagnetic fixed point): {zero_time:.2f} s, "
          f"{from_zero.iterations} iteration(s)")
    print(f"  h = 0.1, beta = 0.5, undamped from all-up messages: {field_time:.2f} s, "
          f"{field.iterations} iterations, m = {field.magnetization_density:.6f}")
    print(f"  exact Kaufman log Z/N = {exact:.6f} in {kaufman_time:.2f} s "
          f"(Bethe error {result.free_entropy_density - exact:+.4f})")
    near_bethe_point(model)


def near_bethe_point(model):
    """Random and zero starts at β = 0.34 and β_B: default vs plain damped parallel updates."""
    plain = {"schedule": "parallel", "damping": 0.5, "anderson": 0}
    print(f"  near the Bethe point beta_B = atanh(1/3) = {math.atanh(1 / 3):.6f} "
          f"(max_iter 1000, tol 1e-12):")
    for beta in (0.34, math.atanh(1 / 3)):
        bethe = math.log(2) + 2 * math.log(math.cosh(beta))
        for init in ("random", "zero"):
            times = {}
            for name, options in (("default", {}), ("plain", plain)):
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", sm.approx.ConvergenceWarning)
                    result = sm.approx.belief_propagation(model, beta, init=init, **options)
                times[name] = time.perf_counter() - start
                print(f"    beta {beta:.6f} {init:>6} {name:>7}: {times[name]:7.2f} s, "
                      f"{result.iterations:4d} iterations, residual {result.residual:.1e}, "
                      f"converged {result.converged}, log Z/N - Bethe paramagnet "
                      f"{result.free_entropy_density - bethe:+.1e}", flush=True)
            print(f"    beta {beta:.6f} {init:>6} ratio plain/default: "
                  f"{times['plain'] / times['default']:.1f}x")


if __name__ == "__main__":
    main()
