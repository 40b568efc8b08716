"""Shared fixtures and the ``--learner-notebooks`` option of the exercise tests."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--learner-notebooks",
        action="store",
        default=None,
        metavar="DIR",
        help="also run every task's check against the learner notebooks in DIR "
        "(e.g. notebooks/); `pytest -m fm_4 --learner-notebooks notebooks/`",
    )


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def learner_dir(request: pytest.FixtureRequest) -> Path | None:
    value = request.config.getoption("--learner-notebooks")
    return Path(value) if value else None
