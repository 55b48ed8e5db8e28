"""The ``statmech`` command line (Typer + Rich).

Errors in the user's input print one line on stderr and exit with status 2.
"""
from __future__ import annotations

import json
import math
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="statmech: exact and estimated thermodynamics of spin models and training losses.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class UserError(Exception):
    """A mistake in the command's input: reported in one line, exit status 2."""


class ModelName(str, Enum):
    ising_chain = "ising-chain"
    ising_square = "ising-square"
    ising_cubic = "ising-cubic"


def _build_model(model: ModelName, L: int, J: float, h: float, periodic: bool):
    import statmech as sm

    if model is ModelName.ising_chain:
        return sm.Ising.chain(L, J=J, h=h, periodic=periodic)
    if model is ModelName.ising_square:
        return sm.Ising.square(L, J=J, h=h, periodic=periodic)
    return sm.Ising.cubic(L, J=J, h=h, periodic=periodic)


def _betas(beta: Optional[List[float]], temperature: Optional[List[float]]) -> np.ndarray:
    if beta and temperature:
        raise UserError("give either --beta or --T, not both")
    if temperature:
        values = np.asarray(temperature, dtype=float)
        if np.any(~np.isfinite(values)) or np.any(values <= 0):
            raise UserError("--T must be finite and > 0 (beta = 1/T)")
        return 1.0 / values
    if beta:
        return np.asarray(beta, dtype=float)
    raise UserError("give an inverse temperature with --beta (or a temperature with --T)")


@app.command("thermo")
def thermo_command(
    model: ModelName = typer.Argument(..., help="Which model."),
    L: int = typer.Option(..., "--L", help="Linear size (chain length for ising-chain)."),
    beta: Optional[List[float]] = typer.Option(None, "--beta", help="Inverse temperature; repeat for a grid."),
    temperature: Optional[List[float]] = typer.Option(None, "--T", help="Temperature T = 1/beta; repeat for a grid."),
    J: float = typer.Option(1.0, "--J", help="Coupling J (H = -J sum s_i s_j - h sum s_i)."),
    h: float = typer.Option(0.0, "--h", help="Uniform field h."),
    periodic: bool = typer.Option(True, "--periodic/--open", help="Boundary conditions."),
    method: str = typer.Option("auto", "--method", help="Method name, or 'auto'."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
):
    """Thermodynamics of a spin model: log Z, free energy, energy, entropy, specific heat, ..."""
    import statmech as sm

    betas = _betas(beta, temperature)
    the_model = _build_model(model, L, J, h, periodic)
    result = sm.thermo(the_model, betas if len(betas) > 1 else betas[0], method=method)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), default=_json_default))
        return
    _print_thermo(result, f"{model.value} L={L} J={J} h={h} {'periodic' if periodic else 'open'}")


def _json_default(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    raise TypeError(f"cannot serialise {value!r}")


def _print_thermo(result, title: str) -> None:
    console = Console()
    betas = np.atleast_1d(result.beta)
    table = Table(title=f"{title}  [method: {result.method}]")
    table.add_column("quantity")
    for b in betas:
        table.add_column(f"beta={b:.6g}", justify="right")
    for name in result.available():
        estimate = getattr(result, name)
        values = np.atleast_1d(estimate.value)
        errors = None if estimate.stderr is None else np.atleast_1d(estimate.stderr)
        cells = [f"{v:.10g}" + ("" if errors is None else f" ± {e:.2g}")
                 for v, e in zip(values, errors if errors is not None else [None] * len(values))]
        table.add_row(name, *cells)
    console.print(table)


@app.command("methods")
def methods_command(
    model: Optional[ModelName] = typer.Argument(None, help="Only methods that apply to this model."),
    L: int = typer.Option(4, "--L", help="Linear size of the model."),
    h: float = typer.Option(0.0, "--h", help="Uniform field h."),
    periodic: bool = typer.Option(True, "--periodic/--open"),
):
    """List the registered methods (those that apply to a model, when one is given)."""
    import statmech as sm

    if model is None:
        names = sm.available_methods()
    else:
        names = sm.available_methods(_build_model(model, L, 1.0, h, periodic))
    for name in names:
        typer.echo(name)


@app.command("tour")
def tour_command(
    quick: bool = typer.Option(False, "--quick", help="Small budgets (under a minute)."),
    out: Path = typer.Option(Path("tour-output"), "--out", help="Directory for index.html, its data and the store."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars on stderr."),
):
    """The seed's argument, computed: runs the built-in studies and writes DIR/index.html."""
    from statmech.studies._tour import run_tour

    page = run_tour(out, quick=quick, progress=progress)
    typer.echo(f"tour written to {page}")


@app.command("report")
def report_command(
    store: Path = typer.Argument(..., help="Result store (the tour's tour.sqlite or a sweep's store)."),
    out: Path = typer.Option(..., "--out", help="Directory for index.html and its data."),
):
    """Draw the figures and page of a result store, without recomputing anything."""
    from statmech.report import build_report

    if not store.exists():
        raise UserError(f"no store at {store}; run `statmech sweep` or `statmech tour` first")
    typer.echo(f"report written to {build_report(store, out)}")


class ExportFormat(str, Enum):
    netcdf = "netcdf"
    csv = "csv"


class CsvLayout(str, Enum):
    wide = "wide"
    long = "long"


@app.command("sweep")
def sweep_command(
    study: Path = typer.Argument(..., help="Study file (TOML); see docs/studies.md."),
    store: Optional[Path] = typer.Option(None, "--store", help="Result store (default: STUDY with suffix .sqlite)."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Local worker processes (default: one per CPU; 1 = in this process)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.1:8786."),
    resume: bool = typer.Option(False, "--resume", help="Continue an existing store of the same study: skip tasks already done."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on stderr."),
):
    """Run every task of a study into a result store (SQLite), locally or on a Dask cluster."""
    from statmech.studies import run_sweep

    if workers is not None and scheduler is not None:
        raise UserError("give either --workers or --scheduler, not both")
    summary = run_sweep(study, store, workers=workers, scheduler=scheduler, resume=resume, progress=progress)
    typer.echo(str(summary))
    if summary.n_failed:
        raise typer.Exit(1)


@app.command("results")
def results_command(
    store: Path = typer.Argument(..., help="Result store written by `statmech sweep`."),
    to: ExportFormat = typer.Option(ExportFormat.netcdf, "--to", help="Export format."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output file (default: STORE with suffix .nc or .csv)."),
    layout: CsvLayout = typer.Option(CsvLayout.wide, "--layout", help="CSV layout: one row per task (wide) or per task and quantity (long)."),
):
    """Export a result store to netCDF (xarray) or CSV (pandas)."""
    from statmech.studies import export_results

    typer.echo(str(export_results(store, to=to.value, out=out, layout=layout.value)))


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point: run the app; user errors print one line and return 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = ["--help"]
    try:
        app(args=argv, standalone_mode=False, prog_name="statmech")
    except typer.Exit as done:
        return int(done.exit_code or 0)
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        return 1
    except typer.TyperException as error:  # usage errors: unknown option, bad value, ...
        typer.echo(f"error: {error.format_message()}", err=True)
        return 2
    except (UserError, ValueError, TypeError) as error:
        typer.echo(f"error: {error}", err=True)
        return 2
    return 0


def _console_entry() -> None:  # pragma: no cover - exercised through the installed script
    sys.exit(main())
