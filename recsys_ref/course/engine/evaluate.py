"""Judge recorded outcomes against the reference: one verdict, one sentence.

Runs in the process that owns the reference (the learner's kernel for
``check()``, the grader's own process when grading), so the learner's code
never sees expected values.  ``check()`` and the grader share this one code
path.  ``evaluate`` is four named steps, in this order, each in the module
named after it; each returns a failing ``Result`` or None (go on):

  1. ``judge.judge_cases``: every outcome in turn — signature, not started,
     raised, changed an input, output contract (``contract.py``), values
     (``compare.py``), gradients;
  2. ``diagnose.diagnose``: on the first case whose values differ, the cause —
     a named misconception, else a relation to the reference
     (``relations.py``), else a near miss, else what differs;
  3. ``guards.judge_guard``: the complexity guard's sizes, op counts and values;
  4. ``passed``: the ✓ line.

The names older code imports from here (the statuses, the diagnoses,
``difference``, ``contract_problem``) are those of the modules above.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .compare import difference
from .contract import (
    COMPLEXITY,
    CONTAINER,
    DIAGNOSES,
    DTYPE,
    GRADIENT,
    GUARD_VALUE,
    IN_PLACE,
    LAYOUT,
    LOOP,
    NO_GRADIENT,
    contract_problem,
)
from .diagnose import diagnose
from .guards import judge_guard, op_name
from .judge import Verdict, judge_cases
from .runner import Outcome
from .spec import Case, Exercise
from .verdict import Kind, Result, Status, render

# the statuses, as the names older code imports (``Status`` members, equal to their strings)
PASSED, FAILED, NOT_STARTED_STATUS, MISSING, CRASHED = (
    Status.PASSED,
    Status.FAILED,
    Status.NOT_STARTED,
    Status.MISSING,
    Status.CRASHED,
)

__all__ = [
    "COMPLEXITY",
    "CONTAINER",
    "CRASHED",
    "DIAGNOSES",
    "DTYPE",
    "FAILED",
    "GRADIENT",
    "GUARD_VALUE",
    "IN_PLACE",
    "LAYOUT",
    "LOOP",
    "MISSING",
    "NOT_STARTED_STATUS",
    "NO_GRADIENT",
    "PASSED",
    "Kind",
    "Result",
    "Status",
    "contract_problem",
    "difference",
    "evaluate",
    "op_name",
    "render",
]


def passed(v: Verdict) -> Result:
    """Step 4: the ✓ line (a question's shows its explanation)."""
    ex = v.ex
    body = (
        f"right. {ex.explanation}"
        if ex.kind == "question"
        else f"matches the reference on {len(v.cases)} fresh inputs ({ex.where})."
    )
    return Result(
        ex.task_id,
        Status.PASSED,
        points=float(ex.points),
        max_points=ex.points,
        func_name=ex.func_name,
        body=body,
        question=ex.kind == "question",
    )


def evaluate(
    ex: Exercise,
    cases: Sequence[Case],
    outcomes: Sequence[Outcome],
    guard_cases: Sequence[Case] = (),
    guard_outcomes: Sequence[Outcome] = (),
    *,
    expected: Sequence[Any] | None = None,
    guard_values_required: bool = False,
) -> Result:
    """One verdict from the outcomes of ``cases`` (and of the guard's cases).

    ``expected`` may hold the reference outputs already computed; otherwise
    they are computed here.  A guard outcome whose value is None is taken as
    "value not sent back" unless ``guard_values_required`` (``check()``
    passes True: there every value is at hand).
    """
    v = Verdict(ex, cases, outcomes, expected)
    early = judge_cases(v)
    if early is not None:
        return early
    if v.first_bad is not None:
        return diagnose(v)
    if len(outcomes) < len(cases):
        return v.fail("did not run on every case.")
    guard = judge_guard(v, guard_cases, guard_outcomes, guard_values_required)
    if guard is not None:
        return guard
    return passed(v)
