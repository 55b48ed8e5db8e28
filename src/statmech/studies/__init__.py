"""Studies: computations over grids of sizes, temperatures, seeds and disorder instances."""
from statmech.studies._binder import BinderStudy, binder_crossings
from statmech.studies._disorder import QuenchedResult, SelfAveragingResult, quenched, self_averaging

__all__ = ["BinderStudy", "binder_crossings", "QuenchedResult", "SelfAveragingResult", "quenched",
           "self_averaging"]
