"""Sealed question answers (issue 20, class 3): no answer is readable in the package, what
is accepted is unchanged, and a submission that reaches for the answer through the
installed package scores nothing on the 20 questions."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_ref.course.engine.questions import (
    _TOLERANCES,
    Sealed,
    numbers_agree,
    question,
    seal,
    tolerance_phrase,
)
from recsys_ref.course.engine.registry import all_exercises
from recsys_ref.course.nbtools.notebook import load_exercise

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = {t: ex for t, ex in all_exercises().items() if ex.kind == "question"}


def _solution(task_id: str):
    """The answer of the solutions notebook (the repository's, not the package's)."""
    ex = QUESTIONS[task_id]
    return load_exercise(ROOT / "solutions" / f"{ex.notebook}.ipynb", task_id)()


ANSWERS = {t: _solution(t) for t in QUESTIONS}
NUMERIC = [t for t, a in ANSWERS.items() if not isinstance(a, str)]
LETTERS = [t for t, a in ANSWERS.items() if isinstance(a, str)]


def _before(got: float, want: float, rtol: float, atol: float) -> str | None:
    """The numeric comparison as it was with the answer as a literal (the independent side)."""
    if numbers_agree(got, want, rtol, atol):
        return None
    if math.isclose(got, want, rel_tol=max(10 * rtol, 0.05), abs_tol=0):
        return f"that is not the answer ({tolerance_phrase(want, rtol, atol)})"
    return "that is not the answer"


def _grid(want: float, rtol: float, atol: float) -> list[float]:
    """Dense around the answer: relative steps to ±25 %, steps of atol, every rounding to
    1–9 significant digits, the float32 constant and its float neighbours."""
    import numpy as np

    out = [want * (1 + d) for d in np.linspace(-0.25, 0.25, 2001)]
    out += [want + k * atol / 8 for k in range(-40, 41)]
    out += [float(f"{want:.{n}g}") for n in range(1, 10)]
    out += [float(np.float32(want)), math.nextafter(want, 0), math.nextafter(want, math.inf)]
    out += [float(f"{want:.{n}g}") + d for n in (2, 3) for d in (-1e-12, 1e-12)]
    return out


@pytest.mark.parametrize("task_id", NUMERIC)
def test_numeric_answers_accept_and_refuse_exactly_as_before(task_id):
    ex, want = QUESTIONS[task_id], float(ANSWERS[task_id])
    rtol, atol = _TOLERANCES[task_id]
    sealed = ex.reference()
    diff = [
        (g, ex.compare(g, sealed), _before(g, want, rtol, atol))
        for g in _grid(want, rtol, atol)
        if ex.compare(g, sealed) != _before(g, want, rtol, atol)
    ]
    assert not diff, diff[:5]


@settings(max_examples=300, deadline=None)
@given(
    want=st.floats(-1e7, 1e7, allow_nan=False) | st.integers(-(10**6), 10**6),
    rel=st.floats(-0.3, 0.3),
    rtol=st.sampled_from([0.0, 1e-6, 1e-3, 1e-2, 0.04]),
    atol=st.sampled_from([1e-9, 1e-8, 0.5, 2.0]),
    digits=st.integers(1, 8),
)
def test_sealing_any_answer_keeps_its_accepted_set(want, rel, rtol, atol, digits):
    """Any answer, any tolerance: a value near it, and its rounding, are judged as before."""
    want = float(want)
    ex = question(
        "q_prop_1a", "00_start_here", "x", seal("q_prop_1a", want, rtol, atol), "x.",
        rtol=rtol, atol=atol,
    )  # fmt: skip
    sealed = ex.reference()
    for got in (want * (1 + rel), want + rel * atol * 4, float(f"{want:.{digits}g}")):
        assert ex.compare(got, sealed) == _before(got, want, rtol, atol), got


@pytest.mark.parametrize("task_id", LETTERS)
def test_exactly_the_solutions_letter_is_accepted(task_id):
    ex = QUESTIONS[task_id]
    accepted = [c for c in "ABCDEFGH" if ex.compare(c, ex.reference()) is None]
    assert accepted == [ANSWERS[task_id]]


def test_no_answer_is_a_literal_of_a_spec():
    """A plain answer or wrong answer is refused; every stored one is sealed."""
    with pytest.raises(ValueError, match="sealed"):
        question("q_demo_9a", "00_start_here", "x", "B", "x", choices="ABC")
    with pytest.raises(ValueError, match="sealed"):
        question("q_demo_9b", "00_start_here", "x", 16, "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sealed"):
        question(
            "q_demo_9c", "00_start_here", "x", seal("q_demo_9c", "B"), "x",
            choices="ABC", wrong={"A": "no"},
        )  # fmt: skip
    for ex in QUESTIONS.values():
        assert isinstance(ex.reference(), Sealed)
        for m in ex.misconceptions:
            assert m.name.startswith("#") and isinstance(m.wrong(), Sealed)


def test_the_maintainer_tool_prints_what_the_spec_holds(capsys):
    from recsys_ref.course.engine.questions import main

    for task_id, want in ANSWERS.items():
        rtol, atol = _TOLERANCES[task_id]
        main(["hash", task_id, str(want), "--rtol", repr(rtol), "--atol", repr(atol)])
        assert capsys.readouterr().out.strip() == QUESTIONS[task_id].reference().sealed


# ---------------------------------------------------------------- the grader: no route to an answer

# Each route is the body of every question's function in one learner's notebook
# ({t}: the task id, {L}: the candidate answers the route tries).
ROUTES = {
    "the spec's reference": (
        "    from recsys_ref.course.engine.registry import get\n    return get('{t}').reference()\n"
    ),
    "the checker tried on every answer": (
        "    from recsys_ref.course import run_check\n"
        "    for a in {L}:\n"
        "        try:\n"
        "            if run_check('{t}', lambda a=a: a).passed:\n"
        "                return a\n"
        "        except BaseException:\n"
        "            pass\n"
        "    from recsys_ref.course.engine.registry import get\n"
        "    ex = get('{t}')\n"
        "    for a in {L}:\n"
        "        if ex.compare(a, ex.reference()) is None:\n"
        "            return a\n"
    ),
    "the module's source": (
        "    import importlib, inspect, re\n"
        "    from recsys_ref.course.engine.questions import seal, _TOLERANCES\n"
        "    mod = importlib.import_module('recsys_ref.course.tasks.{track}.questions')\n"
        "    try:\n"
        "        text = inspect.getsource(mod)\n"
        "    except BaseException:\n"
        "        text = open(mod.__file__).read()\n"
        "    block = text[text.index(\"'{t}'\".replace(\"'\", '\"')):][:3000]\n"
        "    answer = re.search(r'sha256:[0-9a-f:.e+-]+', block).group(0)\n"
        "    for a in {L}:\n"
        "        if seal('{t}', a, *_TOLERANCES.get('{t}', (1e-3, 1e-9))) == answer:\n"
        "            return a\n"
    ),
    "the closures of the specs' functions": (
        "    import gc, types\n"
        "    from recsys_ref.course.engine.questions import seal, _TOLERANCES\n"
        "    from recsys_ref.course.engine.registry import all_exercises\n"
        "    found = set()\n"
        "    reach = list(gc.get_objects())  # the fork server's frozen heap is not in it\n"
        "    for ex in all_exercises().values():\n"
        "        reach += [ex.reference, ex.compare, *(m.wrong for m in ex.misconceptions)]\n"
        "    for f in reach:\n"
        "        if not isinstance(f, types.FunctionType) or not f.__closure__:\n"
        "            continue\n"
        "        cells = {}\n"
        "        for name, c in zip(f.__code__.co_freevars, f.__closure__):\n"
        "            try:\n"
        "                cells[name] = c.cell_contents\n"
        "            except ValueError:\n"
        "                pass\n"
        "        if cells.get('task_id') == '{t}' and isinstance(cells.get('answer'), str):\n"
        "            found.add(cells['answer'])\n"
        "    for a in {L}:\n"
        "        if seal('{t}', a, *_TOLERANCES.get('{t}', (1e-3, 1e-9))) in found:\n"
        "            return a\n"
    ),
    "the named wrong letters ruled out": (
        "    from recsys_ref.course.engine.questions import seal\n"
        "    from recsys_ref.course.engine.registry import get\n"
        "    ex = get('{t}')\n"
        "    names = {m.name for m in ex.misconceptions}\n"
        "    left = [a for a in {L} if isinstance(a, str) and '#' + seal('{t}', a)[7:15] not in names]\n"
        "    if names and len(left) == 1:\n"
        "        return left[0]\n"
    ),
    "the explanation's numbers": (
        "    import re\n"
        "    from recsys_ref.course.engine.registry import get\n"
        "    ex = get('{t}')\n"
        "    if ex.explanation == '':\n"
        "        return 'Z'\n"
        "    for a in {L}:\n"
        "        if not isinstance(a, str) and str(a) in ex.explanation.replace(',', ''):\n"
        "            return a\n"
    ),
}
TRACKS = {"q_start": "start", "q_ngcf": "ngcf", "q_fm": "fm", "q_cap": "capstone"}


def _choices(task_id: str) -> str:
    return "".join(c for c in "ABCDEFGH" if QUESTIONS[task_id].output_check(c, None) is None)


def _tries(task_id: str) -> str:
    """What a route tries: the question's letters (its statement lists them), or the whole
    numbers to 100 and the answer itself (so a route that can see the sealed answer finds it)."""
    want = ANSWERS[task_id]
    if isinstance(want, str):
        return repr(list(_choices(task_id)))
    return f"[{want!r}] + list(range(100))"


def _cell(task_id: str, body: str) -> str:
    track = TRACKS[task_id.rsplit("_", 1)[0]]
    code = body.replace("{t}", task_id).replace("{L}", _tries(task_id))
    return f"def {task_id}():\n" + code.replace("{track}", track) + "    return None\n"


@pytest.mark.skipif(sys.platform != "linux", reason="the sandbox's layers are Linux's")
def test_answers_reached_through_the_installed_package_score_nothing(tmp_path):
    """One learner per route, a cell for each of the 20 questions; a control learner
    types the answers and gets all 20 points.  (Measured with the worker's question layers
    switched off: without the specs' closures withheld the checker and the closures routes
    score 20 of 20; without ``withhold_answers`` ruling out the named wrong letters scores
    12 and the explanations' numbers 6: the test has teeth.)"""
    from recsys_ref.course.grading import grade
    from tests.exercise_notebook import write

    subs = []
    for i, body in enumerate(ROUTES.values()):
        cells = [(t, _cell(t, body)) for t in QUESTIONS]
        subs.append(write(tmp_path / "class" / f"route{i}.ipynb", *cells))
    honest = [(t, f"def {t}():\n    return {a!r}\n") for t, a in ANSWERS.items()]
    subs.append(write(tmp_path / "class" / "honest.ipynb", *honest))
    parser = argparse.ArgumentParser()
    grade.add_arguments(parser)
    out = tmp_path / "out"
    args = [*subs, "--out", out, "--tasks", ",".join(QUESTIONS), "--quiet", "--jobs", "2"]
    assert grade.run(parser.parse_args([str(a) for a in args])) == 0

    def scores(name: str) -> dict[str, float]:
        data = json.loads((out / name / "results.json").read_text())
        return {t["name"].split(":")[0]: t["score"] for t in data["tests"]}

    assert scores("honest") == dict.fromkeys(QUESTIONS, 1), "the control must score"
    for i, route in enumerate(ROUTES):
        got = scores(f"route{i}")
        assert set(got) == set(QUESTIONS)
        assert sum(got.values()) == 0, (route, {t: s for t, s in got.items() if s})


@pytest.mark.parametrize("route", [r for r in ROUTES if "explanation" not in r])
def test_each_route_finds_the_answers_outside_the_grader(route):
    """The routes are real: run in this (unconfined) process, each finds all 20 answers (ruling
    out the named wrong letters: every choice question whose wrong letters are all named)."""
    expected = ANSWERS
    if "ruled out" in route:
        expected = {
            t: a
            for t, a in ANSWERS.items()
            if isinstance(a, str) and len(QUESTIONS[t].misconceptions) == len(_choices(t)) - 1
        }
    found = {}
    for t in QUESTIONS:
        ns: dict = {}
        exec(_cell(t, ROUTES[route]), ns)  # noqa: S102 - the test's own attack code
        got = ns[t]()
        if got is not None:
            found[t] = got if not isinstance(got, Sealed) else ANSWERS[t]
    assert found == expected and len(expected) >= 10


@pytest.mark.parametrize(
    "task_id", [t for t in QUESTIONS if (ROOT / "tests" / "catalogue" / f"{t}.py").exists()]
)
def test_catalogued_answers_get_their_sealed_names(task_id):
    """The catalogue's answers as learners type them: the named wrong ones by their sealed
    name, the generic ones unnamed, the right ones accepted."""
    import importlib

    from recsys_ref.course import run_check

    module = importlib.import_module(f"tests.catalogue.{task_id}")
    for v in module.WRONG:
        r = run_check(task_id, v.fn)
        assert not r.passed and r.misconception == v.expect, (v.name, r.misconception, v.expect)
    for v in module.CORRECT:
        assert run_check(task_id, v.fn).passed, v.name


# ---------------------------------------------------------------- the TA's answers file


@pytest.fixture
def restored():
    """``use_answers`` replaces references in place: put the package's back afterwards."""
    saved = {t: ex.reference for t, ex in QUESTIONS.items()}
    yield
    for t, ref in saved.items():
        object.__setattr__(QUESTIONS[t], "reference", ref)


def test_a_tas_answers_replace_the_packages(restored):
    from recsys_ref.course import run_check
    from recsys_ref.course.engine.questions import use_answers

    assert use_answers({"q_cap_30a": ANSWERS["q_cap_30a"], "q_ngcf_11a": 2}) == ["q_ngcf_11a"]
    assert run_check("q_ngcf_11a", lambda: 2).passed
    assert not run_check("q_ngcf_11a", lambda: ANSWERS["q_ngcf_11a"]).passed
    assert run_check("q_cap_30a", lambda: ANSWERS["q_cap_30a"]).passed
    for bad in ({"ngcf_4": 1}, {"q_cap_30a": "E"}, {"q_ngcf_11a": True}, {"q_ngcf_11a": [1]}):
        with pytest.raises(ValueError, match="--answers"):
            use_answers(bad)


@pytest.mark.skipif(sys.platform != "linux", reason="the sandbox's layers are Linux's")
def test_grade_takes_answers_from_a_ta_only_file(tmp_path, restored, capsys):
    from recsys_ref.course.grading import grade
    from tests.exercise_notebook import write

    sub = write(tmp_path / "class" / "a.ipynb", ("q_ngcf_11a", "def q_ngcf_11a():\n    return 2\n"))
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"q_ngcf_11a": 2}))
    parser = argparse.ArgumentParser()
    grade.add_arguments(parser)
    out = tmp_path / "out"
    args = [sub, "--out", out, "--tasks", "q_ngcf_11a", "--quiet", "--answers", answers]
    assert grade.run(parser.parse_args([str(a) for a in args])) == 0
    data = json.loads((out / "a" / "results.json").read_text())
    assert [t["score"] for t in data["tests"]] == [1]
    assert "differs from the package's answer on q_ngcf_11a" in capsys.readouterr().err
