"""Exact transfer matrices for Ising chains and square-lattice strips (method ``"transfer"``).

Z = Tr Π_k T_k (periodic) or a vector contraction (open) (Kramers & Wannier
1941; Baxter, *Exactly Solved Models*, ch. 2 and 7), in the log domain with
second-order log-jets in β and in a uniform field, so log Z, U, Var(H), M and
Var(M) are exact derivatives. Chains: a pairwise reduction of 2×2 matrices;
strips: a site-by-site transfer over the 2^W frontier states.
Derivation: docs/derivations.md.
"""
from __future__ import annotations

import numpy as np

from statmech._validation import check_time
from statmech.models import Ising
from statmech._types import Method, Moments

MAX_OPEN_STRIP_WIDTH = 16
"""Widest strip (shorter side) with open boundaries along the transfer direction."""

MAX_PERIODIC_STRIP_WIDTH = 10
"""Widest strip with periodic boundaries along the transfer direction (cost 4^W per site)."""

_STRIP_CHUNK = 1 << 16
"""Strip entries (β × boundary × frontier) per jet component processed at once."""

_CHAIN_BLOCK = 1 << 16
"""Bonds multiplied per block of a chain (small arrays stay in cache; measured fastest)."""


# ------------------------------------------------------------------ log-jets
# A jet is a tuple (l0, e1, e2, m1, m2) of broadcast-compatible float64 arrays:
# l0 = log w, (e1, e2) the first/second ε-coefficients of the energy tilt
# −(β+ε)H, (m1, m2) those of the magnetisation tilt −βH + εM.

def _local_jet(beta, energy, magnetization):
    """Jet of a local weight exp(−βE + εM): ℓ₀ = −βE, ℓ₁ᴱ = −E, ℓ₁ᴹ = M, ℓ₂ = 0."""
    energy = np.asarray(energy, dtype=np.float64)
    zero = np.zeros_like(energy)
    return (-beta * energy, -energy, zero, np.asarray(magnetization, dtype=np.float64), zero)


def _jet_add(x, y):
    """Jet of a product of weights (log-jets add)."""
    return tuple(a + b for a, b in zip(x, y))


def _jet_pair_logsumexp(x, y):
    """Jet of log(e^x + e^y), entrywise; no entry may be −inf.

    With p = e^{x₀−L₀}: L₁ = y₁ + p(x₁ − y₁), L₂ = y₂ + p(x₂ − y₂) + ½ p(1−p)(x₁ − y₁)².
    (Written with in-place updates of temporaries: this is the inner loop of every transfer.)
    """
    x0, y0 = x[0], y[0]
    difference = x0 - y0
    small = np.abs(difference)
    np.negative(small, out=small)
    np.exp(small, out=small)                       # e^{−|x₀−y₀|} ∈ (0, 1]
    log0 = np.maximum(x0, y0)
    log0 += np.log1p(small)
    p_big = small + 1.0
    np.reciprocal(p_big, out=p_big)                # the larger of p_x, p_y
    np.minimum(difference, 0.0, out=difference)
    px = np.exp(difference)
    px *= p_big                                    # p_x = e^{min(x₀−y₀, 0)} / (1 + e^{−|x₀−y₀|})
    half_pxy = small                               # ½ p_x p_y = ½ e^{−|d|} / (1 + e^{−|d|})²
    half_pxy *= p_big
    half_pxy *= p_big
    half_pxy *= 0.5
    out = [log0]
    for first, second in ((1, 2), (3, 4)):
        spread = x[first] - y[first]
        mean = px * spread
        mean += y[first]
        second_order = x[second] - y[second]
        second_order *= px
        second_order += y[second]
        spread *= spread
        spread *= half_pxy
        second_order += spread
        out.extend((mean, second_order))
    return tuple(out)


def _jet_logsumexp(x, axis):
    """Jet of log Σ_k e^{x_k} over ``axis``: L₂ = Σ p_k (ℓ₂ₖ + ½ (ℓ₁ₖ − L₁)²), central form."""
    x0 = x[0]
    top = np.max(x0, axis=axis, keepdims=True)
    weights = np.exp(x0 - top)
    total = np.sum(weights, axis=axis, keepdims=True)
    p = weights / total
    log0 = np.squeeze(top + np.log(total), axis=axis)
    out = [log0]
    for first, second in ((1, 2), (3, 4)):
        mean = np.sum(p * x[first], axis=axis, keepdims=True)
        spread = np.sum(p * (x[second] + 0.5 * (x[first] - mean) ** 2), axis=axis)
        out.append(np.squeeze(mean, axis=axis))
        out.append(spread)
    return tuple(out)


def _moments_from_jets(jets) -> Moments:
    """Moments from the jet of log Z: U = −L₁ᴱ, Var(H) = 2L₂ᴱ, M = L₁ᴹ, Var(M) = 2L₂ᴹ."""
    log_z, e1, e2, m1, m2 = (np.asarray(a, dtype=np.float64) for a in jets)
    return Moments(log_z=log_z, energy=-e1, energy_variance=2.0 * e2,
                   magnetization=m1, magnetization_variance=2.0 * m2)


def _concat_jets(pieces, axis=0):
    """Concatenate jets component by component."""
    return tuple(np.concatenate([piece[k] for piece in pieces], axis=axis) for k in range(5))


# --------------------------------------------------------------------- chains
def _chain_bond_jets(beta, couplings, fields):
    """Jets of T_k[s_k, s_{k+1}] = exp(β J_k s_k s_{k+1} + β h_k s_k) as {(i, j): jet of shape (B, K)}.

    ``beta`` has shape (B, 1); entry index 0 is spin −1, 1 is spin +1.
    """
    spin = (-1.0, 1.0)
    matrix = {}
    for i in range(2):
        for j in range(2):
            energy = -(couplings * (spin[i] * spin[j]) + fields * spin[i])
            jet = _local_jet(beta, energy[None, :], np.full((1, len(energy)), spin[i]))
            matrix[i, j] = tuple(np.broadcast_arrays(*jet))
    return matrix


def _matrix_product_tree(matrix):
    """Ordered product T_0 T_1 ⋯ T_{K−1} of 2×2 jet matrices, pairwise (log₂ K levels).

    ``matrix`` maps (i, j) to a jet of arrays (B, K); C_ik = log Σ_j exp(A_ij + B_jk).
    Returns the same layout with K = 1.
    """
    count = matrix[0, 0][0].shape[-1]
    while count > 1:
        even = count - count % 2
        left = {key: tuple(a[:, 0:even:2] for a in jet) for key, jet in matrix.items()}
        right = {key: tuple(a[:, 1:even:2] for a in jet) for key, jet in matrix.items()}
        product = {}
        for i in range(2):
            for k in range(2):
                product[i, k] = _jet_pair_logsumexp(_jet_add(left[i, 0], right[0, k]),
                                                    _jet_add(left[i, 1], right[1, k]))
                if count % 2:
                    product[i, k] = tuple(np.concatenate([p, a[:, -1:]], axis=1)
                                          for p, a in zip(product[i, k], matrix[i, k]))
        matrix = product
        count = matrix[0, 0][0].shape[-1]
    return matrix


def _chain_moments(model, betas) -> Moments:
    """Z = Tr Π_k T_k (periodic) or Σ_{s₀, s_{n−1}} (Π_k T_k)[s₀, s_{n−1}] e^{βh_{n−1}s_{n−1}} (open).

    The product is taken in blocks of ``_CHAIN_BLOCK`` bonds, each a pairwise tree.
    """
    n = model.n_sites
    periodic = model.lattice.periodic
    couplings = np.asarray(model.couplings, dtype=np.float64)
    fields = np.asarray(model.field, dtype=np.float64)
    n_bonds = n if periodic else n - 1
    bond_fields = fields[:n_bonds]
    spin = np.array([-1.0, 1.0])

    results = []
    beta_chunk = max(1, _CHAIN_BLOCK // max(n_bonds, 1))
    for start in range(0, len(betas), beta_chunk):
        beta = betas[start:start + beta_chunk][:, None]                   # (B, 1)
        if n_bonds == 0:  # one open site: Z = Σ_s exp(β h s + ε s)
            jets = _local_jet(beta, -fields[0] * spin[None, :], spin[None, :])
            results.append(_jet_logsumexp(jets, axis=-1))
            continue
        blocks = []
        for first in range(0, n_bonds, _CHAIN_BLOCK):
            last = min(first + _CHAIN_BLOCK, n_bonds)
            blocks.append(_matrix_product_tree(
                _chain_bond_jets(beta, couplings[first:last], bond_fields[first:last])))
        product = {key: _concat_jets([block[key] for block in blocks], axis=1) for key in blocks[0]}
        product = _matrix_product_tree(product)                             # arrays (B, 1)
        if periodic:
            ends = [product[0, 0], product[1, 1]]
        else:
            ends = [_jet_add(product[i, j], _local_jet(beta, -fields[-1] * spin[j], spin[j]))
                    for i in range(2) for j in range(2)]
        ends = tuple(np.broadcast_arrays(*jet) for jet in ends)
        results.append(_jet_logsumexp(_concat_jets(ends, axis=1), axis=-1))
    return _moments_from_jets(_concat_jets(results))


# ------------------------------------------------------------- square strips
def _strip_arrays(model):
    """(Jt, Jw, h) indexed [column, row] with the transfer along the longer side.

    ``Jt[c, r]`` couples (c, r)–(c+1, r) (wrapping to column 0), ``Jw[c, r]``
    couples (c, r)–(c, r+1) (wrapping to row 0); zeros for absent bonds.
    """
    Lx, Ly = model.lattice.shape
    Jh, Jv = model.bond_arrays()
    field = np.asarray(model.field, dtype=np.float64).reshape(Ly, Lx)
    if Lx >= Ly:  # columns are x, rows are y
        return Jh.T.copy(), Jv.T.copy(), field.T.copy()
    return Jv.copy(), Jh.copy(), field.copy()


def _strip_width(model) -> int:
    return int(min(model.lattice.shape))


def _needs_trace(model) -> bool:
    """True when bonds wrap around the transfer direction (then Z is a trace)."""
    if not model.lattice.periodic:
        return False
    Lx, Ly = model.lattice.shape
    # only the wrap-around column of the transfer direction (views: O(1) for a scalar J, no copy of the strip)
    (_, Jh), (_, Jv) = model.axis_bonds(np.asarray(model.couplings, dtype=np.float64), np)
    wrap = Jh[:, -1] if Lx >= Ly else Jv[-1, :]
    return bool(np.any(wrap != 0))


def _spin_table(width):
    """S[idx, k] = ±1: the spin held by bit k of configuration idx (shape (2^width, width))."""
    index = np.arange(1 << width)
    return 2.0 * ((index[:, None] >> np.arange(width)[None, :]) & 1) - 1.0


def _strip_moments(model, betas) -> Moments:
    """Helical transfer: the frontier is the last W sites in the order (column, row).

    Frontier bit k holds site t − W + 1 + k (bit W−1 the newest). Adding site
    t + 1 = (c, r) sums out bit 0, its left neighbour (c − 1, r); its upper
    neighbour (c, r − 1) is bit W − 1 and, for r = W − 1, the wrap neighbour
    (c, 0) is bit 1. After each full column, bit k holds row k of that column.
    """
    Jt, Jw, h = _strip_arrays(model)
    length, width = h.shape
    n_states = 1 << width
    spins = _spin_table(width)                                    # (2^W, W)
    rest_spins = _spin_table(width - 1)                           # bits 1..W−1 shifted down
    next_row = (np.arange(width) + 1) % width
    trace = _needs_trace(model)

    # First column: its own bonds and fields (+ wrap bonds to the boundary column b).
    column_energy = -(spins * h[0]).sum(axis=1) - (Jw[0] * spins * spins[:, next_row]).sum(axis=1)
    column_magnetization = spins.sum(axis=1)
    boundary_energy = -(spins * Jt[-1]) @ spins.T if trace else None  # [b, s]

    def site_energy(c, r, new_spin):
        """Energy of the new spin's field and in-column bonds, over the remaining bits (2^(W−1),)."""
        energy = np.full(n_states >> 1, -h[c, r] * new_spin)
        if r >= 1:                       # upper neighbour (c, r − 1): old bit W − 1
            energy -= Jw[c, r - 1] * new_spin * rest_spins[:, width - 2]
        if r == width - 1 and width >= 2:  # wrap neighbour (c, 0): old bit 1
            energy -= Jw[c, r] * new_spin * rest_spins[:, 0]
        elif r == width - 1:               # width 1: a self-bond, s·s = 1
            energy -= Jw[c, r]
        return energy

    n_boundaries = n_states if trace else 1
    boundary_chunk = max(1, min(n_boundaries, _STRIP_CHUNK // n_states))
    beta_chunk = max(1, _STRIP_CHUNK // (n_states * boundary_chunk))
    results = []
    for beta_start in range(0, len(betas), beta_chunk):
        beta = betas[beta_start:beta_start + beta_chunk][:, None, None]   # (B, 1, 1)
        pieces = []
        for b_start in range(0, n_boundaries, boundary_chunk):
            b_stop = min(b_start + boundary_chunk, n_boundaries)
            energy = column_energy[None, :]
            if trace:
                energy = energy + boundary_energy[b_start:b_stop]
            shape = (beta.shape[0], b_stop - b_start, n_states)
            jets = tuple(np.broadcast_to(a, shape).copy() for a in _local_jet(
                beta, energy[None], np.broadcast_to(column_magnetization, energy.shape)[None]))
            for c in range(1, length):
                for r in range(width):
                    jets = _strip_site_step(jets, beta, Jt[c - 1, r],
                                            [site_energy(c, r, s) for s in (-1.0, 1.0)])
            if trace:
                local = np.arange(b_stop - b_start)
                pieces.append(tuple(a[:, local, b_start + local] for a in jets))
            else:
                pieces.append(tuple(a[:, 0, :] for a in jets))
        results.append(_jet_logsumexp(_concat_jets(pieces, axis=1), axis=-1))
    return _moments_from_jets(_concat_jets(results))


def _strip_site_step(jets, beta, coupling, site_energies):
    """Add one site: new[s, rest] = log Σ_o exp(old[rest, o] + βJ s o) − βE_s[rest] + εs.

    ``jets`` have shape (B, boundaries, 2^W); the oldest frontier bit o (the left
    neighbour) is bit 0, the fastest index. ``coupling`` is J to the left neighbour and
    ``site_energies`` the field/in-column energies for s = −1, +1.
    """
    batch, boundaries, n_states = jets[0].shape
    split = tuple(a.reshape(batch, boundaries, n_states >> 1, 2) for a in jets)
    old = [tuple(a[..., o] for a in split) for o in range(2)]     # o = −1, +1
    halves = []
    for new_index, new_spin in enumerate((-1.0, 1.0)):
        terms = []
        for old_index, old_spin in enumerate((-1.0, 1.0)):
            bond = coupling * new_spin * old_spin                   # −energy = J s o
            l0, e1, e2, m1, m2 = old[old_index]
            terms.append((l0 + beta * bond, e1 + bond, e2, m1, m2))
        l0, e1, e2, m1, m2 = _jet_pair_logsumexp(terms[0], terms[1])
        energy = site_energies[new_index]
        l0 -= beta * energy
        e1 -= energy
        m1 += new_spin
        halves.append((l0, e1, e2, m1, m2))
    return tuple(np.concatenate([halves[0][k], halves[1][k]], axis=-1) for k in range(5))


# ----------------------------------------------------------------- the method
def _why_not(model, options):
    if options:
        return f"the transfer method takes no options (got {', '.join(sorted(options))})"
    if np.ndim(model.couplings) != 1 or np.ndim(model.field) != 1:
        return "this is a batch of models; call it on one instance at a time"
    kind = model.lattice.kind
    if kind == "chain":
        if model.bonds_from_lattice:
            return None  # the lattice's own bonds: (k, k+1 mod n) in order by construction
        n = model.n_sites
        n_bonds = n if model.lattice.periodic else n - 1
        first = np.arange(n_bonds)
        expected = np.stack([first, (first + 1) % n], axis=1)
        if not np.array_equal(np.asarray(model.edges), expected):
            return "the chain's edges are not (k, k+1 mod n) in order"
        return None
    if kind == "square":
        width = _strip_width(model)
        if _needs_trace(model):
            if width > MAX_PERIODIC_STRIP_WIDTH:
                return (f"periodic strips need width <= {MAX_PERIODIC_STRIP_WIDTH}; this model has "
                        f"min(Lx, Ly) = {width}. Use periodic=False (open strips work up to width "
                        f"{MAX_OPEN_STRIP_WIDTH}), a smaller width, or method='kaufman' for h = 0 "
                        f"uniform couplings")
        elif width > MAX_OPEN_STRIP_WIDTH:
            return (f"open strips need width <= {MAX_OPEN_STRIP_WIDTH}; this model has "
                    f"min(Lx, Ly) = {width}. Use a narrower strip (any length works)")
        return None
    return (f"the transfer method handles chains and square-lattice strips, not a {kind} "
            f"lattice")


def _moments(model, betas, **options) -> Moments:
    """Exact log Z, U, Var(H), M, Var(M) of a chain or square strip on the β grid ``betas``."""
    reason = _why_not(model, options)
    if reason is not None:
        raise ValueError(f"method 'transfer' does not apply to {model!r}: {reason}")
    betas = np.asarray(betas, dtype=np.float64).reshape(-1)
    shorter = ("a shorter chain (its free energy density converges exponentially in n)"
               if model.lattice.kind == "chain" else
               "a shorter strip (its free energy density converges exponentially in the length), or "
               "method='kaufman' for uniform J and h = 0")
    check_time(_estimated_seconds(model, len(betas)), f"method 'transfer' on {model!r} at {len(betas)} beta(s)",
               f"pass fewer betas or {shorter}")
    if model.lattice.kind == "chain":
        return _chain_moments(model, betas)
    return _strip_moments(model, betas)


#: Seconds per bond and β of the chain product (measured 3e-7 to 1.2e-6 on a shared 2-core machine).
_CHAIN_SECONDS_PER_BOND = 4e-7
#: Seconds per site, strip state and β of the strip transfer (measured 1.2e-7).
_STRIP_SECONDS_PER_STATE = 1e-7


def _estimated_seconds(model, n_betas) -> float:
    """Up-front run-time estimate: bonds x β for a chain; sites x states x β for a strip (4^w when traced)."""
    if model.lattice.kind == "chain":
        return _CHAIN_SECONDS_PER_BOND * model.n_edges * n_betas
    width = _strip_width(model)
    states = 4.0**width if _needs_trace(model) else 2.0**width
    return _STRIP_SECONDS_PER_STATE * model.n_sites * states * n_betas


# Registered by statmech._registry (this module does not import the registry).
METHODS: list[Method] = []
METHODS.append(Method(name="transfer", exact=True, why_not=_why_not, moments=_moments,
                       auto_rank=20, model_types=(Ising,)))
