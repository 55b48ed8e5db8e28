"""Studies: computations over grids of sizes, temperatures, seeds and disorder instances.

Study files (TOML) run as sweeps into an embedded SQLite result store, locally
or on a Dask cluster; see docs/studies.md.
"""
from statmech.studies._binder import BinderStudy, binder_crossings
from statmech.studies._disorder import (
    QuenchedResult,
    SelfAveragingResult,
    control_variate_mean,
    quenched,
    self_averaging,
    weighted_least_squares,
)
from statmech.studies._export import export_results, load_results, results_table
from statmech.studies._store import ResultStore, StoreError
from statmech.studies._study import MODEL_KINDS, Study, StudyError, Task, load_study, parse_study
from statmech.studies._sweep import SweepError, SweepSummary, run_sweep

__all__ = [
    "BinderStudy", "binder_crossings", "QuenchedResult", "SelfAveragingResult", "quenched",
    "self_averaging", "control_variate_mean", "weighted_least_squares", "export_results", "load_results", "results_table", "ResultStore", "StoreError",
    "MODEL_KINDS", "Study", "StudyError", "Task", "load_study", "parse_study", "SweepSummary", "run_sweep",
    "SweepError",
]
