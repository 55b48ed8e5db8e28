"""One quick tour per test session, shared by the report tests (it takes tens of seconds)."""
import pathlib

import pytest


@pytest.fixture(scope="session")
def quick_tour(tmp_path_factory) -> pathlib.Path:
    """The folder of a quick tour (index.html, tour.sqlite, data/), computed once per session."""
    from statmech.tour import run_tour

    folder = tmp_path_factory.mktemp("tour")
    page = run_tour(folder, quick=True, progress=False)
    assert page == folder / "index.html"
    return folder
