"""Estimate, Thermo, the stable level accumulator and the method registry."""
import json
import math

import numpy as np
import pytest

import statmech as sm
from statmech.exact._levels import LevelAccumulator, level_moments
from statmech.thermo import Moments, Thermo


def test_estimate_float_repr_and_immutability():
    exact = sm.Estimate(-0.76123, None, "kaufman")
    assert float(exact) == -0.76123
    assert exact.is_exact and repr(exact) == "-0.76123 [kaufman]"
    noisy = sm.Estimate(-0.7612, 0.0021, "ais", {"seed": 3})
    assert repr(noisy) == "-0.7612 ± 0.0021 [ais]"
    assert noisy.meta["seed"] == 3
    with pytest.raises(TypeError):
        noisy.meta["seed"] = 4
    with pytest.raises(ValueError):
        noisy.value[()] = 1.0  # read-only array


def test_estimate_array_indexing_and_errors():
    grid = sm.Estimate([1.0, 2.0, 3.0], [0.1, 0.2, 0.3], "ti")
    assert float(grid[1]) == 2.0 and float(grid[1].stderr) == 0.2
    assert len(grid) == 3
    with pytest.raises(TypeError, match="Index it first"):
        float(grid)
    with pytest.raises(ValueError, match="stderr shape"):
        sm.Estimate([1.0, 2.0], [0.1], "x")


def test_level_accumulator_matches_direct_formulas_and_merges_stably():
    rng = np.random.default_rng(0)
    energies = rng.normal(size=500) * 10
    mags = rng.integers(-5, 6, size=500).astype(float)
    betas = np.array([0.0, 0.3, 2.0])
    accumulator = LevelAccumulator(betas)
    for chunk in np.array_split(np.arange(500), 7):
        accumulator.add(energies[chunk], None, mags[chunk])
    moments = accumulator.moments()
    for k, beta in enumerate(betas):
        weights = np.exp(-beta * energies - np.max(-beta * energies))
        p = weights / weights.sum()
        log_z = np.log(weights.sum()) + np.max(-beta * energies)
        mean = p @ energies
        assert moments.log_z[k] == pytest.approx(log_z, rel=1e-13)
        assert moments.energy[k] == pytest.approx(mean, rel=1e-11, abs=1e-11)
        assert moments.energy_variance[k] == pytest.approx(p @ (energies - mean) ** 2, rel=1e-10)
        assert moments.magnetization[k] == pytest.approx(p @ mags, abs=1e-12)
        assert moments.abs_magnetization[k] == pytest.approx(p @ np.abs(mags), rel=1e-12)


def test_level_moments_at_huge_beta_keep_the_tiny_variance():
    """Two levels with a gap Δ: Var = g Δ² e^{−βΔ}/(1 + g e^{−βΔ})², no cancellation."""
    beta, gap, ground = 30.0, 1.0, -1000.0
    moments = level_moments([beta], [ground, ground + gap], log_degeneracy=[0.0, math.log(3)])
    ratio = 3 * math.exp(-beta * gap)
    assert moments.energy_variance[0] == pytest.approx(ratio * gap**2 / (1 + ratio) ** 2, rel=1e-12)
    assert moments.log_z[0] == pytest.approx(-beta * ground + math.log1p(ratio), rel=1e-15)


def test_thermo_from_moments_derives_everything():
    beta = np.array([0.0, 0.5])
    moments = Moments(log_z=np.array([4 * math.log(2), 3.0]), energy=np.array([0.0, -2.0]),
                      energy_variance=np.array([4.0, 1.0]), magnetization=np.array([0.0, 0.5]),
                      magnetization_variance=np.array([4.0, 2.0]), abs_magnetization=np.array([1.5, 2.0]))
    t = Thermo.from_moments(moments, beta, n_sites=4, method="test")
    assert t.free_energy.value[1] == pytest.approx(-3.0 / 0.5)
    assert t.free_energy.value[0] == -np.inf  # F = −T log Z diverges at infinite temperature
    assert t.free_entropy_density.value[0] == pytest.approx(math.log(2))
    assert t.entropy.value[1] == pytest.approx(0.5 * (-2.0 - (-6.0)))
    assert t.entropy.value[0] == pytest.approx(4 * math.log(2))
    assert t.specific_heat.value[1] == pytest.approx(0.25)
    assert t.susceptibility_density.value[1] == pytest.approx(0.5 * 2.0 / 4)
    assert t.abs_magnetization_density.value[1] == pytest.approx(0.5)
    assert set(t.to_dict()) >= {"beta", "n_sites", "method", "log_z", "entropy_density"}
    assert t.log_z.stderr is None


def test_thermo_from_estimates_derives_free_energy_and_densities_with_their_errors():
    betas = np.array([0.0, 0.5, 2.0])
    log_z = sm.Estimate(np.array([4 * math.log(2), 3.1, 5.0]), np.array([0.0, 0.2, 0.4]), "x", {"seed": 3})
    energy = sm.Estimate(np.array([0.0, -1.5, -3.9]), np.array([0.0, 0.1, 0.05]), "x", {"seed": 3})
    t = Thermo.from_estimates(betas, 4, "x", log_z=log_z, energy=energy, meta={"seed": 3})
    assert t.free_entropy is log_z and t.meta["seed"] == 3
    np.testing.assert_array_equal(t.free_energy.value, [-np.inf, -3.1 / 0.5, -5.0 / 2.0])
    np.testing.assert_array_equal(t.free_energy.stderr, [0.0, 0.2 / 0.5, 0.4 / 2.0])  # at β = 0: −∞ ± 0
    np.testing.assert_allclose(t.free_energy_density.value[1:], [-1.55, -0.625])
    np.testing.assert_allclose(t.energy_density.stderr, [0.0, 0.025, 0.0125])
    np.testing.assert_allclose(t.free_entropy_density.value, log_z.value / 4)
    assert t.magnetization is None and t.entropy is None and "log_z" in t.available()
    scalar = Thermo.from_estimates(0.5, 4, "x", log_z=log_z[1])
    assert np.ndim(scalar.free_energy.value) == 0 and float(scalar.free_energy) == -6.2


def test_front_doors_refuse_bad_beta_and_unknown_methods():
    model = sm.Ising.chain(4)
    for bad, match in ((-1.0, ">= 0"), (float("nan"), "NaN"), (float("inf"), "finite"),
                       ([[0.1, 0.2]], "1-D"), ([], "empty"), ("hot", "number")):
        with pytest.raises((ValueError, TypeError), match=match):
            sm.log_z(model, bad)
    with pytest.raises(ValueError, match="unknown method 'magic'.*enumerate"):
        sm.thermo(model, 0.5, method="magic")
    with pytest.raises(TypeError, match="method must be a string"):
        sm.thermo(model, 0.5, method=3)


# ------------------------------------------------------------ to_xarray / to_dataframe
def test_exact_thermo_to_xarray_and_dataframe_carry_every_quantity_on_the_beta_grid():
    import json

    betas = np.array([0.2, 0.4, 0.6])
    result = sm.thermo(sm.Ising.square(4), betas, method="kaufman")
    ds = result.to_xarray()
    np.testing.assert_array_equal(ds["beta"].values, betas)
    assert set(result.available()) == set(ds.data_vars)  # exact: no stderr variables
    for name in result.available():
        np.testing.assert_array_equal(ds[name].values, getattr(result, name).value)
        assert ds[name].dims == ("beta",)
    assert ds.attrs["method"] == "kaufman" and ds.attrs["n_sites"] == 16
    assert json.loads(ds.attrs["meta"]) == {}
    frame = result.to_dataframe()
    assert frame.index.name == "beta" and list(frame.index) == list(betas)
    np.testing.assert_array_equal(frame["free_energy"].to_numpy(), result.free_energy.value)
    assert frame.attrs["method"] == "kaufman"


def test_sampled_thermo_exports_stderrs_seed_and_json_safe_meta(tmp_path):
    import json

    result = sm.thermo(sm.Ising.square(4), 0.4, method="metropolis", n_sweeps=200, n_chains=2, seed=11)
    ds = result.to_xarray()
    assert ds.sizes["beta"] == 1 and float(ds["beta"][0]) == 0.4  # a scalar beta is a grid of one
    assert float(ds["energy"][0]) == float(result.energy)
    assert float(ds["energy_stderr"][0]) == float(result.energy.stderr)
    assert "log_z" not in ds and "log_z_stderr" not in ds  # not sampled: absent, not NaN
    assert ds.attrs["seed"] == 11
    meta = json.loads(ds.attrs["meta"])
    assert meta["n_sweeps"] == 200 and meta["n_chains"] == 2
    ds.to_netcdf(tmp_path / "thermo.nc")  # attributes are netCDF-safe
    frame = result.to_dataframe()
    assert frame.loc[0.4, "energy_stderr"] == float(result.energy.stderr)


def test_thermo_of_densities_exports_without_n_sites():
    result = sm.onsager(np.array([0.3, 0.5]))
    ds = result.to_xarray()
    assert "n_sites" not in ds.attrs and "free_energy_density" in ds and "free_energy" not in ds
    assert json.loads(ds.attrs["meta"])["critical_beta"] == pytest.approx(0.4406867935097715)


def test_json_safe_meta_turns_arrays_and_non_finite_numbers_into_plain_json():
    from statmech._numerics import json_safe

    plain = json_safe({"a": np.arange(3), "b": (np.float32(0.5), float("nan")), 1: {"c": np.inf}, "d": object})
    assert plain == {"a": [0, 1, 2], "b": [0.5, None], "1": {"c": None}, "d": repr(object)}
    json.dumps(plain, allow_nan=False)
