"""The data behind docs/figures/mean_field_square.png and the claims the guide makes about it."""
import math

import numpy as np
import pytest

import statmech as sm


def test_square_lattice_curves_bracket_the_exact_value_and_show_the_bethe_point():
    betas = np.array([0.1, 0.2, 0.3, 0.4, 0.7])
    curves = sm.approx.square_lattice_curves(betas, L=8)
    assert curves.bethe_beta == pytest.approx(math.atanh(1 / 3))
    exact = np.array([float(sm.log_z(sm.Ising.square(8), b, method="kaufman")) / 64 for b in betas])
    np.testing.assert_allclose(curves.exact, exact, rtol=1e-12)
    assert np.all(curves.mean_field <= curves.exact)
    assert np.all(curves.trw >= curves.exact)
    paramagnet = math.log(2) + 2 * np.log(np.cosh(betas))
    below = betas < curves.bethe_beta
    np.testing.assert_allclose(curves.bp[below], paramagnet[below], atol=1e-10)
    assert np.all(curves.bp[~below] > paramagnet[~below] + 1e-6)
    # Mean field is the paramagnet ln 2 up to beta = 1/(z J) = 1/4 and magnetised beyond.
    np.testing.assert_allclose(curves.mean_field[betas < 0.25], math.log(2), atol=1e-12)
    assert np.all(curves.mean_field[betas > 0.25] > math.log(2) + 1e-6)
    assert np.all(np.isfinite(curves.tap))


def test_square_lattice_curves_refuses_a_tiny_lattice():
    with pytest.raises(ValueError, match="L must be >= 3"):
        sm.approx.square_lattice_curves([0.2], L=2)
