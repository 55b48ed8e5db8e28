"""Tests of the exact transfer-matrix method ("transfer") for chains and square strips.

References are independent of the code under test: brute-force sums over all
2^N states (written here with plain NumPy), and closed forms of the 1D chain
(Baxter, *Exactly Solved Models*, ch. 2).
"""
import numpy as np
import pytest

from statmech.exact import _transfer
from statmech.models import Ising
from statmech.thermo import available_methods, thermo

BETAS = np.array([0.0, 0.15, 0.6, 1.7])
QUANTITIES = ("log_z", "energy", "specific_heat", "magnetization", "susceptibility_density")


# ------------------------------------------------------------------ reference
def brute_force(model, betas):
    """log Z, U, C, M, χ/N by summing over all 2^N states (log-sum-exp, central moments)."""
    n = model.n_sites
    bits = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1
    states = (2 * bits - 1).astype(np.float64)
    energies = model.energy(states)
    mags = states.sum(axis=1)
    out = {name: [] for name in QUANTITIES}
    for beta in betas:
        log_w = -beta * energies
        top = log_w.max()
        w = np.exp(log_w - top)
        p = w / w.sum()
        u = p @ energies
        m = p @ mags
        out["log_z"].append(top + np.log(w.sum()))
        out["energy"].append(u)
        out["specific_heat"].append(beta**2 * (p @ (energies - u) ** 2))
        out["magnetization"].append(m)
        out["susceptibility_density"].append(beta * (p @ (mags - m) ** 2) / n)
    return {name: np.array(values) for name, values in out.items()}


def assert_matches(result, reference, rtol=1e-10, atol=1e-10):
    for name in QUANTITIES:
        np.testing.assert_allclose(getattr(result, name).value, reference[name],
                                   rtol=rtol, atol=atol, err_msg=name)


def random_square(shape, periodic, kind, rng, with_field=True):
    Lx, Ly = shape
    if kind == "pm":
        Jh, Jv = rng.choice([-1.0, 1.0], size=(2, Ly, Lx))
    else:
        Jh, Jv = rng.normal(size=(2, Ly, Lx))
    if not periodic:
        Jh[:, -1] = 0.0
        Jv[-1, :] = 0.0
    h = rng.normal(size=Lx * Ly) if with_field else 0.0
    return Ising.square((Lx, Ly), J=(Jh, Jv), h=h, periodic=periodic)


# -------------------------------------------------------- chains vs brute force
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 12])
def test_random_chain_matches_brute_force(n, periodic):
    rng = np.random.default_rng(100 * n + periodic)
    n_bonds = n if periodic else n - 1
    model = Ising.chain(n, J=rng.normal(size=n_bonds), h=rng.normal(size=n), periodic=periodic)
    result = thermo(model, BETAS, method="transfer")
    assert_matches(result, brute_force(model, BETAS))
    assert result.abs_magnetization_density is None


def test_single_site_ring_has_constant_self_bond():
    # n = 1 periodic: one self-bond, H = −J − h s, Z = 2 e^{βJ} cosh(βh).
    J, h = 0.7, -0.4
    model = Ising.chain(1, J=J, h=h, periodic=True)
    result = thermo(model, BETAS, method="transfer")
    np.testing.assert_allclose(result.log_z.value, BETAS * J + np.log(2 * np.cosh(BETAS * h)),
                               rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(result.energy.value, -J - h * np.tanh(BETAS * h), atol=1e-14)


def test_two_site_ring_has_double_bond():
    # n = 2 periodic: bonds (0, 1) and (1, 0), H = −(J0 + J1) s0 s1 − h0 s0 − h1 s1.
    J0, J1, h0, h1 = 0.3, -1.1, 0.25, -0.6
    model = Ising.chain(2, J=[J0, J1], h=[h0, h1], periodic=True)
    s0, s1 = np.meshgrid([-1.0, 1.0], [-1.0, 1.0])
    energies = (-(J0 + J1) * s0 * s1 - h0 * s0 - h1 * s1).ravel()
    expected = [np.log(np.sum(np.exp(-b * energies))) for b in BETAS]
    result = thermo(model, BETAS, method="transfer")
    np.testing.assert_allclose(result.log_z.value, expected, rtol=1e-13)
    assert_matches(result, brute_force(model, BETAS))


# ------------------------------------------------------ square strips vs brute force
@pytest.mark.parametrize("kind", ["pm", "gauss"])
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("shape", [(2, 2), (3, 3), (3, 4), (4, 3), (2, 5), (5, 2), (1, 4), (3, 1)])
def test_random_square_matches_brute_force(shape, periodic, kind):
    rng = np.random.default_rng([*shape, int(periodic), int(kind == "pm")])
    model = random_square(shape, periodic, kind, rng)
    assert_matches(thermo(model, BETAS, method="transfer"), brute_force(model, BETAS))


def test_chunked_evaluation_matches_brute_force(monkeypatch):
    # Force many small chunks: chain blocks of 4 bonds, strips of 2 boundary columns per chunk.
    monkeypatch.setattr(_transfer, "_CHAIN_BLOCK", 4)
    monkeypatch.setattr(_transfer, "_STRIP_CHUNK", 16)
    rng = np.random.default_rng(7)
    chain = Ising.chain(11, J=rng.normal(size=11), h=rng.normal(size=11), periodic=True)
    assert_matches(thermo(chain, BETAS, method="transfer"), brute_force(chain, BETAS))
    strip = random_square((4, 3), True, "gauss", rng)
    assert_matches(thermo(strip, BETAS, method="transfer"), brute_force(strip, BETAS))


# ---------------------------------------------------------------- closed forms
def test_uniform_periodic_chain_million_sites_closed_form():
    # Z = λ₊^N + λ₋^N, λ± = e^{βJ} cosh βh ± sqrt(e^{2βJ} sinh² βh + e^{−2βJ}).
    n, J, h = 10**6, 1.0, 0.3
    model = Ising.chain(n, J=J, h=h, periodic=True)
    for beta in (0.05, 0.7, 3.0):
        root = np.sqrt(np.exp(2 * beta * J) * np.sinh(beta * h) ** 2 + np.exp(-2 * beta * J))
        plus = np.exp(beta * J) * np.cosh(beta * h) + root
        minus = np.exp(beta * J) * np.cosh(beta * h) - root
        expected = n * np.log(plus) + np.log1p(np.sign(minus) ** n * np.exp(n * np.log(abs(minus) / plus)))
        got = thermo(model, beta, method="transfer").log_z.value
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_million_site_ring_zero_field_moments():
    # h = 0, N = 10^6 (corrections ∝ tanh(βJ)^N vanish): U = −NJ tanh βJ,
    # Var H = N J² sech² βJ, M = 0, Var M = N e^{2βJ}.
    n, J, beta = 10**6, 1.0, 0.7
    result = thermo(Ising.chain(n, J=J, h=0.0, periodic=True), beta, method="transfer")
    assert result.energy.value == pytest.approx(-n * J * np.tanh(beta * J), rel=1e-12)
    assert result.specific_heat.value == pytest.approx(
        beta**2 * n * J**2 / np.cosh(beta * J) ** 2, rel=1e-12)
    assert result.magnetization.value == pytest.approx(0.0, abs=1e-6)
    assert result.susceptibility_density.value == pytest.approx(beta * np.exp(2 * beta * J),
                                                                rel=1e-12)


def test_uniform_periodic_chain_small_n_closed_form_includes_minus_eigenvalue():
    # For small N the λ₋^N term matters (and λ₋ < 0 for J < 0).
    n, J, h, beta = 7, -0.8, 0.2, 1.3
    root = np.sqrt(np.exp(2 * beta * J) * np.sinh(beta * h) ** 2 + np.exp(-2 * beta * J))
    plus = np.exp(beta * J) * np.cosh(beta * h) + root
    minus = np.exp(beta * J) * np.cosh(beta * h) - root
    model = Ising.chain(n, J=J, h=h, periodic=True)
    got = thermo(model, beta, method="transfer").log_z.value
    np.testing.assert_allclose(got, np.log(plus**n + minus**n), rtol=1e-13)


def open_chain_closed_form(couplings, betas):
    """Open chain at h = 0: bond variables τ_k = s_k s_{k+1} are independent.

    log Z = N ln 2 + Σ ln cosh βJ_k, U = −Σ J_k tanh βJ_k, Var H = Σ J_k² sech² βJ_k,
    ⟨s_i s_j⟩ = Π_{i<=k<j} tanh βJ_k so Var M = Σ_{ij} ⟨s_i s_j⟩.
    """
    n = len(couplings) + 1
    out = {name: [] for name in QUANTITIES}
    for beta in betas:
        t = np.tanh(beta * couplings)
        log_cosh = np.logaddexp(beta * couplings, -beta * couplings) - np.log(2)
        out["log_z"].append(n * np.log(2) + log_cosh.sum())
        out["energy"].append(-(couplings * t).sum())
        out["specific_heat"].append(beta**2 * (couplings**2 * (1 - t**2)).sum())
        out["magnetization"].append(0.0)
        pair_sum = sum(np.cumprod(t[i:]).sum() for i in range(n - 1))   # Σ_{i<j} ⟨s_i s_j⟩
        out["susceptibility_density"].append(beta * (n + 2 * pair_sum) / n)
    return {name: np.array(values) for name, values in out.items()}


def test_long_open_chain_zero_field_closed_form_many_betas():
    # 300 β values and 200 sites also exercise the β chunking.
    rng = np.random.default_rng(3)
    couplings = rng.normal(size=199)
    model = Ising.chain(200, J=couplings, h=0.0, periodic=False)
    betas = np.linspace(0.0, 4.0, 300)
    assert_matches(thermo(model, betas, method="transfer"), open_chain_closed_form(couplings, betas),
                   rtol=1e-10, atol=1e-9)


def test_widest_open_strip_of_decoupled_chains():
    # W = 16 open strips: with only in-column bonds the 17 columns are independent
    # open chains of 16 sites; with only bonds along the transfer, 16 rows of 17 sites.
    rng = np.random.default_rng(11)
    Lx, Ly = 17, 16
    beta = np.array([0.9])
    in_column = rng.normal(size=(Ly, Lx))
    in_column[-1, :] = 0.0
    model = Ising.square((Lx, Ly), J=(np.zeros((Ly, Lx)), in_column), periodic=False)
    expected = sum(open_chain_closed_form(in_column[:-1, x], beta)["log_z"] for x in range(Lx))
    np.testing.assert_allclose(thermo(model, beta, method="transfer").log_z.value, expected,
                               rtol=1e-12)
    along = rng.normal(size=(Ly, Lx))
    along[:, -1] = 0.0
    model = Ising.square((Lx, Ly), J=(along, np.zeros((Ly, Lx))), periodic=False)
    expected = {name: sum(open_chain_closed_form(along[y, :-1], beta)[name] for y in range(Ly))
                for name in ("log_z", "energy", "specific_heat")}
    result = thermo(model, beta, method="transfer")
    for name, values in expected.items():
        np.testing.assert_allclose(getattr(result, name).value, values, rtol=1e-11, err_msg=name)


@pytest.mark.parametrize("width", [4, pytest.param(_transfer.MAX_PERIODIC_STRIP_WIDTH,
                                                    marks=pytest.mark.slow)])
def test_periodic_strip_of_decoupled_rings(width):
    # Only bonds along the transfer direction: W independent rings of length L,
    # Z_ring = Π 2 cosh βJ_k + Π 2 sinh βJ_k (a trace of 2×2 matrices, h = 0).
    rng = np.random.default_rng(width)
    Lx, Ly = width + 1, width
    along = rng.normal(size=(Ly, Lx))
    model = Ising.square((Lx, Ly), J=(along, np.zeros((Ly, Lx))), periodic=True)
    beta = 0.8
    expected = 0.0
    for y in range(Ly):
        c, s = 2 * np.cosh(beta * along[y]), 2 * np.sinh(beta * along[y])
        expected += np.log(np.prod(c) + np.prod(s))
    got = thermo(model, beta, method="transfer").log_z.value
    np.testing.assert_allclose(got, expected, rtol=1e-12)


# ------------------------------------------------------------ β = 0 and β → ∞
@pytest.mark.parametrize("model", [
    Ising.chain(9, J=1.3, h=0.0, periodic=True),
    Ising.square((3, 5), J=-0.7, h=0.0, periodic=True),
    Ising.square((6, 4), J=1.0, h=0.0, periodic=False),
], ids=["chain", "periodic-square", "open-square"])
def test_infinite_temperature(model):
    result = thermo(model, 0.0, method="transfer")
    n = model.n_sites
    assert result.log_z.value == pytest.approx(n * np.log(2), rel=1e-14)
    assert result.energy.value == pytest.approx(0.0, abs=1e-13)
    assert result.magnetization.value == pytest.approx(0.0, abs=1e-13)
    assert result.specific_heat.value == 0.0


def test_infinite_temperature_with_field_has_independent_spins():
    # At β = 0 every spin is uniform whatever h: ⟨M⟩ = 0, Var M = N, ⟨H⟩ = 0.
    rng = np.random.default_rng(5)
    model = Ising.chain(30, J=rng.normal(size=30), h=rng.normal(size=30), periodic=True)
    moments = _transfer._moments(model, np.array([0.0]))
    assert moments.magnetization[0] == pytest.approx(0.0, abs=1e-12)
    assert moments.magnetization_variance[0] == pytest.approx(30.0, rel=1e-13)
    assert moments.energy[0] == pytest.approx(0.0, abs=1e-12)
    assert moments.energy_variance[0] == pytest.approx(np.sum(model.couplings**2 + model.field**2),
                                                      rel=1e-12)


def test_ground_state_limit_ferromagnetic_chain():
    # β = 1e6, J > 0, h = 0: two ground states with E = −N J.
    n, J, beta = 50, 1.0, 1e6
    result = thermo(Ising.chain(n, J=J, h=0.0, periodic=True), beta, method="transfer")
    assert np.isfinite(result.log_z.value)
    assert result.log_z.value - beta * n * J == pytest.approx(np.log(2), abs=1e-6)
    assert result.energy.value == pytest.approx(-n * J, rel=1e-14)
    assert result.specific_heat.value == pytest.approx(0.0, abs=1e-12)
    assert result.magnetization.value == pytest.approx(0.0, abs=1e-9)
    # Var M = N² (M = ±N equally likely).
    assert result.susceptibility_density.value == pytest.approx(beta * n, rel=1e-12)


def test_ground_state_limit_ferromagnetic_open_square():
    # 5×4 open square, J = 1, h = 0: E_ground = −(number of bonds), degeneracy 2.
    model = Ising.square((5, 4), J=1.0, h=0.0, periodic=False)
    beta = 1e6
    result = thermo(model, beta, method="transfer")
    assert result.log_z.value - beta * model.n_edges == pytest.approx(np.log(2), abs=1e-6)
    assert result.energy.value == pytest.approx(-model.n_edges, rel=1e-14)
    assert result.specific_heat.value == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("make", [
    lambda rng: Ising.chain(10, J=rng.normal(size=10), h=rng.normal(size=10), periodic=True),
    lambda rng: random_square((3, 4), True, "gauss", rng),
    lambda rng: random_square((4, 3), False, "gauss", rng),
], ids=["chain", "periodic-square", "open-square"])
def test_ground_state_limit_random_models(make):
    # Gaussian couplings and fields: a unique ground state, log Z ≈ −β E_min.
    model = make(np.random.default_rng(21))
    n = model.n_sites
    states = 2.0 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1) - 1.0
    energies = model.energy(states)
    ground = np.argmin(energies)
    beta = 1e6
    result = thermo(model, beta, method="transfer")
    assert result.log_z.value == pytest.approx(-beta * energies[ground], rel=1e-14, abs=1e-6)
    assert result.energy.value == pytest.approx(energies[ground], rel=1e-12)
    assert result.magnetization.value == pytest.approx(states[ground].sum(), rel=1e-12)
    assert result.specific_heat.value == pytest.approx(0.0, abs=1e-9)
    assert result.susceptibility_density.value == pytest.approx(0.0, abs=1e-9)


# ------------------------------------------------------------------ symmetries
@pytest.mark.parametrize("make", [
    lambda rng, sign: Ising.chain(9, J=rng.normal(size=8), h=sign * rng.normal(size=9),
                                  periodic=False),
    lambda rng, sign: Ising.square((5, 3), J=(rng.normal(size=(3, 5)), rng.normal(size=(3, 5))),
                                   h=sign * rng.normal(size=15), periodic=True),
], ids=["open-chain", "periodic-strip"])
def test_z2_symmetry(make):
    plus = thermo(make(np.random.default_rng(9), 1.0), BETAS, method="transfer")
    minus = thermo(make(np.random.default_rng(9), -1.0), BETAS, method="transfer")
    for name in ("log_z", "energy", "specific_heat", "susceptibility_density"):
        np.testing.assert_allclose(getattr(minus, name).value, getattr(plus, name).value,
                                   rtol=1e-12, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(minus.magnetization.value, -plus.magnetization.value,
                               rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- applicability
def test_registered_and_applies_to_chains_and_strips():
    assert "transfer" in available_methods(Ising.chain(5))
    assert "transfer" in available_methods(Ising.square((16, 40), periodic=False))
    assert "transfer" in available_methods(Ising.square((10, 30), periodic=True))


def test_periodic_strip_too_wide_is_refused():
    width = _transfer.MAX_PERIODIC_STRIP_WIDTH + 2
    model = Ising.square((width, width + 3), periodic=True)
    with pytest.raises(ValueError, match=rf"periodic strips need width <= "
                                         rf"{_transfer.MAX_PERIODIC_STRIP_WIDTH}; this model has "
                                         rf"min\(Lx, Ly\) = {width}.*periodic=False.*kaufman"):
        thermo(model, 0.4, method="transfer")


def test_open_strip_too_wide_is_refused():
    model = Ising.square((17, 20), periodic=False)
    with pytest.raises(ValueError, match=r"open strips need width <= 16; this model has "
                                         r"min\(Lx, Ly\) = 17"):
        thermo(model, 0.4, method="transfer")


@pytest.mark.parametrize("model", [Ising.cubic(2), Ising.from_couplings(np.ones((3, 3)) - np.eye(3))],
                         ids=["cubic", "graph"])
def test_other_lattices_are_refused(model):
    with pytest.raises(ValueError, match="handles chains and square-lattice strips"):
        thermo(model, 0.4, method="transfer")


def test_unknown_option_is_refused():
    with pytest.raises(ValueError, match="takes no options"):
        thermo(Ising.chain(4), 0.4, method="transfer", width=3)
