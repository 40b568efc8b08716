# The course's two commands (README, "Quick start"):
#   make lab    set up .venv if needed and open the course in JupyterLab
#   make test   set up .venv if needed and run the full test suite
# Both are idempotent: the install step re-runs only when requirements change.
# Contributors: make test-fast (CONTRIBUTING.md). Maintainers: make lint, make typecheck, make site, make site-instructor, make build, make check-build, make clean-notebooks.

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
PY_MAX := 3.14

.PHONY: install lab test test-fast typecheck site-instructor build check-build lint format site clean-notebooks clean-venv bench-notebooks mutation

# torch: Linux without an NVIDIA GPU (no `nvidia-smi`) gets the CPU build from PyTorch's CPU index
# (PyPI's Linux torch is a 2.7 GB CUDA build); CUDA=1 opts into that build, CUDA=0 forces the CPU
# one. A torch already on this machine's own wheel folders (pip's find-links) is taken from there.
CUDA   ?= $(if $(shell command -v nvidia-smi 2>/dev/null),1,0)
CPU_INDEX := https://download.pytorch.org/whl/cpu
TORCH_INDEX := $(if $(and $(filter Linux,$(shell uname -s)),$(filter 0,$(CUDA))),--extra-index-url $(CPU_INDEX),)
TORCH_PIN := $(shell grep -E '^torch==' requirements.txt)
# make test runs on every core (pytest-xdist); a notebook's cells stay together (--dist loadfile).
# XDIST=0 runs in one process.
XDIST  ?= auto
XDIST_ARGS := $(if $(filter 0,$(XDIST)),,-n $(XDIST) --dist loadfile)
FAST   := -m "not slow and not e2e"

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; lo, hi = (tuple(map(int, s.split("."))) for s in "$(PY_MIN) $(PY_MAX)".split()); sys.exit(0 if lo <= v <= hi else "The course needs Python $(PY_MIN) to $(PY_MAX); $(PYTHON) is %d.%d. Run: make PYTHON=python3.12 ..." % v)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-index --no-deps "$(TORCH_PIN)" 2>/dev/null \
	  || $(BIN)/python -m pip install --quiet $(TORCH_INDEX) "$(TORCH_PIN)"
	$(BIN)/python -m pip install --quiet -r requirements.txt $(PIP_TARGET)
	touch $(STAMP)

install: $(STAMP)

# --allow-root only where the learner is root (containers); JupyterLab refuses root otherwise.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: install
	$(BIN)/jupyter lab $(LAB_ARGS) notebooks/00_start_here.ipynb

# RECSYS_E2E=1: run the browser tests too; they skip, saying why, without chromium/playwright.
test: install
	RECSYS_E2E=1 $(BIN)/python -m pytest $(XDIST_ARGS) --nbval solutions tests $(PYTEST_ARGS)

# The contributor loop: no slow and no browser tests, no notebook re-execution (CONTRIBUTING.md).
test-fast: install
	$(BIN)/python -m pytest $(XDIST_ARGS) $(FAST) tests $(PYTEST_ARGS)

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

# The type checker alone (mypy from the `dev` extra, over recsys_ref/ with pyproject.toml's
# [tool.mypy]), as CI runs it: EXTRAS are kept and `dev` is added, so `make typecheck
# EXTRAS=e2e,test,site,dev` shares the install of `make test` with the same EXTRAS.
DEV_EXTRAS := $(if $(filter dev,$(subst $(comma), ,$(EXTRAS))),$(EXTRAS),$(if $(EXTRAS),$(EXTRAS)$(comma),)dev)
typecheck:
	$(MAKE) install EXTRAS=$(DEV_EXTRAS)
	$(BIN)/mypy

format: install
	$(BIN)/ruff format $(LINTED)

# Remove volatile metadata (execution timestamps, kernel noise) from solutions/, keeping outputs.
clean-notebooks: install
	$(BIN)/python -m recsys_ref.course.nbtools.clean solutions/*.ipynb

# The course website, offline → site/html. `make site`: the LEARNER edition (the learner notebooks:
# statements, derivations, figures; no solution code, no solved outputs) — the one to publish.
# `make site-instructor`: the solutions with their outputs, under a banner → site/instructor
# (INSTRUCTORS.md: never publish it where learners can read it).
SPHINX = $(BIN)/python -m sphinx -b html -q -W --keep-going -c docs/site
site:
	$(MAKE) install EXTRAS=site
	RECSYS_SITE_EDITION=learner $(SPHINX) -d site/doctrees-learner . site/html
	@echo "site: open site/html/index.html (or: $(BIN)/python -m http.server -d site/html)"

site-instructor:
	$(MAKE) install EXTRAS=site
	RECSYS_SITE_EDITION=instructor $(SPHINX) -d site/doctrees-instructor . site/instructor
	@echo "site-instructor: site/instructor/index.html holds the SOLUTIONS; do not publish it to learners"

clean-venv:
	rm -rf $(VENV)
