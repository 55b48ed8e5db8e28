"""Monte Carlo: pure kernels (init/step pairs, key first), drivers and tempering."""
from statmech.mc._base import Kernel, SpinState, StepInfo

__all__ = ["Kernel", "SpinState", "StepInfo"]
