"""Bad input found by an audit: each is a clear error before any work, never a silent cast."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import statmech as sm


@pytest.mark.parametrize("build", [
    lambda: sm.thermo(sm.Ising.square(4), np.array([0.3 + 1j])),
    lambda: sm.log_z(sm.Ising.square(4), [0.3, 1j]),
    lambda: sm.Ising.square(4, J=(np.full((4, 4), 1 + 1j), np.ones((4, 4)))),
    lambda: sm.Ising.chain(4, h=np.full(4, 0.5j)),
    lambda: sm.Ising.from_couplings(np.ones((3, 3)) * (1 + 0j) - np.eye(3)),
], ids=["beta-array", "beta-list", "bond-array", "field", "couplings"])
def test_complex_input_is_refused_not_cast(build):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ComplexWarning would mean the imaginary part was dropped
        with pytest.raises(TypeError, match="must be real"):
            build()


def test_real_input_of_complex_dtype_is_still_refused_with_the_fix_named():
    with pytest.raises(TypeError, match=r"take \.real"):
        sm.thermo(sm.Ising.square(4), np.array([0.3 + 0j]))


@pytest.mark.parametrize("seed", [2**63, 2**70])
def test_a_seed_beyond_64_bits_is_a_clear_error(seed):
    with pytest.raises(ValueError, match="seed must be < 2\\*\\*63"):
        sm.thermo(sm.Ising.square(4), 0.4, method="metropolis", n_sweeps=64, seed=seed)


def test_edges_must_be_rows_of_integer_pairs():
    with pytest.raises(ValueError, match=r"shape \(E, 2\).*edges\.T"):
        sm.Ising.from_edges(3, np.array([[0, 1, 2], [1, 2, 0]]), 1.0)  # a (2, E) array with E = 3
    with pytest.raises(TypeError, match="integer site indices"):
        sm.Ising.from_edges(3, [[0.5, 1], [1, 2]], 1.0)
    assert sm.Ising.from_edges(3, [[0, 1], [1, 2]], 1.0).n_edges == 2


def test_energy_refuses_spins_that_are_not_plus_or_minus_one():
    model = sm.Ising.chain(4, J=1.0, h=0.2)
    with pytest.raises(ValueError, match="must be \\+1 or -1"):
        model.energy(np.array([0, 1, 1, 0]))
    assert model.energy(np.array([1, -1, 1, 1])) == pytest.approx(-(-1 - 1 + 1 + 1) - 0.2 * 2)
