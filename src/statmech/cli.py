"""The ``statmech`` command line (Typer + Rich).

Errors in the user's input (and file errors: a missing folder, a folder where
a file is expected, a read-only file system, an existing output) print one
line on stderr and exit with status 2; a sweep with failed tasks exits with
status 1. Every user- or store-supplied string printed through Rich is
escaped, so it is shown as written and never read as Rich markup.
"""
from __future__ import annotations

import json
import math
import sys
import warnings
from enum import Enum
from pathlib import Path
from typing import List, Optional

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from statmech._types import SamplingWarning

app = typer.Typer(
    help="statmech: exact and estimated thermodynamics of spin models and training losses.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

SAMPLING_FLAGS = {"seed": "--seed", "n_sweeps": "--n-sweeps", "n_chains": "--n-chains", "burn_in": "--burn-in"}
"""The sampling options of ``statmech thermo`` and the method options they set."""


class UserError(Exception):
    """A mistake in the command's input: reported in one line, exit status 2."""


class CommandFailed(Exception):
    """The command could not finish (e.g. a sweep lost its workers): reported in one line, exit status 1."""


def _version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("statmech")
    except PackageNotFoundError:  # running from a source tree
        from statmech import __version__

        return __version__


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"statmech {_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Print the version of statmech and exit."),
):
    """statmech: exact and estimated thermodynamics of spin models and training losses."""


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


def _gives_thermo(method) -> bool:
    return method.moments is not None or method.thermo_fn is not None


def _thermo_methods(model) -> list[str]:
    """Methods that apply to ``model`` and compute its thermodynamics (not only log Z)."""
    from statmech._registry import available_methods, get_method

    return [name for name in available_methods(model) if _gives_thermo(get_method(name, model))]


def _choose_method(model, method: str, given: dict):
    """The registered Method ``method`` names for ``model``, with the sampling options checked against it."""
    from statmech._registry import resolve_method
    from statmech.studies._study import method_options, unknown_option_message

    try:
        chosen = resolve_method(model, method, {})
    except ValueError as error:
        if method.lower() != "auto":
            raise
        applicable = _thermo_methods(model)
        sampler = next((name for name in ("metropolis", "heatbath", "wolff") if name in applicable), None)
        example = f", e.g. --method {sampler} --n-sweeps 2000 --seed 0" if sampler else ""
        raise UserError(f"no exact method applies to {model!r}; methods that apply: "
                        f"{', '.join(applicable) or 'none'} (choose one with --method{example}); "
                        "`statmech methods MODEL --L N --why` says why the others do not") from error
    if not _gives_thermo(chosen):
        raise UserError(f"method {chosen.name!r} estimates log Z only; `statmech thermo` needs a method that "
                        f"gives the thermodynamics: {', '.join(_thermo_methods(model))}")
    if given:
        accepted = method_options(chosen)
        if chosen.exact:
            flags = ", ".join(SAMPLING_FLAGS[key] for key in given)
            raise UserError(f"{flags}: options of sampling methods; method {chosen.name!r} is exact and takes "
                            f"none (sampling methods for this model: "
                            f"{', '.join(n for n in _thermo_methods(model) if n not in _exact_names(model))})")
        if accepted is not None:
            for key in given:
                if key not in accepted:
                    raise UserError(f"{SAMPLING_FLAGS[key]}: " + unknown_option_message(chosen.name, key, accepted))
        resolve_method(model, chosen.name, given)  # the method may refuse an option's value (e.g. a sampler)
    return chosen


def _exact_names(model) -> set[str]:
    from statmech._registry import available_methods, get_method

    return {name for name in available_methods(model) if get_method(name, model).exact}


@app.command("thermo")
def thermo_command(
    model: ModelName = typer.Argument(..., help="Which model."),
    L: int = typer.Option(..., "--L", help="Linear size (chain length for ising-chain)."),
    beta: Optional[List[float]] = typer.Option(None, "--beta", help="Inverse temperature; repeat for a grid."),
    temperature: Optional[List[float]] = typer.Option(None, "--T", help="Temperature T = 1/beta; repeat for a grid."),
    J: float = typer.Option(1.0, "--J", help="Coupling J (H = -J sum s_i s_j - h sum s_i)."),
    h: float = typer.Option(0.0, "--h", help="Uniform field h."),
    periodic: bool = typer.Option(True, "--periodic/--open", help="Boundary conditions."),
    method: str = typer.Option("auto", "--method", help="Method name, or 'auto' (the best exact method that applies); `statmech methods` lists them."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Sampling methods: random seed (the method's default: 0)."),
    n_sweeps: Optional[int] = typer.Option(None, "--n-sweeps", help="Sampling methods: sweeps per chain after burn-in."),
    n_chains: Optional[int] = typer.Option(None, "--n-chains", help="Sampling methods: independent chains."),
    burn_in: Optional[int] = typer.Option(None, "--burn-in", help="Sampling methods: sweeps discarded first (default: n_sweeps // 5)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on stderr while a sampling method runs."),
    as_json: bool = typer.Option(False, "--json", help="Print strict JSON instead of a table (non-finite numbers are null, with a note)."),
):
    """Thermodynamics of a spin model: log Z, free energy, energy, entropy, specific heat, ..."""
    import statmech as sm

    betas = _betas(beta, temperature)
    the_model = _build_model(model, L, J, h, periodic)
    given = {key: value for key, value in (("seed", seed), ("n_sweeps", n_sweeps), ("n_chains", n_chains),
                                           ("burn_in", burn_in)) if value is not None}
    chosen = _choose_method(the_model, method, given)
    point = betas if len(betas) > 1 else betas[0]
    description = f"{chosen.name} on {model.value} L={L}, {len(betas)} beta value{'s' * (len(betas) > 1)}"
    with _Activity(progress and not chosen.exact, description), warnings.catch_warnings():
        # a SamplingWarning sums up result.meta["warnings"], which is printed in full below (or in --json)
        warnings.simplefilter("ignore", SamplingWarning)
        result = sm.thermo(the_model, point, method=method, **given)
    if as_json:
        typer.echo(strict_json(result))
        return
    _print_thermo(result, f"{model.value} L={L} J={J} h={h} {'periodic' if periodic else 'open'}")


def strict_json(result) -> str:
    """``result.to_dict()`` as strict JSON: non-finite numbers become null with a note; warnings listed.

    JSON has no infinities or NaN (``-Infinity`` is not JSON: strict parsers
    refuse it), so e.g. F = -log Z / β at β = 0 is written ``null`` and
    ``notes`` says ``"free_energy.value = -inf"``. ``warnings`` holds the
    method's diagnostics (``result.meta["warnings"]``), empty when none.
    """
    notes: list[str] = []

    def clean(value, where):
        if isinstance(value, dict):
            return {key: clean(item, f"{where}.{key}" if where else str(key)) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(item, f"{where}[{i}]") for i, item in enumerate(value)]
        if isinstance(value, (float, np.floating)):
            value = float(value)
            if not math.isfinite(value):
                notes.append(f"{where} = {value} (JSON has no infinity or NaN: written as null)")
                return None
        elif isinstance(value, np.integer):
            return int(value)
        return value

    data = clean(result.to_dict(), "")
    data["warnings"] = [str(w) for w in (result.meta or {}).get("warnings", ())]
    if notes:
        data["notes"] = notes
    return json.dumps(data, allow_nan=False)


def _print_thermo(result, title: str) -> None:
    console = Console()
    betas = np.atleast_1d(result.beta)
    table = Table(title=escape(f"{title}  [method: {result.method}]"))
    table.add_column("quantity")
    for b in betas:
        table.add_column(escape(f"beta={b:.6g}"), justify="right")
    for name in result.available():
        estimate = getattr(result, name)
        values = np.atleast_1d(estimate.value)
        errors = None if estimate.stderr is None else np.atleast_1d(estimate.stderr)
        cells = [f"{v:.10g}" + ("" if errors is None else f" ± {e:.2g}")
                 for v, e in zip(values, errors if errors is not None else [None] * len(values))]
        table.add_row(escape(name), *(escape(cell) for cell in cells))
    warnings = [str(w) for w in (result.meta or {}).get("warnings", ())]
    if warnings:
        table.caption = f"{len(warnings)} warning{'s' * (len(warnings) > 1)} below"
    console.print(table)
    for warning in warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", soft_wrap=True)


class _Activity:
    """A Rich progress bar on stderr while a long computation runs (shown only on a terminal)."""

    def __init__(self, enabled: bool, description: str):
        self.enabled, self.description = enabled, description
        self._progress = None

    def __enter__(self):
        if self.enabled:
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                      TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self._progress.start()
            self._progress.add_task(escape(self.description), total=None)
        return self

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.stop()


@app.command("methods")
def methods_command(
    model: Optional[ModelName] = typer.Argument(None, help="Only methods that apply to this model."),
    L: Optional[int] = typer.Option(None, "--L", help="Linear size of the model (needed with MODEL: what applies depends on it)."),
    h: float = typer.Option(0.0, "--h", help="Uniform field h."),
    periodic: bool = typer.Option(True, "--periodic/--open"),
    why: bool = typer.Option(False, "--why", help="With MODEL: also list the methods that do not apply, and why."),
):
    """List the registered methods (those that apply to a model, when one is given)."""
    import statmech as sm
    from statmech._registry import all_methods, why_not

    if model is None:
        if L is not None or why:
            raise UserError("--L and --why go with a MODEL, e.g. `statmech methods ising-square --L 16 --why`")
        for name in sm.available_methods():
            typer.echo(name)
        return
    if L is None:
        raise UserError(f"give the size with --L (which methods apply to {model.value} depends on it: "
                        f"exact enumeration, for one, only works for small sizes)")
    the_model = _build_model(model, L, 1.0, h, periodic)
    for name in sm.available_methods(the_model):
        typer.echo(name)
    if why:
        applicable = set(sm.available_methods(the_model))
        reasons: dict[str, str] = {}
        for method in all_methods():
            if method.name not in applicable:
                reasons.setdefault(method.name, why_not(method, the_model, {}) or "")
        for name in sorted(reasons):
            typer.echo(f"not {name}: {reasons[name]}")


def _output_folder(out: Path, what: str) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: a file; --out is the folder for {what} (it is created if missing)")


@app.command("tour")
def tour_command(
    quick: bool = typer.Option(False, "--quick", help="Small budgets (under a minute)."),
    out: Path = typer.Option(Path("tour-output"), "--out", help="Directory for index.html, its data and the store."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars on stderr."),
):
    """The seed's argument, computed: runs the built-in studies and writes DIR/index.html."""
    from statmech.tour import run_tour

    _output_folder(out, "the tour's page, data and store")
    page = run_tour(out, quick=quick, progress=progress)
    typer.echo(f"tour written to {page}")


@app.command("report")
def report_command(
    store: Path = typer.Argument(..., help="Result store (the tour's tour.sqlite or a sweep's store)."),
    out: Path = typer.Option(..., "--out", help="Directory for index.html and its data."),
):
    """Draw the figures and page of a result store, without recomputing anything."""
    from statmech import report, tour
    from statmech.studies._kinds import is_tour_store
    from statmech.studies._store import ResultStore

    if not store.exists():
        raise UserError(f"no store at {store}; run `statmech sweep` or `statmech tour` first")
    _output_folder(out, "index.html and its data")
    with ResultStore.open(store, writable=False) as opened:
        info = opened.study_info()
    build_report = tour.build_report if is_tour_store(info) else report.build_report
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
    """Run every task of a study into a result store (SQLite), locally or on a Dask cluster.

    Exits with status 1 when any task failed (the failed tasks are stored with
    their error; fix the cause, then --resume re-runs them).
    """
    from statmech.studies import run_sweep
    from statmech.studies._sweep import SweepError

    if workers is not None and scheduler is not None:
        raise UserError("give either --workers or --scheduler, not both")
    try:
        summary = run_sweep(study, store, workers=workers, scheduler=scheduler, resume=resume, progress=progress)
    except SweepError as error:  # a worker or the scheduler was lost: what was done is stored
        raise CommandFailed(str(error)) from None
    typer.echo(str(summary))
    if summary.n_failed:
        coords, error = summary.failures[0]
        point = ", ".join(f"{k}={v}" for k, v in coords.items())
        typer.echo(f"error: {summary.n_failed} of {summary.n_tasks} tasks failed; the first at {point}: "
                   f"{error}", err=True)
        raise typer.Exit(1)


@app.command("results")
def results_command(
    store: Path = typer.Argument(..., help="Result store written by `statmech sweep`."),
    to: ExportFormat = typer.Option(ExportFormat.netcdf, "--to", help="Export format."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output file (default: STORE with suffix .nc or .csv); never the store itself."),
    layout: CsvLayout = typer.Option(CsvLayout.wide, "--layout", help="CSV layout: one row per task (wide) or per task and quantity (long)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing output file."),
):
    """Export a result store to netCDF (xarray) or CSV (pandas), after SQLite's integrity check."""
    from statmech.studies import export_results

    typer.echo(str(export_results(store, to=to.value, out=out, layout=layout.value, force=force)))


def _os_error_line(error: OSError) -> str:
    """One line for a file error: ``PATH: reason`` (the system's words)."""
    reason = error.strerror or str(error)
    if error.filename is not None:
        return f"{error.filename}: {reason}"
    return " ".join(str(error).split()) if not error.strerror else reason


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point: run the app and return its exit status; user and file errors print one line and return 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = ["--help"]
    try:
        code = app(args=argv, standalone_mode=False, prog_name="statmech")
    except typer.Exit as done:
        return int(done.exit_code or 0)
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        return 1
    except KeyboardInterrupt:
        typer.echo("error: interrupted", err=True)
        return 130
    except typer.TyperException as error:  # usage errors: unknown option, bad value, ...
        typer.echo(f"error: {' '.join(error.format_message().split())}", err=True)
        return 2
    except (UserError, ValueError, TypeError) as error:
        typer.echo(f"error: {' '.join(str(error).split())}", err=True)
        return 2
    except OSError as error:  # missing folder, a folder where a file goes, read-only or full disk, ...
        typer.echo(f"error: {_os_error_line(error)}", err=True)
        return 2
    except CommandFailed as error:  # e.g. the sweep could not go on (a worker or the scheduler was lost)
        typer.echo(f"error: {' '.join(str(error).split())}", err=True)
        return 1
    return int(code) if isinstance(code, int) else 0


def _console_entry() -> None:  # pragma: no cover - exercised through the installed script
    sys.exit(main())
