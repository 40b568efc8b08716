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

The package holds no answer as a literal: a spec gives the right answer and each
named wrong one *sealed* (``seal``): ``sha256:`` of a per-question salt and the
normalised answer (the letter; for a number, the cell of a grid whose step is set
by the tolerance, with the exact value stored encrypted under that cell's key).
A learner's number is checked by hashing the few grid cells the tolerance allows
around it; a match recovers the exact answer, which ``numbers_agree`` then judges
exactly as before, so what is accepted and what is refused are unchanged
(``tests/test_questions_sealed.py``).  A maintainer writes the sealed strings with
``python -m recsys_ref.course.engine.questions hash q_id ANSWER [--rtol R --atol A]``.
In a grading worker the specs' closures are withheld (``sandbox.withheld``) and the
explanations and named wrong answers dropped (``withhold_answers``).
"""

from __future__ import annotations

import hashlib
import math
import struct
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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


# ---------------------------------------------------------------- sealed answers

SEALED = "sha256:"
_MAX_CELLS = 64  # a relevant pair spans at most 9 grid cells (see ``_candidates``)
_TOLERANCES: dict[str, tuple[float, float]] = {}  # task id -> (rtol, atol): not secret


def _salted(task_id: str, text: str) -> bytes:
    return hashlib.sha256(f"recsys-course/{task_id}/{text}".encode()).digest()


def _reach(rtol: float) -> float:
    """ρ: every (got, want) that ``compare`` accepts or calls near has
    |got − want| ≤ max(atol, ρ·max(|got|, |want|)): the near test's relative 10·rtol or
    5 %, which bounds the tolerance, the float32 rounding and a rounding to ≥ 2 digits."""
    return max(10 * rtol, 0.05)


def _step(value: float, rtol: float, atol: float) -> float:
    """The grid step for ``value``: a power of ten ≥ max(2·atol, ρ|value|/(1 − ρ))."""
    rho = _reach(rtol)
    base = max(2 * atol, rho * abs(value) / (1 - rho), 1e-300)
    return 10.0 ** math.ceil(math.log10(base))


def _normal_letter(x: str) -> str:
    return x.strip(_AROUND_A_LETTER).upper()


def seal(task_id: str, answer: str | float, rtol: float = 1e-3, atol: float = 1e-9) -> str:
    """The sealed form of a letter or a number for ``task_id`` (what a spec stores)."""
    if isinstance(answer, str):
        letter = _normal_letter(answer)
        if len(letter) != 1:
            raise ValueError(f"{task_id}: a choice is one letter, got {answer!r}")
        return SEALED + _salted(task_id, f"letter:{letter}").hex()
    value = _real(answer)
    if value is None or not math.isfinite(value):
        raise ValueError(f"{task_id}: an answer is a letter or a finite number, got {answer!r}")
    step = _step(value, rtol, atol)
    cell = math.floor(value / step)
    key = _salted(task_id, f"exact:{cell}:{step!r}")[:8]
    exact = bytes(a ^ b for a, b in zip(struct.pack("<d", value), key)).hex()
    return f"{SEALED}{_salted(task_id, f'cell:{cell}:{step!r}').hex()}:{step!r}:{exact}"


def _parts(task_id: str, sealed: str, numeric: bool) -> tuple[str, float, str]:
    if not (isinstance(sealed, str) and sealed.startswith(SEALED)):
        raise ValueError(
            f"{task_id}: answers are stored sealed ('{SEALED}...'), not as literals: write them "
            f"with `python -m recsys_ref.course.engine.questions hash {task_id} ANSWER`"
        )
    parts = sealed[len(SEALED) :].split(":")
    if numeric != (len(parts) == 3):
        kind = "a number" if numeric else "a letter"
        raise ValueError(f"{task_id}: {sealed[:20]}... is not the sealed form of {kind}")
    if numeric:
        return parts[0], float(parts[1]), parts[2]
    return parts[0], 0.0, ""


def _candidates(got: float, step: float, rtol: float, atol: float) -> range:
    """The grid cells that may hold an answer ``got`` is accepted for or near: within
    W = max(atol, ρ|got|/(1 − ρ)) of ``got`` (one more cell each side for rounding).  For
    any such answer W ≤ 3·step, so at most 9 cells; more means none of them is."""
    rho = _reach(rtol)
    width = max(atol, rho * abs(got) / (1 - rho))
    try:
        lo, hi = math.floor((got - width) / step) - 1, math.floor((got + width) / step) + 1
    except (OverflowError, ValueError):
        return range(0)
    return range(lo, hi + 1) if hi - lo <= _MAX_CELLS else range(0)


def unseal(task_id: str, sealed: str, got: float, rtol: float, atol: float) -> float | None:
    """The exact number sealed in ``sealed`` when ``got`` is within reach of it, else None."""
    digest, step, exact = _parts(task_id, sealed, numeric=True)
    for cell in _candidates(got, step, rtol, atol):
        if _salted(task_id, f"cell:{cell}:{step!r}").hex() == digest:
            key = _salted(task_id, f"exact:{cell}:{step!r}")[:8]
            return struct.unpack("<d", bytes(a ^ b for a, b in zip(bytes.fromhex(exact), key)))[0]
    return None


@dataclass(frozen=True, eq=False)
class Sealed:
    """What a question's reference (or a named wrong answer) returns: its sealed answer,
    compared by ``compare``; the course's own tests answer with it."""

    task_id: str
    sealed: str

    def __repr__(self) -> str:
        return f"<sealed answer of {self.task_id}>"


def wrong_name(task_id: str, answer: str | float) -> str:
    """The name of the named wrong answer ``answer`` of ``task_id`` ("#1f3a9c0d")."""
    from .registry import all_exercises

    all_exercises()  # the specs register their tolerances
    rtol, atol = _TOLERANCES.get(task_id, (1e-3, 1e-9))
    return _name(seal(task_id, answer, rtol, atol))


def _name(sealed: str) -> str:
    return "#" + sealed[len(SEALED) : len(SEALED) + 8]


def withhold_answers() -> None:
    """Drop every question's explanation and named wrong answers (in a grading worker,
    before any learner code: only the parent judges, and what it shows comes from its own
    specs; a wrong answer's name would let a cell rule that letter out)."""
    from .registry import all_exercises

    for ex in all_exercises().values():
        if ex.kind == "question":
            object.__setattr__(ex, "explanation", "")
            object.__setattr__(ex, "misconceptions", ())


def use_answers(answers: Mapping[str, Any]) -> list[str]:
    """Judge questions by a TA's answers (``recsys-course grade --answers FILE``: a JSON
    object, question id → letter or number) instead of the package's sealed ones; in place,
    in this process.  Returns the ids whose answer differs from the package's."""
    from .registry import all_exercises

    exercises = all_exercises()
    differ = []
    for task_id, value in answers.items():
        ex = exercises.get(task_id)
        if ex is None or ex.kind != "question":
            raise ValueError(f"--answers: {task_id!r} is not a concept question of the course")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError(
                f"--answers: {task_id}'s answer is a letter or a number, got {value!r}"
            )
        rtol, atol = _TOLERANCES[task_id]
        sealed = seal(task_id, value, rtol, atol)
        if ex.output_check is not None and ex.output_check(value, _one_case(0)[0]) is not None:
            raise ValueError(f"--answers: {task_id}'s answer {value!r} is not one it accepts")
        if ex.compare is not None and ex.compare(value, ex.reference()) is not None:
            differ.append(task_id)

        def reference(task_id: str = task_id, sealed: str = sealed) -> Sealed:
            return Sealed(task_id, sealed)

        object.__setattr__(ex, "reference", reference)
    return differ


def _comparer(
    task_id: str, choices: str, rtol: float, atol: float
) -> Callable[[Any, Sealed], str | None]:
    """A question's ``compare``: the learner's answer against a sealed one (``unseal``)."""

    def compare(got: Any, want: Sealed) -> str | None:
        if isinstance(got, Sealed):
            return None if got.sealed == want.sealed else "that is not the answer"
        if choices:
            c = _normal_choice(got)
            same = c is not None and len(c) == 1 and seal(task_id, c) == want.sealed
            return None if same else "that is not the answer"
        g = _real(got)
        if g is None:
            return "that is not a number"
        w = unseal(task_id, want.sealed, g, rtol, atol) if math.isfinite(g) else None
        if w is None:
            return "that is not the answer"
        if numbers_agree(g, w, rtol, atol):
            return None
        if math.isclose(g, w, rel_tol=_reach(rtol), abs_tol=0):
            return f"that is not the answer ({tolerance_phrase(w, rtol, atol)})"
        return "that is not the answer"

    return compare


def question(
    task_id: str,
    notebook: str,
    title: str,
    answer: str,
    explanation: str,
    *,
    choices: str = "",
    wrong: Mapping[str, str] | None = None,
    rtol: float = 1e-3,
    atol: float = 1e-9,
    points: int = 1,
) -> Exercise:
    """The spec of one concept question.

    - ``answer``: the right letter (with ``choices``, e.g. ``"ABCD"``) or number, sealed
      (``seal``; never the literal).
    - ``explanation``: why it is right (one or two sentences), shown on ✓.
    - ``wrong``: named wrong answers, sealed → why each is wrong (shown when chosen).
    - ``rtol``/``atol``: tolerance for a numeric answer (``rtol`` ≤ 4 %).
    """
    numeric = not choices
    if not 0 <= rtol <= 0.04 or atol < 0:
        raise ValueError(f"{task_id}: rtol must lie in [0, 0.04] and atol be ≥ 0")
    _parts(task_id, answer, numeric)
    for sealed in wrong or {}:
        _parts(task_id, sealed, numeric)
    if choices:
        letters = [c for c in choices.upper() if seal(task_id, c) == answer]
        if not letters:
            raise ValueError(f"{task_id}: the sealed answer is not one of the choices {choices!r}")
        options = ", ".join(f'"{c}"' for c in choices.upper())
    _TOLERANCES[task_id] = (rtol, atol)

    def reference() -> Sealed:
        return Sealed(task_id, answer)

    def output_check(got: Any, case: Case) -> str | None:
        if isinstance(got, Sealed):
            return None
        if choices:
            c = _normal_choice(got)
            if c is None or c not in choices.upper() or len(c) != 1:
                return f"your answer is {got!r}; answer with one letter: {options}"
        elif (value := _real(got)) is None or not math.isfinite(value):
            return f"your answer is {got!r}; answer with a number (an int or a float)"
        return None

    compare = _comparer(task_id, choices, rtol, atol)

    def constant(sealed: str) -> Callable[[], Sealed]:
        return lambda: Sealed(task_id, sealed)

    misconceptions = tuple(
        Misconception(_name(sealed), constant(sealed), message)
        for sealed, message in (wrong or {}).items()
    )
    # the closures belong to the spec module that called: a grading worker withholds
    # every function of the task spec modules (``sandbox.withheld``)
    spec_module = sys._getframe(1).f_globals.get("__name__", __name__)
    for fn in (reference, output_check, compare, *(m.wrong for m in misconceptions)):
        fn.__module__ = spec_module
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


def main(argv: list[str] | None = None) -> int:
    """``python -m recsys_ref.course.engine.questions hash q_id ANSWER [--rtol R --atol A]``:
    print the sealed form of a letter or a number, to paste into the question's spec."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m recsys_ref.course.engine.questions")
    sub = parser.add_subparsers(dest="command", required=True)
    h = sub.add_parser("hash", help="the sealed form of an answer (a letter, or a number)")
    h.add_argument("task_id")
    h.add_argument(
        "answer", help='a letter ("B") or a number ("16", "1/6" is not: write 0.16666666666666666)'
    )
    h.add_argument("--rtol", type=float, default=1e-3, help="the question's rtol (numbers)")
    h.add_argument("--atol", type=float, default=1e-9, help="the question's atol (numbers)")
    args = parser.parse_args(argv)
    text = args.answer.strip()
    try:
        value: str | float = float(text)
    except ValueError:
        value = text
    print(seal(args.task_id, value, args.rtol, args.atol))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
