"""sm.planar_ground_state / sm.planar_ground_energy (PyMatching) against enumeration, an exact
blossom matching (networkx, float weights), and the transfer matrix at low temperature."""
import numpy as np
import pytest

import statmech as sm
from statmech.testing import networkx_ground_energy


def glass(seed, Lx, Ly, kind):
    rng = np.random.default_rng(seed)
    if kind == "gauss":
        Jh, Jv = rng.normal(size=(2, Ly, Lx))
    else:
        Jh, Jv = rng.choice([-1.0, 1.0], size=(2, Ly, Lx))
        if kind == "diluted":
            Jh *= rng.random((Ly, Lx)) < 0.7
            Jv *= rng.random((Ly, Lx)) < 0.7
    Jh[:, -1] = 0.0
    Jv[-1, :] = 0.0
    return sm.Ising.square((Lx, Ly), J=(Jh, Jv), periodic=False)


@pytest.mark.parametrize("seed", range(4))
def test_matches_enumeration_with_a_ground_state(seed):
    for Lx, Ly in [(4, 4), (5, 4), (3, 6), (2, 7)]:
        for kind in ("pm", "gauss", "diluted"):
            model = glass(100 * seed + Lx, Lx, Ly, kind)
            energy, spins = sm.planar_ground_state(model)
            assert spins.dtype == np.int8 and spins.shape == (model.n_sites,) and spins[0] == 1
            assert set(np.unique(spins).tolist()) <= {-1, 1}
            assert energy == pytest.approx(sm.ground_energy(model), abs=1e-10)
            assert model.energy(spins.astype(float)) == pytest.approx(energy, abs=1e-12)


@pytest.mark.parametrize("kind", ["pm", "gauss"])
def test_matches_exact_blossom(kind):
    """PyMatching's integer weights vs networkx's float blossom: the same E₀ at L = 8..16."""
    for L in (8, 12, 16):
        model = glass(L, L, L, kind)
        reference = networkx_ground_energy(model)
        assert sm.planar_ground_energy(model) == pytest.approx(reference, abs=1e-9 * L * L)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["pm", "gauss"])
def test_matches_exact_blossom_larger(kind):
    """10 instances at L = 18..24 (networkx takes tens of seconds each)."""
    for seed in range(5):
        for L in (18, 24):
            model = glass(1000 * seed + L, L, L, kind)
            assert sm.planar_ground_energy(model) == pytest.approx(networkx_ground_energy(model),
                                                                   abs=1e-9 * L * L)


def test_matches_transfer_low_temperature_limit():
    """U(β = 40) of a 12 x 12 ±J strip by the transfer matrix is E₀ (gap 2: e^{−80} corrections)."""
    for seed in range(3):
        model = glass(50 + seed, 12, 16, "pm")
        energy = sm.thermo(model, 40.0, method="transfer").energy.value
        assert sm.planar_ground_energy(model) == pytest.approx(energy, abs=1e-9)


def test_chain_like_lattice_and_unfrustrated():
    model = sm.Ising.square((6, 1), J=(np.array([[1.0, -2.0, 0.5, 3.0, -1.0, 0.0]]), np.zeros((1, 6))),
                            periodic=False)
    energy, spins = sm.planar_ground_state(model)
    assert energy == pytest.approx(-7.5) and model.energy(spins.astype(float)) == pytest.approx(-7.5)
    ferro = sm.Ising.square(9, J=1.0, periodic=False)
    energy, spins = sm.planar_ground_state(ferro)
    assert energy == -144.0 and np.all(spins == 1)


def test_large_lattice_ground_state_is_consistent():
    """L = 128 Gaussian: the spins have the returned energy, no single flip lowers it, and E₀/N
    lies near the 2D EA value −1.31."""
    model = glass(7, 128, 128, "gauss")
    energy, spins = sm.planar_ground_state(model)
    s = spins.astype(float)
    assert model.energy(s) == pytest.approx(energy, rel=1e-13)
    Jh, Jv = model.bond_arrays()
    grid = s.reshape(128, 128)
    field = (Jh * np.roll(grid, -1, axis=1) + np.roll(Jh * grid, 1, axis=1)
             + Jv * np.roll(grid, -1, axis=0) + np.roll(Jv * grid, 1, axis=0))
    assert np.all(grid * field >= -1e-12)  # every spin is aligned with its local field
    assert -1.33 < energy / model.n_sites < -1.28


def test_errors():
    with pytest.raises(ValueError, match="open square lattice"):
        sm.planar_ground_state(sm.Ising.square(4, J=1.0, periodic=True))
    with pytest.raises(ValueError, match="h = 0"):
        sm.planar_ground_energy(sm.Ising.square(4, J=1.0, h=0.5, periodic=False))
    with pytest.raises(TypeError, match="Ising model"):
        sm.planar_ground_state("not a model")


@pytest.mark.slow
@pytest.mark.parametrize("couplings, literature", [("pm1", -1.4015), ("gaussian", -1.3148)])
def test_example_fit_reproduces_e_infinity(couplings, literature):
    """examples/ea_ground_states.py's average and fit, on fewer instances: e∞ within 3σ."""
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[2] / "examples" / "ea_ground_states.py"
    spec = importlib.util.spec_from_file_location("ea_ground_states", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    sizes = (8, 16, 32, 64, 128)
    counts = {8: 400, 16: 300, 32: 150, 64: 60, 128: 25}
    averages = [example.disorder_average(couplings, L, counts[L], seed=77 + 1000 * L) for L in sizes]
    means, errors = (np.array(column) for column in zip(*averages))
    (e_inf, _, _), (e_err, _, _), _ = example.fit(sizes, means, errors)
    assert e_err < 0.01
    assert abs(e_inf - literature) < 3 * np.hypot(e_err, 3e-4)
