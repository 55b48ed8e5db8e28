"""The pieces every tour section is made of: steps, their stored results, and the page helpers they share.

A section module (``_boltzmann``, ``_free_energy``, ...) defines its steps
(:class:`TourStep`: a compute function with a quick and a full budget), the
figures drawn from a stored step (:class:`StepData`) and the section's text,
and exports them as one :class:`Section`.
"""
from __future__ import annotations

import dataclasses
import importlib
from typing import Callable

import numpy as np

from statmech.report._html import Figures, esc, note


# ------------------------------------------------------------------ computing a step
@dataclasses.dataclass
class StepResult:
    """What one step computed: scalar results (value or (value, stderr)), artifacts, method, meta."""

    scalars: dict = dataclasses.field(default_factory=dict)
    artifacts: dict = dataclasses.field(default_factory=dict)
    method: str = ""
    meta: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class TourStep:
    """One step of the tour: ``compute(params, seed) -> StepResult`` with a quick and a full budget.

    ``section`` (the section's number on the page) is set by the registry
    (:mod:`statmech.tour._sections`) from the section's position.
    """

    name: str
    title: str
    compute: Callable[[dict, int], StepResult]
    quick: dict
    full: dict
    section: int = 0

    def params(self, budget: str) -> dict:
        return dict(self.quick if budget == "quick" else self.full)


@dataclasses.dataclass(frozen=True)
class Section:
    """One section of the page: its anchor ``key``, ``title``, ``steps`` and ``render(steps, figs) -> HTML``.

    ``render`` gets every stored step (name -> :class:`StepData`) and the
    page's :class:`~statmech.report._html.Figures`, and returns the section's
    body (the page adds the ``<section>`` element and the numbered heading).
    """

    key: str
    title: str
    steps: tuple[TourStep, ...]
    render: Callable[[dict, Figures], str]


def array(values, dtype=np.float64) -> np.ndarray:
    """A contiguous numpy array of ``dtype`` (what the store keeps as an artifact)."""
    return np.ascontiguousarray(np.asarray(values, dtype=dtype))


def values(estimate) -> np.ndarray:
    """An Estimate's values as a float64 array."""
    return array(estimate.value)


def errors(estimate) -> np.ndarray:
    """An Estimate's standard errors as a float64 array (NaN where it has none)."""
    if estimate.stderr is None:
        return np.full(np.shape(estimate.value), np.nan)
    return array(estimate.stderr)


def unavailable(reason: str) -> StepResult:
    """The result of a step that cannot run in this installation (shown as "not yet available")."""
    return StepResult(method="unavailable", artifacts={"unavailable": {"reason": reason}})


def theory_function(name: str):
    """``statmech.theory.<name>`` when that module and function exist, else None."""
    try:
        theory = importlib.import_module("statmech.theory")
    except ImportError:
        return None
    return getattr(theory, name, None)


# ------------------------------------------------------------------ a stored step
@dataclasses.dataclass
class StepData:
    """One stored tour step: status, parameters, scalars {name: (value, stderr)} and artifacts {name: array|JSON}."""

    name: str
    section: int
    title: str
    status: str
    error: str | None
    method: str | None
    seconds: float | None
    params: dict
    scalars: dict
    artifacts: dict
    meta: dict | None = None
    seed: int = 0

    def value(self, name: str) -> float:
        return self.scalars[name][0]

    def stderr(self, name: str) -> float | None:
        return self.scalars[name][1]

    def array(self, name: str) -> np.ndarray:
        return np.asarray(self.artifacts[name])

    @property
    def unavailable(self) -> str | None:
        """The reason this step could not run (a missing optional module), or None."""
        info = self.artifacts.get("unavailable")
        return None if info is None else info.get("reason", "not available")


# ------------------------------------------------------------------ page helpers
V = lambda name: f'<i class="v">{name}</i>'  # noqa: E731 - a math variable
X = '<b><i>x</i></b>'
BETA = V("β")


def status_note(step: StepData | None, what: str) -> str | None:
    """A visible note when a step is missing, failed or unavailable; None when it is done."""
    if step is None:
        return note(f"{esc(what)}: this store has no such step.", failed=True)
    if step.status == "failed":
        return note(f"<b>{esc(what)} failed</b> in this run: <code>{esc(step.error)}</code>. "
                    "The store keeps the traceback (tasks table, meta).", failed=True)
    if step.status != "done":
        return note(f"{esc(what)} was not computed in this run (status: {esc(step.status)}).", failed=True)
    if step.unavailable:
        return note(f"<b>Not yet available:</b> {esc(what)} needs a part of statmech that this installation "
                    f"lacks ({esc(step.unavailable)}). Nothing is shown in its place.")
    return None


def warning_count(count: float, what: str) -> str:
    """``"no diagnostic warnings"`` / ``"3 diagnostic warnings, listed below"``."""
    count = int(count)
    return f"no {what}s" if count == 0 else f"{count} {what}{'s' * (count != 1)}, listed below"


def warning_list(texts, what: str) -> str:
    """The diagnostics a sampled step recorded (``meta["warnings"]`` of its results), listed in full
    under the figure they concern; "" when there are none."""
    texts = [str(text) for text in texts or ()]
    if not texts:
        return ""
    items = "".join(f"<li>{esc(text)}</li>" for text in texts)
    return (f'<details class="warnings" open><summary>{len(texts)} diagnostic '
            f'warning{"s" * (len(texts) != 1)} of {esc(what)}</summary><ul>{items}</ul></details>')


def figures_or_note(figs: Figures, step, what, draw) -> str:
    """The figures ``draw(step)`` returns, as HTML; a note instead when the step is not done or drawing fails."""
    status = status_note(step, what)
    if status is not None:
        return status
    try:
        return "".join(figs.html(f) for f in draw(step))
    except Exception as error:  # noqa: BLE001 - a figure that cannot be drawn says so on the page
        return note(f"The figure for {esc(what)} could not be drawn: <code>{esc(type(error).__name__)}: "
                    f"{esc(error)}</code>", failed=True)
