"""Figure helpers for pages drawn from stored results: matplotlib (Agg, no pyplot), PNG bytes plus the data.

The style, palette and the :class:`FigureOut` record shared by every page
(the tour's sections in :mod:`statmech.tour` and the sweep report), and the
sweep report's figure (:func:`sweep_figures`). A figure function takes what a
store holds and returns :class:`FigureOut` objects: the PNG, a caption, an alt
text, and the data drawn as an ``xarray.Dataset`` written next to the page as
netCDF. Nothing here computes physics.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import math
from typing import Any

import numpy as np

STYLE = {
    "font.size": 9.5, "axes.titlesize": 10, "axes.labelsize": 9.5, "legend.fontsize": 8,
    "xtick.labelsize": 8.5, "ytick.labelsize": 8.5, "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "grid.alpha": 0.25, "grid.linewidth": 0.6, "lines.linewidth": 1.6,
    "axes.prop_cycle": None,  # set below
    "figure.dpi": 100, "savefig.dpi": 110, "svg.hashsalt": "statmech",
}
COLOURS = ["#1f5fa8", "#d1495b", "#2e8b57", "#e69f00", "#7b4fa0", "#555555"]
ONE_D, TWO_D = "#d1495b", "#1f5fa8"


@dataclasses.dataclass
class FigureOut:
    """A drawn figure: ``key`` (file stem), ``caption`` (HTML), ``png`` bytes, the ``data`` drawn, ``alt`` text."""

    key: str
    caption: str
    png: bytes
    data: Any  # xarray.Dataset
    width: int = 0
    height: int = 0
    alt: str = ""


def _cycle():
    from cycler import cycler

    return cycler(color=COLOURS)


@contextlib.contextmanager
def style():
    """The pages' matplotlib style (rc parameters and colour cycle) inside a ``with`` block."""
    import matplotlib

    rc = dict(STYLE, **{"axes.prop_cycle": _cycle()})
    with matplotlib.rc_context(rc):
        yield


def new_figure(width: float, height: float, ncols: int = 1, nrows: int = 1, **kwargs):
    """A constrained-layout matplotlib Figure (no pyplot) of ``width`` × ``height`` inches and its axes grid."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False, **kwargs)
    return figure, axes


def _png(figure) -> tuple[bytes, int, int]:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    data = buffer.getvalue()
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    return data, width, height


def figure_out(key: str, caption: str, figure, data, alt: str) -> FigureOut:
    """Render ``figure`` to PNG and wrap it with its key, caption, data and alt text (what the figure shows)."""
    if not alt or not alt.strip():
        raise ValueError(f"figure {key!r}: give an alt text that says what the figure shows")
    png, width, height = _png(figure)
    return FigureOut(key, caption, png, data, width, height, alt)


def xr_dataset(variables: dict, coords: dict | None = None, attrs: dict | None = None):
    """An ``xarray.Dataset`` from ``{name: (dims, values)}``; attributes that are None are left out."""
    import xarray as xr

    return xr.Dataset({k: (dims, np.asarray(v)) for k, (dims, v) in variables.items()},
                      coords=coords or {}, attrs={k: v for k, v in (attrs or {}).items() if v is not None})


def panel_label(ax, letter: str) -> None:
    """A bold panel title at the left of ``ax`` ("a   what it shows")."""
    ax.set_title(letter, loc="left", fontweight="bold")


# ------------------------------------------------------------------ a sweep store
def sweep_figures(dataset) -> list[FigureOut]:
    """One panel per quantity against β, one line per value of the other grid axes (mean over seeds)."""
    import itertools

    quantities = [name for name in dataset.data_vars
                  if not name.endswith("_stderr") and name != "task_status" and "beta" in dataset[name].dims]
    if not quantities or "beta" not in dataset.dims:
        return []
    others = [d for d in dataset[quantities[0]].dims if d not in ("beta", "seed")]
    combos = list(itertools.product(*[list(dataset[d].values) for d in others])) or [()]
    ncols = 3
    nrows = math.ceil(len(quantities) / ncols)
    with style():
        figure, axes = new_figure(9.6, 2.6 * nrows + 0.4, ncols=ncols, nrows=nrows)
        for k, name in enumerate(quantities):
            ax = axes[k // ncols, k % ncols]
            for combo in combos:
                selection = dict(zip(others, combo))
                values = dataset[name].sel(selection)
                errors = dataset[f"{name}_stderr"].sel(selection) if f"{name}_stderr" in dataset else None
                label = ", ".join(f"{a} = {v}" for a, v in selection.items()) or name
                if "seed" in values.dims and values.sizes["seed"] > 1:
                    mean = values.mean("seed")
                    err = values.std("seed", ddof=1) / math.sqrt(values.sizes["seed"])
                    ax.errorbar(dataset.beta, mean, yerr=err, fmt="o-", ms=3, capsize=2, label=label)
                else:
                    if "seed" in values.dims:
                        values = values.isel(seed=0)
                        errors = errors.isel(seed=0) if errors is not None else None
                    if errors is not None and np.any(np.isfinite(errors)):
                        ax.errorbar(dataset.beta, values, yerr=errors, fmt="o-", ms=3, capsize=2, label=label)
                    else:
                        ax.plot(dataset.beta, values, "o-", ms=3, label=label)
            ax.set_title(name)
            ax.set_xlabel("β")
            if k == 0:
                ax.legend(frameon=False, fontsize=7)
        for k in range(len(quantities), nrows * ncols):
            axes[k // ncols, k % ncols].set_visible(False)
    return [figure_out("results", "Every stored quantity against β (lines: the other grid axes; with several "
                                  "seeds, their mean ± standard error).", figure, dataset,
                       alt="Panels of every stored quantity of the study (" + ", ".join(quantities) +
                           ") against the inverse temperature β, one line per value of the other grid axes.")]
