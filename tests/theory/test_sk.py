"""SK replica theory: RS solution, AT line, Parisi k-RSB and the T = 0 ground state.

References used as oracles: the paramagnet φ = ln 2 + β²/4 (β ≤ 1, h = 0); the
RS equations evaluated here with SciPy's adaptive quadrature; the RS zero-
temperature limits e = −√(2/π), s = −1/(2π) (Sherrington & Kirkpatrick 1975);
the AT-line asymptotics h² ≈ (4/3)(1 − T)³ (de Almeida & Thouless 1978); the
1RSB ground state −0.7652 (Parisi 1979) and e₀ = −0.7631667 (Crisanti &
Rizzo, PRE 65, 046137 (2002)); Guerra's bound (f_k ≤ f, e_k ≤ e₀).
"""
import math

import numpy as np
import pytest
from scipy import integrate

import statmech as sm
from statmech.theory import _sk

LN2 = math.log(2.0)
E0_LITERATURE = -0.7631667  # Crisanti & Rizzo 2002 (−0.763166726…)


def gauss_mean(func):
    """E_z func(z), z ~ N(0, 1), with adaptive quadrature (independent of the code under test)."""
    value, _ = integrate.quad(lambda z: func(z) * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi),
                              -12, 12, points=[0.0], limit=400, epsabs=1e-14, epsrel=1e-13)
    return value


def richardson(f, x, h):
    d = lambda step: (f(x + step) - f(x - step)) / (2 * step)
    return (4 * d(h / 2) - d(h)) / 3


# ------------------------------------------------------------------------ RS
@pytest.mark.parametrize("beta", [0.0, 0.3, 0.8, 1.0])
def test_rs_is_the_paramagnet_above_tc(beta):
    th = sm.theory.sk_replica_symmetric(beta)
    assert th.meta["q"] == 0.0
    assert float(th.free_entropy_density) == pytest.approx(LN2 + beta**2 / 4, abs=1e-15)
    assert float(th.energy_density) == pytest.approx(-beta / 2, abs=1e-15)
    assert float(th.entropy_density) == pytest.approx(LN2 - beta**2 / 4, abs=1e-15)
    assert float(th.specific_heat_density) == pytest.approx(beta**2 / 2, abs=1e-15)
    assert float(th.susceptibility_density) == pytest.approx(beta, abs=1e-15)


@pytest.mark.parametrize("beta,h", [(1.5, 0.0), (2.0, 0.0), (4.0, 0.0), (0.7, 0.5), (2.0, 0.8)])
def test_rs_solves_the_sk_equations(beta, h):
    th = sm.theory.sk_replica_symmetric(beta, h=h)
    q = th.meta["q"]
    field = lambda z: beta * (math.sqrt(q) * z + h)
    assert q == pytest.approx(gauss_mean(lambda z: math.tanh(field(z)) ** 2), abs=1e-12)
    if h == 0.0:
        assert q > 0.0
    log_cosh = lambda x: abs(x) + math.log1p(math.exp(-2 * abs(x))) - LN2
    phi = LN2 + beta**2 * (1 - q) ** 2 / 4 + gauss_mean(lambda z: log_cosh(field(z)))
    assert float(th.free_entropy_density) == pytest.approx(phi, abs=1e-12)
    assert float(th.free_energy_density) == pytest.approx(-phi / beta, abs=1e-12)
    magnetization = gauss_mean(lambda z: math.tanh(field(z)))
    assert float(th.magnetization_density) == pytest.approx(magnetization, abs=1e-12)


@pytest.mark.parametrize("beta,h", [(1.3, 0.0), (2.5, 0.0), (1.5, 0.3), (0.8, 0.6), (6.0, 1.0)])
def test_rs_derivatives_are_consistent(beta, h):
    """u = −∂φ/∂β, c = −β² ∂u/∂β, χ = ∂m/∂h (the code uses implicit differentiation)."""
    rs = lambda b, hh=h: sm.theory.sk_replica_symmetric(b, h=hh)
    th = rs(beta)
    u = -richardson(lambda b: float(rs(b).free_entropy_density), beta, 1e-3)
    c = -beta**2 * richardson(lambda b: float(rs(b).energy_density), beta, 1e-3)
    chi = richardson(lambda hh: float(rs(beta, hh).magnetization_density), h, 1e-3)
    assert float(th.energy_density) == pytest.approx(u, abs=1e-9)
    assert float(th.specific_heat_density) == pytest.approx(c, abs=1e-8)
    assert float(th.susceptibility_density) == pytest.approx(chi, abs=1e-8)


def test_rs_entropy_turns_negative_at_low_temperature():
    """The famous failure of the RS solution: s_RS(T → 0) = −1/(2π), e_RS(0) = −√(2/π)."""
    th = sm.theory.sk_replica_symmetric(np.array([2.0, 5.0, 10.0, 1e6]))
    s = th.entropy_density.value
    assert s[0] > 0.0 and s[1] < 0.0  # s_RS = 0 at T ≈ 0.2716
    assert np.all(np.diff(s) < 0)
    assert s[-1] == pytest.approx(-1 / (2 * math.pi), abs=2e-6)  # s ≈ s0 + 0.53 T
    assert th.energy_density.value[-1] == pytest.approx(-math.sqrt(2 / math.pi), abs=1e-11)
    assert th.free_energy_density.value[-1] == pytest.approx(-math.sqrt(2 / math.pi), abs=1e-6)
    assert np.all(np.isfinite(th.specific_heat_density.value))
    assert 0 <= th.specific_heat_density.value[-1] < 1e-5
    assert 1 - th.meta["q"][-1] == pytest.approx(math.sqrt(2 / math.pi) / 1e6, rel=1e-5)


def test_rs_scalar_and_grid_agree():
    grid = sm.theory.sk_replica_symmetric([0.5, 2.0])
    scalar = sm.theory.sk_replica_symmetric(2.0)
    assert float(scalar.free_entropy_density) == grid.free_entropy_density.value[1]
    assert scalar.n_sites is None and scalar.method == "sk-rs"


# ------------------------------------------------------------------- AT line
def test_at_line_asymptotics_near_tc():
    for tau in [1e-3, 1e-2]:
        h = sm.theory.at_line(1 - tau)
        assert h**2 / (4 / 3 * tau**3) == pytest.approx(1.0, abs=2 * tau)
    fields = sm.theory.at_line(np.array([0.999, 0.99, 0.9, 0.5, 0.2]))
    assert np.all(np.diff(fields) > 0)  # h_AT grows as T decreases, → 0 as T → 1


@pytest.mark.parametrize("temperature", [0.3, 0.7, 0.95])
def test_at_line_is_the_rs_stability_boundary(temperature):
    beta = 1 / temperature
    h = sm.theory.at_line(temperature)
    q = sm.theory.sk_replica_symmetric(beta, h=h).meta["q"]
    sech4 = gauss_mean(lambda z: 1 / math.cosh(beta * (math.sqrt(q) * z + h)) ** 4)
    assert beta**2 * sech4 == pytest.approx(1.0, abs=1e-10)
    assert sm.theory.sk_replica_symmetric(beta, h=0.9 * h).meta["at_eigenvalue"] < 0  # unstable
    assert sm.theory.sk_replica_symmetric(beta, h=1.1 * h).meta["at_eigenvalue"] > 0  # stable
    assert sm.theory.at_line_temperature(h) == pytest.approx(temperature, rel=1e-10)
    assert sm.theory.at_line_temperature(-h) == pytest.approx(temperature, rel=1e-10)


def test_at_line_bad_input():
    with pytest.raises(ValueError, match="0 < T < 1"):
        sm.theory.at_line(1.2)
    with pytest.raises(ValueError, match="0 < T < 1"):
        sm.theory.at_line([0.5, 0.0])
    with pytest.raises(ValueError, match="nonzero"):
        sm.theory.at_line_temperature(0.0)


def test_rs_bad_input():
    with pytest.raises(ValueError, match=">= 0"):
        sm.theory.sk_replica_symmetric(-1.0)
    with pytest.raises(TypeError, match="h must be a real number"):
        sm.theory.sk_replica_symmetric(1.0, h="0.1")
    with pytest.raises(ValueError, match="finite"):
        sm.theory.sk_replica_symmetric(1.0, h=float("nan"))


# -------------------------------------------------------------- the functional
def test_functional_at_one_level_is_rs():
    for beta, h in [(2.0, 0.0), (1.5, 0.3), (4.0, 0.0)]:
        rs = sm.theory.sk_replica_symmetric(beta, h=h)
        functional = _sk._ParisiFunctional(beta, h)
        value, d_q, _, d_field = functional.value_and_grad(np.array([rs.meta["q"]]), np.zeros(0))
        assert value == pytest.approx(float(rs.free_entropy_density), abs=1e-12)
        assert abs(d_q[0]) < 1e-10  # the RS q is stationary
        assert d_field == pytest.approx(float(rs.magnetization_density), abs=1e-9)


@pytest.mark.parametrize("beta,h", [(2.0, 0.0), (2.0, 0.4), (None, 0.0), (None, 0.3)])
def test_functional_gradient_matches_finite_differences(beta, h):
    functional = _sk._ParisiFunctional(beta, h)
    if beta is None:  # T = 0: q_K = 1 fixed, m holds μ
        q, m = np.array([0.05, 0.5, 0.9, 1.0]), np.array([0.5, 1.5, 3.0])
    else:
        q, m = np.array([0.05, 0.3, 0.5, 0.6]), np.array([0.2, 0.35, 0.5])
    _, d_q, d_m, _ = functional.value_and_grad(q, m)
    step = 1e-5
    for i in range(len(q) - (beta is None)):
        e = np.zeros(len(q)); e[i] = step
        fd = (functional.value_and_grad(q + e, m)[0] - functional.value_and_grad(q - e, m)[0]) / (2 * step)
        assert d_q[i] == pytest.approx(fd, abs=1e-8)
    for i in range(len(m)):
        e = np.zeros(len(m)); e[i] = step
        fd = (functional.value_and_grad(q, m + e)[0] - functional.value_and_grad(q, m - e)[0]) / (2 * step)
        assert d_m[i] == pytest.approx(fd, abs=1e-8)


def test_functional_is_converged_in_its_numerical_grid():
    q = np.array([0.04, 0.12, 0.2, 0.28, 0.36, 0.44, 0.51, 0.58, 0.637])
    m = np.array([0.054, 0.108, 0.16, 0.211, 0.264, 0.318, 0.377, 0.442])
    coarse = _sk._ParisiFunctional(2.0, 0.0).value_and_grad(q, m)[0]
    fine = _sk._ParisiFunctional(2.0, 0.0, dxi=0.02).value_and_grad(q, m)[0]
    assert coarse == pytest.approx(fine, abs=1e-10)


# --------------------------------------------------------------------- Parisi
@pytest.fixture(scope="module")
def parisi_t05():
    return sm.theory.parisi(2.0, k=4)


@pytest.mark.parametrize("beta", [0.4, 0.9])
def test_parisi_is_the_paramagnet_above_tc(beta):
    p = sm.theory.parisi(beta)
    assert p.free_energy_density == pytest.approx(-(LN2 + beta**2 / 4) / beta, abs=1e-12)
    assert p.q_max < 1e-6  # q ≡ 0 up to the optimiser's tolerance (P − φ = O(q²))
    assert p.energy_density == pytest.approx(-beta / 2, abs=1e-9)


def test_parisi_at_infinite_temperature():
    p = sm.theory.parisi(0.0, h=0.3)
    assert p.free_entropy_density == pytest.approx(LN2, abs=1e-15)
    assert p.free_energy_density == -math.inf


def test_parisi_k_steps_increase_f_and_converge(parisi_t05):
    """Guerra: every k-step value is a lower bound on f; f_RS ≤ f_1 ≤ f_2 ≤ … with shrinking steps."""
    p = parisi_t05
    ks, values = zip(*p.history)
    assert ks == (0, 1, 2, 3, 4)
    rs = sm.theory.sk_replica_symmetric(2.0)
    assert values[0] == pytest.approx(float(rs.free_energy_density), abs=1e-12)
    steps = np.diff(values)
    assert np.all(steps > 0)
    assert np.all(steps[1:] < 0.5 * steps[:-1])
    assert p.free_energy_density == values[-1]
    # the computed k^−4 convergence: f(T = 0.5) = −0.79117757(5) from k = 24
    assert -0.7911776 - p.truncation_error <= p.free_energy_density <= -0.7911775
    assert p.extrapolated_free_energy_density == pytest.approx(-0.79117758, abs=2e-7)


def test_parisi_order_parameter(parisi_t05):
    p = parisi_t05
    values, breaks = p.q.values, p.q.breakpoints
    assert p.k == 4 and len(values) == 5 and len(breaks) == 4
    assert np.all(np.diff(values) > 0) and np.all(np.diff(breaks) > 0)
    assert 0 < p.q_min < 0.1 and p.q_max == values[-1]
    rs_q = sm.theory.sk_replica_symmetric(2.0).meta["q"]
    assert p.q_max > rs_q  # the plateau lies above the RS overlap
    assert p.q(0.0) == values[0] and p.q(1.0) == values[-1]
    assert np.array_equal(p.q(breaks), values[:-1])


def test_parisi_energy_and_entropy(parisi_t05):
    """u = −dφ_k/dβ (envelope) agrees with the Parisi identity u = −(β/2)(1 − ∫ q(x)² dx)."""
    p = parisi_t05
    assert p.energy_density == pytest.approx(-(2.0 / 2) * (1 - p.q.integral_of_square()), abs=1e-8)
    assert p.entropy_density == pytest.approx(p.free_entropy_density + 2.0 * p.energy_density, abs=1e-14)
    assert p.entropy_density > 0  # unlike RS at this temperature
    th = p.thermo()
    assert th.method == "parisi" and th.n_sites is None
    assert float(th.free_energy_density) == p.free_energy_density
    assert float(th.energy_density) == p.energy_density
    assert th.meta["k"] == 4


def test_parisi_energy_is_minus_the_beta_derivative():
    phi = lambda b: sm.theory.parisi(b, k=1).free_entropy_density
    u = -richardson(phi, 1.6, 2e-3)
    assert sm.theory.parisi(1.6, k=1).energy_density == pytest.approx(u, abs=1e-7)


def test_parisi_in_a_field_is_rs_above_the_at_line():
    beta = 1.5
    h_at = sm.theory.at_line(1 / beta)
    above = sm.theory.parisi(beta, h=1.5 * h_at)
    rs = sm.theory.sk_replica_symmetric(beta, h=1.5 * h_at)
    assert above.free_energy_density == pytest.approx(float(rs.free_energy_density), abs=1e-10)
    assert above.magnetization_density == pytest.approx(float(rs.magnetization_density), abs=1e-8)
    below = sm.theory.parisi(beta, h=0.5 * h_at, k=2)
    rs_below = sm.theory.sk_replica_symmetric(beta, h=0.5 * h_at)
    assert below.free_energy_density > float(rs_below.free_energy_density) + 1e-7
    assert below.q_min > 0.1  # q(0) > 0 in a field
    step = 1e-4
    m = (sm.theory.parisi(beta, h=0.5 * h_at + step, k=1).free_entropy_density
         - sm.theory.parisi(beta, h=0.5 * h_at - step, k=1).free_entropy_density) / (2 * step)
    assert sm.theory.parisi(beta, h=0.5 * h_at, k=1).magnetization_density == pytest.approx(m / beta,
                                                                                          abs=1e-7)


def test_parisi_bad_input():
    with pytest.raises(ValueError, match="one beta"):
        sm.theory.parisi([1.0, 2.0])
    with pytest.raises(ValueError, match="parisi_ground_state"):
        sm.theory.parisi(50.0)
    with pytest.raises(ValueError, match="tol must be > 0"):
        sm.theory.parisi(2.0, tol=0.0)
    with pytest.raises(ValueError, match="k must be >= 0"):
        sm.theory.parisi(2.0, k=-1)
    with pytest.raises(TypeError, match="k must be an int"):
        sm.theory.parisi(2.0, k=2.0)
    with pytest.raises(TypeError, match="h must be a real number"):
        sm.theory.parisi(2.0, h=None)


# --------------------------------------------------------------- ground state
@pytest.fixture(scope="module")
def ground_state_k3():
    return sm.theory.parisi_ground_state(k=3)


def test_ground_state_energy(ground_state_k3):
    g = ground_state_k3
    ks, energies = zip(*g.history)
    assert ks == (0, 1, 2, 3)
    assert energies[0] == pytest.approx(-math.sqrt(2 / math.pi), abs=1e-15)  # RS
    assert energies[1] == pytest.approx(-0.7652, abs=1e-4)  # 1RSB (Parisi 1979)
    assert np.all(np.diff(energies) > 0)
    # every k-step energy is a lower bound on e₀; k = 3 is within 2e−4 of it
    assert energies[-1] < E0_LITERATURE
    assert abs(g.energy_density - E0_LITERATURE) < 2e-4
    assert abs(g.energy_density + 0.7632) < 2e-3
    assert float(g) == g.energy_density
    assert g.q.values[-1] == 1.0 and np.all(np.diff(g.q.breakpoints) > 0)


def test_sk_ground_state_energy_default():
    e0 = sm.theory.sk_ground_state_energy()
    assert isinstance(e0, float)
    assert abs(e0 + 0.7632) < 2e-3
    assert E0_LITERATURE - 1e-4 < e0 < E0_LITERATURE


def test_ground_state_is_the_low_temperature_limit(ground_state_k3):
    """The T = 0 functional is the β → ∞ limit of P_β/β with m = μ/β and 1 − q_K = O(1/β).

    Evaluated at the k = 3 ground-state order parameter, −P_β/β − e_3 → 0 like 1/β.
    """
    g = ground_state_k3
    q, mu = g.q.values, g.q.breakpoints
    gaps = []
    for beta in [40.0, 80.0, 160.0]:
        q_beta = np.concatenate([q[:-1], [1 - 0.1 / beta]])
        value = _sk._ParisiFunctional(beta, 0.0).value_and_grad(q_beta, mu / beta)[0]
        gaps.append(abs(-value / beta - g.energy_density))
    assert gaps[0] < 3e-5
    assert gaps[1] < 0.75 * gaps[0] and gaps[2] < 0.6 * gaps[1]
    assert gaps[2] < 1e-5


def test_ground_state_bad_input():
    with pytest.raises(ValueError, match="starts at k = 1"):
        sm.theory.parisi_ground_state(k=0)
    with pytest.raises(ValueError, match="k_max must be >= 1"):
        sm.theory.parisi_ground_state(k_max=0)


# -------------------------------------------------------------------- figures
def test_figures(parisi_t05, ground_state_k3):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = sm.theory.plot_sk_phase_diagram(temperatures=np.linspace(0.3, 0.95, 5))
    assert len(ax.lines) >= 1
    ax2 = sm.theory.plot_parisi_q(parisi_t05)
    ax3 = sm.theory.plot_parisi_q(ground_state_k3)
    assert ax2.get_xlabel() == "$x$" and "T = 0" in ax3.get_title()
    with pytest.raises(TypeError, match="ParisiResult"):
        sm.theory.plot_parisi_q(sm.theory.sk_replica_symmetric(2.0))
    plt.close("all")


# ----------------------------------------------------------------------- slow
@pytest.mark.slow
def test_parisi_high_precision_t05():
    p = sm.theory.parisi(2.0, tol=1e-8)
    assert p.k >= 8
    assert p.truncation_error <= 1e-8
    assert p.free_energy_density == pytest.approx(-0.79117757, abs=5e-8)
    assert p.extrapolated_free_energy_density == pytest.approx(-0.791177575, abs=1e-8)


@pytest.mark.slow
def test_ground_state_high_precision():
    g = sm.theory.parisi_ground_state(k=10)
    energies = [e for _, e in g.history]
    assert np.all(np.diff(energies) > 0)
    assert E0_LITERATURE - 5e-6 < g.energy_density < E0_LITERATURE
    assert g.extrapolated_energy_density == pytest.approx(E0_LITERATURE, abs=3e-6)
