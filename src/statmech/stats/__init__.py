"""Statistics: the Estimate value type and error analysis."""
from statmech.stats._estimate import Estimate

__all__ = ["Estimate"]
