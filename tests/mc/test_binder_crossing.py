"""The Binder cumulants of L = 8, 16, 32 cross within 1% of the exact T_c (slow)."""
import types

import numpy as np
import pytest

import statmech as sm
from statmech.studies import binder_crossings
from statmech.studies._binder import _crossing


def test_crossing_interpolation_finds_the_sign_change():
    temperatures = np.linspace(1.0, 3.0, 9)
    assert _crossing(temperatures, 3.0 - temperatures, temperatures - 1.0) == pytest.approx(2.0)
    # Two curves crossing at T = 2.3 exactly: a cubic and a line.
    first = (temperatures - 2.3) ** 3 + 0.5 * (temperatures - 2.3) + 0.5
    second = 0.2 * (temperatures - 2.3) + 0.5
    assert _crossing(temperatures, first, second) == pytest.approx(2.3, abs=1e-9)
    assert np.isnan(_crossing(temperatures, np.ones(9), np.zeros(9)))


def test_binder_study_refuses_bad_grids():
    with pytest.raises(ValueError, match="increasing"):
        binder_crossings((4, 8), [2.3, 2.2], sm.Ising.square)


def test_binder_study_burns_in_as_long_as_it_records(monkeypatch):
    """Wolff steps are single clusters: the study's default burn-in is n_sweeps, not thermo's n_sweeps // 5
    (the shorter one biased U4 at the 3D critical point; see docs/guides/estimators.md)."""
    seen = []

    def fake_thermo(model, betas, **options):
        seen.append(options)
        u4 = sm.Estimate(np.linspace(0.6, 0.4, len(betas)), np.full(len(betas), 0.01), "wolff", {})
        return types.SimpleNamespace(binder_cumulant=u4)

    monkeypatch.setattr("statmech.studies._binder.thermo", fake_thermo)
    study = binder_crossings((2, 3), np.array([2.0, 2.5, 3.0]), sm.Ising.square, n_sweeps=700)
    assert [options["burn_in"] for options in seen] == [700, 700]
    assert study.binder.shape == (2, 3)
    binder_crossings((2,), np.array([2.0, 2.5]), sm.Ising.square, n_sweeps=700, burn_in=50)
    assert seen[-1]["burn_in"] == 50


@pytest.mark.slow
def test_binder_cumulants_cross_within_one_percent_of_exact_tc():
    study = binder_crossings((8, 16, 32), np.linspace(2.20, 2.34, 8), sm.Ising.square,
                             method="wolff", n_sweeps=8000, seed=0)
    for pair, temperature in study.crossings.items():
        assert abs(temperature - sm.CRITICAL_TEMPERATURE) < 0.01 * sm.CRITICAL_TEMPERATURE, (pair, temperature)
