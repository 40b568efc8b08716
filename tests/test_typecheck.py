"""The type checker: `make typecheck` (the first step of CI) and `make lint` run mypy over
recsys_ref/ with the config in pyproject.toml."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())


def ignored_modules() -> list[str]:
    overrides = CONFIG["tool"]["mypy"]["overrides"]
    return [m for o in overrides if o.get("ignore_errors") for m in o["module"]]


def test_make_lint_runs_mypy_from_the_dev_extra() -> None:
    lint = (ROOT / "Makefile").read_text().split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "install EXTRAS=dev" in lint and "$(BIN)/mypy" in lint
    assert any(d.startswith("mypy==") for d in CONFIG["project"]["optional-dependencies"]["dev"])
    assert CONFIG["tool"]["mypy"]["files"] == ["recsys_ref"]


def test_ci_runs_the_type_checker_before_the_suite_on_one_install() -> None:
    """.ci/run: `make typecheck` with the EXTRAS of `make test` (one install), before it."""
    ci = (ROOT / ".ci" / "run").read_text()
    steps = re.findall(r"^make (\w+) EXTRAS=([\w,]+)$", ci, re.M)
    assert [s for s, _ in steps] == ["typecheck", "test"], steps
    assert steps[0][1] == steps[1][1] and "dev" in steps[0][1].split(","), steps
    assert "set -euo pipefail" in ci  # a failing mypy stops CI


def _typecheck_install(*variables: str) -> str:
    """The install command `make typecheck` runs first (from `make -n`), after checking that
    mypy is its last command.  Run outside any calling make: under `make test EXTRAS=...` (as in
    CI) MAKEFLAGS would pass that EXTRAS on to this make too."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "EXTRAS")
    }
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "typecheck", *variables],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1].endswith("/bin/mypy"), lines[-3:]
    return next((ln for ln in lines if ln.startswith("make install")), "")


@pytest.mark.parametrize(
    "extras, installed",
    [
        (None, "dev"),
        ("dev", "dev"),
        ("e2e,test", "e2e,test,dev"),
        ("e2e,test,site,dev", "e2e,test,site,dev"),
        ("dev,test", "dev,test"),
    ],
)
def test_make_typecheck_adds_the_dev_extra_to_the_extras_given(
    extras: str | None, installed: str
) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    install = _typecheck_install(*([f"EXTRAS={extras}"] if extras else []))
    assert install.split() == ["make", "install", f"EXTRAS={installed}"], install


def test_no_module_is_exempt_from_the_type_checker() -> None:
    """The list of modules whose errors mypy ignored (24 when the checker was added) is empty:
    every module of recsys_ref/ is checked, and a new exemption fails here."""
    assert ignored_modules() == []
    assert all(not o.get("ignore_errors") for o in CONFIG["tool"]["mypy"]["overrides"])


@pytest.mark.slow
def test_mypy_passes() -> None:
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent))
    if mypy is None:
        pytest.skip("mypy is not installed here (pip install -e .[dev])")
    run = subprocess.run([mypy], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:]
