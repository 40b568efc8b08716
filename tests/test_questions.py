"""Concept questions: the same check machinery as the tasks (questions.py)."""

from __future__ import annotations

import pytest

from recsys_ref.course.engine.check import run_check
from recsys_ref.course.engine.evaluate import FAILED, NOT_STARTED_STATUS, PASSED
from recsys_ref.course.engine.questions import answer, question

CHOICE = question(
    "q_demo_1a",
    "00_start_here",
    "which normalisation",
    "B",
    "eq. 8 scales by both endpoints' degrees.",
    choices="ABC",
    wrong={"A": "A is D⁻¹A, which scales by the receiver's degree only"},
)
NUMBER = question(
    "q_demo_1b", "00_start_here", "how many parameters", 120.0, "n·k = 40·3 = 120.", rtol=1e-6
)


@pytest.fixture(autouse=True)
def _registered(monkeypatch):
    from recsys_ref.course.engine import registry

    found = dict(registry.all_exercises())
    found.update({CHOICE.task_id: CHOICE, NUMBER.task_id: NUMBER})
    monkeypatch.setattr(registry, "all_exercises", lambda: found)


def _stub():
    raise NotImplementedError("Task q_demo_1a: your answer")


@pytest.mark.parametrize("given", ["B", "b", " B ", "B)"])
def test_right_choice_passes_with_the_explanation(given):
    r = run_check("q_demo_1a", lambda: given)
    assert r.status == PASSED and "both endpoints" in r.message


def test_stub_is_not_started_and_reveals_nothing():
    r = run_check("q_demo_1a", _stub)
    assert r.status == NOT_STARTED_STATUS
    assert "both endpoints" not in r.message and '"B"' not in r.message


def test_named_wrong_choice_says_why():
    r = run_check("q_demo_1a", lambda: "A")
    assert r.status == FAILED and r.misconception == "A" and "receiver's degree" in r.message
    assert "both endpoints" not in r.message


def test_unnamed_wrong_choice_is_generic_and_reveals_nothing():
    r = run_check("q_demo_1a", lambda: "C")
    assert r.status == FAILED and r.misconception is None and "both endpoints" not in r.message


@pytest.mark.parametrize("given", ["E", "AB", 2, None, ["B"]])
def test_answers_of_the_wrong_kind_say_what_is_asked(given):
    r = run_check("q_demo_1a", lambda: given)
    assert r.status == FAILED and "one letter" in r.message


def test_numeric_question_uses_the_tolerance():
    assert run_check("q_demo_1b", lambda: 120).status == PASSED
    assert run_check("q_demo_1b", lambda: 121).status == FAILED
    r = run_check("q_demo_1b", lambda: "120")
    assert r.status == FAILED and "a number" in r.message
    assert run_check("q_demo_1b", lambda: True).status == FAILED


def test_answer_wants_the_function_not_its_value(capsys):
    with pytest.raises(TypeError, match="takes the function"):
        answer("q_demo_1a", "B")
    answer("q_demo_1a", lambda: "B")
    assert "✓ q_demo_1a: right." in capsys.readouterr().out
    with pytest.raises(AssertionError, match="receiver's degree"):
        answer("q_demo_1a", lambda: "A")


def test_a_question_with_an_answer_outside_its_choices_is_refused():
    with pytest.raises(ValueError, match="not one of the choices"):
        question("q_demo_1c", "00_start_here", "x", "D", "x", choices="ABC")
