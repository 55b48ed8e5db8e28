"""method="tensor-network" on square lattices: its cost and applicability come from a closed-form
sweep estimate (width min(Lx, Ly), twice that on a torus), so they answer without searching a
contraction order, and a lattice over the memory or time budget is refused before any planning."""
import numpy as np
import pytest

import statmech as sm
from statmech._registry import get_method
from statmech.exact import _tensor_network


@pytest.fixture
def no_order_search(monkeypatch):
    """Planning a contraction order raises: what passes under it answered without one."""
    def forbidden(*args, **kwargs):
        raise AssertionError("a contraction order was planned")

    for name in ("_plan", "_greedy_plan", "_best_plan"):
        monkeypatch.setattr(_tensor_network, name, forbidden)
    monkeypatch.setenv("STATMECH_TIME_LIMIT", "600")


def test_cost_and_why_not_of_a_strip_need_no_order_search(no_order_search):
    model = sm.Ising.square((10, 30), h=0.1)  # a 10 x 30 torus: width about 20
    method = get_method("tensor-network", model)
    assert method.why_not(model, {}) is None
    expected = 6e-4 * (model.n_edges + model.n_sites) + 1.2e-7 * model.n_sites * 2.0**20
    assert method.cost(model, {}) == pytest.approx(expected, rel=1e-12)


def test_a_torus_over_the_memory_estimate_is_refused_before_planning(no_order_search):
    model = sm.Ising.square(14, h=0.1)  # torus: width 28, 72 * 2^28 bytes = 18 GiB
    reason = get_method("tensor-network", model).why_not(model, {})
    assert reason is not None and "18 GiB (estimated contraction width 28" in reason
    with pytest.raises(ValueError, match=r"about 18 GiB \(estimated contraction width 28.*memory budget of 2 GiB"):
        sm.thermo(model, 0.4, method="tensor-network")
    with pytest.raises(ValueError, match=r"about 6 GiB \(estimated contraction width 28"):  # log Z alone: 24 * 2^28
        _tensor_network._log_z_moments(model, [0.4])


def test_a_long_strip_over_the_time_estimate_is_refused_before_planning(no_order_search):
    model = sm.Ising.square((16, 20000), h=0.1, periodic=False)  # width 16 fits in memory, but ~ 51 minutes per beta
    with pytest.raises(ValueError, match=r"tensor-network.*would take about 51.3 minutes, more than the budget of"):
        sm.thermo(model, 0.4, method="tensor-network")


def test_a_small_square_lattice_still_contracts_and_matches_the_transfer_matrix(monkeypatch):
    """Negative control: under the same budgets a lattice that fits is contracted as before."""
    monkeypatch.setenv("STATMECH_TIME_LIMIT", "600")
    model = sm.Ising.square((4, 6), h=0.2)
    betas = np.array([0.2, 0.44])
    network = sm.thermo(model, betas, method="tensor-network")
    transfer = sm.thermo(model, betas, method="transfer")
    np.testing.assert_allclose(network.log_z.value, transfer.log_z.value, rtol=1e-10)
