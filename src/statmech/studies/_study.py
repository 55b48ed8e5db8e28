"""Study files: a TOML description of a grid of thermodynamic computations.

A study names a model (or a disorder ensemble), a method with its options, and
a grid. Every point of the grid — one value of each grid axis, the seed among
them — is one *task*: ``statmech.thermo.thermo(model, beta, method=..., **options)``
at one β. The schema is documented in ``docs/studies.md``::

    [study]
    name = "ising-2d-exact"
    [model]
    kind = "ising-square"
    J = 1.0
    [method]
    name = "kaufman"
    [grid]
    L = [8, 16]
    beta = [0.3, 0.44]

:func:`load_study` checks everything before anything runs: a mistake raises a
:class:`StudyError` whose one-line message names the file, the line and the key.
A task's identity is the SHA-256 of the canonical JSON of its configuration and
seed (:func:`task_id`), so a resumed sweep recognises exactly the tasks it has done.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import numbers
import pathlib
import re
import tomllib
from typing import Any, Callable

from statmech._registry import (available_methods, get_method, method_options, registered_names,  # noqa: F401
                                resolve_method, unknown_option_message)

TASK_ID_VERSION = "statmech-task-v1"
"""Mixed into every task hash; bump it only if the meaning of a task config changes."""

TOP_LEVEL_TABLES = ("study", "model", "method", "grid")
STUDY_KEYS = ("name", "description")
METHOD_KEYS = ("name", "options")
MAX_TASKS = 250_000
"""Most tasks one study may have. Above it the grid is refused before anything is built or written,
with estimates of the store's size and of the memory a sweep needs: split such a grid into several studies."""
STORE_BYTES_PER_TASK = 2_000
"""About how many bytes one finished task takes in a store (its row, ~15 result rows, indexes)."""
MEMORY_BYTES_PER_TASK = 3_000
"""About how many bytes of memory one task takes while a sweep creates and reads its store."""
RESERVED_OPTIONS = ("seed", "beta", "model")
"""Method options the sweep sets itself: the seed comes from ``[grid] seeds``, β from ``[grid] beta``."""


class StudyError(ValueError):
    """A mistake in a study file, reported in one line: ``FILE:LINE: KEY: what to fix``.

    ``path``, ``line`` (1-based, or None when unknown) and ``key`` (dotted,
    e.g. ``"grid.beta"``, or None) locate it; ``reason`` is the bare message.
    """

    def __init__(self, reason: str, path=None, line: int | None = None, key: str | None = None):
        self.reason = " ".join(str(reason).split())  # always one line
        self.path = None if path is None else str(path)
        self.line = line
        self.key = key
        location = self.path if self.path is not None else "<study>"
        if line is not None:
            location += f":{line}"
        super().__init__(f"{location}: {key}: {self.reason}" if key else f"{location}: {self.reason}")


# ------------------------------------------------------------------ model kinds
@dataclasses.dataclass(frozen=True)
class _Param:
    """One model parameter: its type ("float", "bool", "int", "str"), default and allowed values."""

    type: str
    default: Any
    choices: tuple = ()
    minimum: float | None = None


@dataclasses.dataclass(frozen=True)
class ModelKind:
    """A ``[model] kind``: its size key, parameters and how to build it.

    ``build(size, **params)`` returns an ``Ising`` model, or, when
    ``disorder`` is True, a disorder ensemble whose ``sample(seed)`` gives one
    instance (the task's seed is the disorder seed).
    """

    name: str
    size: str
    size_help: str
    params: dict
    build: Callable
    disorder: bool = False


def _ising(constructor_name):
    def build(size, J, h, periodic):
        from statmech.models import Ising

        return getattr(Ising, constructor_name)(size, J=J, h=h, periodic=periodic)

    return build


def _ensemble(class_name, size_name):
    def build(size, **params):
        from statmech.models import _disorder

        return getattr(_disorder, class_name)(**{size_name: size}, **params)

    return build


def _curie_weiss(size, J, h):
    from statmech.models import CurieWeiss

    return CurieWeiss(size, J=J, h=h).sample(0)  # no disorder: the one model


_LATTICE_PARAMS = {"J": _Param("float", 1.0), "h": _Param("float", 0.0), "periodic": _Param("bool", True)}
_DISTRIBUTIONS = ("gaussian", "pm1")

MODEL_KINDS: dict[str, ModelKind] = {
    "ising-chain": ModelKind("ising-chain", "L", "number of spins of the chain",
                             _LATTICE_PARAMS, _ising("chain")),
    "ising-square": ModelKind("ising-square", "L", "linear size of the L x L lattice",
                              _LATTICE_PARAMS, _ising("square")),
    "ising-cubic": ModelKind("ising-cubic", "L", "linear size of the L x L x L lattice",
                             _LATTICE_PARAMS, _ising("cubic")),
    "sk": ModelKind("sk", "n", "number of spins", {
        "couplings": _Param("str", "gaussian", _DISTRIBUTIONS),
        "J": _Param("float", 1.0), "h": _Param("float", 0.0)},
        _ensemble("SK", "n"), disorder=True),
    "edwards-anderson": ModelKind("edwards-anderson", "L", "linear size of the lattice", {
        "dim": _Param("int", 2, (2, 3)),
        "couplings": _Param("str", "pm1", _DISTRIBUTIONS),
        "periodic": _Param("bool", True),
        "J": _Param("float", 1.0), "h": _Param("float", 0.0)},
        _ensemble("EdwardsAnderson", "L"), disorder=True),
    "random-field": ModelKind("random-field", "L", "linear size of the lattice", {
        "dim": _Param("int", 2, (2, 3)),
        "sigma": _Param("float", 1.0, minimum=0.0),
        "field": _Param("str", "gaussian", _DISTRIBUTIONS),
        "periodic": _Param("bool", True),
        "J": _Param("float", 1.0)},
        _ensemble("RandomFieldIsing", "L"), disorder=True),
    "curie-weiss": ModelKind("curie-weiss", "n", "number of spins", {
        "J": _Param("float", 1.0), "h": _Param("float", 0.0)},
        _curie_weiss),
    "rem": ModelKind("rem", "n", "number of spins (2^n energy levels, n <= 26)", {},
                     _ensemble("REM", "n"), disorder=True),
}
"""The ``[model] kind`` values. Disorder kinds draw instance ``seed`` of their ensemble."""
# (the mean-field kinds need their exact methods registered: see statmech.exact._mean_field)


def build_model(model_config: dict, seed: int):
    """The model of one task: ``Ising`` for clean kinds, ``ensemble.sample(seed)`` for disorder kinds."""
    kind = MODEL_KINDS[model_config["kind"]]
    params = {name: model_config[name] for name in kind.params}
    built = kind.build(model_config[kind.size], **params)
    return built.sample(seed) if kind.disorder else built


# ------------------------------------------------------------------ the study
@dataclasses.dataclass(frozen=True)
class Task:
    """One grid point: ``config`` (model, method, options, β) and ``seed``.

    ``coords`` maps each grid axis (``"seed"`` included) to this task's value;
    ``position`` is its index in the grid's row-major order.
    """

    task_id: str
    position: int
    config: dict
    seed: int
    coords: dict


@dataclasses.dataclass(frozen=True)
class Study:
    """A validated study. ``grid`` maps axis names (``"seed"`` for ``seeds``) to their values."""

    path: pathlib.Path | None
    text: str
    name: str
    description: str
    model: dict
    method: str
    options: dict
    grid: dict
    study_hash: str

    @property
    def axes(self) -> tuple[str, ...]:
        """Grid axes in file order (``"seed"`` last unless the file places ``seeds`` elsewhere)."""
        return tuple(self.grid)

    @property
    def n_tasks(self) -> int:
        return math.prod(len(values) for values in self.grid.values())

    def spec(self) -> dict:
        """Canonical JSON-able description (what the study hash covers)."""
        return {"name": self.name, "description": self.description, "model": self.model,
                "method": self.method, "options": self.options,
                "grid": {axis: list(values) for axis, values in self.grid.items()}}

    def tasks(self) -> list[Task]:
        """Every grid point, in row-major order over the axes."""
        kind = MODEL_KINDS[self.model["kind"]]
        model_keys = {kind.size, *kind.params}
        tasks = []
        for position, point in enumerate(itertools.product(*self.grid.values())):
            coords = dict(zip(self.grid, point))
            model = dict(self.model)
            model.update({axis: value for axis, value in coords.items() if axis in model_keys})
            config = {"model": _ordered(model), "method": self.method,
                      "options": self.options, "beta": coords["beta"]}
            seed = coords["seed"]
            tasks.append(Task(task_id(config, seed), position, config, seed, coords))
        return tasks


def _ordered(model: dict) -> dict:
    return {"kind": model["kind"], **{k: model[k] for k in sorted(model) if k != "kind"}}


def canonical_json(value) -> str:
    """Deterministic JSON: sorted keys, no spaces, floats written by ``repr`` (exact round trip)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def task_id(config: dict, seed: int) -> str:
    """SHA-256 (hex) of the canonical JSON of ``{"config": config, "seed": seed}``."""
    payload = canonical_json({"version": TASK_ID_VERSION, "config": config, "seed": int(seed)})
    return hashlib.sha256(payload.encode()).hexdigest()


def study_hash(spec: dict) -> str:
    """SHA-256 of the canonical JSON of a study's spec: comments and layout do not change it."""
    return hashlib.sha256(canonical_json(spec).encode()).hexdigest()


# ------------------------------------------------------------------ locating keys
_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")


def _split_key(text: str) -> tuple[str, ...]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", text)
    return tuple(part.strip("\"'") for part in parts)


def _key_lines(text: str) -> tuple[dict[tuple, int], dict[tuple, int]]:
    """Line numbers of ``key =`` assignments and ``[table]`` headers, by dotted path.

    A small scan, good enough to point at a key: tomllib does not report positions.
    """
    keys: dict[tuple, int] = {}
    tables: dict[tuple, int] = {}
    table: tuple = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = _split_key(header.group(1))
            tables.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            keys.setdefault(table + _split_key(key.group(1)), number)
    return keys, tables


class _Locator:
    def __init__(self, path, text):
        self.path = path
        self.keys, self.tables = _key_lines(text)

    def line(self, *key) -> int | None:
        """Line of ``key`` (a path of names); falls back to its parents, then its table header."""
        for end in range(len(key), 0, -1):
            prefix = tuple(key[:end])
            if prefix in self.keys:
                return self.keys[prefix]
            if prefix in self.tables:
                return self.tables[prefix]
        return None

    def error(self, reason, *key) -> StudyError:
        return StudyError(reason, self.path, self.line(*key), ".".join(key) if key else None)


# ------------------------------------------------------------------ loading
def load_study(path) -> Study:
    """Read and validate the study file at ``path``; raise :class:`StudyError` on any mistake."""
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StudyError("no such study file; give the path of a .toml study", path) from None
    except (OSError, UnicodeDecodeError) as error:
        raise StudyError(f"cannot read the study file: {error}", path) from None
    return parse_study(text, path)


def parse_study(text: str, path=None) -> Study:
    """Validate the TOML ``text`` of a study (``path`` only names it in errors)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _syntax_error(error, text, path) from None
    where = _Locator(path, text)

    for table in document:
        if table not in TOP_LEVEL_TABLES:
            raise where.error(f"unknown table or key; a study has the tables "
                              f"{', '.join('[' + t + ']' for t in TOP_LEVEL_TABLES)}", table)
    for table in TOP_LEVEL_TABLES:
        if table not in document:
            raise StudyError(f"the study needs a [{table}] table", path, None, table)
        if not isinstance(document[table], dict):
            raise where.error(f"{table} must be a table, written [{table}]", table)

    study = document["study"]
    _no_unknown_keys(where, study, STUDY_KEYS, "study")
    name = _required(where, study, "name", "study")
    if not isinstance(name, str) or not name.strip():
        raise where.error("must be a non-empty string, e.g. name = \"ising-2d\"", "study", "name")
    description = study.get("description", "")
    if not isinstance(description, str):
        raise where.error("must be a string", "study", "description")

    model_table = document["model"]
    kind_name = _required(where, model_table, "kind", "model")
    if kind_name not in MODEL_KINDS:
        raise where.error(f"unknown model kind {kind_name!r}; use one of {', '.join(MODEL_KINDS)}",
                          "model", "kind")
    kind = MODEL_KINDS[kind_name]
    model_keys = (kind.size, *kind.params)
    _no_unknown_keys(where, model_table, ("kind", *model_keys), "model")

    grid_table = document["grid"]
    allowed_grid = ("beta", "seeds", *model_keys)
    _no_unknown_keys(where, grid_table, allowed_grid, "grid")

    model = {"kind": kind_name}
    grid: dict[str, list] = {}
    for key, raw in grid_table.items():
        if key in model_table:
            raise where.error(f"{key} is given in both [model] and [grid]; keep one", "grid", key)
        axis = "seed" if key == "seeds" else key
        if not isinstance(raw, list):
            raise where.error(f"a grid axis is a list of values, e.g. {key} = [{_example(key, kind)}]",
                              "grid", key)
        if not raw:
            raise where.error("is empty; give at least one value", "grid", key)
        values = [_check_value(where, kind, key, value, ("grid", key)) for value in raw]
        duplicates = sorted({repr(v) for v in values if values.count(v) > 1})
        if duplicates:
            raise where.error(f"has repeated values ({', '.join(duplicates)}); each grid value once",
                              "grid", key)
        grid[axis] = values
    if "beta" not in grid:
        raise where.error("the grid needs beta, a list of inverse temperatures, e.g. beta = [0.3, 0.44]",
                          "grid")
    if "seed" not in grid:
        grid["seed"] = [0]
    n_tasks = math.prod(len(values) for values in grid.values())
    if n_tasks > MAX_TASKS:
        sizes = " x ".join(f"{len(values)} {axis}" for axis, values in grid.items())
        raise where.error(f"the grid has {n_tasks:,} tasks ({sizes}), more than the limit of {MAX_TASKS:,} per "
                          f"study: its store would take about {_megabytes(n_tasks * STORE_BYTES_PER_TASK)} and a "
                          f"sweep about {_megabytes(n_tasks * MEMORY_BYTES_PER_TASK)} of memory; split the grid "
                          "into several studies (e.g. one per value of its longest axis)", "grid")
    for key in model_keys:
        if key in grid:
            continue
        if key in model_table:
            model[key] = _check_value(where, kind, key, model_table[key], ("model", key))
        elif key == kind.size:
            raise where.error(f"{kind_name} needs its size {key} ({kind.size_help}), in [model] "
                              f"({key} = 8) or as a grid axis in [grid] ({key} = [8, 16])", "grid")
        else:
            model[key] = kind.params[key].default

    method_table = document["method"]
    _no_unknown_keys(where, method_table, METHOD_KEYS, "method")
    method_name = _required(where, method_table, "name", "method")
    options = method_table.get("options", {})
    if not isinstance(options, dict):
        raise where.error("must be a table, written [method.options]", "method", "options")
    method = _check_method(where, method_name, options)

    spec = {"name": name, "description": description, "model": _ordered(model), "method": method,
            "options": options, "grid": grid}
    try:
        digest = study_hash(spec)
    except (ValueError, TypeError):  # NaN / inf / dates in the options
        raise where.error("options must be finite numbers, strings, booleans, lists or tables",
                          "method", "options") from None
    result = Study(path=None if path is None else pathlib.Path(path), text=text, name=name,
                   description=description, model=spec["model"], method=method, options=options,
                   grid=grid, study_hash=digest)
    _check_applies(where, result, kind)
    return result


def _megabytes(n_bytes: int) -> str:
    return f"{n_bytes / 1e9:,.1f} GB" if n_bytes >= 1e9 else f"{n_bytes / 1e6:,.0f} MB"


def _syntax_error(error: tomllib.TOMLDecodeError, text: str, path) -> StudyError:
    message = str(error)
    match = re.search(r"\(at line (\d+), column \d+\)", message)
    line = int(match.group(1)) if match else None
    reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", message) if match else message
    key = None
    if line is not None:
        lines = text.splitlines()
        if 0 < line <= len(lines):
            found = _KEY.match(lines[line - 1])
            table: tuple = ()
            for previous in lines[:line - 1]:
                header = _HEADER.match(previous)
                if header:
                    table = _split_key(header.group(1))
            if found:
                key = ".".join(table + _split_key(found.group(1)))
    return StudyError(f"TOML syntax error: {reason}", path, line, key)


def _required(where, table, key, table_name):
    if key not in table:
        raise where.error(f"[{table_name}] needs {key}", table_name)
    return table[key]


def _no_unknown_keys(where, table, allowed, table_name):
    for key in table:
        if key not in allowed:
            raise where.error(f"unknown key in [{table_name}]; allowed: {', '.join(allowed)}",
                              table_name, key)


def _example(key, kind):
    if key == "beta":
        return "0.3, 0.44"
    if key == "seeds":
        return "0, 1, 2"
    if key == kind.size:
        return "8, 16"
    return repr(kind.params[key].default).lower()


def _check_value(where, kind: ModelKind, key: str, value, location):
    """Validate and normalise one value of ``key`` (size, beta, seeds or a model parameter)."""
    def fail(reason):
        return where.error(reason, *location)

    if key in (kind.size, "seeds"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(f"must be an integer, got {value!r}")
        if key == "seeds" and value < 0:
            raise fail(f"seeds must be >= 0, got {value}")
        if key == kind.size and value < 1:
            raise fail(f"the size {key} ({kind.size_help}) must be a positive integer, got {value}")
        return int(value)
    if key == "beta":
        number = _number(value)
        if number is None:
            raise fail(f"beta must be a number, got {value!r}")
        if not math.isfinite(number) or number < 0:
            raise fail(f"beta must be finite and >= 0 (an inverse temperature), got {value!r}")
        return number
    param = kind.params[key]
    if param.type == "float":
        number = _number(value)
        if number is None or not math.isfinite(number):
            raise fail(f"{key} must be a finite number, got {value!r}")
        if param.minimum is not None and number < param.minimum:
            raise fail(f"{key} must be >= {param.minimum}, got {value!r}")
        return number
    if param.type == "bool":
        if not isinstance(value, bool):
            raise fail(f"{key} must be true or false, got {value!r}")
        return value
    if param.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(f"{key} must be an integer, got {value!r}")
    elif not isinstance(value, str):
        raise fail(f"{key} must be a string, got {value!r}")
    if param.choices and value not in param.choices:
        raise fail(f"{key} must be one of {', '.join(map(repr, param.choices))}, got {value!r}")
    return value


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value)


def _check_method(where, name, options) -> str:
    if not isinstance(name, str):
        raise where.error(f"must be a method name (a string), got {name!r}", "method", "name")
    lowered = name.lower()
    if lowered != "auto" and lowered not in registered_names():
        raise where.error(f"unknown method {name!r}; registered methods: {', '.join(registered_names())} "
                          "(or 'auto')", "method", "name")
    for key in options:
        if key in RESERVED_OPTIONS:
            hint = {"seed": "list seeds in [grid] seeds", "beta": "list β in [grid] beta",
                    "model": "describe the model in [model]"}[key]
            raise where.error(f"{key} is set by the sweep itself; {hint}", "method", "options", key)
    if lowered != "auto":
        accepted = _accepted_options(get_method(lowered))
        if accepted is not None:
            for key in options:
                if key not in accepted:
                    raise where.error(unknown_option_message(lowered, key, accepted), "method", "options", key)
    return lowered


def _accepted_options(method) -> tuple[str, ...] | None:
    """Keyword options a method accepts (see :func:`method_options`), without those the sweep sets."""
    names = method_options(method)
    return None if names is None else tuple(n for n in names if n not in RESERVED_OPTIONS)


def takes_seed(method_name: str) -> bool:
    """Whether the sweep passes ``seed=`` to the method: estimators and samplers do, exact methods do not."""
    return method_name != "auto" and not get_method(method_name).exact


def _check_applies(where, study: Study, kind: ModelKind) -> None:
    """Build every distinct model of the grid (first seed) and check the method applies to it."""
    model_axes = [axis for axis in study.grid if axis in (kind.size, *kind.params)]
    first_seed = study.grid["seed"][0]
    if not kind.disorder and not takes_seed(study.method) and len(study.grid["seed"]) > 1:
        raise where.error(f"method {study.method!r} is exact and {kind.name} has no disorder, so every "
                          "seed gives the same numbers; use seeds = [0] or drop seeds", "grid", "seeds")
    for point in itertools.product(*(study.grid[axis] for axis in model_axes)):
        config = dict(study.model)
        config.update(zip(model_axes, point))
        label = ", ".join(f"{axis} = {value!r}" for axis, value in zip(model_axes, point))
        try:
            model = build_model(config, first_seed)
        except (ValueError, TypeError) as error:
            key = model_axes[0] if model_axes else "kind"
            table = "grid" if model_axes else "model"
            raise where.error(f"cannot build the model{' at ' + label if label else ''}: {error}",
                              table, key) from None
        try:
            chosen = resolve_method(model, study.method, study.options)
        except (ValueError, TypeError) as error:
            location = ("method", "name")
            if study.options and _applies_without_options(model, study.method):
                named = [key for key in study.options if key in str(error)] or list(study.options)
                location = ("method", "options", named[0])  # the options are what is wrong
            raise where.error(f"{error}{' (at ' + label + ')' if label else ''}", *location) from None
        if chosen.moments is None and chosen.thermo_fn is None:
            others = [name for name in available_methods(model) if name != chosen.name and _gives_thermo(name, model)]
            raise where.error(f"method {chosen.name!r} estimates log Z only, and each task of a sweep computes "
                              f"thermo(model, beta, ...); use one of {', '.join(others)}", "method", "name")


def _gives_thermo(name: str, model) -> bool:
    method = get_method(name, model)
    return method.moments is not None or method.thermo_fn is not None


def _applies_without_options(model, method: str) -> bool:
    try:
        resolve_method(model, method, {})
    except (ValueError, TypeError):
        return False
    return True
