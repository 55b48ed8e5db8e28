"""The tour: the seed's argument, step by step, computed into a result store and drawn as one HTML page.

    statmech tour [--quick] --out DIR        # run_tour(DIR, quick=...)
    statmech report DIR/tour.sqlite --out D  # build_report(DIR/tour.sqlite, D)

One module per section of the page (``_boltzmann``, ``_free_energy``,
``_ising``, ``_disorder``, ``_ml``, ``_vocabulary``) holds that section's
steps (compute functions with a quick and a full budget), figures and text
side by side; :mod:`statmech.tour._sections` lists them in the seed's order.
:func:`run_tour` computes every step as one task of a store
(:mod:`statmech.tour._run`) and :func:`build_report` draws the page from the
store alone (:mod:`statmech.tour._page`), with the generic figure and HTML
pieces of :mod:`statmech.report`.
"""
from statmech.tour._base import Section, StepData, StepResult, TourStep
from statmech.tour._page import build_report
from statmech.tour._run import BUDGETS, TOUR_NAME, TourStudy, compute_step, run_tour
from statmech.tour._sections import SECTIONS, STEPS_BY_NAME, TOUR_STEPS

__all__ = ["run_tour", "build_report", "TourStudy", "compute_step", "TOUR_STEPS", "STEPS_BY_NAME", "SECTIONS",
           "TOUR_NAME", "BUDGETS", "Section", "StepData", "StepResult", "TourStep"]
