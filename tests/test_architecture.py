"""Architecture checks: imports run one way, and ``import statmech`` stays light."""
from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _cycle_report(src, package: str = "pkg") -> list[str]:
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "import_cycles.py"), str(src), package],
                         capture_output=True, text=True, check=True).stdout
    return out.strip().splitlines()


def test_no_import_cycle_in_the_package_counting_imports_inside_functions():
    lines = _cycle_report(ROOT / "src", "statmech")
    assert lines[-1] == "cycles: 0", lines
    edges = int(lines[-2].removeprefix("edges: "))
    assert edges > 300, f"only {edges} import edges found: the checker is not reading the package"


def test_the_bottom_layers_import_only_what_is_below_them():
    """docs/architecture.md: leaf helpers import nothing from statmech, value types only the leaf helpers, and
    models and statistics never an implementation, the registry or a front door."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import import_cycles
    finally:
        sys.path.pop(0)
    graph = import_cycles.build_graph(str(ROOT / "src"), "statmech")
    assert graph["statmech._numerics"] == set()
    assert graph["statmech._types"] <= {"statmech._numerics"}
    assert graph["statmech._validation"] <= {"statmech._numerics"}
    above = ("statmech.exact", "statmech.mc", "statmech.estimators", "statmech.theory", "statmech.approx",
             "statmech._registry", "statmech.thermo", "statmech.ml", "statmech.studies", "statmech.tour")
    for module, targets in graph.items():
        if module.startswith(("statmech.models", "statmech.stats")):
            wrong = {t for t in targets if t.startswith(above)}
            assert not wrong, f"{module} imports {sorted(wrong)} from a layer above it"


def _package(tmp_path, files: dict[str, str]):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text(files.pop("__init__.py", ""))
    for name, text in files.items():
        (package / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize("files", [
    # two modules importing each other inside functions
    {"a.py": "def f():\n    from pkg import b\n", "b.py": "def g():\n    from pkg.a import f\n"},
    # importlib.import_module and __import__ with literal names, inside functions
    {"a.py": "import importlib\ndef f():\n    return importlib.import_module('pkg.b')\n",
     "b.py": "def g():\n    return __import__('pkg.a')\n"},
    # a name taken through the package's lazy re-export table (PEP 562) and through an eager re-export
    {"__init__.py": "_EXPORTS = {'F': ('pkg.a', 'F')}\n", "a.py": "from pkg.c import G\nF = 1\n",
     "b.py": "G = 2\ndef g():\n    from pkg import F\n", "c.py": "from pkg.b import G\n"},
    {"__init__.py": "_EXPORTS = {'G': ('pkg.b', 'G')}\n", "a.py": "def f():\n    import pkg as p\n    return p.G\n",
     "b.py": "G = 2\ndef g():\n    from pkg import a\n"},
], ids=["function-level", "importlib", "lazy-re-export", "attribute-of-package"])
def test_the_cycle_checker_finds_a_cycle(tmp_path, files):
    """Negative controls: each package holds one cycle that only a thorough checker sees."""
    lines = _cycle_report(_package(tmp_path, dict(files)))
    assert lines[-1] == "cycles: 1", lines


def test_the_cycle_checker_finds_no_cycle_in_a_package_without_one(tmp_path):
    lines = _cycle_report(_package(tmp_path, {"a.py": "def f():\n    from pkg import b\n", "b.py": "X = 1\n"}))
    assert lines[-2:] == ["edges: 1", "cycles: 0"], lines


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_import_statmech_loads_neither_jax_nor_the_methods():
    loaded = _run("import sys, statmech; print(sorted(m for m in ('jax', 'scipy', 'statmech._registry', "
                  "'statmech.mc', 'statmech.exact') if m in sys.modules))")
    assert loaded == "[]"


def test_the_cli_help_loads_neither_jax_nor_the_methods():
    loaded = _run("import sys\nfrom statmech import cli\nprint(sorted(m for m in ('jax', 'statmech._registry') "
                  "if m in sys.modules))")
    assert loaded == "[]"


def test_sm_thermo_is_the_function_whatever_was_imported_first():
    assert _run("import statmech.thermo, statmech._registry, statmech as sm; print(callable(sm.thermo), "
                "callable(sm.log_z))") == "True True"
    assert _run("import statmech as sm; sm.Ising; print(sm.thermo.__module__)") == "statmech.thermo"


def test_every_public_name_resolves():
    names = _run("import statmech as sm; print(all(getattr(sm, n) is not None for n in sm.__all__))")
    assert names == "True"


def test_every_public_function_has_type_hints():
    """py.typed promises type hints on the public API: every function ``statmech`` exports annotates
    its return value (sample, chimera_graph and spontaneous_magnetization did not)."""
    missing = _run("import inspect, statmech as sm\n"
                   "print(sorted(n for n in sm.__all__ if inspect.isfunction(getattr(sm, n))\n"
                   "             and 'return' not in getattr(sm, n).__annotations__))")
    assert missing == "[]"
