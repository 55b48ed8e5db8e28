"""Slow tier: the quenched free energy of the 3D ±J Edwards–Anderson glass at L = 4 (64 spins,
periodic, contraction width ~24) from exact tensor-network contraction against parallel tempering."""
import numpy as np
import pytest
from scipy import stats
from scipy.integrate import simpson

import statmech as sm
from statmech.testing import fisher_combined_pvalue

BETA = 0.5
LADDER = np.linspace(0.0, BETA, 21)  # PT rungs, also the nodes of Simpson's rule for ∫ U dβ
N_INSTANCES = 4
ENSEMBLE = sm.EdwardsAnderson(4, dim=3, couplings="pm1", periodic=True)
BUDGET = 6 * 1024**3  # the 4^3 torus needs 1-3 GiB depending on the order found


def pt_log_z(instance, seed):
    """log Z(BETA) = N log 2 − ∫₀^β U dβ' with U from PT at the rungs; stderr bounds rungs as fully correlated."""
    run = sm.thermo(instance, LADDER, method="pt", n_sweeps=4000, n_chains=4, seed=seed)
    energy, stderr = np.asarray(run.energy.value), np.asarray(run.energy.stderr)
    weights = simpson(np.eye(len(LADDER)), x=LADDER, axis=1)  # the rule's weights, row by row
    return instance.n_sites * np.log(2.0) - weights @ energy, float(np.abs(weights) @ stderr)


def fisher_p(z_scores):
    p_values = 2 * stats.norm.sf(np.abs(z_scores))
    return fisher_combined_pvalue(p_values)


def test_simpson_on_the_ladder_is_exact_enough_on_a_small_3d_glass():
    """The quadrature's own error, measured exactly where enumeration reaches (3x3x2 torus)."""
    template = sm.Ising.cubic((3, 3, 2))
    rng = np.random.default_rng(0)
    glass = sm.Ising.from_edges(template.n_sites, template.edges, rng.choice([-1.0, 1.0], template.n_edges))
    exact = sm.thermo(glass, LADDER, method="tensor-network")
    rule = glass.n_sites * np.log(2.0) - simpson(exact.energy.value, x=LADDER)
    assert abs(rule - exact.log_z.value[-1]) < 1e-5


@pytest.mark.slow
@pytest.mark.statistical
def test_quenched_free_energy_of_the_3d_glass_matches_parallel_tempering():
    exact = sm.quenched(ENSEMBLE, [BETA, 1.05 * BETA], N_INSTANCES, method="tensor-network", seed=7,
                        max_memory=BUDGET)
    assert exact.log_z_stderr is None
    z_right, z_wrong, pt_f = [], [], []
    for k, seed in enumerate(exact.instance_seeds):
        estimate, stderr = pt_log_z(ENSEMBLE.sample(int(seed)), seed=100 + k)
        z_right.append((estimate - exact.log_z[k, 0]) / stderr)
        # Negative control: the free energy density of a β 5% off (as a log Z at BETA) must be rejected.
        z_wrong.append((estimate - exact.log_z[k, 1] / 1.05) / stderr)
        pt_f.append(-estimate / (ENSEMBLE.n_sites * BETA))
    assert fisher_p(np.array(z_right)) > 0.01, (z_right, exact.mean, np.mean(pt_f))
    assert fisher_p(np.array(z_wrong)) < 0.01, z_wrong
