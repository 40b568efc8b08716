"""Run a learner's function on the cases of a spec and record what happened.

The same code runs inside ``check()`` (in the learner's kernel) and inside the
grader's worker process (untrusted code).  It only calls the function and
records outcomes; judging them is ``evaluate.py``'s job, done by the caller.
"""

from __future__ import annotations

import copy
import inspect
import sysconfig
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from .spec import Case

OK, NOT_STARTED, ERROR, MUTATED, SIGNATURE = "ok", "not_started", "error", "mutated", "signature"


@dataclass
class Outcome:
    """What one call produced: ``kind`` is ok / not_started / error / mutated / signature."""

    kind: str
    value: Any = None
    message: str = ""
    max_numel: int = 0
    largest: tuple[int, ...] = ()
    n_ops: int = 0


class NumelRecorder(TorchDispatchMode):
    """Records the largest tensor any torch op creates (sparse: stored values) and counts the ops."""

    def __init__(self) -> None:
        super().__init__()
        self.max_numel = 0
        self.largest: tuple[int, ...] = ()
        self.n_ops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.n_ops += 1
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                n = _stored_numel(t)
                if n > self.max_numel:
                    self.max_numel, self.largest = n, tuple(t.shape)
        return out


def _stored_numel(t: torch.Tensor) -> int:
    if t.layout == torch.sparse_coo:
        return int(t._nnz()) * (t.sparse_dim() + 1)
    if t.layout in (torch.sparse_csr, torch.sparse_csc, torch.sparse_bsr, torch.sparse_bsc):
        return int(t._nnz()) * 2 + t.shape[0] + 1
    return t.numel()


def signature_problem(fn: Callable[..., Any], reference: Callable[..., Any], name: str) -> str | None:
    """A sentence when ``fn`` cannot be called like ``reference``, else None."""
    if not callable(fn):
        return f"{name} must be a function, got {type(fn).__name__}"
    try:
        got, want = inspect.signature(fn), inspect.signature(reference)
    except (TypeError, ValueError):
        return None  # builtins and C functions: let the call decide
    try:
        dummy = [object()] * len(
            [p for p in want.parameters.values() if p.default is inspect.Parameter.empty
             and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        )
        got.bind(*dummy)
    except TypeError:
        return (f"{name}({', '.join(got.parameters)}) cannot be called as "
                f"{name}({', '.join(want.parameters)}); keep the signature of the stub")
    return None


_STDLIB = sysconfig.get_paths()["stdlib"]


def _learner_frame(exc: BaseException) -> str:
    """The last traceback line that is not inside torch or recsys_ref.course."""
    frames = traceback.extract_tb(exc.__traceback__)
    for fr in reversed(frames):
        if ("site-packages" in fr.filename or "recsys_ref/course" in fr.filename
                or fr.filename.startswith(_STDLIB)):
            continue
        line = (fr.line or "").strip()
        return f" (line {fr.lineno}: {line})" if line else f" (line {fr.lineno})"
    return ""


def _snapshot(args: tuple[Any, ...]) -> list[Any]:
    return [a.detach().clone() if isinstance(a, torch.Tensor) else copy.deepcopy(a) for a in args]


def _unchanged(before: Any, after: Any) -> bool:
    if isinstance(before, torch.Tensor):
        if before.layout != torch.strided:
            before, after = before.to_dense(), after.to_dense()
        return before.shape == after.shape and bool(torch.equal(before, after))
    try:
        return bool(before == after)
    except Exception:  # noqa: BLE001 - incomparable objects count as unchanged
        return True


def call(fn: Callable[..., Any], case: Case, *, record: bool = False) -> Outcome:
    """Call ``fn`` on one case; never raises."""
    before = _snapshot(case.args)
    recorder = NumelRecorder() if record else None
    try:
        if recorder is not None:
            with recorder:
                value = fn(*case.args, **case.kwargs)
        else:
            value = fn(*case.args, **case.kwargs)
    except NotImplementedError as exc:
        return Outcome(NOT_STARTED, message=str(exc))
    except Exception as exc:  # noqa: BLE001 - any learner error becomes a message
        return Outcome(ERROR, message=f"{type(exc).__name__}: {exc}{_learner_frame(exc)}")
    for i, (b, a) in enumerate(zip(before, case.args)):
        if not _unchanged(b, a):
            return Outcome(MUTATED, message=f"argument {i + 1}")
    if recorder is None:
        return Outcome(OK, value=value)
    return Outcome(OK, value=value, max_numel=recorder.max_numel, largest=recorder.largest,
                   n_ops=recorder.n_ops)


def run_cases(fn: Callable[..., Any], cases: list[Case], *, record: bool = False) -> list[Outcome]:
    """Call ``fn`` on every case; stops early once the function is a stub."""
    outcomes = []
    for case in cases:
        o = call(fn, case, record=record)
        outcomes.append(o)
        if o.kind == NOT_STARTED:
            break
    return outcomes
