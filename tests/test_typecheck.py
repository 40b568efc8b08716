"""The type checker: `make lint` runs mypy over recsys_ref/ with the config in pyproject.toml."""

from __future__ import annotations

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


def test_the_ignore_list_names_modules_that_exist() -> None:
    """Each line of the list to shrink is a module of recsys_ref (a moved one goes with it)."""
    names = ignored_modules()
    assert names == sorted(set(names), key=names.index), "a module listed twice"
    for name in names:
        path = ROOT / Path(*name.split("."))
        assert path.with_suffix(".py").is_file() or (path / "__init__.py").is_file(), name


@pytest.mark.slow
def test_mypy_passes() -> None:
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent))
    if mypy is None:
        pytest.skip("mypy is not installed here (pip install -e .[dev])")
    run = subprocess.run([mypy], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:]
