"""pytest's ``--learner-notebooks DIR``, installed with the package (entry point ``pytest11``).

``pytest -m ngcf_2 --learner-notebooks notebooks/`` checks one task of a learner's
notebooks (README, INSTRUCTORS.md).  Registered here, not in a ``conftest.py``,
so that both spellings (``--learner-notebooks DIR`` and ``--learner-notebooks=DIR``)
parse before any conftest is read, and so that the command works where no test
suite exists — a pip workspace (``recsys-course init``): there this plugin adds
one item per registered task, marked with the task id (so ``-m ngcf_2`` selects
it), which runs the task's check on the learner's cell.  In a checkout the test
suite's own ``test_learner_notebook`` does that, and no item is added.
"""

from __future__ import annotations

from pathlib import Path

import pytest

OPTION = "--learner-notebooks"
CHECKOUT_TEST = "test_learner_notebook"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        OPTION,
        action="store",
        default=None,
        metavar="DIR",
        help="also run every task's check against the learner notebooks in DIR "
        "(e.g. notebooks/); `pytest -m fm_4 --learner-notebooks notebooks/`",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption(OPTION, None) is None:
        return
    from .engine.registry import all_exercises

    for (
        task_id
    ) in all_exercises():  # `-m <task id>` must not fail --strict-markers outside a checkout
        config.addinivalue_line("markers", f"{task_id}: task {task_id} (recsys-course)")


class LearnerTask(pytest.Item):
    """One task's check on the learner's exercise cell."""

    def __init__(self, *, task_id: str, notebook: Path, **kwargs) -> None:
        super().__init__(**kwargs)
        self.task_id = task_id
        self.notebook = notebook
        self.add_marker(task_id)

    def runtest(self) -> None:
        from . import run_check
        from .nbtools.notebook import load_exercise

        if not self.notebook.exists():
            raise LearnerTaskFailed(f"{self.notebook} not found")
        result = run_check(self.task_id, load_exercise(self.notebook, self.task_id))
        if not result.passed:
            raise LearnerTaskFailed(result.message)

    def repr_failure(self, excinfo, style=None) -> str:
        if isinstance(excinfo.value, LearnerTaskFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self):
        return self.notebook, None, f"{self.task_id} in {self.notebook.name}"


class LearnerTaskFailed(Exception):
    """A learner's cell that does not pass its task's check (the message is the diagnosis)."""


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    folder = config.getoption(OPTION, None)
    if folder is None or any(CHECKOUT_TEST in item.nodeid for item in items):
        return
    from .engine.registry import all_exercises

    folder = Path(folder)
    for task_id, exercise in all_exercises().items():
        items.append(
            LearnerTask.from_parent(
                session,
                name=f"{task_id}[{folder.as_posix()}]",
                task_id=task_id,
                notebook=folder / f"{exercise.notebook}.ipynb",
            )
        )
