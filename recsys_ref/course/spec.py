"""Exercise specs: one spec per task id, three uses (check, pytest, grader).

COURSE.md §5.  A spec names the reference callable, draws seeded inputs
(random ones plus edge cases), says how outputs are compared, lists the named
misconceptions (wrong variants that a learner's output is matched against),
and optionally guards complexity by the size of the tensors a function creates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Case:
    """One call of the function under test: ``fn(*args, **kwargs)``.

    ``name`` is shown to the learner ("isolated node", "batch of one"); the
    values themselves never appear in the grader's feedback.
    """

    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Misconception:
    """A named wrong variant: when the learner's output equals ``wrong(...)``
    (and not the reference), ``message`` is the diagnosis, one sentence that
    points to the equation."""

    name: str
    wrong: Callable[..., Any]
    message: str


@dataclass(frozen=True)
class ComplexityGuard:
    """Fail when the function creates a tensor larger than ``max_numel(case)``.

    Sizes are recorded with a torch dispatch mode (every op's outputs), never
    wall-clock time, so the verdict is the same on any machine.  ``make_cases``
    draws the (large) inputs the guard runs on; ``message`` explains the
    failure, e.g. "an n×n tensor was created; Lemma 3.1 needs only O(kn)".
    ``max_ops`` (optional) bounds the number of torch ops the call dispatches:
    a Python loop over B rows dispatches O(B) ops, a vectorised body O(1);
    ``ops_message`` explains that failure.  (A loop over ``.tolist()`` values
    in plain Python dispatches no torch op and is not seen.)
    """

    max_numel: Callable[[Case], int]
    make_cases: Callable[[int], list[Case]]
    message: str
    max_ops: Callable[[Case], int] | None = None  # also fail past this many torch ops (a loop per row)
    ops_message: str = ""


def _no_args(seed: int) -> list[Case]:  # pragma: no cover - placeholder default
    return []


@dataclass(frozen=True)
class Exercise:
    """The spec of one task.

    - ``task_id``: "ngcf_2" — the notebook heading, stub message, pytest marker.
    - ``func_name``: the function the learner writes (the notebook's name).
    - ``reference``: the recsys_ref callable with the same signature.
    - ``make_cases(seed)``: deterministic in ``seed``; include edge cases.
    - ``rtol``/``atol``: tolerance of the float comparison (float64 inputs).
    - ``compare``: optional ``(got, want) -> str | None`` replacing the default
      comparison; returns None when equal, else what differs (one phrase).
    - ``output_check``: optional ``(got, case) -> str | None``, a structural
      requirement beyond equality (e.g. "must return a sparse tensor").
    - ``misconceptions``: tried in order on the first case that differs.
    - ``guard``: optional complexity guard.
    - ``kind``: "task" (a function to write) or "question" (a concept
      question, ``recsys_ref.course.questions``: a zero-argument function that
      returns the answer).
    - ``explanation``: for questions, why the right answer is right; shown
      only once the learner has answered.
    """

    task_id: str
    title: str
    notebook: str
    func_name: str
    reference: Callable[..., Any]
    make_cases: Callable[[int], list[Case]]
    equation: str = ""
    rtol: float = 1e-6
    atol: float = 1e-8
    compare: Callable[[Any, Any], str | None] | None = None
    output_check: Callable[[Any, Case], str | None] | None = None
    misconceptions: tuple[Misconception, ...] = ()
    guard: ComplexityGuard | None = None
    points: int = 1
    kind: str = "task"
    explanation: str = ""

    @property
    def where(self) -> str:
        """"eq. 8" or the title, for messages."""
        return self.equation or self.title
