"""The tour's sections in the seed's order, and the steps they compute (the registry of the tour).

A section is one module (:mod:`statmech.tour._boltzmann`, ...) holding its
steps, figures and text side by side; to add one, write the module and list
its ``SECTION`` here. A step's section number on the page is its section's
position in :data:`SECTIONS`, counted from 1.
"""
from __future__ import annotations

import dataclasses

from statmech.tour import _boltzmann, _disorder, _free_energy, _ising, _ml, _vocabulary
from statmech.tour._base import Section, TourStep

SECTIONS: tuple[Section, ...] = (_boltzmann.SECTION, _free_energy.SECTION, _ising.SECTION, _disorder.SECTION,
                                 _ml.SECTION, _vocabulary.SECTION)

TOUR_STEPS: tuple[TourStep, ...] = tuple(dataclasses.replace(step, section=number)
                                         for number, section in enumerate(SECTIONS, start=1)
                                         for step in section.steps)
STEPS_BY_NAME: dict[str, TourStep] = {step.name: step for step in TOUR_STEPS}

if len(STEPS_BY_NAME) != len(TOUR_STEPS):
    raise RuntimeError("two tour steps share a name; the store keys its tasks by step name")
