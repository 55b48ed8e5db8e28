"""The colour-packed checkerboard kernel of ``backend="numba"`` (square lattices with even sides).

* Exact checks: it makes the decisions of the [y, x] kernel it replaces
  (same streams, same φ, every flip decided as u < g(βΔE) with the libm g),
  so both give the same spins; its exp bounds bracket that g; its results do
  not depend on the number of numba threads.
* Statistical checks against exact enumeration of a 4 × 4 periodic lattice
  with Gaussian couplings and a random field: the χ² of the state histogram
  and the z-scores of ⟨H⟩ and ⟨M⟩ from independent chains, Fisher-combined
  over fixed seeds (pass: p > 0.01), with a negative control (bounds on e^{x/2}
  instead of e^x, i.e. Metropolis accepting with sqrt(g)) that must give
  p < 0.01.
"""
import numba
import numpy as np
import pytest
from scipy import stats

import statmech as sm
from statmech.mc import _fast
from statmech.testing import boltzmann_probabilities, brute_force_moments, chi2_pvalue, fisher_combined_pvalue

SEEDS = (11, 22, 33, 44)


def gaussian_model(shape, seed, periodic=True, field=0.3):
    Lx, Ly = shape
    rng = np.random.default_rng(seed)
    cut = 0 if periodic else 1
    return sm.Ising.square(shape, J=(rng.normal(size=(Ly, Lx - cut)), rng.normal(size=(Ly - cut, Lx))),
                           h=rng.normal(0.0, field, Lx * Ly) if field else 0.0, periodic=periodic)


def run_with(layout_class, model, method, **options):
    """``_fast.run`` with the layout forced to ``layout_class`` (the packed one or the [y, x] one)."""
    original = _fast._layout
    _fast._layout = lambda model, *args, **kwargs: layout_class(model)
    try:
        return _fast.run(model, options.pop("beta", 0.6), method, "numba", **options)
    finally:
        _fast._layout = original


# ------------------------------------------------------------------ exact
CASES = {
    "gauss_field_6x4": lambda: gaussian_model((6, 4), 1),
    "gauss_open_8x6": lambda: gaussian_model((8, 6), 2, periodic=False),
    "uniform_field_10x2": lambda: sm.Ising.square((10, 2), J=0.7, h=np.random.default_rng(3).normal(0, 0.3, 20)),
    "ferro_2x8": lambda: sm.Ising.square((2, 8)),
    "gauss_136x64_parallel": lambda: gaussian_model((136, 64), 4),  # N >= 8192: the parallel build
}


def test_even_square_lattices_take_the_packed_layout_and_odd_ones_the_grid():
    assert isinstance(_fast._layout(gaussian_model((6, 4), 1), "numba", 1), _fast._PackedLayout)
    assert isinstance(_fast._layout(gaussian_model((6, 4), 1, periodic=False), "numba", 1), _fast._PackedLayout)
    assert isinstance(_fast._layout(gaussian_model((5, 4), 1, periodic=False), "numba", 1), _fast._SquareLayout)
    assert isinstance(_fast._layout(sm.Ising.square(3, h=0.1), "numba", 1), _fast._GraphLayout)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method", ["metropolis", "heatbath"])
def test_packed_kernel_gives_the_chain_of_the_grid_kernel(case, method):
    model = CASES[case]()
    options = dict(n_chains=2, n_sweeps=12, burn_in=3, thin=3, seed=7, record_spins=True, beta=0.5)
    packed = run_with(_fast._PackedLayout, model, method, **options)
    grid = run_with(_fast._SquareLayout, model, method, **options)
    assert packed.kernel == grid.kernel == f"numba_checkerboard_{method}"
    np.testing.assert_array_equal(packed.spins, grid.spins)
    np.testing.assert_array_equal(packed.magnetization, packed.spins.sum(-1, dtype=np.int64))
    # energies: the same flips, row sums added in another order; and equal to H of the recorded spins
    np.testing.assert_allclose(packed.energy, grid.energy, rtol=0, atol=1e-9 * model.n_sites)
    np.testing.assert_allclose(packed.energy, model.energy(packed.spins.astype(np.float64)), rtol=0,
                               atol=1e-9 * model.n_sites)
    assert len(np.unique(packed.spins.reshape(-1, model.n_sites), axis=0)) > 2  # the chain moved


def test_pack_and_unpack_are_inverse():
    grid = np.random.default_rng(0).choice(np.array([-1, 1], np.int8), (6, 10))
    packed = _fast._pack(grid, ghosts=True)
    assert packed.shape == (2, 6, 7)
    np.testing.assert_array_equal(packed[:, :, 0], packed[:, :, 5])  # ghost columns: periodic copies
    np.testing.assert_array_equal(packed[:, :, 6], packed[:, :, 1])
    assert packed[0, 1, 1] == grid[1, 1] and packed[1, 1, 1] == grid[1, 0]  # black: x + y even
    out = np.empty(60, np.int8)
    _fast._unpack(packed, out)
    np.testing.assert_array_equal(out, grid.reshape(-1))


@numba.njit
def _bounds_and_g(x, rule, log2e):
    lo = np.empty(x.size)
    hi = np.empty(x.size)
    g = np.empty(x.size)
    for i in range(x.size):
        lo[i], hi[i] = _fast._flip_bounds(x[i], rule, log2e)
        g[i] = _fast._flip_probability(x[i], rule)
    return lo, hi, g


@pytest.mark.parametrize("rule", [0, 1])
def test_exp_bounds_bracket_the_kernels_g(rule):
    """lo <= g(x) <= hi for the g of the exact path (libm exp), with hi − lo <= 2^-14 g: so every decision,
    u < lo or else u < g when u < hi, is u < g(x)."""
    rng = np.random.default_rng(rule)
    grid = np.arange(-70 * 64, 70 * 64 + 1) / 64.0
    x = np.concatenate([grid, np.nextafter(grid, np.inf), np.nextafter(grid, -np.inf), rng.uniform(-80, 80, 40000),
                        rng.normal(0, 1e-3, 1000), [0.0, -0.0, 1e-300, -1e-300, 63.999, 64.0, 64.001, 700.0,
                                                    745.2, 1e6, -1e6, 1e300, -1e300]])
    lo, hi, g = _bounds_and_g(x, rule, _fast._LOG2E)
    assert np.all(lo <= g) and np.all(g <= hi), x[(lo > g) | (g > hi)][:5]
    assert np.all(hi - lo <= 2.0**-14 * g + 1e-27)
    # an independent g (NumPy's exp) lies within the bounds too, up to its last-bit difference from libm's
    with np.errstate(over="ignore"):
        g_numpy = np.minimum(1.0, np.exp(-x)) if rule == 0 else 1.0 / (1.0 + np.exp(np.minimum(x, 700.0)))
    inside = (lo <= g_numpy * (1 + 4e-16)) & (g_numpy <= hi * (1 + 4e-16) + 1e-300)
    assert np.all(inside | (x > 700.0)), x[~inside][:5]


# ---------------------------------------------------------------- threads
@pytest.mark.parametrize("method", ["metropolis", "heatbath"])
def test_same_results_for_one_and_two_numba_threads(method):
    model = gaussian_model((130, 66), 5)  # N = 8580 >= 8192: the parallel build; 66 rows split unevenly
    options = dict(n_chains=2, n_sweeps=6, burn_in=2, thin=2, seed=5, record_spins=True)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = _fast.run(model, 0.7, method, "numba", **options)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = _fast.run(model, 0.7, method, "numba", **options)
    finally:
        numba.set_num_threads(threads)
    other = _fast.run(model, 0.7, method, "numba", **{**options, "seed": 6})
    np.testing.assert_array_equal(one.spins, two.spins)
    np.testing.assert_array_equal(one.energy, two.energy)
    np.testing.assert_array_equal(one.magnetization, two.magnetization)
    assert not np.array_equal(one.spins, other.spins)


# ---------------------------------------------------------------- statistical
@pytest.fixture
def broken_bounds(monkeypatch):
    """The packed kernel bounding e^{x/2} instead of e^x (Metropolis: accepting with sqrt(g)): wrong on purpose."""
    monkeypatch.setattr(_fast, "_LOG2E", _fast._LOG2E / 2)


SMALL = dict(shape=(4, 4), seed=8, beta=0.5)


def small_draws(method, seed, n_chains=4000, burn_in=100, n_draws=2, thin=50):
    model = gaussian_model(SMALL["shape"], SMALL["seed"])
    run = _fast.run(model, SMALL["beta"], method, "numba", n_chains=n_chains, n_sweeps=n_draws * thin,
                    burn_in=burn_in, thin=thin, seed=seed, record_spins=True)
    assert run.kernel == f"numba_checkerboard_{method}"
    return model, run


def chi2_combined(method):
    pvalues = []
    for seed in SEEDS:
        model, run = small_draws(method, seed)
        pvalues.append(chi2_pvalue(run.spins.reshape(-1, model.n_sites), boltzmann_probabilities(model,
                                                                                                 SMALL["beta"])))
    return fisher_combined_pvalue(pvalues), pvalues


def moments_combined(method):
    """Two-sided p-values of ⟨H⟩ and ⟨M⟩ against enumeration, from the chains' last draws (independent)."""
    pvalues = []
    for seed in SEEDS:
        model, run = small_draws(method, seed)
        exact = brute_force_moments(model, SMALL["beta"])
        for values, mean in ((run.energy[:, -1], exact.energy[0]), (run.magnetization[:, -1], exact.magnetization[0])):
            z = (values.mean() - mean) / (values.std(ddof=1) / np.sqrt(values.size))
            pvalues.append(2 * stats.norm.sf(abs(z)))
    return fisher_combined_pvalue(pvalues), pvalues


@pytest.mark.statistical
@pytest.mark.parametrize("method", ["metropolis", "heatbath"])
def test_gaussian_couplings_and_field_match_enumeration(method):
    p, pvalues = chi2_combined(method)
    assert p > 0.01, pvalues
    p, pvalues = moments_combined(method)
    assert p > 0.01, pvalues


@pytest.mark.statistical
def test_negative_control_broken_bounds(broken_bounds):
    with np.errstate(divide="ignore"):  # p-values of 0 are expected here
        p, pvalues = chi2_combined("metropolis")
        assert p < 0.01, pvalues
        p, pvalues = moments_combined("metropolis")
        assert p < 0.01, pvalues
