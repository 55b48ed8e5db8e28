"""The Binder cumulants of L = 8, 16, 32 cross within 1% of the exact T_c (slow)."""
import numpy as np
import pytest

import statmech as sm
from statmech.studies import binder_crossings
from statmech.studies._binder import _crossing


def test_crossing_interpolation_finds_the_sign_change():
    temperatures = np.array([1.0, 2.0, 3.0])
    assert _crossing(temperatures, np.array([1.0, 0.5, 0.0]), np.array([0.0, 0.5, 1.0])) == 2.0
    assert _crossing(temperatures, np.array([1.0, 0.6, 0.0]), np.array([0.0, 0.4, 1.0])) == pytest.approx(2.1)
    assert np.isnan(_crossing(temperatures, np.ones(3), np.zeros(3)))


def test_binder_study_refuses_bad_grids():
    with pytest.raises(ValueError, match="increasing"):
        binder_crossings((4, 8), [2.3, 2.2], sm.Ising.square)


@pytest.mark.slow
def test_binder_cumulants_cross_within_one_percent_of_exact_tc():
    study = binder_crossings((8, 16, 32), np.linspace(2.20, 2.34, 8), sm.Ising.square,
                             method="wolff", n_sweeps=4000, seed=0)
    for pair, temperature in study.crossings.items():
        assert abs(temperature - sm.CRITICAL_TEMPERATURE) < 0.01 * sm.CRITICAL_TEMPERATURE, (pair, temperature)
