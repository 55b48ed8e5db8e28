"""Timings of the disorder tools, each next to a baseline run in the same process.

usage: python benchmarks/disorder.py [--quick]

1. Exact ln Z of 2D Edwards–Anderson glasses (Gaussian J) by the frontal
   Pfaffian (``method="pfaffian"``), open and periodic, at L = 32, 64, 128
   (quick: 16, 32, 64), next to a dense Pfaffian of the same decorated matrix
   (PFAPACK's C ``skpf10_d``, Parlett–Reid, where the matrix fits in memory) and
   the transfer-matrix strip method at L = 10/12, with |Δ ln Z| between them,
   and a uniform ferromagnet against Kaufman's exact finite-lattice formula.
2. Instances per second of exact SK enumeration (N = 20), batched with
   ``jax.vmap`` (``log_z_batch``), against the NumPy ``method="enumerate"``
   loop over the same instances and against the naive enumeration of
   benchmarks/exact.py (every state through ``model.energy``, then
   log-sum-exp; ../shared/baselines/naive_ising.py only has Metropolis).
3. Parisi solve time for the SK free energy and ground-state energy, with the
   value next to the literature.
4. Exact ground states of open 2D EA glasses (``sm.planar_ground_state``,
   PyMatching's sparse blossom on the frustrated plaquettes) at L = 64, 128,
   next to an exact blossom matching with networkx on Dijkstra distances
   (the previous implementation) at L = 24 (quick) / 32, with |ΔE₀|.
5. The certified low-temperature Pfaffian: ``sm.thermo(method="pfaffian")``
   at β = 1 and the largest β it certifies (two eliminations per β), L = 32, 64.
"""
from __future__ import annotations

import ctypes
import importlib.util
import math
import pathlib
import sys
import time

import numpy as np

import statmech as sm
from statmech.exact import _pfaffian
from statmech.exact._batched import log_z_batch
from statmech.models._disorder import instance_seeds
from statmech.testing import networkx_ground_energy

HERE = pathlib.Path(__file__).resolve().parent
BETA = 0.5


def _benchmarks_exact():
    """benchmarks/exact.py, imported by path (its ``timed`` and ``naive_enumeration_log_z``)."""
    spec = importlib.util.spec_from_file_location("benchmark_exact", HERE / "exact.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_EXACT = _benchmarks_exact()
timed = _EXACT.timed  # best wall time of ``repeat`` calls, and the last result


def row(name, seconds, baseline=None, note=""):
    """A timing (seconds, lower is better) with the baseline's and the speed-up baseline/seconds."""
    ratio = f"{baseline / seconds:8.1f}x" if baseline else "        -"
    base = f"{baseline:9.4f}s" if baseline else "          -"
    print(f"{name:<46} {seconds:9.4f}s {base} {ratio}   {note}")


def rate_row(name, rate, baseline_rate, note=""):
    """A throughput (per second, higher is better) with the baseline's and the speed-up rate/baseline."""
    print(f"{name:<46} {rate:8.2f}/s {baseline_rate:8.2f}/s {rate / baseline_rate:8.1f}x   {note}")


# ------------------------------------------------------------ dense Pfaffian
def _log_abs_pfaffian_dense(matrix) -> tuple[float, float]:
    """(sign, log|Pf|) by PFAPACK's dense Parlett–Reid with a base-10 exponent (no overflow)."""
    from pfapack import ctypes as pfapack

    result = (ctypes.c_double * 2)(0.0, 0.0)
    code = pfapack.skpf10_d(matrix.shape[0], np.asfortranarray(matrix), result, b"U", b"P")
    if code != 0:
        raise RuntimeError(f"PFAPACK skpf10_d returned error code {code}")
    return math.copysign(1.0, result[0]), math.log(abs(result[0])) + result[1] * math.log(10.0)


def dense_pfaffian_log_z(model, beta):
    """ln Z from dense Pfaffians of the same decorated matrix statmech eliminates frontally.

    Open: ln Z = −β H(s⁰) + ln Pf A. Torus: ln Z = ln 2 − β H(s⁰) + ln(¼ σ₀ Σ_b Pf A_b),
    A_b with the dual edges across an x-seam (b_x) and across the bonds Jh[0, :] (b_y)
    negated (see the docstring of statmech.exact._pfaffian).
    """
    Lx, Ly, periodic, J = _pfaffian._bond_vector(model)
    decoration = _pfaffian._decoration(Lx, Ly, periodic)
    gauged = _pfaffian._gauge(Lx, Ly, J, _pfaffian._greedy_reference(Lx, Ly, periodic, J))
    bond = decoration.bond
    weights = np.where(bond >= 0, np.exp(-2.0 * beta * gauged[np.maximum(bond, 0)]), 1.0)
    reference = beta * float(np.sum(gauged))  # −β H(s⁰)

    def log_pf(edge_weights):
        matrix = np.zeros((decoration.n_nodes, decoration.n_nodes), order="F")
        np.add.at(matrix, (decoration.tail, decoration.head), edge_weights)
        np.add.at(matrix, (decoration.head, decoration.tail), -edge_weights)
        return _log_abs_pfaffian_dense(matrix)

    if not periodic:
        return reference + log_pf(weights)[1]
    x_twist = np.where(decoration.seam == 1, -1.0, 1.0)
    y_twist = np.where((bond >= 0) & (bond < Lx), -1.0, 1.0)
    terms = [log_pf(weights * x_twist**bx * y_twist**by) for bx, by in ((0, 0), (1, 0), (0, 1), (1, 1))]
    shift = max(log for _, log in terms)
    total = decoration.reference_sign * sum(sign * math.exp(log - shift) for sign, log in terms)
    return math.log(2.0) + reference + shift + math.log(total / 4.0)


def pfaffian_section(quick):
    sizes = (16, 32, 64) if quick else (32, 64, 128)
    dense_max = 32  # the dense matrix of L = 32 has 6262 (open) / 6144 (torus) nodes: 0.3 GB
    print(f"\n1. exact ln Z of 2D EA Gaussian glasses by Pfaffians, beta = {BETA} (one instance each)")
    print(f"{'case':<46} {'statmech':>10} {'baseline':>10} {'speed-up':>9}   check")
    ensemble_seed = 1
    for periodic in (False, True):
        name = "torus" if periodic else "open"
        # Strip transfer matrix baseline (exact, arbitrary bonds) at the largest width it allows.
        L = 10 if periodic else 12
        small = sm.EdwardsAnderson(L, couplings="gaussian", periodic=periodic).sample(ensemble_seed)
        seconds, value = timed(lambda: float(sm.log_z(small, BETA, method="pfaffian")))
        base_seconds, base = timed(lambda: float(sm.log_z(small, BETA, method="transfer")), 1)
        row(f"pfaffian {name} L={L}", seconds, base_seconds,
            f"baseline: transfer strip; |d lnZ| = {abs(value - base):.1e}")
        for L in sizes:
            model = sm.EdwardsAnderson(L, couplings="gaussian", periodic=periodic).sample(ensemble_seed)
            seconds, value = timed(lambda: float(sm.log_z(model, BETA, method="pfaffian")),
                                   3 if L <= 32 else 1)
            if L <= dense_max:
                base_seconds, base = timed(lambda: dense_pfaffian_log_z(model, BETA), 1)
                row(f"pfaffian {name} L={L}", seconds, base_seconds,
                    f"baseline: dense PFAPACK Pf of the same matrix; |d lnZ| = {abs(value - base):.1e}")
            else:
                row(f"pfaffian {name} L={L}", seconds, None,
                    f"lnZ/N = {value / L**2:.10f} (dense matrix too large)")
    # Uniform ferromagnet against Kaufman's exact finite-lattice formula.
    for beta in (0.3, sm.CRITICAL_BETA):
        L = 32
        model = sm.Ising.square(L, J=1.0, periodic=True)
        seconds, value = timed(lambda: float(sm.log_z(model, beta, method="pfaffian")), 1)
        kaufman_seconds, exact = timed(lambda: float(sm.log_z(model, beta, method="kaufman")))
        row(f"pfaffian torus ferromagnet L={L} beta={beta:.4f}", seconds, None,
            f"vs kaufman ({kaufman_seconds:.4f}s): |d lnZ| = {abs(value - exact):.1e}")
    print("   (sm.log_z eliminates the decorated matrix frontally, O(N L^2), ln Z only; sm.thermo also "
          "carries two beta-derivatives for U and C, about twice the time; the dense baseline is O(n^3), n ~ 6N.)")


# -------------------------------------------------------------- SK enumeration
def enumeration_section(quick):
    naive_enumeration_log_z = _EXACT.naive_enumeration_log_z
    beta = 1.0
    cases = [(16, 64), (20, 64)] if quick else [(20, 64), (24, 8)]
    print(f"\n2. exact ln Z of SK instances (Gaussian J), beta = {beta}: instances per second")
    print(f"{'case':<46} {'statmech':>10} {'baseline':>10} {'speed-up':>9}   check")
    for n, n_instances in cases:
        ensemble = sm.SK(n)
        batch = ensemble.sample_batch(0, n_instances)
        instances = [ensemble.sample(int(s)) for s in instance_seeds(0, n_instances)]
        start = time.perf_counter()
        log_z_batch(batch, beta)  # compiles
        compile_seconds = time.perf_counter() - start
        seconds, batched = timed(lambda: log_z_batch(batch, beta))
        rate = n_instances / seconds
        loop_seconds, sequential = timed(
            lambda: np.array([float(sm.log_z(m, beta, method="enumerate")) for m in instances]), 1)
        loop_rate = n_instances / loop_seconds
        rate_row(f"vmap enumerate SK N={n}, K={n_instances}", rate, loop_rate,
            f"baseline: NumPy method='enumerate' loop (all moments); max |d lnZ| = "
            f"{np.max(np.abs(batched - sequential)):.1e}; first call {compile_seconds:.2f}s (compile)")
        if n > 20:  # the naive sum costs ~7 s per instance at N = 20, 16x that at N = 24
            continue
        n_naive = 2
        naive_seconds, naive = timed(
            lambda: np.array([naive_enumeration_log_z(m, beta) for m in instances[:n_naive]]), 1)
        naive_rate = n_naive / naive_seconds
        rate_row(f"vmap enumerate SK N={n}, K={n_instances}", rate, naive_rate,
            f"baseline: naive all states + model.energy ({n_naive} instances); max |d lnZ| = "
            f"{np.max(np.abs(batched[:n_naive] - naive)):.1e}")
    print("   (columns: instances per second, statmech vs baseline; speed-up = their ratio)")


# -------------------------------------------------------------------- Parisi
def parisi_section(quick):
    print("\n3. SK thermodynamic limit: Parisi full-RSB solver (k-step RSB, k grown until converged)")
    print(f"{'case':<46} {'seconds':>10}   value")
    literature = {2.0: -0.7912}  # T = 0.5, full-RSB value quoted to four digits
    for beta in ((2.0,) if quick else (1.5, 2.0, 3.0)):
        seconds, result = timed(lambda: sm.theory.parisi(beta), 1)
        reference = literature.get(beta)
        against = ("" if reference is None else
                   f"  (literature {reference:.4f}, diff {result.free_energy_density - reference:+.1e})")
        print(f"{f'parisi(beta={beta})':<46} {seconds:9.3f}s   f = {result.free_energy_density:.7f} "
              f"(k = {result.k}, truncation ~{result.truncation_error:.0e}){against}")
    seconds, e0 = timed(lambda: sm.theory.sk_ground_state_energy(), 1)
    print(f"{'sk_ground_state_energy()':<46} {seconds:9.3f}s   e0 = {e0:.7f}  (literature -0.7631667, "
          f"Crisanti & Rizzo 2002; diff {e0 + 0.7631667:+.1e}, the default k = 4 is a lower bound)")


# -------------------------------------------------------------- ground states
def ground_state_section(quick):
    print("\n4. exact ground states of open 2D EA glasses by matching (one instance each)")
    print(f"{'case':<46} {'statmech':>10} {'baseline':>10} {'speed-up':>9}   check")
    base_L = 24 if quick else 32
    for couplings in ("gaussian", "pm1"):
        model = sm.EdwardsAnderson(base_L, couplings=couplings, periodic=False).sample(1)
        seconds, energy = timed(lambda: sm.planar_ground_energy(model))
        base_seconds, base = timed(lambda: networkx_ground_energy(model), 1)
        row(f"planar_ground_energy {couplings} L={base_L}", seconds, base_seconds,
            f"baseline: networkx blossom; |dE0| = {abs(energy - base):.1e}")
        for L in (64, 128):
            model = sm.EdwardsAnderson(L, couplings=couplings, periodic=False).sample(1)
            seconds, (energy, spins) = timed(lambda: sm.planar_ground_state(model))
            check = abs(model.energy(spins.astype(float)) - energy)
            row(f"planar_ground_state {couplings} L={L}", seconds, None,
                f"E0/N = {energy / L**2:.6f}; |H(spins) - E0| = {check:.1e}")


def certified_section(quick):
    print("\n5. certified Pfaffian thermodynamics (open Gaussian / +-J glasses, sm.thermo)")
    print(f"{'case':<46} {'seconds':>10}   note")
    for couplings in ("gaussian", "pm1"):
        for L in ((16, 32) if quick else (32, 64)):
            model = sm.EdwardsAnderson(L, couplings=couplings, periodic=False).sample(2)
            seconds, _ = timed(lambda: sm.thermo(model, 1.0, method="pfaffian"), 1)
            reached = 1.0
            for beta in (2.0, 3.0, 5.0, 8.0, 12.0, 20.0):
                try:
                    sm.thermo(model, beta, method="pfaffian")
                except FloatingPointError:
                    break
                reached = beta
            print(f"{f'thermo pfaffian {couplings} L={L} beta=1':<46} {seconds:9.4f}s   "
                  f"largest certified beta on the grid 1,2,3,5,8,12,20: {reached:g}")


def main(quick: bool = False) -> None:
    start = time.perf_counter()
    pfaffian_section(quick)
    enumeration_section(quick)
    parisi_section(quick)
    ground_state_section(quick)
    certified_section(quick)
    print(f"\ntotal {time.perf_counter() - start:.1f}s")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
