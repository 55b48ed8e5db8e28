"""Streaming, numerically stable Boltzmann moments over many states or energy levels.

For weights w_k(β) = g_k exp(−β E_k), accumulated chunk by chunk in the log
domain, keeps per β: log Σ w, the weighted mean and the *central* variance of
E and M, and ⟨|M|⟩. Chunks are merged with the pairwise update of Chan et al.
(1979), so Var(H) never comes from ⟨E²⟩ − ⟨E⟩² and stays exact at β = 10⁶.
"""
from __future__ import annotations

import numpy as np

from statmech._types import Moments


class LevelAccumulator:
    """Accumulate Boltzmann moments for a β grid from chunks of states/levels."""

    def __init__(self, betas, track_magnetization: bool = True):
        self.betas = np.asarray(betas, dtype=np.float64).reshape(-1)
        self.track_magnetization = track_magnetization
        shape = self.betas.shape
        self.log_w = np.full(shape, -np.inf)
        self.energy_mean = np.zeros(shape)
        self.energy_var = np.zeros(shape)
        self.mag_mean = np.zeros(shape)
        self.mag_var = np.zeros(shape)
        self.abs_mag_mean = np.zeros(shape)

    def add(self, energies, log_degeneracy=None, magnetizations=None) -> None:
        """Add a chunk: energies (K,), optional log-multiplicities (K,) and magnetisations (K,)."""
        energies = np.asarray(energies, dtype=np.float64).reshape(-1)
        if energies.size == 0:
            return
        log_weights = -self.betas[:, None] * energies[None, :]
        if log_degeneracy is not None:
            log_weights = log_weights + np.asarray(log_degeneracy, dtype=np.float64)[None, :]
        shift = np.max(log_weights, axis=1, keepdims=True)
        weights = np.exp(log_weights - shift)
        total = weights.sum(axis=1)
        chunk_log_w = shift[:, 0] + np.log(total)
        p = weights / total[:, None]
        e_mean = p @ energies
        e_var = np.einsum("bk,bk->b", p, (energies[None, :] - e_mean[:, None]) ** 2)
        if self.track_magnetization:
            if magnetizations is None:
                raise ValueError("magnetizations are required when track_magnetization=True")
            mags = np.asarray(magnetizations, dtype=np.float64).reshape(-1)
            m_mean = p @ mags
            m_var = np.einsum("bk,bk->b", p, (mags[None, :] - m_mean[:, None]) ** 2)
            a_mean = p @ np.abs(mags)
        else:
            m_mean = m_var = a_mean = np.zeros_like(e_mean)
        self.merge(chunk_log_w, e_mean, e_var, m_mean, m_var, a_mean)

    def merge(self, log_w, e_mean, e_var, m_mean, m_var, a_mean) -> None:
        """Merge a chunk already reduced to per-β (log Σw, means, central variances, ⟨|M|⟩)."""
        new_log_w = np.logaddexp(self.log_w, log_w)
        with np.errstate(invalid="ignore"):
            p_old = np.where(np.isneginf(self.log_w), 0.0, np.exp(self.log_w - new_log_w))
            p_new = np.where(np.isneginf(log_w), 0.0, np.exp(log_w - new_log_w))
        delta_e = e_mean - self.energy_mean
        delta_m = m_mean - self.mag_mean
        self.energy_var = p_old * self.energy_var + p_new * e_var + p_old * p_new * delta_e**2
        self.energy_mean = p_old * self.energy_mean + p_new * e_mean
        self.mag_var = p_old * self.mag_var + p_new * m_var + p_old * p_new * delta_m**2
        self.mag_mean = p_old * self.mag_mean + p_new * m_mean
        self.abs_mag_mean = p_old * self.abs_mag_mean + p_new * a_mean
        self.log_w = new_log_w

    def moments(self, log_z_offset: float = 0.0) -> Moments:
        """The accumulated :class:`Moments` (``log_z_offset`` is added to log Z)."""
        if self.track_magnetization:
            return Moments(self.log_w + log_z_offset, self.energy_mean.copy(), self.energy_var.copy(),
                           self.mag_mean.copy(), self.mag_var.copy(), self.abs_mag_mean.copy())
        return Moments(self.log_w + log_z_offset, self.energy_mean.copy(), self.energy_var.copy())


def level_moments(betas, energies, log_degeneracy=None, magnetizations=None) -> Moments:
    """Moments of a whole list of levels at once (see :class:`LevelAccumulator`)."""
    accumulator = LevelAccumulator(betas, track_magnetization=magnetizations is not None)
    accumulator.add(energies, log_degeneracy, magnetizations)
    return accumulator.moments()
