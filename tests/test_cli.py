"""The command line: tables, JSON, --T conversion, one-line errors with exit status 2."""
import json
import math
import subprocess
import sys

import pytest

from statmech.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_help_lists_commands(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("thermo", "tour", "methods"):
        assert command in out


def test_thermo_json_matches_closed_form(capsys):
    """Uniform periodic chain at h = 0: log Z = log(λ₊^N + λ₋^N), λ± = 2cosh βJ, 2sinh βJ."""
    code, out, _ = run(capsys, "thermo", "ising-chain", "--L", "10", "--beta", "0.5",
                       "--method", "transfer", "--json")
    assert code == 0
    data = json.loads(out)
    expected = math.log((2 * math.cosh(0.5)) ** 10 + (2 * math.sinh(0.5)) ** 10)
    assert data["log_z"]["value"] == pytest.approx(expected, rel=1e-12)
    assert data["log_z"]["stderr"] is None
    assert data["method"] == "transfer" and data["n_sites"] == 10


def test_temperature_is_converted_to_beta(capsys):
    code, out, _ = run(capsys, "thermo", "ising-square", "--L", "4", "--T", "2.0", "--json")
    assert code == 0
    assert json.loads(out)["beta"] == pytest.approx(0.5)


def test_beta_grid_and_table(capsys):
    code, out, _ = run(capsys, "thermo", "ising-square", "--L", "8", "--beta", "0.2", "--beta", "0.6",
                       "--method", "kaufman")
    assert code == 0
    assert "free_energy_density" in out and "beta=0.6" in out


@pytest.mark.parametrize("argv, fragment", [
    (["thermo", "ising-square", "--L", "0", "--beta", "1"], "L must be >= 1"),
    (["thermo", "ising-square", "--L", "4", "--beta", "-1"], "beta must be >= 0"),
    (["thermo", "ising-square", "--L", "4", "--beta", "1", "--T", "1"], "either --beta or --T"),
    (["thermo", "ising-square", "--L", "4", "--T", "0"], "--T must be finite and > 0"),
    (["thermo", "ising-square", "--L", "4", "--beta", "1", "--method", "nope"], "unknown method"),
    (["thermo", "ising-square", "--L", "4", "--beta", "1", "--h", "0.5", "--method", "kaufman"], "h = 0"),
    (["thermo", "ising-squar", "--L", "4", "--beta", "1"], "ising-squar"),
    (["thermo", "ising-square", "--L", "4"], "--beta"),
    (["thermo", "ising-cubic", "--L", "4", "--beta", "1"], "enumerat"),
])
def test_bad_input_prints_one_line_and_exits_2(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert fragment in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out


def test_installed_script_exits_2_without_traceback():
    result = subprocess.run([sys.executable, "-c", "from statmech.cli import _console_entry; _console_entry()",
                             "thermo", "ising-square", "--L", "-2", "--beta", "1"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and "Traceback" not in result.stderr


def test_tour_and_report_are_listed_with_their_options(capsys):
    code, out, _ = run(capsys, "tour", "--help")
    assert code == 0 and "--quick" in out and "--out" in out
    code, out, _ = run(capsys, "report", "--help")
    assert code == 0 and "--out" in out


def test_report_of_a_missing_store_is_one_line_exit_2(capsys, tmp_path):
    code, _, err = run(capsys, "report", str(tmp_path / "nope.sqlite"), "--out", str(tmp_path / "r"))
    assert code == 2 and "no store at" in err and len(err.strip().splitlines()) == 1
