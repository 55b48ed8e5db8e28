"""method="pfaffian" refuses, before any work, a lattice and β grid whose estimated run time is over
the budget: seconds per β ≈ N·(4.5e-4 + 2.25e-6·min(Lx, Ly)), ×3.3 on a torus, ×0.7 for log Z alone."""
import numpy as np
import pytest

import statmech as sm
from statmech._registry import get_method
from statmech.exact import _pfaffian


@pytest.fixture
def ten_minutes(monkeypatch):
    monkeypatch.setenv("STATMECH_TIME_LIMIT", "600")


def _no_elimination(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the Pfaffian elimination was set up")

    monkeypatch.setattr(_pfaffian, "_Certifier", forbidden)


def test_a_2048_torus_at_50_betas_is_refused_with_the_estimate(ten_minutes, monkeypatch):
    _no_elimination(monkeypatch)
    betas = np.linspace(0.1, 0.6, 50)
    # 2048^2 * (4.5e-4 + 2.25e-6 * 2048) * 3.3 * 50 s = 3.50e6 s = 40.5 days
    with pytest.raises(ValueError, match=r"pfaffian.*2048x2048.*50 beta\(s\) would take about 40.5 days, "
                                         r"more than the budget of 10 minutes; pass fewer betas"):
        sm.thermo(sm.Ising.square(2048), betas, method="pfaffian")


def test_auto_on_a_2048_spin_glass_reaches_the_pfaffian_and_is_refused(ten_minutes, monkeypatch):
    """auto ranks the Pfaffian by its cost against enumeration and the tensor network (neither overflows
    on 2^(4 million)), then refuses it by its time estimate."""
    _no_elimination(monkeypatch)
    rng = np.random.default_rng(0)
    glass = sm.Ising.square(2048, J=tuple(rng.choice([-1.0, 1.0], size=(2048, 2048)) for _ in range(2)))
    with pytest.raises(ValueError, match=r"pfaffian.*1 beta\(s\) would take about 13.6 hours"):  # 70010 s x 0.7, log Z alone
        sm.log_z(glass, 0.4)


def test_the_cost_is_registered_and_log_z_alone_is_cheaper():
    open_lattice = sm.Ising.square(64, periodic=False)
    cost = get_method("pfaffian", open_lattice).cost
    assert cost(open_lattice, {}) == pytest.approx(64**2 * (4.5e-4 + 2.25e-6 * 64), rel=1e-12)
    assert cost(sm.Ising.square(64), {}) == pytest.approx(3.3 * cost(open_lattice, {}), rel=1e-12)
    assert _pfaffian._seconds_per_beta(open_lattice, log_z_only=True) == pytest.approx(
        0.7 * cost(open_lattice, {}), rel=1e-12)


def test_a_small_lattice_still_runs(ten_minutes):
    """Negative control: an 8 x 8 torus at 3 betas (about 0.2 s) is computed and matches Kaufman."""
    betas = np.array([0.2, 0.44, 0.7])
    pfaffian = sm.thermo(sm.Ising.square(8), betas, method="pfaffian")
    kaufman = sm.thermo(sm.Ising.square(8), betas, method="kaufman")
    np.testing.assert_allclose(pfaffian.log_z.value, kaufman.log_z.value, rtol=1e-10)
