"""Data for the figure of the four approximations against the exact square lattice.

On the periodic L × L square lattice at h = 0 (J = 1), the free entropy
density log Z/N across β of naive mean field (lower bound; ordered for
β > 1/4), Bethe/BP (its paramagnetic fixed point is exact to ln 2 + 2 ln cosh β
for all β, and gives way to the magnetised one at the Bethe critical point
tanh β_B = 1/3), TRW (upper bound), TAP (second-order Plefka expansion: meant
for dense models; on the lattice it is shown for comparison only) and the
exact value from Kaufman's formula at the same L.
"""
from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np

from statmech._validation import as_beta_array, check_positive_int
from statmech.approx._bp import _bp
from statmech.approx._common import ConvergenceWarning, Graph
from statmech.approx._mean_field import _mean_field
from statmech.approx._tap import _tap
from statmech.approx._trw import _edge_probabilities, _trw
from statmech.exact._kaufman import kaufman_moments
from statmech.models import Ising

#: The Bethe (BP) critical point of the square lattice: tanh β_B = 1/(z − 1) = 1/3.
BETHE_CRITICAL_BETA = math.atanh(1.0 / 3.0)


@dataclasses.dataclass(frozen=True)
class SquareLatticeCurves:
    """Free entropy densities log Z/N on a β grid (arrays of the grid's shape)."""

    L: int
    betas: np.ndarray
    exact: np.ndarray
    mean_field: np.ndarray
    bp: np.ndarray
    tap: np.ndarray
    trw: np.ndarray
    bethe_beta: float = BETHE_CRITICAL_BETA


def square_lattice_curves(betas, L: int = 32) -> SquareLatticeCurves:
    """Mean field, BP, TAP, TRW and Kaufman's exact log Z/N on the periodic L × L lattice (J = 1, h = 0).

    BP starts from the all-up messages (the ordered branch where it exists),
    mean field keeps the best of its starts, TAP starts from m = 0.9 on
    every site and TRW from zero messages (its optimum is unique).
    """
    betas, _ = as_beta_array(betas)
    L = check_positive_int(L, "L", minimum=3)
    model = Ising.square(L)
    graph = Graph.of(model)
    rho = _edge_probabilities(graph, None)
    n = graph.n
    mf, bp, tap, trw = [], [], [], []
    exact = kaufman_moments(betas, L, L, 1.0, 1.0).log_z / n
    for beta in betas:
        beta = float(beta)
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            mf.append(_mean_field(graph, beta, 0.0, 1e-10, 100_000, 0, 0)[0].log_z / n)
            bp.append(_bp(graph, beta, 0.0, 1e-10, 100_000, "up", 0)[0].log_z / n)
            trw.append(_trw(graph, beta, rho, 0.5, 1e-10, 100_000, "zero", 0, 5)[0].log_z / n)
            tap.append(_tap(graph, beta, 0.5, 1e-10, 100_000, np.full(n, 0.9), 0)[0].log_z / n)
    return SquareLatticeCurves(L=L, betas=betas, exact=np.asarray(exact, dtype=np.float64), mean_field=np.array(mf),
                               bp=np.array(bp), tap=np.array(tap), trw=np.array(trw))
