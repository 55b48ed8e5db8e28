"""Exact enumeration (method "enumerate") against brute-force sums, closed forms and limits.

Every reference below is computed here, with plain NumPy over itertools.product
and the energy written bond by bond from the lattice definition — never with
statmech's own energy or enumeration.
"""
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import statmech as sm
from statmech.exact import _enumerate
from statmech.exact._enumerate import MAX_ENUMERATION_SITES, _moments, all_states, ground_energy
from statmech.models import Ising
from statmech.testing import gaussian_couplings

BETAS = np.array([0.0, 0.1, 0.7, 2.0, 5.0])


# ------------------------------------------------------------------ references
def brute_states(n):
    return np.array(list(itertools.product([-1.0, 1.0], repeat=n)))


def brute_energies(n, bonds, h, constant=0.0):
    """H(s) = −Σ_bonds J s_i s_j − Σ h_i s_i for every state; ``bonds`` is [(i, j, J), ...]."""
    states = brute_states(n)
    energy = np.full(len(states), constant) - states @ np.asarray(h, dtype=float)
    for i, j, coupling in bonds:
        energy -= coupling * states[:, i] * states[:, j]
    return states, energy


def brute_moments(states, energies, beta):
    """(log Z, U, Var H, M, Var M, <|M|>) by a max-shifted sum over all states."""
    log_weights = -beta * energies
    shift = log_weights.max()
    weights = np.exp(log_weights - shift)
    p = weights / weights.sum()
    magnetization = states.sum(axis=1)
    u = p @ energies
    m = p @ magnetization
    return np.array([shift + np.log(weights.sum()), u, p @ (energies - u) ** 2,
                     m, p @ (magnetization - m) ** 2, p @ np.abs(magnetization)])


def enumerated(model, betas):
    mom = _moments(model, np.asarray(betas, dtype=float))
    return np.array([mom.log_z, mom.energy, mom.energy_variance, mom.magnetization,
                     mom.magnetization_variance, mom.abs_magnetization])


def chain_bonds(J):
    n = len(J)
    return [(i, (i + 1) % n, J[i]) for i in range(n)]


def square_bonds(Jh, Jv, periodic):
    Ly, Lx = Jh.shape
    bonds = []
    for y in range(Ly):
        for x in range(Lx):
            if periodic or x < Lx - 1:
                bonds.append((y * Lx + x, y * Lx + (x + 1) % Lx, Jh[y, x]))
            if periodic or y < Ly - 1:
                bonds.append((y * Lx + x, ((y + 1) % Ly) * Lx + x, Jv[y, x]))
    return bonds


def _cases():
    rng = np.random.default_rng(7)
    cases = {}
    J, h = rng.normal(size=7), rng.normal(size=7)
    cases["chain periodic"] = (Ising.chain(7, J=J, h=h, periodic=True), 7, chain_bonds(J), h, 0.0)
    J, h = rng.normal(size=6), rng.normal(size=7)
    cases["chain open"] = (Ising.chain(7, J=J, h=h, periodic=False), 7,
                           [(i, i + 1, J[i]) for i in range(6)], h, 0.0)
    Jh, Jv, h = rng.normal(size=(3, 3)), rng.normal(size=(3, 3)), rng.normal(size=9)
    Jh[:, -1] = 0.0
    Jv[-1, :] = 0.0
    cases["square open 3x3"] = (Ising.square(3, J=(Jh, Jv), h=h, periodic=False), 9,
                                square_bonds(Jh, Jv, False), h, 0.0)
    Jh, Jv = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    cases["square periodic 3x3 h=0"] = (Ising.square(3, J=(Jh, Jv), periodic=True), 9,
                                        square_bonds(Jh, Jv, True), np.zeros(9), 0.0)
    Jh, Jv, h = rng.normal(size=(2, 2)), rng.normal(size=(2, 2)), rng.normal(size=4)
    cases["square periodic 2x2 (parallel bonds)"] = (
        Ising.square(2, J=(Jh, Jv), h=h, periodic=True), 4, square_bonds(Jh, Jv, True), h, 0.0)
    J = gaussian_couplings(rng, 10)
    h = rng.normal(size=10)
    pairs = [(i, j, J[i, j]) for i in range(10) for j in range(i + 1, 10)]
    cases["spin glass with field"] = (Ising.from_couplings(J, h=h), 10, pairs, h, 0.0)
    cases["spin glass h=0"] = (Ising.from_couplings(J), 10, pairs, np.zeros(10), 0.0)
    cases["N=1 periodic (self-bond)"] = (Ising.chain(1, J=0.8, h=0.3, periodic=True), 1, [],
                                         [0.3], -0.8)
    cases["N=1 open h=0"] = (Ising.chain(1, J=0.8, h=0.0, periodic=False), 1, [], [0.0], 0.0)
    cases["N=2 periodic (two parallel bonds)"] = (
        Ising.chain(2, J=[0.5, -1.25], h=[0.2, -0.4], periodic=True), 2,
        [(0, 1, 0.5), (1, 0, -1.25)], [0.2, -0.4], 0.0)
    cases["N=2 h=0"] = (Ising.chain(2, J=-0.6, periodic=False), 2, [(0, 1, -0.6)], [0, 0], 0.0)
    return cases


CASES = _cases()


# ---------------------------------------------------------------------- tests
def test_seed_toy_closed_form():
    """8 independent spins, E = Σ x_i (h = −1): log Z = 8 log(2 cosh β), ⟨x_i⟩ = −tanh β."""
    toy = Ising.chain(8, J=0.0, h=-1.0, periodic=False)
    betas = np.array([0.0, 0.5, 1.0, 3.0, 40.0, 1e6])
    th = sm.thermo(toy, betas, method="enumerate")
    log_z = 8 * (betas + np.log1p(np.exp(-2 * betas)))  # 8 log(2 cosh β), overflow-free
    np.testing.assert_allclose(th.log_z.value, log_z, rtol=1e-13)
    np.testing.assert_allclose(th.energy.value, -8 * np.tanh(betas), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(th.magnetization.value, -8 * np.tanh(betas), rtol=1e-12, atol=1e-12)
    var = 8 / np.cosh(np.minimum(betas, 300)) ** 2
    np.testing.assert_allclose(th.specific_heat.value, betas**2 * var, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(th.susceptibility_density.value, betas * var / 8, rtol=1e-10,
                               atol=1e-12)
    assert float(sm.log_z(toy, 1.0, method="enumerate")) == pytest.approx(8 * math.log(2 * math.cosh(1)), rel=1e-14)


@pytest.mark.parametrize("block_elements", [None, 4, 1], ids=["one block", "blocks of 4", "rows of 1"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_brute_force(name, block_elements, monkeypatch):
    if block_elements is not None:
        monkeypatch.setattr(_enumerate, "_BLOCK_ELEMENTS", block_elements)
    model, n, bonds, h, constant = CASES[name]
    states, energies = brute_energies(n, bonds, h, constant)
    expected = np.stack([brute_moments(states, energies, b) for b in BETAS], axis=1)
    got = enumerated(model, BETAS)
    scale = np.maximum(1.0, np.abs(expected).max(axis=1, keepdims=True))
    np.testing.assert_allclose(got / scale, expected / scale, rtol=0, atol=1e-11)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 7), seed=st.integers(0, 2**32 - 1), with_field=st.booleans(),
       beta=st.floats(0.0, 4.0), block_elements=st.sampled_from([1, 3, 16, 1 << 18]))
def test_property_random_couplings(n, seed, with_field, beta, block_elements):
    rng = np.random.default_rng(seed)
    J = gaussian_couplings(rng, n)
    h = rng.normal(size=n) if with_field else np.zeros(n)
    pairs = [(i, j, J[i, j]) for i in range(n) for j in range(i + 1, n)]
    states, energies = brute_energies(n, pairs, h)
    expected = brute_moments(states, energies, beta)
    old = _enumerate._BLOCK_ELEMENTS
    _enumerate._BLOCK_ELEMENTS = block_elements
    try:
        got = enumerated(Ising.from_couplings(J, h=h), [beta])[:, 0]
    finally:
        _enumerate._BLOCK_ELEMENTS = old
    np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-11)


def richardson_derivative(f, x, step):
    """Central difference with two Richardson steps: error O(step^6)."""
    def central(s):
        return (f(x + s) - f(x - s)) / (2 * s)
    d1, d2, d4 = central(step), central(step / 2), central(step / 4)
    r1, r2 = (4 * d2 - d1) / 3, (4 * d4 - d2) / 3
    return (16 * r2 - r1) / 15


def test_energy_is_minus_derivative_of_log_z():
    rng = np.random.default_rng(3)
    model = Ising.from_couplings(gaussian_couplings(rng, 10), h=rng.normal(size=10))

    def log_z(beta):
        return float(_moments(model, np.array([beta])).log_z[0])

    for beta in (0.3, 1.1):
        derivative = richardson_derivative(log_z, beta, 0.02)
        energy = float(_moments(model, np.array([beta])).energy[0])
        assert energy == pytest.approx(-derivative, rel=1e-8, abs=1e-8)


def test_specific_heat_is_beta_squared_brute_force_variance():
    model, n, bonds, h, constant = CASES["square open 3x3"]
    states, energies = brute_energies(n, bonds, h, constant)
    th = sm.thermo(model, BETAS, method="enumerate")
    brute_var = np.array([brute_moments(states, energies, b)[2] for b in BETAS])
    np.testing.assert_allclose(th.specific_heat.value, BETAS**2 * brute_var, rtol=1e-11, atol=1e-12)
    assert np.all(th.specific_heat.value >= 0)


def test_z2_symmetry():
    rng = np.random.default_rng(11)
    J = gaussian_couplings(rng, 9)
    h = rng.normal(size=9)
    zero_field = enumerated(Ising.from_couplings(J), BETAS)
    assert np.all(zero_field[3] == 0.0)
    plus = enumerated(Ising.from_couplings(J, h=h), BETAS)
    minus = enumerated(Ising.from_couplings(J, h=-h), BETAS)
    np.testing.assert_allclose(minus[[0, 1, 2, 4, 5]], plus[[0, 1, 2, 4, 5]], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(minus[3], -plus[3], rtol=1e-12, atol=1e-12)


def test_gauge_invariance():
    """J_ij → g_i J_ij g_j, h_i → g_i h_i (g_i = ±1) relabels states: log Z and U unchanged."""
    rng = np.random.default_rng(5)
    J, h = gaussian_couplings(rng, 11), rng.normal(size=11)
    g = rng.choice([-1.0, 1.0], size=11)
    a = enumerated(Ising.from_couplings(J, h=h), BETAS)
    b = enumerated(Ising.from_couplings(g[:, None] * J * g[None, :], h=g * h), BETAS)
    np.testing.assert_allclose(b[:3], a[:3], rtol=1e-12, atol=1e-12)


def test_beta_zero_is_n_log_2():
    rng = np.random.default_rng(2)
    for model in (Ising.from_couplings(gaussian_couplings(rng, 13), h=rng.normal(size=13)),
                  Ising.square(4, J=1.0, periodic=True), Ising.chain(20, J=-1.0, h=0.5)):
        mom = _moments(model, np.array([0.0]))
        assert mom.log_z[0] == pytest.approx(model.n_sites * math.log(2), rel=1e-15)
        assert mom.energy[0] == pytest.approx(0.0, abs=1e-11)  # every bond and field averages to 0


@pytest.mark.parametrize("name", ["ferro square 3x3", "toy", "triangle antiferro", "spin glass"])
def test_large_beta_is_ground_state(name):
    rng = np.random.default_rng(4)
    if name == "ferro square 3x3":
        n, bonds, h = 9, square_bonds(np.ones((3, 3)), np.ones((3, 3)), True), np.zeros(9)
        model = Ising.square(3, J=1.0, periodic=True)
    elif name == "toy":
        n, bonds, h = 8, [], -np.ones(8)
        model = Ising.chain(8, J=0.0, h=-1.0, periodic=False)
    elif name == "triangle antiferro":
        n, bonds, h = 3, chain_bonds([-1.0, -1.0, -1.0]), np.zeros(3)
        model = Ising.chain(3, J=-1.0, periodic=True)
    else:
        J = gaussian_couplings(rng, 10)
        n, bonds, h = 10, [(i, j, J[i, j]) for i in range(10) for j in range(i + 1, 10)], np.zeros(10)
        model = Ising.from_couplings(J)
    _, energies = brute_energies(n, bonds, h)
    ground = energies.min()
    degeneracy = int(np.sum(energies <= ground + 1e-9))
    beta = 1e6
    got = enumerated(model, [beta])[:, 0]
    assert np.all(np.isfinite(got))
    assert got[0] == pytest.approx(-beta * ground + math.log(degeneracy), abs=1e-6)
    assert got[1] == pytest.approx(ground, abs=1e-9)
    assert got[2] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("name", sorted(CASES))
def test_ground_energy_matches_brute_force(name, monkeypatch):
    monkeypatch.setattr(_enumerate, "_BLOCK_ELEMENTS", 4)
    model, n, bonds, h, constant = CASES[name]
    _, energies = brute_energies(n, bonds, h, constant)
    assert ground_energy(model) == pytest.approx(energies.min(), rel=1e-13, abs=1e-13)


def test_periodic_chain_transfer_matrix_closed_form():
    """N = 22 (many blocks): Z = λ₊^N + λ₋^N and ⟨M⟩ = (1/β) ∂ log Z/∂h (Baxter 1982, §2.2)."""
    n, J = 22, 0.9

    def log_z_closed(beta, h):
        root = math.sqrt(math.exp(2 * beta * J) * math.sinh(beta * h) ** 2 + math.exp(-2 * beta * J))
        plus = math.exp(beta * J) * math.cosh(beta * h) + root
        minus = math.exp(beta * J) * math.cosh(beta * h) - root
        return n * math.log(plus) + math.log1p((minus / plus) ** n)

    betas = np.array([0.2, 0.6, 1.3])
    for h in (0.0, 0.35):
        th = sm.thermo(Ising.chain(n, J=J, h=h, periodic=True), betas, method="enumerate")
        expected = [log_z_closed(b, h) for b in betas]
        np.testing.assert_allclose(th.log_z.value, expected, rtol=1e-13)
        magnetization = [richardson_derivative(lambda x: log_z_closed(b, x), h, 0.01) / b
                         for b in betas]
        np.testing.assert_allclose(th.magnetization.value, magnetization, rtol=1e-7, atol=1e-7)


def test_limit_of_30_sites():
    assert _enumerate._why_not(Ising.chain(30), {}) is None
    assert "N = 64 exceeds the enumeration limit of 30 sites" in _enumerate._why_not(Ising.square(8), {})
    with pytest.raises(ValueError, match="exceeds the enumeration limit of 30 sites"):
        sm.thermo(Ising.chain(MAX_ENUMERATION_SITES + 1), 1.0, method="enumerate")
    with pytest.raises(ValueError, match="exceeds the enumeration limit"):
        _moments(Ising.chain(31), np.array([1.0]))


def test_unknown_option_is_refused():
    with pytest.raises(ValueError, match="takes no options"):
        sm.thermo(Ising.chain(4), 1.0, method="enumerate", chunk=3)


def test_all_states_order_and_limits():
    states = all_states(3)
    assert states.dtype == np.int8 and states.shape == (8, 3)
    for k, row in enumerate(states):
        assert row.tolist() == [1 if (k >> i) & 1 else -1 for i in range(3)]
    assert len({tuple(r) for r in all_states(10).tolist()}) == 1024
    with pytest.raises(ValueError, match="limit of 24 sites"):
        all_states(25)
    with pytest.raises(ValueError, match=">= 1"):
        all_states(0)
    with pytest.raises(TypeError, match="int"):
        all_states(3.0)


@pytest.mark.slow
def test_thirty_sites_chain_closed_form():
    """N = 30 (2^30 states, h = 0 and h ≠ 0) against the transfer-matrix closed form."""
    n, J, beta = 30, 0.7, 0.8
    for h in (0.0, 0.2):
        root = math.sqrt(math.exp(2 * beta * J) * math.sinh(beta * h) ** 2 + math.exp(-2 * beta * J))
        plus = math.exp(beta * J) * math.cosh(beta * h) + root
        minus = math.exp(beta * J) * math.cosh(beta * h) - root
        expected = n * math.log(plus) + math.log1p((minus / plus) ** n)
        got = float(sm.log_z(Ising.chain(n, J=J, h=h, periodic=True), beta, method="enumerate"))
        assert got == pytest.approx(expected, rel=1e-12)
