"""Concept questions: the same check machinery as the tasks (questions.py)."""

from __future__ import annotations

import pytest

from recsys_ref.course.engine.check import run_check
from recsys_ref.course.engine.evaluate import FAILED, NOT_STARTED_STATUS, PASSED
from recsys_ref.course.engine.questions import answer, question, seal, wrong_name

CHOICE = question(
    "q_demo_1a",
    "00_start_here",
    "which normalisation",
    seal("q_demo_1a", "B"),
    "eq. 8 scales by both endpoints' degrees.",
    choices="ABC",
    wrong={seal("q_demo_1a", "A"): "A is D⁻¹A, which scales by the receiver's degree only"},
)
NUMBER = question(
    "q_demo_1b",
    "00_start_here",
    "how many parameters",
    seal("q_demo_1b", 120.0, rtol=1e-6),
    "n·k = 40·3 = 120.",
    rtol=1e-6,
)


@pytest.fixture(autouse=True)
def _registered(monkeypatch):
    from recsys_ref.course.engine import registry

    found = dict(registry.all_exercises())
    found.update({CHOICE.task_id: CHOICE, NUMBER.task_id: NUMBER})
    monkeypatch.setattr(registry, "all_exercises", lambda: found)


def _stub():
    raise NotImplementedError("Task q_demo_1a: your answer")


@pytest.mark.parametrize("given", ["B", "b", " B ", "B)", "(B)", "'b'", '"B"', "[B].", "`B`"])
def test_right_choice_passes_with_the_explanation(given):
    r = run_check("q_demo_1a", lambda: given)
    assert r.status == PASSED and "both endpoints" in r.message


def test_stub_is_not_started_and_reveals_nothing():
    r = run_check("q_demo_1a", _stub)
    assert r.status == NOT_STARTED_STATUS
    assert "both endpoints" not in r.message and '"B"' not in r.message


def test_named_wrong_choice_says_why():
    r = run_check("q_demo_1a", lambda: "A")
    assert (
        r.status == FAILED
        and r.misconception == wrong_name("q_demo_1a", "A")
        and "receiver's degree" in r.message
    )
    assert "both endpoints" not in r.message


def test_unnamed_wrong_choice_is_generic_and_reveals_nothing():
    r = run_check("q_demo_1a", lambda: "C")
    assert r.status == FAILED and r.misconception is None and "both endpoints" not in r.message


@pytest.mark.parametrize("given", ["E", "AB", "(A) or (B)", 2, None, ["B"]])
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
        question("q_demo_1c", "00_start_here", "x", seal("q_demo_1c", "D"), "x", choices="ABC")


SIXTH = question(
    "q_demo_1d",
    "00_start_here",
    "a decay",
    seal("q_demo_1d", 1 / 6, 1e-2),
    "1/sqrt(4·9).",
    rtol=1e-2,
)
COUNT = question(
    "q_demo_1e",
    "00_start_here",
    "a count",
    seal("q_demo_1e", 34_787, 0.0, 0.5),
    "n.",
    rtol=0.0,
    atol=0.5,
)
CONSTANT = question(
    "q_demo_1f",
    "00_start_here",
    "a constant",
    seal("q_demo_1f", 0.1, 0.0, 1e-8),
    "one tenth.",
    rtol=0.0,
    atol=1e-8,
)


@pytest.fixture
def more(monkeypatch):
    from recsys_ref.course.engine import registry

    found = dict(registry.all_exercises())
    found.update({q.task_id: q for q in (SIXTH, COUNT, CONSTANT)})
    monkeypatch.setattr(registry, "all_exercises", lambda: found)


def _real_types(x: float) -> list:
    import numpy as np
    import torch

    out = [x, np.float64(x), np.float32(x), np.array(x), torch.tensor(x, dtype=torch.float64)]
    out.append(torch.tensor(x))  # float32
    if float(x).is_integer():
        out += [int(x), np.int64(x), np.int32(x), torch.tensor(int(x))]
    return out


@pytest.mark.parametrize("i", range(10))
def test_any_real_number_type_is_accepted(i, more):
    for tid, value in (("q_demo_1b", 120), ("q_demo_1e", 34_787), ("q_demo_1d", 1 / 6)):
        kinds = _real_types(value)
        if i < len(kinds):
            r = run_check(tid, lambda v=kinds[i]: v)
            assert r.status == PASSED, (tid, type(kinds[i]), r.message)


@pytest.mark.parametrize("given", [True, False, "np.bool_", "bool tensor", "vector"])
def test_bools_and_arrays_are_not_numbers(given, more):
    import numpy as np
    import torch

    value = {
        "np.bool_": np.bool_(True),
        "bool tensor": torch.tensor(True),
        "vector": torch.tensor([120.0]),
    }.get(given, given)
    r = run_check("q_demo_1b", lambda: value)
    assert r.status == FAILED and "a number" in r.message


def test_the_rounding_asked_for_is_accepted(more):
    assert run_check("q_demo_1d", lambda: 0.17).status == PASSED  # 2 significant digits
    assert run_check("q_demo_1d", lambda: 0.1667).status == PASSED
    r = run_check("q_demo_1d", lambda: 0.2)  # one digit: not a rounding the question accepts
    assert r.status == FAILED
    r = run_check("q_demo_1d", lambda: 0.171)  # near, outside 1 %: the tolerance is stated
    assert r.status == FAILED and "within 1%" in r.message


def test_counts_are_exact_and_say_so(more):
    assert run_check("q_demo_1e", lambda: 34_787.0).status == PASSED
    r = run_check("q_demo_1e", lambda: 34_790)  # a rounding is not the count
    assert r.status == FAILED and "whole number" in r.message


def test_a_float32_constant_is_accepted(more):
    import numpy as np
    import torch

    assert run_check("q_demo_1f", lambda: np.float32(0.1)).status == PASSED
    assert run_check("q_demo_1f", lambda: torch.tensor(0.1)).status == PASSED
    assert run_check("q_demo_1f", lambda: 0.1001).status == FAILED
