"""Case judging: ``evaluate``'s step 1, every outcome in turn.

For each case, in order: the signature, a stub ("not started", or a branch
not written yet), what was raised, an input changed in place, the output
contract, a spec's structural check, the values (the first case that differs
is kept for step 2, ``diagnose.py``) and, on a ``grad`` case, the gradients.
Also ``Verdict``, what the steps share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from . import relations, runner
from .compare import contract_of, difference_text, differs
from .contract import GRADIENT, IN_PLACE, NO_GRADIENT, returned
from .runner import ERROR, MUTATED, NOT_STARTED, OK, SIGNATURE, Outcome
from .spec import Case, Exercise
from .verdict import Kind, Result, Status, Text, raised_slot, text


class Verdict:
    """What the steps share: the spec, the cases, their outcomes and the reference outputs."""

    def __init__(
        self,
        ex: Exercise,
        cases: Sequence[Case],
        outcomes: Sequence[Outcome],
        expected: Sequence[Any] | None,
    ) -> None:
        self.ex, self.cases, self.outcomes, self.expected = ex, cases, outcomes, expected
        self.wants: dict[int, Any] = {}
        self.first_bad: int | None = None
        self.diff: str | Text | None = None

    def want_of(self, i: int) -> Any:
        if i not in self.wants:
            c = self.cases[i]
            self.wants[i] = (
                self.expected[i]
                if self.expected is not None and i < len(self.expected)
                else self.ex.reference(*c.args, **c.kwargs)
            )
        return self.wants[i]

    def fail(
        self,
        msg: str | Text,
        misconception: str | None = None,
        kind: Kind = Kind.GENERIC,
        case: Case | None = None,
    ) -> Result:
        ex = self.ex
        return Result(
            ex.task_id,
            Status.FAILED,
            points=0.0,
            max_points=ex.points,
            misconception=misconception,
            func_name=ex.func_name,
            body=msg,
            kind=kind,
            case=case.name if case is not None else None,
            question=ex.kind == "question",
        )


def judge_cases(v: Verdict) -> Result | None:
    """Step 1: the first outcome that fails before its values are compared, or the
    first case whose values differ (kept in ``v.first_bad``/``v.diff``)."""
    for i, (case, o) in enumerate(zip(v.cases, v.outcomes)):
        early = _judge_run(v, i, case, o) if o.kind != OK else _judge_output(v, i, case, o)
        if early is not None or v.first_bad is not None:
            return early
    return None


def _judge_run(v: Verdict, i: int, case: Case, o: Outcome) -> Result:
    """A case that did not return normally: signature, stub, raised, changed an input."""
    ex = v.ex
    if o.kind == SIGNATURE:
        return v.fail(o.message, kind=Kind.CONTRACT)
    if o.kind == NOT_STARTED and i > 0:  # a branch not written yet: it ran on case 0
        raised = "NotImplementedError" + (f": {o.message}" if o.message else "")
        return v.fail(
            text(
                "raised ",
                raised_slot(raised),
                f" on the case '{case.name}' after it ran on the case '{v.cases[0].name}': "
                "a branch of your function is not written yet.",
            ),
            relations.NOT_WRITTEN,
            Kind.RELATIONAL,
            case,
        )
    if o.kind == NOT_STARTED:
        return Result(
            ex.task_id,
            Status.NOT_STARTED,
            points=0.0,
            max_points=ex.points,
            func_name=ex.func_name,
            body=f"{ex.func_name} still raises NotImplementedError. "
            "Replace the `raise NotImplementedError(...)` line with your code, run that cell, "
            "then run this check again.",
            question=ex.kind == "question",
        )
    if o.kind == ERROR:
        return _judge_raised(v, i, case, o)
    if o.kind == MUTATED:
        return v.fail(
            f"changed {o.message} in place on the case '{case.name}'; "
            "leave inputs untouched (use x + y, not x += y, or work on x.clone()).",
            IN_PLACE,
            Kind.CONTRACT,
            case,
        )
    return v.fail(f"unexpected outcome '{o.kind}' on the case '{case.name}'.", case=case)


def _judge_raised(v: Verdict, i: int, case: Case, o: Outcome) -> Result:
    """A case that raised: on inputs requiring grad, after an earlier case ran, or plainly."""
    if case.grad and "requires grad" in o.message:
        return v.fail(
            text(
                "raised ",
                raised_slot(o.message),
                f" on the case '{case.name}': training calls it on tensors "
                "that require grad, so stay in torch (no `.numpy()`, `.item()` or "
                "`.tolist()` on the inputs).",
            ),
            NO_GRADIENT,
            Kind.CONTRACT,
            case,
        )
    tail = relations.hard_coded(v.cases, i, 0) if i > 0 else None
    if tail is not None:
        return v.fail(
            text("raised ", raised_slot(o.message), f" on the case '{case.name}'{tail}."),
            relations.HARD_CODED,
            Kind.RELATIONAL,
            case,
        )
    return v.fail(
        text("raised ", raised_slot(o.message), f" on the case '{case.name}'."),
        case=case,
    )


def _judge_output(v: Verdict, i: int, case: Case, o: Outcome) -> Result | None:
    """A case that returned: contract, structural check, values (kept), gradients."""
    ex = v.ex
    want = v.want_of(i)
    problem = contract_of(ex, o.value, want)
    if problem:
        return v.fail(f"{problem[1]} (case '{case.name}').", problem[0], Kind.CONTRACT, case)
    if ex.output_check is not None:
        try:
            check_problem = ex.output_check(o.value, case)
        except Exception as exc:  # noqa: BLE001
            check_problem = f"{returned('the output', o.value, want)} ({type(exc).__name__})"
        if check_problem:
            return v.fail(text(check_problem, f" (case '{case.name}')."), None, Kind.CONTRACT, case)
    diff = differs(ex, o.value, want)
    if diff:
        v.first_bad, v.diff = i, diff
        return None
    if case.grad:
        g = gradient_problem(ex, case, o)
        if g:
            return v.fail(text(g[1], f" (case '{case.name}')."), g[0], Kind.CONTRACT, case)
    return None


def _is_zero(g: Any) -> bool:
    if g is None:
        return True
    try:
        return not bool(torch.as_tensor(g).ne(0).any())
    except Exception:  # noqa: BLE001
        return True


def gradient_problem(ex: Exercise, case: Case, o: Outcome) -> tuple[str, str | Text] | None:
    """Compare the learner's gradients (``o.grads``) with the reference's on a ``grad`` case."""
    if o.grads is None:  # not measured (a worker that does not send gradients)
        return None
    ref = runner.call(ex.reference, case)
    if ref.kind != OK or ref.grads is None or len(ref.grads) != len(o.grads):
        return None
    _, _, paths = runner.grad_leaves(ex.reference, case)
    for path, g, r in zip(paths, o.grads, ref.grads):
        if _is_zero(r) and _is_zero(g):
            continue
        if _is_zero(g):
            why = f" (computing it raised {o.grad_error})" if o.grad_error else ""
            if all(_is_zero(x) for x in o.grads) and not o.grad_error:
                return NO_GRADIENT, (
                    f"no gradient reaches any input (`{path}` first): the value is right, but "
                    "your output is not connected to the inputs of this call at all — it was "
                    "built from constants: a result kept from an earlier call (a cache, a "
                    "global), or inputs turned into plain numbers (`.item()`, `.detach()`, "
                    "`.numpy()`, torch.no_grad())"
                )
            return NO_GRADIENT, (
                f"no gradient reaches `{path}`{why}, though one reaches other inputs: the value "
                "is right, but training could not update it; the term of `"
                f"{path}` is a constant to autograd (built with `.item()`, `float()`, "
                "`.detach()`, `.numpy()`, `torch.tensor(...)` or under torch.no_grad())"
            )
        d = difference_text(g, r, max(ex.rtol, 1e-6), max(ex.atol, 1e-8), what=f"∂/∂`{path}`")
        if d:
            return GRADIENT, text(
                "the value is right but its gradient is not: ",
                d,
                "; compute the output with differentiable torch ops from the inputs themselves",
            )
    return None
