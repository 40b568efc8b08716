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


_AROUND_A_LETTER = " \t\n.,;:!()[]{}<>'\"`‘’“”"


def _normal_choice(x: Any) -> str | None:
    """ "B", "b", " B ", "B)", "(B)", "'b'", "[B]." → "B" (brackets, quotes, dots around it)."""
    if isinstance(x, str):
        return x.strip(_AROUND_A_LETTER).upper()
    return None


def _real(x: Any) -> float | None:
    """A real number of any type (Python, numpy scalar or 0-d array, 0-d torch tensor) as a
    float; None for anything else, bools included."""
    if isinstance(x, bool) or type(x).__name__ == "bool_":
        return None
    if isinstance(x, (int, float)):
        return float(x)
    try:
        import numpy as np

        if isinstance(x, (np.integer, np.floating)):
            return float(x)
        if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iuf":
            return float(x)
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    if type(x).__module__.startswith("torch") and hasattr(x, "dim") and hasattr(x, "dtype"):
        if x.dim() == 0 and (x.dtype.is_floating_point or str(x.dtype).startswith("torch.int")):
            return float(x.item())
    return None


def _is_number(x: Any) -> bool:
    return _real(x) is not None


def _significant(x: float) -> int:
    """Significant digits written in ``x``'s shortest repr (0.17 → 2, 120.0 → 3)."""
    digits = repr(abs(float(x))).split("e")[0].replace(".", "").lstrip("0")
    return len(digits.rstrip("0")) or 1


def numbers_agree(got: float, want: float, rtol: float, atol: float) -> bool:
    """Within the tolerance, or the exact answer rounded to the digits the learner gave (at
    least two significant ones: 0.17 for 1/6), or the answer as a float32 constant."""
    if math.isclose(got, want, rel_tol=rtol, abs_tol=atol):
        return True
    if want != 0 and abs(got - want) <= abs(want) * 2.0**-23:  # float32 rounding
        return True
    if rtol == 0:  # a count or an exact value: no rounding accepted
        return False
    n = _significant(got)
    return n >= 2 and want != 0 and float(f"{want:.{n}g}") == float(f"{got:.{n}g}") == got


def tolerance_phrase(want: float, rtol: float, atol: float) -> str:
    """What is accepted, in words (shown when a numeric answer is refused)."""
    if rtol == 0 and atol < 1:
        return "the answer is a whole number: give it exactly"
    tol = []
    if rtol:
        tol.append(f"{rtol:.0%}" if rtol >= 0.01 else f"a relative {rtol:g}")
    if atol >= 1e-6:
        tol.append(f"± {atol:g}")
    within = " or ".join(tol) or "a relative 1e-9"
    return (
        f"answers within {within} of the exact value are accepted, and the exact value rounded "
        "to two or more significant digits"
    )


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
        elif (value := _real(got)) is None or not math.isfinite(value):
            return f"your answer is {got!r}; answer with a number (an int or a float)"
        return None

    def compare(got: Any, want: Any) -> str | None:
        if choices:
            return None if _normal_choice(got) == _normal_choice(want) else "that is not the answer"
        g = _real(got)
        if g is None:
            return "that is not a number"
        if numbers_agree(g, float(want), rtol, atol):
            return None
        if math.isclose(g, float(want), rel_tol=max(10 * rtol, 0.05), abs_tol=0):
            return f"that is not the answer ({tolerance_phrase(float(want), rtol, atol)})"
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
