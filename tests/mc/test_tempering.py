"""Parallel tempering (replica exchange).

The inner kernel is a minimal sequential single-site Metropolis sweep written
here. References are brute-force Boltzmann distributions over all 2^N states
(plain NumPy) at every β of the ladder; samples are the final configurations
of many independent PT runs (vmapped over keys), one per temperature slot.
At stationarity the slots are independent (the invariant law is Π_k p_{β_k}),
so the per-slot p-values are combined with Fisher's method together with the
repeated keys. Negative controls — a ladder off by 5 % and a wrong sign in the
swap rule — must fail.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from statmech.mc import _tempering
from statmech.mc._base import Kernel, SpinState, StepInfo
from statmech.mc._tempering import (
    TemperingInfo,
    TemperingState,
    check_ladder,
    parallel_tempering,
    run_tempering,
    tempering_init,
    tempering_step,
)
from statmech.models import Ising
from statmech import testing
from statmech.testing import boltzmann_probabilities, state_codes
from statmech.testing import brute_force_energies as brute_energies

KEYS = (5, 6, 7)
N_CHAINS = 20_000
LADDER = np.array([0.1, 0.35, 0.7, 1.1, 1.6])


# ------------------------------------------------------- a test-only kernel
def _metropolis_init(spins, model, beta):
    return SpinState(spins=jnp.asarray(spins).astype(jnp.int8))


def _metropolis_step(key, state, model, beta):
    """Sequential sweep i = 0..N−1, flip with probability min(1, exp(−β ΔE))."""
    spins = state.spins
    n = spins.shape[0]
    log_u = jnp.log(jax.random.uniform(key, (n,)))
    couplings = jnp.concatenate([jnp.asarray(model.couplings), jnp.zeros(1)])  # padding bond E
    neighbors, bonds = jnp.asarray(model.neighbors), jnp.asarray(model.neighbor_edges)
    field = jnp.asarray(model.field)

    def site(i, carry):
        spins, accepted = carry
        local = field[i] + jnp.sum(couplings[bonds[i]] * spins[neighbors[i]])
        accept = log_u[i] < -beta * 2.0 * spins[i] * local
        spins = spins.at[i].set(jnp.where(accept, -spins[i], spins[i]))
        return spins, accepted + accept

    spins, accepted = lax.fori_loop(0, n, site, (spins, 0))
    return SpinState(spins=spins), StepInfo(acceptance_rate=accepted / n)


def metropolis_kernel():
    """A fresh Kernel object (new closures ⇒ no stale jit cache after monkeypatching)."""
    return Kernel("test_metropolis", lambda *a: _metropolis_init(*a), lambda *a: _metropolis_step(*a))


METROPOLIS = metropolis_kernel()


# ------------------------------------------------------------------ references
def chi2_pvalue(spins, probabilities, min_expected=20.0):
    return testing.chi2_pvalue(spins, probabilities, min_expected)


def spin_glass(n=6, seed=3):
    return Ising.from_couplings(testing.gaussian_couplings(np.random.default_rng(seed), n))


def make_pt_sampler(kernel, model, betas, n_steps):
    """jit(vmap) over keys: random start, ``n_steps`` PT steps, return the final (R, N) spins."""
    betas = jnp.asarray(betas)

    def one_run(key):
        start_key, run_key = jax.random.split(key)
        spins = jax.random.rademacher(start_key, (betas.shape[0], model.n_sites), jnp.int8)
        state = tempering_init(spins, model, betas, kernel)

        def body(state, step_key):
            return tempering_step(step_key, state, model, betas, kernel)[0], None

        state, _ = lax.scan(body, state, jax.random.split(run_key, n_steps))
        return state.spins

    sample = jax.jit(jax.vmap(one_run))
    return lambda seed, n: np.asarray(sample(jax.random.split(jax.random.key(seed), n)))


def pt_pvalues(kernel, model, betas_run, betas_exact, n_steps=40, keys=KEYS, n_chains=N_CHAINS):
    sample = make_pt_sampler(kernel, model, betas_run, n_steps)
    pvalues = []
    for seed in keys:
        spins = sample(seed, n_chains)  # (chains, R, N)
        for slot, beta in enumerate(betas_exact):
            pvalues.append(chi2_pvalue(spins[:, slot], boltzmann_probabilities(model, beta)))
    return testing.fisher_combined_pvalue(pvalues), np.array(pvalues)


# -------------------------------------------------------------------- smoke
def test_smoke_every_slot_matches_boltzmann():
    model = spin_glass()
    p, pvalues = pt_pvalues(METROPOLIS, model, LADDER, LADDER, keys=(1,), n_chains=4000)
    assert p > 1e-3


# -------------------------------------------------------------- statistical
@pytest.mark.statistical
def test_spin_glass_every_slot_matches_boltzmann():
    model = spin_glass()
    p, pvalues = pt_pvalues(METROPOLIS, model, LADDER, LADDER)
    print(f"PT spin glass: Fisher p = {p:.3g}, per slot/key {np.round(pvalues, 3)}")
    assert p > 0.01


@pytest.mark.statistical
def test_cluster_inner_kernel_every_slot_matches_boltzmann():
    """Any Kernel composes: Swendsen–Wang inside parallel tempering on a 3×3 ferromagnet in a field."""
    from statmech.mc._cluster import swendsen_wang

    model = Ising.square(3, h=0.1)
    ladder = np.array([0.2, 0.44, 0.7])
    p, pvalues = pt_pvalues(swendsen_wang, model, ladder, ladder, n_steps=20)
    print(f"PT(swendsen_wang) 3x3: Fisher p = {p:.3g}, per slot/key {np.round(pvalues, 3)}")
    assert p > 0.01


@pytest.mark.statistical
def test_negative_control_ladder_off_by_five_percent():
    model = spin_glass()
    p, _ = pt_pvalues(METROPOLIS, model, LADDER * 1.05, LADDER)
    print(f"PT ladder off by 5%: Fisher p = {p:.3g}")
    assert p < 0.01


@pytest.mark.statistical
def test_negative_control_wrong_sign_in_swap_rule(monkeypatch):
    monkeypatch.setattr(_tempering, "_swap_log_acceptance",
                        lambda betas, energies: -(betas[1:] - betas[:-1]) * (energies[1:] - energies[:-1]))
    model = spin_glass()
    p, _ = pt_pvalues(metropolis_kernel(), model, LADDER, LADDER)
    print(f"PT wrong swap sign: Fisher p = {p:.3g}")
    assert p < 0.01


@pytest.mark.statistical
def test_swap_acceptance_matches_exact_expectation():
    """Pair acceptance ⟨min(1, exp(Δβ ΔE))⟩ over p_β_k ⊗ p_β_{k+1}, from brute force, within 4 σ."""
    model = spin_glass()
    result = run_tempering(jax.random.key(9), model, LADDER, METROPOLIS, 40_000, burn_in=200)
    energies = brute_energies(model)
    for k in range(len(LADDER) - 1):
        p_low = boltzmann_probabilities(model, LADDER[k])
        p_high = boltzmann_probabilities(model, LADDER[k + 1])
        ratio = np.minimum(1.0, np.exp((LADDER[k + 1] - LADDER[k]) * (energies[None, :] - energies[:, None])))
        expected = p_low @ ratio @ p_high  # slot k holds E_i, slot k+1 holds E_j
        n_attempts = 20_000
        # swap attempts are correlated in time; 4 σ with the i.i.d. binomial σ doubled
        sigma = 2 * np.sqrt(expected * (1 - expected) / n_attempts)
        assert abs(result.swap_acceptance[k] - expected) < 4 * sigma, (k, result.swap_acceptance[k], expected)


# ---------------------------------------------------------------- ladders
@pytest.mark.parametrize("betas, match", [
    ([0.5], "at least 2 temperatures"),
    (0.5, "1-D ladder"),
    ([[0.1, 0.2], [0.3, 0.4]], "1-D ladder"),
    ([0.1, 0.3, 0.2], "strictly increasing"),
    ([0.1, 0.1, 0.2], "strictly increasing"),
    ([-0.1, 0.2], ">= 0"),
    ([0.1, np.nan], "NaN or inf"),
    ([0.1, np.inf], "NaN or inf"),
])
def test_bad_ladders_are_refused(betas, match):
    model = Ising.chain(4)
    with pytest.raises(ValueError, match=match):
        check_ladder(betas)
    with pytest.raises(ValueError, match=match):
        run_tempering(0, model, betas, METROPOLIS, 10)


def test_bad_arguments_are_refused():
    model = Ising.chain(4)
    with pytest.raises(ValueError, match=r"shape \(R, N\) = \(3, 4\)"):
        tempering_init(np.ones((2, 4)), model, [0.1, 0.2, 0.3], METROPOLIS)
    with pytest.raises(ValueError, match="multiple of n_sweeps_between_swaps"):
        run_tempering(0, model, [0.1, 0.2], METROPOLIS, 10, n_sweeps_between_swaps=3)
    with pytest.raises(TypeError, match="Kernel"):
        parallel_tempering(lambda key, state: state)
    with pytest.raises(ValueError, match="n_sweeps_between_swaps must be >= 1"):
        parallel_tempering(METROPOLIS, 0)


def test_frustrated_model_with_cluster_inner_kernel_is_refused():
    from statmech.mc._cluster import wolff

    with pytest.raises(ValueError, match="ferromagnetic"):
        run_tempering(0, spin_glass(), [0.1, 0.5], wolff, 4)


# ------------------------------------------------------------ bookkeeping
def test_round_trips_and_swaps_when_every_swap_is_accepted():
    """With H ≡ 0 every attempted swap is accepted: replicas move deterministically.

    Reference: the even/odd swap schedule and the round-trip rule simulated
    with a Python list.
    """
    n_slots, n_steps = 4, 40
    model = Ising.chain(3, J=0.0)
    betas = np.linspace(0.1, 1.0, n_slots)
    result = run_tempering(1, model, betas, METROPOLIS, n_steps)
    np.testing.assert_array_equal(result.swap_acceptance, np.ones(n_slots - 1))

    at_slot = list(range(n_slots))
    phase = {r: 0 for r in range(n_slots)}
    phase[0] = 1
    trips = 0
    for step in range(n_steps):
        for k in range(step % 2, n_slots - 1, 2):
            at_slot[k], at_slot[k + 1] = at_slot[k + 1], at_slot[k]
        low, high = at_slot[0], at_slot[-1]
        trips += phase[low] == 2
        phase[low] = 1
        if phase[high] == 1:
            phase[high] = 2
    assert trips > 0
    assert result.round_trips == trips
    np.testing.assert_array_equal(np.asarray(result.state.replica_at_slot), at_slot)


def test_run_tempering_outputs():
    model = spin_glass()
    result = run_tempering(jax.random.key(4), model, LADDER, METROPOLIS, 60,
                           n_sweeps_between_swaps=2, record_spins=True)
    n_steps, n_slots = 30, len(LADDER)
    assert result.energies.shape == (n_steps, n_slots)
    assert result.spins.shape == (n_steps, n_slots, model.n_sites)
    # recorded energies are the energies of the recorded slot configurations
    expected = brute_energies(model)[state_codes(result.spins)]
    np.testing.assert_allclose(result.energies, expected, rtol=1e-5, atol=1e-5)
    assert result.swap_acceptance.shape == (n_slots - 1,)
    assert np.all((result.swap_acceptance >= 0) & (result.swap_acceptance <= 1))
    assert result.inner_acceptance.shape == (n_slots,)
    # the state in slot order is a permutation of replicas
    assert sorted(np.asarray(result.state.replica_at_slot).tolist()) == list(range(n_slots))
    # int seed and key give reproducible runs
    again = run_tempering(jax.random.key(4), model, LADDER, METROPOLIS, 60,
                          n_sweeps_between_swaps=2, record_spins=True)
    np.testing.assert_array_equal(result.spins, again.spins)


def test_swap_exchanges_configurations_not_temperatures():
    """After the swaps slot k still runs at β_k, with the configuration of its partner."""
    model = spin_glass()
    state = tempering_init(np.tile(np.ones(6, np.int8), (5, 1)) * np.array([1, -1, 1, -1, 1])[:, None],
                           model, LADDER, METROPOLIS)
    new, info = jax.jit(tempering_step, static_argnums=(4, 5))(
        jax.random.key(0), state, model, jnp.asarray(LADDER), METROPOLIS, 1)
    assert isinstance(new, TemperingState) and isinstance(info, TemperingInfo)
    np.testing.assert_array_equal(np.asarray(info.swap_attempted), [True, False, True, False])
    assert not np.any(np.asarray(info.swap_accepted) & ~np.asarray(info.swap_attempted))
    np.testing.assert_allclose(np.asarray(info.energy), brute_energies(model)[state_codes(new.spins)],
                               rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------ purity
def test_vmap_over_keys_equals_loop():
    model = spin_glass()
    kernel = parallel_tempering(METROPOLIS, n_sweeps_between_swaps=2)
    rng = np.random.default_rng(0)
    spins = np.where(rng.random((5, 6)) < 0.5, 1, -1).astype(np.int8)
    state = kernel.init(spins, model, LADDER)
    keys = jax.random.split(jax.random.key(2), 4)
    betas = jnp.asarray(LADDER)
    batched, info = jax.jit(jax.vmap(kernel.step, in_axes=(0, None, None, None)))(keys, state, model, betas)
    step = jax.jit(kernel.step)
    for k in range(4):
        single, single_info = step(keys[k], state, model, betas)
        np.testing.assert_array_equal(np.asarray(batched.spins[k]), np.asarray(single.spins))
        np.testing.assert_array_equal(np.asarray(info.swap_accepted[k]), np.asarray(single_info.swap_accepted))


def test_jit_and_no_jit_agree():
    model = spin_glass()
    kernel = parallel_tempering(METROPOLIS)
    state = kernel.init(np.ones((5, 6), np.int8), model, LADDER)
    betas = jnp.asarray(LADDER)
    plain, fast = state, state
    jitted = jax.jit(kernel.step)
    for k in range(2):
        key = jax.random.key(50 + k)
        plain, plain_info = kernel.step(key, plain, model, betas)
        fast, fast_info = jitted(key, fast, model, betas)
        np.testing.assert_array_equal(np.asarray(plain.spins), np.asarray(fast.spins))
        np.testing.assert_array_equal(np.asarray(plain.replica_at_slot), np.asarray(fast.replica_at_slot))
