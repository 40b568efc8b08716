# The course's two commands (README, "Quick start"):
#   make lab    set up .venv if needed and open the course in JupyterLab
#   make test   set up .venv if needed and run the full test suite
# Both are idempotent: the install step re-runs only when requirements change.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS ?=
PIP_TARGET := -e .$(if $(EXTRAS),[$(EXTRAS)],)
STAMP  := $(VENV)/.installed$(if $(EXTRAS),-$(EXTRAS),)
PYTEST_ARGS ?=

.PHONY: install lab test build check-build lint clean-venv bench-notebooks

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 10) <= v <= (3, 12) else "The course needs Python 3.10, 3.11 or 3.12; $(PYTHON) is %d.%d. Run: make PYTHON=python3.11 ..." % v)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt $(PIP_TARGET)
	touch $(STAMP)

install: $(STAMP)

# --allow-root only where the learner is root (containers); JupyterLab refuses root otherwise.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: install
	$(BIN)/jupyter lab $(LAB_ARGS) notebooks/00_start_here.ipynb

# RECSYS_E2E=1: run the browser test too; it skips, saying why, without chromium/playwright.
test: install
	RECSYS_E2E=1 $(BIN)/python -m pytest --nbval solutions tests $(PYTEST_ARGS)

bench-notebooks: install
	$(BIN)/python benchmarks/bench_notebooks.py

# Maintainers
build: install
	$(BIN)/recsys-course build

check-build: install
	$(BIN)/recsys-course build --check

lint: install
	$(BIN)/ruff check recsys_ref tests benchmarks

clean-venv:
	rm -rf $(VENV)
