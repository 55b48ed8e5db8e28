"""Architecture checks: imports run one way, and ``import statmech`` stays light."""
from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_no_import_cycle_in_the_package_counting_imports_inside_functions():
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "import_cycles.py"), str(ROOT / "src"), "statmech"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "cycles: 0", out


def test_the_cycle_checker_finds_a_cycle(tmp_path):
    """Negative control: two modules importing each other inside functions are reported."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg import b\n")
    (package / "b.py").write_text("def g():\n    from pkg.a import f\n")
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "import_cycles.py"), str(tmp_path), "pkg"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "cycles: 1", out


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
