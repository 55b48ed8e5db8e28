"""Studies: computations over grids of sizes, temperatures and seeds."""
from statmech.studies._binder import BinderStudy, binder_crossings

__all__ = ["BinderStudy", "binder_crossings"]
