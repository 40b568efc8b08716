"""Concept questions: answered in code, checked and graded like the tasks.

A question is an ``Exercise`` with ``kind="question"``.  The learner's
"function" takes no arguments and returns the answer: a letter for a
multiple-choice question, a number otherwise.  In the notebook::

    # exercise cell, tagged task:q_ngcf_12a
    def q_ngcf_12a() -> str:
        \"\"\"Return "A", "B" or "C".\"\"\"
        ### BEGIN SOLUTION
        return "B"
        ### END SOLUTION

    # check cell, tagged check:q_ngcf_12a
    answer("q_ngcf_12a", q_ngcf_12a)

Because the answer is the return value of a function in a tagged cell, the
build turns it into a stub, ``progress`` lists it, and the grader extracts
and runs it in its sandbox exactly like a task: one code path for all three.
Each named wrong answer is a ``Misconception`` whose message explains why it
is wrong; the explanation of the right answer is shown only once the learner
has answered it correctly, so Run All on a fresh notebook reveals nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from .spec import Case, Exercise, Misconception


def _one_case(seed: int) -> list[Case]:
    return [Case("your answer", ())]


def _normal_choice(x: Any) -> str | None:
    if isinstance(x, str):
        return x.strip().strip(".)").strip().upper()
    return None


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def question(
    task_id: str,
    notebook: str,
    title: str,
    answer: str | float,
    explanation: str,
    *,
    choices: str = "",
    wrong: Mapping[str | float, str] | None = None,
    rtol: float = 1e-3,
    atol: float = 1e-9,
    points: int = 1,
) -> Exercise:
    """The spec of one concept question.

    - ``answer``: the right letter (with ``choices``, e.g. ``"ABCD"``) or number.
    - ``explanation``: why it is right (one or two sentences), shown on ✓.
    - ``wrong``: named wrong answers → why each is wrong (shown when chosen).
    - ``rtol``/``atol``: tolerance for a numeric answer.
    """
    if choices:
        if not (isinstance(answer, str) and answer.upper() in choices.upper()):
            raise ValueError(f"{task_id}: answer {answer!r} is not one of the choices {choices!r}")
        options = ", ".join(f'"{c}"' for c in choices.upper())
    elif not _is_number(answer):
        raise ValueError(
            f"{task_id}: a question without choices needs a numeric answer, got {answer!r}"
        )

    def reference() -> str | float:
        return answer.upper() if isinstance(answer, str) else answer

    def output_check(got: Any, case: Case) -> str | None:
        if choices:
            c = _normal_choice(got)
            if c is None or c not in choices.upper() or len(c) != 1:
                return f"your answer is {got!r}; answer with one letter: {options}"
        elif not _is_number(got) or not math.isfinite(float(got)):
            return f"your answer is {got!r}; answer with a number (an int or a float)"
        return None

    def compare(got: Any, want: Any) -> str | None:
        if choices:
            return None if _normal_choice(got) == _normal_choice(want) else "that is not the answer"
        if not _is_number(got):
            return "that is not a number"
        if math.isclose(float(got), float(want), rel_tol=rtol, abs_tol=atol):
            return None
        return "that is not the answer"

    def constant(value: str | float) -> Callable[[], str | float]:
        return lambda: value

    misconceptions = tuple(
        Misconception(str(value), constant(value), message)
        for value, message in (wrong or {}).items()
    )
    return Exercise(
        task_id=task_id,
        title=title,
        notebook=notebook,
        func_name=task_id,
        reference=reference,
        make_cases=_one_case,
        compare=compare,
        output_check=output_check,
        misconceptions=misconceptions,
        points=points,
        kind="question",
        explanation=explanation,
    )


def answer(task_id: str, fn: Callable[[], Any]) -> None:
    """The check cell of a concept question: ``answer("q_ngcf_12a", q_ngcf_12a)``.

    Prints ✓ with the explanation, or "not started"; raises ``AssertionError``
    saying why a named wrong answer is wrong.
    """
    __tracebackhide__ = True
    from .check import check

    if not callable(fn):
        raise TypeError(
            f"answer({task_id!r}, ...) takes the function of the cell above, not its value: "
            f"return your answer from {task_id}() and call answer({task_id!r}, {task_id})"
        )
    check(task_id, fn)
