# The course's two commands (README, "Quick start"):
#   make lab    set up .venv if needed and open the course in JupyterLab
#   make test   set up .venv if needed and run the full test suite
# Both are idempotent: the install step re-runs only when requirements change.
# Maintainers: make lint, make site, make build, make check-build, make clean-notebooks.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS ?=
PIP_TARGET := -e .$(if $(EXTRAS),[$(EXTRAS)],)
comma  := ,
STAMP  := $(VENV)/.installed$(if $(EXTRAS),-$(subst $(comma),-,$(EXTRAS)),)
PYTEST_ARGS ?=
# Supported Pythons: the same range as requires-python in pyproject.toml (tests/test_packaging.py).
PY_MIN := 3.11
PY_MAX := 3.13

.PHONY: install lab test build check-build lint format site clean-notebooks clean-venv bench-notebooks mutation

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; lo, hi = (tuple(map(int, s.split("."))) for s in "$(PY_MIN) $(PY_MAX)".split()); sys.exit(0 if lo <= v <= hi else "The course needs Python $(PY_MIN) to $(PY_MAX); $(PYTHON) is %d.%d. Run: make PYTHON=python3.12 ..." % v)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt $(PIP_TARGET)
	touch $(STAMP)

install: $(STAMP)

# --allow-root only where the learner is root (containers); JupyterLab refuses root otherwise.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: install
	$(BIN)/jupyter lab $(LAB_ARGS) notebooks/00_start_here.ipynb

# RECSYS_E2E=1: run the browser tests too; they skip, saying why, without chromium/playwright.
test: install
	RECSYS_E2E=1 $(BIN)/python -m pytest --nbval solutions tests $(PYTEST_ARGS)

bench-notebooks: install
	$(BIN)/python benchmarks/bench_notebooks.py

# Mutation testing of the checks (tests/mutate.py): per task, mutants of the reference, killed,
# equivalent with the reason, surviving; exit 1 on a survivor.  TASKS="fm_4 ngcf_2" for some.
mutation: install
	$(BIN)/python -m tests.mutate $(TASKS)

# Maintainers
build: install
	$(BIN)/recsys-course build

check-build: install
	$(BIN)/recsys-course build --check

LINTED := recsys_ref tests benchmarks docs conftest.py setup.py
lint:
	$(MAKE) install EXTRAS=dev
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/mypy

format: install
	$(BIN)/ruff format $(LINTED)

# Remove volatile metadata (execution timestamps, kernel noise) from solutions/, keeping outputs.
clean-notebooks: install
	$(BIN)/python -m recsys_ref.course.nbtools.clean solutions/*.ipynb

# The course website, offline: solutions (with their stored outputs) + the start page → site/html.
site:
	$(MAKE) install EXTRAS=site
	$(BIN)/python -m sphinx -b html -q -W --keep-going -c docs/site -d site/doctrees . site/html
	@echo "site: open site/html/index.html (or: $(BIN)/python -m http.server -d site/html)"

clean-venv:
	rm -rf $(VENV)
