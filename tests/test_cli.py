"""The command line: tables, JSON, --T conversion, one-line errors with exit status 2."""
import json
import math
import sqlite3
import subprocess
import sys

import pytest

import statmech as sm
from statmech._registry import available_methods, get_method
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
    (["thermo", "ising-cubic", "--L", "8", "--beta", "1"], "no exact method applies"),
    (["thermo", "ising-square", "--L", "4", "--beta", "1", "--method", "kaufman", "--seed", "1"], "is exact"),
    (["thermo", "ising-square", "--L", "4", "--beta", "1", "--method", "wang-landau", "--n-chains", "2"],
     "takes no option 'n_chains'"),
    (["thermo", "ising-square", "--L", "4", "--beta", "1", "--method", "ais"], "log Z only"),
    (["thermo", "ising-square", "--L", "4", "--beta", "1", "--method", "metropolis", "--n-sweeps", "-3"],
     "n_sweeps"),
    (["methods", "ising-square"], "give the size with --L"),
    (["methods", "--L", "4"], "go with a MODEL"),
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


# ------------------------------------------------------------------ issue 14: a complete CLI, data safety

CHAIN_STUDY = """\
[study]
name = "{name}"
[model]
kind = "ising-chain"
L = 4
[method]
name = "{method}"
{options}
[grid]
beta = [0.2, 0.4]
"""


def study_file(tmp_path, name="chain", method="transfer", options="", file="study.toml"):
    path = tmp_path / file
    path.write_text(CHAIN_STUDY.format(name=name, method=method, options=options))
    return path


def one_line_exit_2(code, out, err):
    assert code == 2, (code, out, err)
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in out + err


def test_version_and_short_help(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"statmech {sm.__version__}"
    code, out, _ = run(capsys, "-h")
    assert code == 0 and "thermo" in out and "sweep" in out
    code, out, _ = run(capsys, "thermo", "-h")
    assert code == 0 and "--n-sweeps" in out and "--seed" in out and "--burn-in" in out and "--n-chains" in out


def test_sweep_with_failed_tasks_exits_1_with_the_count_and_the_first_error(capsys, tmp_path):
    # every task fails at run time: n_sweeps too short for an error bar (a valid option name, a bad value)
    study = study_file(tmp_path, method="metropolis", options="[method.options]\nn_sweeps = 8")
    code, out, err = run(capsys, "sweep", str(study), "--workers", "1", "--no-progress")
    assert code == 1  # was 0: main() dropped the app's exit status
    assert "2 failed" in out
    assert "error: 2 of 2 tasks failed; the first at beta=0.2, seed=0: ValueError: chain too short" in err


def test_sweep_that_succeeds_exits_0(capsys, tmp_path):
    code, out, _ = run(capsys, "sweep", str(study_file(tmp_path)), "--workers", "1", "--no-progress")
    assert code == 0 and "2 done" in out


def test_results_refuses_to_overwrite_the_store_or_an_existing_file(capsys, tmp_path):
    study = study_file(tmp_path)
    store = tmp_path / "s.sqlite"
    assert run(capsys, "sweep", str(study), "--store", str(store), "--workers", "1", "--no-progress")[0] == 0
    before = store.read_bytes()
    for target in (store, tmp_path / "." / "s.sqlite", tmp_path / "s.sqlite-wal"):
        code, out, err = run(capsys, "results", str(store), "--to", "csv", "--out", str(target), "--force")
        one_line_exit_2(code, out, err)
        assert "result store" in err and "refusing to overwrite" in err
    assert store.read_bytes() == before
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    existing = tmp_path / "old.csv"
    existing.write_text("keep me\n")
    code, out, err = run(capsys, "results", str(store), "--to", "csv", "--out", str(existing))
    one_line_exit_2(code, out, err)
    assert "already exists" in err and "--force" in err and existing.read_text() == "keep me\n"
    code, out, _ = run(capsys, "results", str(store), "--to", "csv", "--out", str(existing), "--force")
    assert code == 0 and existing.read_text().startswith("beta,seed,status,error,log_z,")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary left


@pytest.mark.parametrize("what", ["missing folder", "a folder", "folder as store"])
def test_file_errors_are_one_line_exit_2(capsys, tmp_path, what):
    study = study_file(tmp_path)
    store = tmp_path / "s.sqlite"
    run(capsys, "sweep", str(study), "--store", str(store), "--workers", "1", "--no-progress")
    if what == "missing folder":
        argv = [["results", str(store), "--out", str(tmp_path / "nope" / "x.csv"), "--to", "csv"],
                ["sweep", str(study), "--store", str(tmp_path / "nope" / "s.sqlite"), "--workers", "1"]]
    elif what == "a folder":
        argv = [["results", str(store), "--out", str(tmp_path), "--to", "csv"],
                ["tour", "--out", str(study), "--quick"],
                ["report", str(store), "--out", str(study)]]
    else:
        argv = [["sweep", str(study), "--store", str(tmp_path), "--workers", "1"],
                ["results", str(tmp_path)]]
    for args in argv:
        one_line_exit_2(*run(capsys, *args))


def test_sampling_options_reach_the_method(capsys):
    # (the same budget as the warnings test below: the compiled kernels are shared)
    code, out, _ = run(capsys, "thermo", "ising-square", "--L", "4", "--beta", "0.4", "--method", "metropolis",
                       "--seed", "7", "--n-sweeps", "64", "--n-chains", "2", "--burn-in", "10", "--json",
                       "--no-progress")
    assert code == 0
    data = json.loads(out)
    direct = sm.thermo(sm.Ising.square(4), 0.4, method="metropolis", seed=7, n_sweeps=64, n_chains=2, burn_in=10)
    assert data["method"] == "metropolis"
    assert data["energy"]["value"] == float(direct.energy.value)  # same seed and budget: the same numbers
    assert data["energy"]["stderr"] == float(direct.energy.stderr)
    other = sm.thermo(sm.Ising.square(4), 0.4, method="metropolis", seed=8, n_sweeps=64, n_chains=2, burn_in=10)
    assert data["energy"]["value"] != float(other.energy.value)  # the seed is used


def test_json_is_strict_at_beta_zero(capsys):
    code, out, _ = run(capsys, "thermo", "ising-chain", "--L", "4", "--beta", "0", "--beta", "0.5", "--json")
    assert code == 0

    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    data = json.loads(out, parse_constant=refuse)  # -Infinity / NaN are refused
    assert data["free_energy"]["value"][0] is None and math.isfinite(data["free_energy"]["value"][1])
    assert "free_energy.value[0] = -inf" in " ".join(data["notes"])
    assert data["warnings"] == []


def test_sampler_warnings_show_in_the_table_and_in_json(capsys):
    argv = ["thermo", "ising-square", "--L", "4", "--beta", "0.4", "--method", "metropolis", "--n-sweeps", "64",
            "--n-chains", "2", "--burn-in", "10", "--seed", "3", "--no-progress"]
    expected = list(sm.thermo(sm.Ising.square(4), 0.4, method="metropolis", n_sweeps=64, n_chains=2, burn_in=10,
                              seed=3).meta["warnings"])
    assert expected  # 64 sweeps: too short, the sampler says so
    code, out, _ = run(capsys, *argv, "--json")
    assert code == 0 and json.loads(out)["warnings"] == expected
    code, out, _ = run(capsys, *argv)
    assert code == 0
    for warning in expected:
        assert f"warning: {warning}" in out
    assert f"{len(expected)} warnings below" in out


def test_the_method_is_shown_and_strings_are_not_read_as_markup(capsys):
    code, out, _ = run(capsys, "thermo", "ising-square", "--L", "4", "--beta", "0.4", "--method", "kaufman")
    assert code == 0 and "[method: kaufman]" in out  # Rich used to eat it as a markup tag


@pytest.mark.parametrize("name", ["x[/italic]", "x[/bold]", "[red]y"])
def test_a_study_name_with_markup_is_shown_as_written(capsys, tmp_path, monkeypatch, name):
    monkeypatch.setenv("FORCE_COLOR", "1")  # render the progress bar as on a terminal
    study = study_file(tmp_path, name=name.replace("\\", "\\\\"))
    code, out, err = run(capsys, "sweep", str(study), "--workers", "1", "--progress")
    assert code == 0, err  # was a MarkupError traceback for x[/italic]
    assert name in err  # the bar shows the name as written


def test_suggestions_come_from_what_applies(capsys):
    code, out, err = run(capsys, "thermo", "ising-cubic", "--L", "8", "--beta", "0.3")
    one_line_exit_2(code, out, err)
    suggested = err.split("methods that apply: ")[1].split(" (")[0].split(", ")
    model = sm.Ising.cubic(8)
    assert suggested and "transfer" not in suggested
    for name in suggested:
        method = get_method(name, model)
        assert name in available_methods(model) and (method.moments or method.thermo_fn), name
    assert "--method metropolis" in err


def test_methods_of_a_model_need_its_size(capsys):
    code, out, _ = run(capsys, "methods", "ising-square", "--L", "4")
    assert code == 0 and "enumerate" in out.split()
    code, out, _ = run(capsys, "methods", "ising-square", "--L", "8")
    assert code == 0 and "enumerate" not in out.split() and "kaufman" in out.split()
    code, out, _ = run(capsys, "methods", "ising-cubic", "--L", "4", "--why")
    assert code == 0 and "not enumerate: " in out and "not kaufman: " in out


def test_a_sweep_with_a_misspelt_option_is_refused_before_running(capsys, tmp_path):
    study = study_file(tmp_path, method="metropolis", options="[method.options]\nn_sweep = 100")
    code, out, err = run(capsys, "sweep", str(study), "--workers", "1", "--no-progress")
    one_line_exit_2(code, out, err)
    assert f"{study}:9: method.options.n_sweep: method 'metropolis' takes no option 'n_sweep'; did you mean " \
           "'n_sweeps'?" in err
    assert not (tmp_path / "study.sqlite").exists()


def test_report_refuses_a_tampered_step_name(capsys, tmp_path):
    """A tour store whose step name is "../../x" must not write outside --out."""
    from statmech.studies._store import ResultStore
    from statmech.tour import TourStudy

    study = TourStudy("quick")
    store = tmp_path / "deep" / "tour.sqlite"
    store.parent.mkdir()
    ResultStore.create(store, study, study.tasks()).close()
    with sqlite3.connect(store) as connection:
        config = json.loads(connection.execute("SELECT config FROM tasks WHERE position = 0").fetchone()[0])
        config["step"] = "../../escaped"
        connection.execute("UPDATE tasks SET config = ? WHERE position = 0", (json.dumps(config),))
    connection.close()
    out = tmp_path / "deep" / "report"
    code, stdout, err = run(capsys, "report", str(store), "--out", str(out))
    one_line_exit_2(code, stdout, err)
    assert "step name '../../escaped' is not a plain name" in err
    assert not list(tmp_path.rglob("escaped*"))


def test_python_dash_m_statmech_runs_the_command_line():
    """``python -m statmech`` is the command line too (it was "statmech is a package and cannot be
    directly executed"); errors keep their one line and exit status 2."""
    version = subprocess.run([sys.executable, "-m", "statmech", "--version"], capture_output=True, text=True,
                             timeout=120)
    assert version.returncode == 0 and version.stdout.strip() == f"statmech {sm.__version__}", version.stderr
    bad = subprocess.run([sys.executable, "-m", "statmech", "methods", "ising-square"], capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error: give the size with --L")
    assert "Traceback" not in bad.stderr
