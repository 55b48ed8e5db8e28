"""The Binder cumulants of L = 8, 16, 32 cross within 1% of the exact T_c (slow)."""
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


@pytest.mark.slow
def test_binder_cumulants_cross_within_one_percent_of_exact_tc():
    study = binder_crossings((8, 16, 32), np.linspace(2.20, 2.34, 8), sm.Ising.square,
                             method="wolff", n_sweeps=8000, seed=0)
    for pair, temperature in study.crossings.items():
        assert abs(temperature - sm.CRITICAL_TEMPERATURE) < 0.01 * sm.CRITICAL_TEMPERATURE, (pair, temperature)
