"""Judge recorded outcomes against the reference: one verdict, one sentence.

Runs in the process that owns the reference (the learner's kernel for
``check()``, the grader's own process when grading), so the learner's code
never sees expected values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .runner import ERROR, MUTATED, NOT_STARTED, OK, SIGNATURE, Outcome
from .spec import Case, Exercise

PASSED, FAILED, NOT_STARTED_STATUS, MISSING, CRASHED = (
    "passed", "failed", "not started", "missing", "crashed")


@dataclass
class Result:
    """The verdict on one task: ``status`` is passed / failed / not started /
    missing / crashed; ``message`` is what the learner reads."""

    task_id: str
    status: str
    message: str
    points: float
    max_points: float
    misconception: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task_id, "status": self.status, "message": self.message,
            "points": self.points, "max_points": self.max_points, "misconception": self.misconception,
        }


# ---------------------------------------------------------------- comparison


def _as_array(x: Any) -> np.ndarray | None:
    """Dense float64/bool ndarray view of a tensor-like output, else None."""
    if isinstance(x, torch.Tensor):
        t = x.detach()
        if t.layout != torch.strided:
            t = t.to_dense()
        return t.cpu().numpy() if t.dtype != torch.bfloat16 else t.float().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "toarray") and hasattr(x, "nnz"):  # scipy.sparse
        return np.asarray(x.toarray())
    return None


def _dtype_name(x: Any) -> str:
    return str(x.dtype).replace("torch.", "") if hasattr(x, "dtype") else type(x).__name__


def _kind(x: Any) -> str:
    if x is None:
        return "None (does your function end with `return ...`?)"
    if isinstance(x, torch.Tensor):
        return "a torch.Tensor"
    if isinstance(x, np.ndarray):
        return "a numpy array"
    if hasattr(x, "toarray") and hasattr(x, "nnz"):
        return "a scipy.sparse matrix"
    return f"a {type(x).__name__}"


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def difference(got: Any, want: Any, rtol: float, atol: float, what: str = "the output") -> str | None:
    """None when ``got`` matches ``want``, else a phrase that says how it differs."""
    want_arr = _as_array(want)
    if want_arr is not None:
        got_arr = _as_array(got)
        if got_arr is None:
            if _is_number(got) and want_arr.size == 1:
                got_arr = np.asarray(got)
            else:
                return f"{what} is {_kind(got)}, expected {_kind(want)}"
        if isinstance(want, torch.Tensor) and isinstance(got, torch.Tensor) and got.dtype != want.dtype:
            return f"{what} has dtype {_dtype_name(got)}, expected {_dtype_name(want)} (keep the inputs' dtype)"
        if got_arr.shape != want_arr.shape:
            return f"{what} has shape {tuple(got_arr.shape)}, expected {tuple(want_arr.shape)}"
        if want_arr.dtype == bool or got_arr.dtype == bool:
            if not np.array_equal(got_arr.astype(bool), want_arr.astype(bool)):
                return f"{what} differs from the reference in {int((got_arr != want_arr).sum())} entries"
            return None
        g, w = got_arr.astype(np.float64), want_arr.astype(np.float64)
        bad_g, bad_w = ~np.isfinite(g), ~np.isfinite(w)
        if (bad_g & ~bad_w).any():
            idx = tuple(int(i) for i in np.argwhere(bad_g & ~bad_w)[0])
            return f"{what} contains NaN or inf (first at index {idx}) where the reference is finite"
        if g.size == 0:
            return None
        close = np.isclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
        if not close.all():
            err = np.where(close, 0.0, np.abs(g - w))
            idx = np.unravel_index(int(np.argmax(err)), err.shape)
            at = f" at index {tuple(int(i) for i in idx)}" if g.ndim else ""
            return (f"{what} differs from the reference in {int((~close).sum())} of {g.size} entries "
                    f"(largest error {float(err[idx]):.3g}{at})")
        return None
    if _is_number(want) or isinstance(want, bool):
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, np.ndarray) and got.size == 1:
            got = got.item()
        if not (_is_number(got) or isinstance(got, bool)):
            return f"{what} is {_kind(got)}, expected a number"
        if math.isnan(float(got)) and not math.isnan(float(want)):
            return f"{what} is NaN"
        if not math.isclose(float(got), float(want), rel_tol=rtol, abs_tol=atol):
            return f"{what} is {float(got):.6g}, which is not the expected value"
        return None
    if isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return f"{what} is {_kind(got)}, expected a tuple of {len(want)}"
        if len(got) != len(want):
            return f"{what} has {len(got)} elements, expected {len(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            d = difference(g, w, rtol, atol, what=f"element {i} of {what}")
            if d:
                return d
        return None
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return f"{what} is {_kind(got)}, expected a dict with keys {sorted(want)}"
        if set(got) != set(want):
            return f"{what} has keys {sorted(map(str, got))}, expected {sorted(map(str, want))}"
        for k in want:
            d = difference(got[k], want[k], rtol, atol, what=f"{what}[{k!r}]")
            if d:
                return d
        return None
    if got != want:
        return f"{what} is {got!r}, expected a different value"
    return None


def _differs(ex: Exercise, got: Any, want: Any) -> str | None:
    if ex.compare is not None:
        return ex.compare(got, want)
    return difference(got, want, ex.rtol, ex.atol)


def _misconception(ex: Exercise, case: Case, got: Any, want: Any):
    for m in ex.misconceptions:
        try:
            wrong = m.wrong(*case.args, **case.kwargs)
        except Exception:  # noqa: BLE001 - a variant that cannot run on this case cannot match
            continue
        if _differs(ex, wrong, want) is not None and _differs(ex, got, wrong) is None:
            return m
    return None


# ---------------------------------------------------------------- verdict


def evaluate(
    ex: Exercise,
    cases: Sequence[Case],
    outcomes: Sequence[Outcome],
    guard_cases: Sequence[Case] = (),
    guard_outcomes: Sequence[Outcome] = (),
    *,
    expected: Sequence[Any] | None = None,
) -> Result:
    """One verdict from the outcomes of ``cases`` (and of the guard's cases).

    ``expected`` may hold the reference outputs already computed; otherwise
    they are computed here.
    """
    fn, tid = ex.func_name, ex.task_id

    def fail(msg: str, misconception: str | None = None) -> Result:
        return Result(tid, FAILED, f"✗ {tid} {fn}: {msg}", 0.0, ex.points, misconception)

    for i, (case, o) in enumerate(zip(cases, outcomes)):
        if o.kind == SIGNATURE:
            return fail(o.message)
        if o.kind == NOT_STARTED:
            return Result(
                tid, NOT_STARTED_STATUS,
                f"… {tid} not started: {fn} still raises NotImplementedError. "
                "Replace the `raise NotImplementedError(...)` line with your code, run that cell, "
                "then run this check again.",
                0.0, ex.points)
        if o.kind == ERROR:
            return fail(f"raised {o.message} on the case '{case.name}'.")
        if o.kind == MUTATED:
            return fail(f"changed its {o.message} in place on the case '{case.name}'; "
                        "leave inputs untouched (use x + y, not x += y, or work on x.clone()).")
        if o.kind != OK:
            return fail(f"unexpected outcome '{o.kind}' on the case '{case.name}'.")
        if ex.output_check is not None:
            problem = ex.output_check(o.value, case)
            if problem:
                return fail(f"{problem} (case '{case.name}').")
        want = expected[i] if expected is not None else ex.reference(*case.args, **case.kwargs)
        diff = _differs(ex, o.value, want)
        if diff and ex.kind == "question":
            m = _misconception(ex, case, o.value, want)
            why = m.message if m is not None else f"{diff}; reread {ex.where}"
            return fail(f"{why}.", m.name if m is not None else None)
        if diff:
            m = _misconception(ex, case, o.value, want)
            if m is not None:
                return fail(f"{m.message} (case '{case.name}')", m.name)
            return fail(f"on the case '{case.name}', {diff}. Compare your code with {ex.where}.")
    if len(outcomes) < len(cases):
        return fail("did not run on every case.")
    if ex.guard is not None:
        for case, o in zip(guard_cases, guard_outcomes):
            if o.kind != OK:
                return fail(f"on the large case '{case.name}': {o.message or o.kind}")
            limit = ex.guard.max_numel(case)
            if o.max_numel > limit:
                shape = "×".join(map(str, o.largest)) or "?"
                return fail(f"{ex.guard.message} On the case '{case.name}' it created a tensor of "
                            f"shape {shape} ({o.max_numel:,} elements; the limit is {limit:,}).",
                            "complexity")
            ops = ex.guard.max_ops(case) if ex.guard.max_ops is not None else None
            if ops is not None and o.n_ops > ops:
                return fail(f"{ex.guard.ops_message} On the case '{case.name}' it ran {o.n_ops:,} torch "
                            f"operations (the limit is {ops:,}).", "complexity")
        if len(guard_outcomes) < len(guard_cases):
            return fail("did not run on the large cases of the complexity guard.")
    if ex.kind == "question":
        return Result(tid, PASSED, f"✓ {tid}: right. {ex.explanation}", float(ex.points), ex.points)
    return Result(tid, PASSED,
                  f"✓ {tid} {fn}: matches the reference on {len(cases)} fresh inputs ({ex.where}).",
                  float(ex.points), ex.points)
