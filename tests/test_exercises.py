"""Every exercise spec, in its three uses (docs/design.md §5).

For each registered task (marker = task id, so `pytest -m fm_4` selects it):
the reference passes its own check on several seeds; a stub is "not started"
and scores nothing; each named misconception is recognised by name; the
exercise cell of solutions/ passes; the generated learner stub in notebooks/
is "not started"; and with --learner-notebooks DIR a learner's cell is checked.
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path

import pytest

from recsys_ref.course import all_exercises, check, run_check
from recsys_ref.course.nbtools.notebook import load_exercise

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = all_exercises()


def per_task():
    """Parametrize over task ids, each param marked with its task id."""
    return [pytest.param(t, marks=getattr(pytest.mark, t), id=t) for t in EXERCISES]


def per_misconception():
    return [
        pytest.param(t, m.name, marks=getattr(pytest.mark, t), id=f"{t}-{m.name}")
        for t, ex in EXERCISES.items()
        for m in ex.misconceptions
    ]


def exercise_function(notebook: Path, task_id: str):
    """Exec the task's exercise cell (trusted: our own notebooks) and return its function."""
    fn = load_exercise(notebook, task_id)
    assert fn is not None, f"{notebook.name}: no exercise cell for {task_id}"
    return fn


def make_stub(reference):
    @functools.wraps(reference)
    def stub(*args, **kwargs):
        raise NotImplementedError("Task stub")

    stub.__signature__ = inspect.signature(reference)
    return stub


@pytest.mark.parametrize("task_id", per_task())
@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_reference_passes(task_id: str, seed: int) -> None:
    result = run_check(task_id, EXERCISES[task_id].reference, seed=seed)
    assert result.passed, result.message
    assert result.points == EXERCISES[task_id].points


@pytest.mark.parametrize("task_id", per_task())
def test_cases_are_deterministic_in_the_seed(task_id: str) -> None:
    ex = EXERCISES[task_id]
    a, b = ex.make_cases(7), ex.make_cases(7)
    assert [c.name for c in a] == [c.name for c in b]
    if ex.kind == "task":  # a concept question has one case: the answer
        assert len(a) >= 2, "a spec needs random cases and edge cases"


@pytest.mark.parametrize("task_id", per_task())
def test_stub_is_not_started(task_id: str, capsys: pytest.CaptureFixture) -> None:
    stub = make_stub(EXERCISES[task_id].reference)
    result = run_check(task_id, stub)
    assert result.status == "not started"
    assert result.points == 0
    check(task_id, stub)  # does not raise: "Run All" goes on
    assert "not started" in capsys.readouterr().out


@pytest.mark.parametrize(("task_id", "name"), per_misconception())
def test_misconception_is_named(task_id: str, name: str) -> None:
    ex = EXERCISES[task_id]
    m = next(m for m in ex.misconceptions if m.name == name)
    result = run_check(task_id, m.wrong, seed=3)
    assert result.status == "failed"
    assert result.misconception == name, result.message
    assert m.message in result.message
    with pytest.raises(AssertionError, match="✗"):
        check(task_id, m.wrong, seed=3)


@pytest.mark.parametrize("task_id", per_task())
def test_solution_notebook_passes(task_id: str) -> None:
    notebook = ROOT / "solutions" / f"{EXERCISES[task_id].notebook}.ipynb"
    assert notebook.exists(), f"{notebook} is missing"
    result = run_check(task_id, exercise_function(notebook, task_id))
    assert result.passed, result.message


@pytest.mark.parametrize("task_id", per_task())
def test_generated_stub_is_not_started(task_id: str) -> None:
    notebook = ROOT / "notebooks" / f"{EXERCISES[task_id].notebook}.ipynb"
    assert notebook.exists(), f"{notebook} is missing: run `recsys-course build`"
    result = run_check(task_id, exercise_function(notebook, task_id))
    assert result.status == "not started", result.message


@pytest.mark.parametrize("task_id", per_task())
def test_learner_notebook(task_id: str, learner_dir: Path | None) -> None:
    if learner_dir is None:
        pytest.skip("pass --learner-notebooks DIR to check a learner's notebooks")
    notebook = learner_dir / f"{EXERCISES[task_id].notebook}.ipynb"
    if not notebook.exists():
        pytest.fail(f"{notebook} not found")
    result = run_check(task_id, exercise_function(notebook, task_id))
    assert result.passed, result.message
