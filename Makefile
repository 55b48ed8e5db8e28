PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install tour test test-all bench docs clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[dev]"
	touch $(STAMP)

tour: install
	$(BIN)/statmech tour --out tour-output

# pytest exits 5 when it collects no tests: not a failure of the build.
test: install
	$(BIN)/python -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

test-all: install
	$(BIN)/python -m pytest -m ""

# API reference and guides (mkdocs-material + mkdocstrings), strict: a broken reference fails.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

bench: install
	$(BIN)/python benchmarks/exact.py

clean:
	rm -rf $(VENV) build site src/*.egg-info .pytest_cache
