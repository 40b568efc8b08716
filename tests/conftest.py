"""Shared fixtures; ``--learner-notebooks DIR`` itself is registered by the package's pytest plugin
(``recsys_ref.course.pytest_plugin``, so both ``--opt DIR`` and ``--opt=DIR`` parse)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def learner_dir(request: pytest.FixtureRequest) -> Path | None:
    value = request.config.getoption("--learner-notebooks")
    return Path(value) if value else None
