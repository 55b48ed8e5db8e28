"""Ensembles of quenched disorder: SK, Edwards–Anderson, random-field Ising, REM, Curie–Weiss.

An ensemble is an immutable description of a *distribution* of models.
``ensemble.sample(seed)`` draws one instance (the same int seed always gives
the same instance, through ``np.random.default_rng(seed)``);
``ensemble.sample_batch(seed, n_instances)`` draws ``n_instances`` of them as
one batched pytree whose disorder leaves carry a leading instance axis, so
that ``jax.vmap`` / ``equinox.filter_vmap`` over instances works with
``in_axes=batch_axes(batch)``. Instance k of a batch is
``ensemble.sample(instance_seeds(seed, n_instances)[k])``.

Where it has a closed form, ``annealed_free_entropy_density(beta)`` gives
log E[Z] / N (the *annealed* average; the physical, *quenched* one is
E[log Z] / N, see :func:`statmech.studies.quenched`). For independent
couplings E[Z] = Σ_s Π_e E[exp(β J_e s_i s_j)] · exp(β h M), and
E[exp(β J x)] for x = ±1 does not depend on x when the law of J is symmetric:
exp(β² σ² / 2) for J ~ N(0, σ²), cosh(β a) for J = ±a.

References: Sherrington & Kirkpatrick, PRL 35, 1792 (1975); Edwards &
Anderson, J. Phys. F 5, 965 (1975); Imry & Ma, PRL 35, 1399 (1975);
Derrida, PRB 24, 2613 (1981) (REM); Mézard, Parisi & Virasoro, *Spin Glass
Theory and Beyond* (1987).
"""
from __future__ import annotations

import abc
import dataclasses
import functools
import math

import equinox as eqx
import jax
import numpy as np
from scipy.special import gammaln, logsumexp

from statmech._numerics import log_cosh
from statmech._validation import as_beta_array, check_memory, check_positive_int, check_seed
from statmech.models._ising import Ising

COUPLING_DISTRIBUTIONS = ("gaussian", "pm1")
"""Names of the coupling (and random-field) distributions: N(0, σ²) or ±σ with probability ½."""

_SK_BYTES_PER_PAIR = 210
"""Peak bytes per pair i < j of building an SK instance (measured 201 at N = 1000 and 2000)."""
_LATTICE_BYTES_PER_BOND = 64
"""Peak bytes per bond of building a lattice ensemble's instance (bond codes, draws, reordering)."""

MAX_REM_SITES = 26
"""Largest n of the random energy model: its 2^n energies are stored (2^26 float64 = 512 MiB)."""


# ----------------------------------------------------------------- seeds
def instance_seeds(seed, n_instances) -> np.ndarray:
    """Independent disorder seeds for ``n_instances`` instances, a pure function of ``seed``.

    ``np.random.SeedSequence(seed).spawn(n_instances)``, each child turned into
    a 63-bit int. Returns an int64 array of shape (n_instances,).
    """
    seed = check_seed(seed)
    n_instances = check_positive_int(n_instances, "n_instances")
    children = np.random.SeedSequence(seed).spawn(n_instances)
    return np.array([int(child.generate_state(1, np.uint64)[0] >> np.uint64(1)) for child in children],
                    dtype=np.int64)


def _check_distribution(name, what) -> str:
    if name not in COUPLING_DISTRIBUTIONS:
        raise ValueError(f"unknown {what} distribution {name!r}; use one of {COUPLING_DISTRIBUTIONS}")
    return name


def _random_values(rng, distribution: str, scale: float, size) -> np.ndarray:
    """``size`` draws of N(0, scale²) (``"gaussian"``) or ±scale (``"pm1"``)."""
    if distribution == "gaussian":
        return scale * rng.standard_normal(size)
    return scale * (2.0 * rng.integers(0, 2, size=size) - 1.0)


def _log_mgf(distribution: str, scale: float, beta: np.ndarray) -> np.ndarray:
    """log E[exp(β X)] for X ~ N(0, scale²) or X = ±scale."""
    if distribution == "gaussian":
        return 0.5 * (beta * scale) ** 2
    return log_cosh(beta * scale)


def _finite_float(value, name) -> float:
    if isinstance(value, bool) or np.ndim(value) != 0:
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        value = float(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a real number, got {value!r}") from error
    if not math.isfinite(value):
        raise ValueError(f"{name} is {value}; it must be a finite number")
    return value


def _check_dim(dim) -> int:
    if isinstance(dim, bool) or dim not in (2, 3):
        raise ValueError(f"dim must be 2 (square lattice) or 3 (cubic lattice), got {dim!r}")
    return int(dim)


def _scalar_or_array(beta, values):
    _, scalar = as_beta_array(beta)
    return float(values[0]) if scalar else values


# -------------------------------------------------------------- batching
def batch_axes(batch):
    """``in_axes`` for ``jax.vmap`` / ``equinox.filter_vmap`` over the instances of a batch.

    For a batched :class:`Ising` the disorder leaves ``couplings`` and
    ``field`` are mapped over axis 0 and the shared topology is broadcast; for
    a batched :class:`REMInstance` the energies are mapped::

        axes = batch_axes(batch)
        jax.vmap(lambda model, s: model.energy(s), in_axes=(axes, 0))(batch, spins)
    """
    if isinstance(batch, Ising):
        return Ising(couplings=0, field=0, lattice=batch.lattice)
    if isinstance(batch, REMInstance):
        return REMInstance(energies=0)
    raise TypeError(f"batch_axes needs a batched Ising or REMInstance, got {type(batch).__name__}")


# -------------------------------------------------------------- ensembles
class DisorderEnsemble(abc.ABC):
    """A distribution of models: ``sample(seed)``, ``sample_batch(seed, n_instances)``, ``n_sites``."""

    @property
    @abc.abstractmethod
    def n_sites(self) -> int:
        """Number of degrees of freedom N of every instance."""

    @abc.abstractmethod
    def sample(self, seed: int):
        """One instance, a pure function of the int ``seed``."""

    @abc.abstractmethod
    def sample_batch(self, seed: int, n_instances: int):
        """``n_instances`` instances with a leading instance axis on the disorder leaves."""

    def annealed_free_entropy_density(self, beta):
        """log E[Z] / N (closed form); raises NotImplementedError where none is known."""
        raise NotImplementedError(f"{self!r} has no closed form for log E[Z] / N")


class IsingEnsemble(DisorderEnsemble):
    """A distribution of Ising models of one topology: ``sample(seed)``, ``sample_batch(seed, n)``.

    A subclass gives the shared topology (``_template``, an :class:`Ising`
    built once) and ``_draw(rng) -> (couplings (E,), field (N,))`` in the
    template's edge and site order; an instance is the template with those
    leaves replaced, so a batch only costs the random draws.
    """

    @abc.abstractmethod
    def _draw(self, rng) -> tuple[np.ndarray, np.ndarray]:
        """The disorder of one instance: (couplings (E,), field (N,)) float64."""

    @property
    @abc.abstractmethod
    def _template(self) -> Ising:
        """The shared topology (any couplings and field)."""

    def _build_bytes(self) -> float:
        """Up-front estimate of the peak memory of building the topology and drawing one instance."""
        return 0.0

    _too_big = ("use a smaller size (disorder averages converge in N; statmech.studies.self_averaging and "
                "finite-size extrapolations take several small sizes)")

    def _check_memory(self) -> None:
        check_memory(self._build_bytes(), f"one instance of {self!r}", self._too_big)

    def sample(self, seed: int) -> Ising:
        """One instance, a pure function of the int ``seed`` (``np.random.default_rng(seed)``).

        Raises ValueError before any work when the instance would not fit in
        memory (see :func:`statmech._validation.check_memory`).
        """
        seed = check_seed(seed)
        self._check_memory()
        couplings, field = self._draw(np.random.default_rng(seed))
        return eqx.tree_at(lambda m: (m.couplings, m.field), self._template, (couplings, field))

    def sample_batch(self, seed: int, n_instances: int) -> Ising:
        """``n_instances`` instances as one Ising with ``couplings`` (K, E) and ``field`` (K, N).

        Instance k equals ``self.sample(instance_seeds(seed, n_instances)[k])``;
        the topology (edges, neighbour tables, lattice) is shared, see :func:`batch_axes`.
        """
        self._check_memory()
        draws = [self._draw(np.random.default_rng(int(s))) for s in instance_seeds(seed, n_instances)]
        couplings = np.stack([c for c, _ in draws])
        field = np.stack([f for _, f in draws])
        return eqx.tree_at(lambda m: (m.couplings, m.field), self._template, (couplings, field))


def _edge_order(template_with_codes: Ising) -> np.ndarray:
    """Positions (0-based) of the bonds of a template built with couplings 1, 2, 3, ... as codes."""
    return np.asarray(template_with_codes.couplings).astype(np.int64) - 1


@dataclasses.dataclass(frozen=True)
class SK(IsingEnsemble):
    """Sherrington–Kirkpatrick model: all pairs i < j coupled, J_ij of variance J²/N.

    ``couplings="gaussian"``: J_ij ~ N(0, J²/N); ``"pm1"``: J_ij = ±J/√N.
    Uniform field h. log E[Z]/N = (N−1)/2 · log E[e^{β J_ij}] + log 2cosh(βh),
    i.e. β²J²(N−1)/(4N) + log 2cosh(βh) for Gaussian couplings
    (Sherrington & Kirkpatrick 1975).
    """

    n: int
    couplings: str = "gaussian"
    J: float = 1.0
    h: float = 0.0

    def __post_init__(self):
        n = check_positive_int(self.n, "n")
        if n < 2:
            raise ValueError(f"SK needs n >= 2 spins (at least one pair), got n = {n}")
        object.__setattr__(self, "n", n)
        _check_distribution(self.couplings, "coupling")
        object.__setattr__(self, "J", _finite_float(self.J, "J"))
        object.__setattr__(self, "h", _finite_float(self.h, "h"))

    @property
    def n_sites(self) -> int:
        return self.n

    def _build_bytes(self) -> float:
        # Measured peak: 201 bytes per pair (dense N x N code matrices, the bond list, the neighbour tables).
        return _SK_BYTES_PER_PAIR * self.n * (self.n - 1) / 2

    @functools.cached_property
    def _template(self) -> Ising:
        i, j = np.triu_indices(self.n, k=1)
        codes = np.zeros((self.n, self.n))
        codes[i, j] = np.arange(1, len(i) + 1)
        return Ising.from_couplings(codes + codes.T, h=self.h)

    @functools.cached_property
    def _order(self) -> np.ndarray:
        return _edge_order(self._template)

    def _draw(self, rng):
        n_pairs = self.n * (self.n - 1) // 2  # pair k: the k-th (i < j) in row-major order
        values = _random_values(rng, self.couplings, self.J / math.sqrt(self.n), n_pairs)
        return values[self._order], np.full(self.n, self.h)

    def annealed_free_entropy_density(self, beta):
        betas, _ = as_beta_array(beta)
        n = self.n
        pairs = n * (n - 1) / 2
        values = (pairs * _log_mgf(self.couplings, self.J / math.sqrt(n), betas) / n
                  + log_cosh(betas * self.h) + math.log(2.0))
        return _scalar_or_array(beta, values)

    def control_variates(self, instance: Ising) -> np.ndarray:
        """Three invariants of one instance's couplings with exactly known mean 0, shape (3,).

        With σ² = J²/N (J the ensemble's scale) and the symmetric coupling
        matrix J_ij (zero diagonal):

            c₁ = Σ_{i<j} J_ij² − (N−1)J²/2,    c₂ = Tr J³,    c₃ = Tr J⁴ − E Tr J⁴,

        the bond, triangle and 4-cycle terms of the high-temperature
        expansion of log Z, hence correlated with it (use them as control
        variates: :meth:`statmech.studies.QuenchedResult.control_variate_mean`).
        E Tr J³ = 0 since J and −J are equally likely. E Tr J⁴ sums the closed
        4-walks using each bond an even number of times: i→j→i→l→i (l ≠ j) and
        i→j→k→j→i (k ≠ i), 2N(N−1)(N−2) walks of weight σ⁴, and i→j→i→j→i,
        N(N−1) walks of weight E J_ij⁴ = 3σ⁴ (Gaussian) or σ⁴ (±J):

            E Tr J⁴ = (N−1)(2N−1) J⁴/N (Gaussian),   (N−1)(2N−3) J⁴/N (±J).

        For ±J couplings Σ_{i<j} J_ij² = (N−1)J²/2 for every instance, so c₁
        is returned as exactly 0 (a constant control, dropped by the
        regression). The field h does not enter. Reference for the method:
        Lavenberg & Welch, Manage. Sci. 27, 322 (1981).
        """
        if not isinstance(instance, Ising):
            raise TypeError(f"control_variates needs one SK instance (an Ising from sample(seed)), "
                            f"got {type(instance).__name__}")
        if np.ndim(instance.couplings) != 1:
            raise ValueError("control_variates takes one instance, not a batch; call it on "
                             "ensemble.sample(seed) for each instance")
        n = self.n
        if instance.n_sites != n:
            raise ValueError(f"the instance has {instance.n_sites} sites; this {self!r} has {n}")
        matrix = instance.coupling_matrix()
        squared = matrix @ matrix
        scale2 = self.J**2
        if self.couplings == "pm1":
            bonds = 0.0
            tr4_mean = (n - 1) * (2 * n - 3) / n * scale2**2
        else:
            bonds = float(np.sum(matrix**2)) / 2.0 - (n - 1) / 2.0 * scale2
            tr4_mean = (n - 1) * (2 * n - 1) / n * scale2**2
        triangles = float(np.sum(squared * matrix))  # Tr J³ (J symmetric)
        four_cycles = float(np.sum(squared * squared))  # Tr J⁴
        return np.array([bonds, triangles, four_cycles - tr4_mean])


@dataclasses.dataclass(frozen=True)
class EdwardsAnderson(IsingEnsemble):
    """Edwards–Anderson spin glass: nearest-neighbour bonds J_e = ±J or N(0, J²) on an L^dim lattice.

    ``dim=2``: ``Ising.square(L, J=(Jh, Jv))`` (site i = y·L + x); for open
    boundaries the wrap-around bonds Jh[:, −1], Jv[−1, :] are 0 (absent).
    ``dim=3``: the bonds of ``Ising.cubic(L)`` (site i = (z·L + y)·L + x,
    same edge order) with random couplings. Uniform field h (default 0).
    log E[Z]/N = log 2cosh(βh) + (E/N) log E[e^{β J_e}], E the number of bonds.
    """

    L: int
    dim: int = 2
    couplings: str = "pm1"
    periodic: bool = True
    J: float = 1.0
    h: float = 0.0

    def __post_init__(self):
        L = check_positive_int(self.L, "L")
        if L < 2:
            raise ValueError(f"L must be >= 2 for a lattice with bonds, got L = {L}")
        object.__setattr__(self, "L", L)
        object.__setattr__(self, "dim", _check_dim(self.dim))
        _check_distribution(self.couplings, "coupling")
        object.__setattr__(self, "periodic", bool(self.periodic))
        object.__setattr__(self, "J", _finite_float(self.J, "J"))
        object.__setattr__(self, "h", _finite_float(self.h, "h"))

    @property
    def n_sites(self) -> int:
        return self.L**self.dim

    @property
    def n_bonds(self) -> int:
        """Number of bonds E: dim·N periodic, dim·L^(dim−1)·(L−1) open."""
        per_axis = self.L**self.dim if self.periodic else self.L ** (self.dim - 1) * (self.L - 1)
        return self.dim * per_axis

    def _build_bytes(self) -> float:
        return _LATTICE_BYTES_PER_BOND * self.n_bonds

    @functools.cached_property
    def _template(self) -> Ising:
        L = self.L
        if self.dim == 3:
            return Ising.cubic(L, J=1.0, h=self.h, periodic=self.periodic)
        Jh = np.arange(1, L * L + 1, dtype=np.float64).reshape(L, L)  # codes of the bonds
        Jv = Jh + L * L
        if not self.periodic:
            Jh[:, -1] = 0.0
            Jv[-1, :] = 0.0
        return Ising.square(L, J=(Jh, Jv), h=self.h, periodic=self.periodic)

    @functools.cached_property
    def _order(self) -> np.ndarray:
        return _edge_order(self._template) if self.dim == 2 else None

    def _draw(self, rng):
        field = np.full(self.n_sites, self.h)
        if self.dim == 3:  # one value per bond of Ising.cubic, in its edge order
            return _random_values(rng, self.couplings, self.J, self._template.n_edges), field
        L = self.L
        Jh = _random_values(rng, self.couplings, self.J, (L, L))  # Jh[y, x]: (x, y)–(x+1, y)
        Jv = _random_values(rng, self.couplings, self.J, (L, L))  # Jv[y, x]: (x, y)–(x, y+1)
        # Open boundaries: the wrap entries Jh[:, -1], Jv[-1, :] are drawn but have no bond.
        return np.concatenate([Jh.reshape(-1), Jv.reshape(-1)])[self._order], field

    def annealed_free_entropy_density(self, beta):
        betas, _ = as_beta_array(beta)
        values = (math.log(2.0) + log_cosh(betas * self.h)
                  + self.n_bonds / self.n_sites * _log_mgf(self.couplings, self.J, betas))
        return _scalar_or_array(beta, values)


@dataclasses.dataclass(frozen=True)
class RandomFieldIsing(IsingEnsemble):
    """Random-field Ising model: uniform J on an L^dim lattice, fields h_i ~ N(0, σ²) or ±σ.

    log E[Z]/N = log Z_clean(β)/N + log E[e^{β h_i}], Z_clean the same lattice
    without field; the clean log Z comes from an exact method
    (``statmech.thermo.log_z(..., method="auto")``), so the annealed value is
    available where one applies (Imry & Ma 1975).
    """

    L: int
    dim: int = 2
    sigma: float = 1.0
    J: float = 1.0
    periodic: bool = True
    field: str = "gaussian"

    def __post_init__(self):
        L = check_positive_int(self.L, "L")
        if L < 2:
            raise ValueError(f"L must be >= 2 for a lattice with bonds, got L = {L}")
        object.__setattr__(self, "L", L)
        object.__setattr__(self, "dim", _check_dim(self.dim))
        sigma = _finite_float(self.sigma, "sigma")
        if sigma < 0:
            raise ValueError(f"sigma is the standard deviation of the fields; it must be >= 0, got {sigma}")
        object.__setattr__(self, "sigma", sigma)
        object.__setattr__(self, "J", _finite_float(self.J, "J"))
        object.__setattr__(self, "periodic", bool(self.periodic))
        _check_distribution(self.field, "field")

    @property
    def n_sites(self) -> int:
        return self.L**self.dim

    def clean_model(self) -> Ising:
        """The same lattice and J without field."""
        build = Ising.square if self.dim == 2 else Ising.cubic
        return build(self.L, J=self.J, h=0.0, periodic=self.periodic)

    def _build_bytes(self) -> float:
        return _LATTICE_BYTES_PER_BOND * (self.dim + 1) * self.n_sites  # the bonds and the fields

    @functools.cached_property
    def _template(self) -> Ising:
        return self.clean_model()

    def _draw(self, rng):
        fields = _random_values(rng, self.field, self.sigma, self.n_sites)  # site order i = y L + x (+ z L²)
        return np.array(self._template.couplings), fields

    def annealed_free_entropy_density(self, beta, clean_log_z=None):
        """log E[Z]/N = log Z_clean(β)/N + log E[e^{β h_i}].

        ``clean_log_z`` is log Z of :meth:`clean_model` at the same β (from an
        exact method: ``sm.log_z(ensemble.clean_model(), beta).value``);
        :func:`statmech.quenched` passes it. Without it this raises
        NotImplementedError, since the ensemble alone has no closed form.
        """
        betas, _ = as_beta_array(beta)
        if clean_log_z is None:
            raise NotImplementedError(
                f"log E[Z] of {self!r} needs the exact log Z of the clean lattice: pass "
                "clean_log_z=sm.log_z(ensemble.clean_model(), beta).value")
        clean_log_z = np.broadcast_to(np.asarray(clean_log_z, dtype=np.float64).reshape(-1), betas.shape)
        values = clean_log_z / self.n_sites + _log_mgf(self.field, self.sigma, betas)
        return _scalar_or_array(beta, values)


@dataclasses.dataclass(frozen=True)
class CurieWeiss(IsingEnsemble):
    """Curie–Weiss model H = −(J/N) Σ_{i<j} s_i s_j − h Σ_i s_i (no disorder).

    The clean mean-field reference: ``sample(seed)`` returns the one model
    (whatever the seed). Its exact log Z is O(N) (method ``"curie-weiss"``);
    the N → ∞ limit is :func:`statmech.exact._mean_field.curie_weiss_mean_field`.
    """

    n: int
    J: float = 1.0
    h: float = 0.0

    def __post_init__(self):
        n = check_positive_int(self.n, "n")
        if n < 2:
            raise ValueError(f"CurieWeiss needs n >= 2 spins, got n = {n}")
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "J", _finite_float(self.J, "J"))
        object.__setattr__(self, "h", _finite_float(self.h, "h"))

    @property
    def n_sites(self) -> int:
        return self.n

    _too_big = ("its log Z needs no instance: ensemble.annealed_free_entropy_density(beta) is exact in O(N) "
                "(there is no disorder), and statmech.exact's curie_weiss_mean_field gives N -> infinity")

    def _build_bytes(self) -> float:
        return _SK_BYTES_PER_PAIR * self.n * (self.n - 1) / 2  # the same dense build as SK

    @functools.cached_property
    def _template(self) -> Ising:
        matrix = np.full((self.n, self.n), self.J / self.n)
        np.fill_diagonal(matrix, 0.0)
        return Ising.from_couplings(matrix, h=self.h)

    def _draw(self, rng):
        return np.array(self._template.couplings), np.array(self._template.field)

    def sample(self, seed: int = 0) -> Ising:
        """The model itself (the seed is checked and ignored)."""
        return super().sample(seed)

    def annealed_free_entropy_density(self, beta):
        """log Z / N exactly (there is no disorder: annealed = quenched), a sum over the N + 1 levels of M."""
        betas, _ = as_beta_array(beta)
        energies, log_degeneracy, _ = curie_weiss_levels(self.n, self.J / self.n, self.h)
        values = logsumexp(log_degeneracy[None, :] - betas[:, None] * energies[None, :], axis=1) / self.n
        return _scalar_or_array(beta, values)


def curie_weiss_levels(n: int, pair_coupling: float, h: float, constant: float = 0.0):
    """The N + 1 levels of N all-to-all spins: (energies H(M), log C(N, k), magnetisations M = 2k − N).

    H(M) = −(J_p/2)(M² − N) − h M + constant, with k up spins.
    """
    k = np.arange(n + 1, dtype=np.float64)
    magnetization = 2.0 * k - n
    log_degeneracy = gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0)
    energies = -0.5 * pair_coupling * (magnetization**2 - n) - h * magnetization + constant
    return energies, log_degeneracy, magnetization


# ------------------------------------------------------------------ REM
class REMInstance(eqx.Module):
    """One instance of the random energy model: the energies of all 2^n configurations.

    ``energies`` (2^n,) float64 (a batch has shape (K, 2^n)). Configuration
    s ∈ {−1, +1}^n has index Σ_i [s_i = +1] 2^i (the order of
    :func:`statmech.exact.all_states`).
    """

    energies: np.ndarray

    @property
    def n_sites(self) -> int:
        return int(np.shape(self.energies)[-1]).bit_length() - 1

    def energy(self, s):
        """E(s) for spins ``s`` of shape (..., n) with entries ±1 (one instance)."""
        if isinstance(s, jax.Array) or isinstance(self.energies, jax.Array):
            import jax.numpy as xp
        else:
            xp = np
        s = xp.asarray(s)
        n = self.n_sites
        if s.shape[-1] != n:
            raise ValueError(f"spins have {s.shape[-1]} sites on their last axis; this REM has {n}")
        weights = 2 ** xp.arange(n)
        index = xp.sum((s > 0) * weights, axis=-1)
        return xp.asarray(self.energies)[index]

    def __repr__(self) -> str:
        shape = np.shape(self.energies)
        batch = f", batch of {shape[0]}" if len(shape) > 1 else ""
        return f"REMInstance(n={self.n_sites}{batch})"


@dataclasses.dataclass(frozen=True)
class REM(DisorderEnsemble):
    """Random energy model (Derrida 1981): 2^n independent energies E ~ N(0, n/2).

    log E[Z]/n = log 2 + β²/4. In the limit n → ∞ the quenched free entropy
    density is log 2 + β²/4 for β < β_c = 2√(log 2) and β√(log 2) above.
    n <= ``MAX_REM_SITES`` = 26 (the 2^n energies are stored).
    """

    n: int

    def __post_init__(self):
        n = check_positive_int(self.n, "n")
        if n > MAX_REM_SITES:
            raise ValueError(
                f"REM(n = {n}) stores 2^n energies, which must fit in memory: n <= {MAX_REM_SITES} "
                f"(2^{MAX_REM_SITES} float64 = 512 MiB)")
        object.__setattr__(self, "n", n)

    @property
    def n_sites(self) -> int:
        return self.n

    def sample(self, seed: int) -> REMInstance:
        rng = np.random.default_rng(check_seed(seed))
        return REMInstance(energies=math.sqrt(self.n / 2.0) * rng.standard_normal(2**self.n))

    def sample_batch(self, seed: int, n_instances: int) -> REMInstance:
        seeds = instance_seeds(seed, n_instances)
        return REMInstance(energies=np.stack([self.sample(int(s)).energies for s in seeds]))

    def annealed_free_entropy_density(self, beta):
        betas, _ = as_beta_array(beta)
        return _scalar_or_array(beta, math.log(2.0) + betas**2 / 4.0)
