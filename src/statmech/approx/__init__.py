"""Variational and message-passing approximations of log Z for any Ising model.

    import statmech as sm
    m = sm.Ising.square(16, J=1.0)
    sm.log_z(m, 0.3, method="bp")            # Estimate, meta["approximation"] is True
    sm.thermo(m, [0.2, 0.3], method="trw")   # Thermo; meta holds the marginals
    r = sm.approx.belief_propagation(m, 0.3) # ApproxResult: log_z, energy, magnetizations, ...

- :func:`mean_field` (``"mean-field"``): naive mean field, a lower bound on log Z.
- :func:`belief_propagation` (``"bp"``): loopy BP, Bethe free entropy; exact on trees.
- :func:`tap` (``"tap"``): TAP free entropy (Onsager reaction term), Bolthausen's iteration.
- :func:`trw` (``"trw"``): tree-reweighted BP, an upper bound on log Z.

None of them is exact in general; ``method="auto"`` never picks them.
"""
from statmech.approx._bp import belief_propagation
from statmech.approx._common import ApproxResult, ConvergenceWarning
from statmech.approx._figure import BETHE_CRITICAL_BETA, SquareLatticeCurves, square_lattice_curves
from statmech.approx._mean_field import mean_field
from statmech.approx._methods import HEAT_STEP
from statmech.approx._tap import tap
from statmech.approx._trw import spanning_tree_edge_probabilities, trw

__all__ = [
    "ApproxResult", "ConvergenceWarning", "HEAT_STEP", "belief_propagation", "mean_field", "tap",
    "trw", "spanning_tree_edge_probabilities", "BETHE_CRITICAL_BETA", "SquareLatticeCurves",
    "square_lattice_curves",
]
