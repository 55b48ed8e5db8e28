"""Re-export of :class:`statmech.Estimate` (defined with the other value types in ``statmech._types``)."""
from statmech._types import Estimate

__all__ = ["Estimate"]
