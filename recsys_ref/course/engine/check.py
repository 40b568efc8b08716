"""``check(task_id, fn)``: the check cell under every stub (docs/design.md §5).

Draws fresh inputs (a new seed each call, plus the spec's edge cases), runs the
learner's function, compares with ``recsys_ref`` and prints one ✓ line, or
raises ``AssertionError`` with a one-sentence diagnosis.  A stub that still
raises ``NotImplementedError`` is reported as "not started" without raising,
so "Run All" goes on through the notebook — except under autograding
(``strict()``), where "not started" raises too, so that nbgrader scores an
untouched stub zero.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from typing import Any

from .evaluate import FAILED, Result, evaluate
from .registry import get
from .runner import SIGNATURE, Outcome, run_cases, signature_problem
from .warm import warm_up


def fresh_seed() -> int:
    return secrets.randbits(31)


def run_check(task_id: str, fn: Callable[..., Any], *, seed: int | None = None) -> Result:
    """The verdict on ``fn`` for ``task_id`` as a ``Result``; never raises for learner errors."""
    warm_up()
    ex = get(task_id)
    seed = fresh_seed() if seed is None else seed
    cases = ex.make_cases(seed)
    problem = signature_problem(fn, ex.reference, ex.func_name)
    if problem:
        return evaluate(ex, cases[:1], [Outcome(SIGNATURE, message=problem)])
    outcomes = run_cases(fn, cases)
    guard_cases, guard_outcomes = [], []
    done = len(outcomes) == len(cases) and all(o.kind == "ok" for o in outcomes)
    if ex.guard is not None and done:
        guard_cases = ex.guard.make_cases(seed)
        guard_outcomes = run_cases(
            fn,
            guard_cases,
            record=True,
            numel_limits=[ex.guard.max_numel(c) for c in guard_cases],
            ops_limit=ex.guard.max_ops,
        )
    return evaluate(ex, cases, outcomes, guard_cases, guard_outcomes, guard_values_required=True)


def strict() -> bool:
    """True under nbgrader's autograde/validate (it sets NBGRADER_EXECUTION) or RECSYS_STRICT=1."""
    return bool(os.environ.get("NBGRADER_EXECUTION")) or os.environ.get("RECSYS_STRICT") == "1"


def check(task_id: str, fn: Callable[..., Any], *, seed: int | None = None) -> None:
    """Print ✓ or "not started"; raise ``AssertionError`` with the diagnosis when wrong."""
    __tracebackhide__ = True  # IPython and pytest show the learner's cell, not this frame
    result = run_check(task_id, fn, seed=seed)
    if result.status == FAILED or (strict() and not result.passed):
        raise AssertionError(result.message)
    print(result.message)


def ready(task_id: str, fn: Callable[..., Any]) -> bool:
    """True when ``fn`` passes its check (used to plug a learner's function back in)."""
    return run_check(task_id, fn).passed
