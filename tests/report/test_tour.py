"""`statmech tour` (quick) and `statmech report`: one path from computation to a self-contained page.

The quick tour runs once per session (``quick_tour`` in conftest.py). The
checks: the page is self-contained; the seed's toy numbers on it agree with a
brute-force sum written here; the vocabulary table is there; every data file
reloads; and the page is drawn from the store alone — rebuilding it with the
physics front doors sabotaged gives the identical page.
"""
import base64
import html.parser
import importlib
import itertools
import json
import math
import pathlib
import shutil

import numpy as np
import pytest

import statmech
from statmech import report, tour
from statmech.studies import ResultStore, StoreError, load_results
from statmech.tour import _ml, _run
from statmech.tour import build_report

SEED_CONFIGURATIONS = [(-1, -1, -1, -1, +1, -1, -1, -1), (+1, +1, +1, -1, +1, -1, -1, -1)]
MIN_FIGURES = 14  # two per toy, one per other step, none for the vocabulary
VOCABULARY = [("Loss function", "Energy function (or Hamiltonian)"), ("Global minima", "Ground states"),
              ("Parameters", "Degrees of freedom"),
              ("Probability distribution of parameters", "Boltzmann distribution"),
              ("High-dimensional limit", "Thermodynamic limit")]


class PageParser(html.parser.HTMLParser):
    """Every tag's attributes, the text of each table row, and the visible text."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.rows: list[list[str]] = []
        self.text: list[str] = []
        self._cell = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse(page: pathlib.Path) -> PageParser:
    parser = PageParser()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def brute_force_toy(configuration, beta=1.0, B=1.0):
    """p(x) = exp(−β Σ B xᵢ)/Z with Z summed over all 2^8 configurations (plain Python)."""
    energies = [B * sum(x) for x in itertools.product((-1, 1), repeat=8)]
    z = sum(math.exp(-beta * e) for e in energies)
    return math.exp(-beta * B * sum(configuration)) / z, z


# ------------------------------------------------------------------ the page
def test_page_is_self_contained(quick_tour):
    page = quick_tour / "index.html"
    parser = parse(page)
    text = page.read_text(encoding="utf-8")
    references = [(tag, key, value) for tag, attrs in parser.tags for key, value in attrs.items()
                  if key in ("src", "href", "srcset", "data", "poster", "action") and value]
    external = [r for r in references if r[2].lower().startswith(("http:", "https:", "//", "ftp:"))]
    assert external == []
    assert "url(" not in text and "@import" not in text  # no CSS that fetches
    assert not [attrs for tag, attrs in parser.tags if tag in ("script", "link", "iframe") and
                ("src" in attrs or "href" in attrs)]
    images = [attrs for tag, attrs in parser.tags if tag == "img"]
    assert len(images) >= MIN_FIGURES
    for attrs in images:
        prefix = "data:image/png;base64,"
        assert attrs["src"].startswith(prefix)
        assert base64.b64decode(attrs["src"][len(prefix):])[:8] == b"\x89PNG\r\n\x1a\n"
    # in-page links all have a target; the others are the data files next to the page
    ids = {attrs["id"] for _, attrs in parser.tags if "id" in attrs}
    for tag, key, value in references:
        if key == "href" and value.startswith("#"):
            assert value[1:] in ids, value
        elif key == "href":
            assert value.startswith("data/") and (quick_tour / value).is_file(), value


def test_the_seed_toy_numbers(quick_tour):
    text = "".join(parse(quick_tour / "index.html").text)
    assert "0.049" in text and "1.2e-04" in text
    (p_low, z), (p_zero, _) = brute_force_toy(SEED_CONFIGURATIONS[0]), brute_force_toy(SEED_CONFIGURATIONS[1])
    assert round(p_low, 3) == 0.049 and f"{p_zero:.1e}" == "1.2e-04"
    with ResultStore.open(quick_tour / "tour.sqlite") as store:
        toy = next(t for t in store.tasks() if t["config"]["step"] == "toy")
        values = {q: v for task_id, q, v, _, _ in store.results() if task_id == toy["task_id"]}
    assert values["p_config0"] == pytest.approx(p_low, rel=1e-12)
    assert values["p_config1"] == pytest.approx(p_zero, rel=1e-12)
    assert values["partition_function"] == pytest.approx(z, rel=1e-12)
    assert f"{p_low:.6g}" in text and f"{z:.6g}" in text  # the stored numbers, as printed


def test_the_vocabulary_table(quick_tour):
    rows = parse(quick_tour / "index.html").rows
    header = next(k for k, row in enumerate(rows) if row[:2] == ["Machine learning", "Statistical physics"])
    assert [tuple(row[:2]) for row in rows[header + 1: header + 6]] == VOCABULARY
    assert all(row[2] and row[3] for row in rows[header + 1: header + 6])  # an API name and a computed value


def test_every_section_in_the_seed_order(quick_tour):
    parser = parse(quick_tour / "index.html")
    sections = [attrs["id"] for tag, attrs in parser.tags if tag == "section"]
    assert sections == ["boltzmann", "free-energy", "ising", "disorder", "ml-bridge", "vocabulary", "provenance"]
    with ResultStore.open(quick_tour / "tour.sqlite") as store:
        assert store.counts() == {"pending": 0, "done": len(tour.TOUR_STEPS), "failed": 0}


def test_data_files_reload(quick_tour):
    import xarray as xr

    data = quick_tour / "data"
    netcdf = sorted(data.glob("*.nc"))
    documents = sorted(data.glob("*.json"))
    assert len(netcdf) >= MIN_FIGURES and len(documents) == len(tour.TOUR_STEPS)
    for path in netcdf:
        with xr.open_dataset(path) as dataset:
            assert dataset.data_vars, path
    for path in documents:
        document = json.loads(path.read_text())
        assert document["status"] == "done" and document["params"], path
    # the data behind figure 1: P(H = E) at β = 1 is C(8, k) e^{−E}/Z (independent closed form)
    with xr.open_dataset(data / "toy_energy_distribution.nc") as dataset:
        row = dataset.probability.sel(beta=1.0)
        _, z = brute_force_toy(SEED_CONFIGURATIONS[0])
        for energy, probability in zip(dataset.energy.values, row.values):
            k = int(round((8 - energy) / 2))  # number of spins −1 ... of +1: E = (8 − k) − k
            assert probability == pytest.approx(math.comb(8, k) * math.exp(-energy) / z, rel=1e-12)


def test_every_figure_has_an_alt_text_that_says_what_it_shows(quick_tour):
    images = [attrs for tag, attrs in parse(quick_tour / "index.html").tags if tag == "img"]
    alts = [attrs["alt"] for attrs in images]
    assert len(set(alts)) == len(alts)
    for attrs in images:
        key = attrs["id"].removeprefix("img-")
        assert key not in attrs["alt"] and len(attrs["alt"]) > 60, attrs["alt"]


def test_the_approximations_keep_their_bounds_and_bethe_is_paramagnetic_below_its_point(quick_tour):
    import xarray as xr

    with xr.open_dataset(quick_tour / "data" / "square_lattice_approximations.nc") as data:
        beta = data.beta.values
        exact, mean_field, bp, trw = (data[k].values for k in ("exact", "mean_field", "bp", "trw"))
        bethe = data.attrs["bethe_critical_beta"]
    assert bethe == pytest.approx(math.atanh(1 / 3), rel=1e-12)
    assert np.all(mean_field <= exact + 1e-12) and np.all(trw >= exact - 1e-12)
    # below its critical point BP sits on the paramagnetic Bethe solution, ln 2 + (z/2) ln cosh β with z = 4
    below = beta < bethe - 0.02
    assert below.sum() >= 3
    np.testing.assert_allclose(bp[below], math.log(2) + 2 * np.log(np.cosh(beta[below])), rtol=1e-8)
    # and at small β every approximation meets the exact value (high-temperature limit ln 2)
    assert abs(bp[0] - exact[0]) < 5e-3 and abs(trw[0] - exact[0]) < 5e-3 and abs(mean_field[0] - exact[0]) < 5e-3


def test_double_descent_theory_is_the_closed_form_and_the_simulation_follows_it(quick_tour):
    """λ → 0: e_g = (1 − α) + Δα/(1 − α) below α = 1, Δ/(α − 1) above (teacher |θ*|²/N = 1)."""
    import xarray as xr

    with xr.open_dataset(quick_tour / "data" / "ridge_double_descent.nc") as data:
        alpha, noise = data.theory_alpha.values, data.attrs["noise"]
        theory = data.theory_generalization_error.sel(lam=0.0).values
        points, simulated = data.alpha.values, data.generalization_error.sel(lam=0.0).values
        stderr = data.generalization_stderr.sel(lam=0.0).values
    closed = np.where(alpha < 1, (1 - alpha) + noise * alpha / (1 - alpha), noise / (alpha - 1))
    away = np.abs(alpha - 1) > 0.05
    np.testing.assert_allclose(theory[away], closed[away], rtol=1e-6)
    # the simulated points (N = 100) follow it, well away from the peak where finite N matters least
    far = np.abs(points - 1) >= 0.5
    at_points = np.where(points < 1, (1 - points) + noise * points / (1 - points), noise / (points - 1))
    assert np.all(np.abs(simulated[far] - at_points[far]) < 4 * stderr[far] + 0.1 * at_points[far])


def test_statmech_report_draws_a_tour_store_and_the_generic_report_refuses_it(quick_tour, tmp_path):
    from statmech.cli import main

    store = tmp_path / "tour.sqlite"
    shutil.copy(quick_tour / "tour.sqlite", store)
    assert main(["report", str(store), "--out", str(tmp_path / "page")]) == 0
    assert (tmp_path / "page" / "index.html").read_bytes() == (quick_tour / "index.html").read_bytes()
    with pytest.raises(StoreError, match="a tour's store; draw it with statmech.tour.build_report"):
        report.build_report(store, tmp_path / "generic")
    assert not (tmp_path / "generic").exists()


def test_the_tour_store_exports_like_any_study(quick_tour):
    dataset = load_results(quick_tour / "tour.sqlite")
    assert list(dataset.step.values) == [step.name for step in tour.TOUR_STEPS]
    assert float(dataset.p_config0.sel(step="toy", seed=0)) == pytest.approx(0.049025, abs=1e-6)


def test_report_rebuilds_the_identical_page_from_the_store_alone(quick_tour, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the report must not compute physics")

    thermo_module = importlib.import_module("statmech.thermo")  # statmech.thermo is the function
    monkeypatch.setattr(thermo_module, "thermo", refuse)
    monkeypatch.setattr(thermo_module, "log_z", refuse)
    for name in ("thermo", "log_z", "boltzmann", "onsager", "infinite_chain", "sample", "quenched",
                 "self_averaging", "ground_energy"):
        monkeypatch.setattr(statmech, name, refuse)
    monkeypatch.setattr(statmech.studies, "binder_crossings", refuse)
    monkeypatch.setattr(_run, "compute_step", refuse)
    store = tmp_path / "copy" / "tour.sqlite"
    store.parent.mkdir()
    shutil.copy(quick_tour / "tour.sqlite", store)  # the store alone, away from the first page
    page = build_report(store, tmp_path / "other")
    assert page == tmp_path / "other" / "index.html"
    assert page.read_bytes() == (quick_tour / "index.html").read_bytes()
    for document in (quick_tour / "data").glob("*.json"):
        assert (tmp_path / "other" / "data" / document.name).read_bytes() == document.read_bytes()
    assert sorted(p.name for p in (tmp_path / "other" / "data").iterdir()) == sorted(
        p.name for p in (quick_tour / "data").iterdir())


# ------------------------------------------------------------------ robustness
def test_a_failed_or_unavailable_step_is_shown_not_hidden(tmp_path, monkeypatch):
    """A store where one step failed, the ML steps are unavailable and the rest never ran still gives a page."""
    study = tour.TourStudy("quick")
    tasks = study.tasks()
    store_path = tmp_path / "tour.sqlite"

    def explode(params, seed):
        raise RuntimeError("the Monte Carlo exploded")

    monkeypatch.setitem(tour.STEPS_BY_NAME, "extensive",
                        tour.TourStep("extensive", "x", explode, quick={}, full={}, section=2))
    monkeypatch.setattr(_ml, "ml_module", lambda: (None, "statmech.ml lacks everything"))
    cheap = ("toy", "extensive", "ising_exact", "ml_zero_temperature", "ml_methods", "vocabulary")
    with ResultStore.create(store_path, study, tasks) as store:
        for task in tasks:
            if task.config["step"] in cheap:
                store.record(tour.compute_step({"task_id": task.task_id, "config": task.config, "seed": 0}))
    page = build_report(store_path, tmp_path / "out")
    text = "".join(parse(page).text)
    assert "Free energy for growing N failed" in text and "RuntimeError: the Monte Carlo exploded" in text
    assert "Not yet available" in text and "statmech.ml lacks everything" in text
    assert "was not computed in this run (status: pending)" in text
    assert "0.049" in text and "1.2e-04" in text  # what did run is there
    assert [tuple(r[:2]) for r in parse(page).rows if tuple(r[:2]) in VOCABULARY] == VOCABULARY


def test_run_tour_refuses_a_store_that_is_not_a_tour(tmp_path):
    from statmech.studies._study import parse_study

    study = parse_study('[study]\nname = "mine"\n[model]\nkind = "ising-chain"\n[method]\nname = "transfer"\n'
                        '[grid]\nL = [3]\nbeta = [0.5]\n', "mine.toml")
    ResultStore.create(tmp_path / "tour.sqlite", study, study.tasks()).close()
    before = (tmp_path / "tour.sqlite").read_bytes()
    with pytest.raises(StoreError, match="not a tour"):
        tour.run_tour(tmp_path, quick=True, progress=False)
    assert (tmp_path / "tour.sqlite").read_bytes() == before
    with pytest.raises(ValueError, match="workers must be a positive int"):
        tour.run_tour(tmp_path / "elsewhere", quick=True, progress=False, workers=0)


def test_report_of_a_sweep_store(tmp_path):
    import xarray as xr

    from statmech.studies import run_sweep

    study = tmp_path / "chain.toml"
    study.write_text('[study]\nname = "chain-demo"\n[model]\nkind = "ising-chain"\n[method]\nname = "transfer"\n'
                     '[grid]\nL = [4, 8]\nbeta = [0.2, 0.5, 1.0]\n')
    run_sweep(study, tmp_path / "chain.sqlite", workers=1, progress=False)
    page = report.build_report(tmp_path / "chain.sqlite", tmp_path / "report")
    parser = parse(page)
    images = [attrs for tag, attrs in parser.tags if tag == "img"]
    assert len(images) == 1 and images[0]["src"].startswith("data:image/png;base64,")
    text = "".join(parser.text)
    assert "chain-demo" in text and 'kind = "ising-chain"' in text
    with pytest.raises(StoreError, match="not a tour's; draw it with statmech.report.build_report"):
        build_report(tmp_path / "chain.sqlite", tmp_path / "as-tour")
    with xr.open_dataset(tmp_path / "report" / "data" / "results.nc") as dataset:
        # the periodic ring: Z = λ₊^N + λ₋^N with λ₊ = 2 cosh β, λ₋ = 2 sinh β (J = 1, h = 0)
        ring = -np.log((2 * np.cosh(0.5)) ** 8 + (2 * np.sinh(0.5)) ** 8) / (8 * 0.5)
        assert float(dataset.free_energy_density.sel(L=8, beta=0.5, seed=0)) == pytest.approx(ring, rel=1e-12)


def test_report_refuses_what_is_not_a_store(tmp_path):
    (tmp_path / "x.sqlite").write_bytes(b"not a database at all")
    with pytest.raises(StoreError, match="not an SQLite database"):
        build_report(tmp_path / "x.sqlite", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_docs_state_the_sizes_the_tour_uses():
    """docs/tour.md's table of sizes is the steps' parameters (quick and full)."""
    text = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "tour.md").read_text()
    steps = tour.STEPS_BY_NAME
    for budget in ("quick", "full"):
        mc, binder = steps["ising_mc"].params(budget), steps["binder"].params(budget)
        exact, snapshots = steps["ising_exact"].params(budget), steps["snapshots"].params(budget)
        approximations, ridge = steps["approximations"].params(budget), steps["double_descent"].params(budget)
        extensive = steps["extensive"].params(budget)
        expected = [f"L = {mc['square_L']}, {mc['square_n_temperatures']} temperatures × {mc['n_chains']} chains × "
                    f"{mc['n_sweeps']} sweeps", f"| L = {exact['square_L']} |",
                    f"{snapshots['L']} × {snapshots['L']}", "L = " + ", ".join(map(str, binder["sizes"])),
                    f"L ≤ {max(extensive['square_sizes'])}",
                    f"L = {approximations['L']}, {approximations['n_betas']} values of β",
                    f"N = {ridge['n_features']}, {ridge['n_seeds']} data sets per point"]
        for phrase in expected:
            assert phrase in text, (budget, phrase)
    binder = steps["binder"].full
    assert (f"{binder['n_sweeps']} sweeps × {binder['n_chains']} chains at each of {binder['n_temperatures']} "
            "temperatures") in text


def test_sampler_warnings_are_listed_on_the_page_next_to_their_figure(tmp_path, monkeypatch):
    """The page said "14 diagnostic warnings recorded in the store" without showing them: it lists each
    (escaped) under the Monte Carlo section, and says so when there are none."""
    study = tour.TourStudy("quick")
    tasks = study.tasks()
    store_path = tmp_path / "tour.sqlite"
    chain = ["R-hat = 1.31 > 1.01 for energy <b>at T = 0.5</b>", "too few sweeps: tau_int = 80 at T = 1"]
    square = ["window not closed at T = 2.27"]

    def sampled(params, seed):
        return tour.StepResult(scalars=dict(chain_n=8, square_L=4, n_sweeps=10, n_chains=2, n_warnings=3),
                               method="swendsen-wang, swendsen-wang",
                               meta={"chain_warnings": chain, "square_warnings": square})

    monkeypatch.setitem(tour.STEPS_BY_NAME, "ising_mc",
                        tour.TourStep("ising_mc", "x", sampled, quick=tour.STEPS_BY_NAME["ising_mc"].quick, full={},
                                      section=tour.STEPS_BY_NAME["ising_mc"].section))
    with ResultStore.create(store_path, study, tasks) as store:
        for task in tasks:
            if task.config["step"] in ("ising_exact", "ising_mc"):
                store.record(tour.compute_step({"task_id": task.task_id, "config": task.config, "seed": 0}))
    page = build_report(store_path, tmp_path / "out")
    text = " ".join("".join(parse(page).text).split())
    assert "3 diagnostic warnings, listed below" in text
    for warning in chain + square:
        assert " ".join(warning.split()) in text  # the text as written: <b> escaped, not read as markup
    source = page.read_text()
    assert "&lt;b&gt;at T = 0.5&lt;/b&gt;" in source
    assert "2 diagnostic warnings of the Monte Carlo points of the ring" in text
    assert "1 diagnostic warning of the Monte Carlo points of the lattice" in text
