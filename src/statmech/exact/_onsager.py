"""Onsager's infinite square lattice (placeholder: being written)."""
import numpy as np
CRITICAL_BETA = 0.5 * np.log(1 + np.sqrt(2))
CRITICAL_TEMPERATURE = 1 / CRITICAL_BETA
def onsager(beta, J=1.0):
    raise NotImplementedError("being written")
def infinite_chain(beta, J=1.0, h=0.0):
    raise NotImplementedError("being written")
