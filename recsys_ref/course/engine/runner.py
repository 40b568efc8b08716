"""Run a learner's function on the cases of a spec and record what happened.

The same code runs inside ``check()`` (in the learner's kernel) and inside the
grader's worker process (untrusted code).  It only calls the function and
records outcomes; judging them is ``evaluate.py``'s job, done by the caller.

What an ``Outcome`` records, beyond the value (every field is a plain value
that ``codec`` can carry from the grader's worker to its parent):

- ``max_numel``/``largest``/``creator``: with ``record=True``, the largest
  tensor any torch op created, its shape, and the op that created it
  (``"eye"``, ``"_to_dense"``, ``"mm"``: aten's name);
- ``ops``: with ``record=True``, how many torch ops were dispatched (a Python
  loop over 2,700 nodes dispatches >10⁴, the matrix form <20); None when not
  measured;
- ``grads``: on a case with ``grad=True``, the gradient of a fixed weighted sum
  of the floating outputs with respect to every floating input tensor, in the
  order of ``grad_leaves`` (None for an input no gradient reaches); None when
  not measured; ``grad_error`` says why a gradient could not be computed.
"""

from __future__ import annotations

import copy
import functools
import inspect
import operator
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
    creator: str = ""
    ops: int | None = None
    grads: list[Any] | None = None
    grad_error: str = ""

    def to_plain(self, with_value: bool = True) -> dict[str, Any]:
        """The outcome as a dict of plain values (what the grader's worker sends back)."""
        d: dict[str, Any] = {
            "kind": self.kind,
            "message": str(self.message)[:1000],
            "max_numel": int(self.max_numel),
            "largest": [int(s) for s in self.largest],
            "creator": str(self.creator)[:100],
            "ops": self.ops,
            "grads": self.grads,
            "grad_error": str(self.grad_error)[:300],
        }
        if with_value and self.kind == OK:
            d["value"] = self.value
        return d


class GuardExceeded(Exception):
    """Raised inside the learner's function once a recorded bound is exceeded (stops early)."""


class NumelRecorder(TorchDispatchMode):
    """Records the largest tensor any torch op creates (sparse: stored values),
    the op that created it, and how many ops were dispatched.

    With ``numel_limit``/``ops_limit`` it raises ``GuardExceeded`` as soon as
    either is exceeded, so a quadratic or looping function stops at once; the
    record already holds what the verdict needs.
    """

    def __init__(self, numel_limit: int | None = None, ops_limit: int | None = None) -> None:
        super().__init__()
        self.max_numel = 0
        self.largest: tuple[int, ...] = ()
        self.creator = ""
        self.ops = 0
        self.numel_limit, self.ops_limit = numel_limit, ops_limit
        self.exceeded = False

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # False: torch does not wrap __torch_dispatch__ in torch._disable_dynamo, whose first
        # call imports torch._dynamo (1.5-5 s) though no check compiles anything.
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.ops += 1
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                n = _stored_numel(t)
                if n > self.max_numel:
                    self.max_numel, self.largest = n, tuple(t.shape)
                    self.creator = str(
                        getattr(getattr(func, "overloadpacket", None), "__name__", func)
                    )
        if (self.numel_limit is not None and self.max_numel > self.numel_limit) or (
            self.ops_limit is not None and self.ops > self.ops_limit
        ):
            self.exceeded = True
            raise GuardExceeded("the complexity guard's bound was exceeded")
        return out


def _stored_numel(t: torch.Tensor) -> int:
    if t.layout == torch.sparse_coo:
        return int(t._nnz()) * (t.sparse_dim() + 1)
    if t.layout in (torch.sparse_csr, torch.sparse_csc, torch.sparse_bsr, torch.sparse_bsc):
        return int(t._nnz()) * 2 + t.shape[0] + 1
    return t.numel()


def signature_problem(
    fn: Callable[..., Any], reference: Callable[..., Any], name: str
) -> str | None:
    """A sentence when ``fn`` cannot be called like ``reference``, else None."""
    if not callable(fn):
        return f"{name} must be a function, got {type(fn).__name__}"
    try:
        got, want = inspect.signature(fn), inspect.signature(reference)
    except (TypeError, ValueError):
        return None  # builtins and C functions: let the call decide
    try:
        dummy = [object()] * len(
            [
                p
                for p in want.parameters.values()
                if p.default is inspect.Parameter.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
        )
        got.bind(*dummy)
    except TypeError:
        return (
            f"{name}({', '.join(got.parameters)}) cannot be called as "
            f"{name}({', '.join(want.parameters)}); keep the signature of the stub"
        )
    return None


_STDLIB = sysconfig.get_paths()["stdlib"]


def _learner_frame(exc: BaseException) -> str:
    """The last traceback line that is not inside torch or recsys_ref.course."""
    frames = traceback.extract_tb(exc.__traceback__)
    for fr in reversed(frames):
        if (
            "site-packages" in fr.filename
            or "recsys_ref/course" in fr.filename
            or fr.filename.startswith(_STDLIB)
        ):
            continue
        line = (fr.line or "").strip()
        return f" (line {fr.lineno}: {line})" if line else f" (line {fr.lineno})"
    return ""


def parameter_names(fn: Callable[..., Any], n: int) -> list[str]:
    """The names of ``fn``'s first ``n`` positional parameters ("argument 3" where unknown)."""
    try:
        params = [
            p.name
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"argument {i + 1}" for i in range(n)]


def _snapshot(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach().clone()
    if isinstance(x, (list, tuple)):
        return type(x)(_snapshot(v) for v in x) if type(x) in (list, tuple) else copy.deepcopy(x)
    if isinstance(x, dict):
        return {k: _snapshot(v) for k, v in x.items()}
    try:
        return copy.deepcopy(x)
    except Exception:  # noqa: BLE001 - an object that cannot be copied is not compared
        return None


def _sparse_parts(b: torch.Tensor, a: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The index tensors, then the values, of two sparse tensors of one layout."""
    if b.layout == torch.sparse_coo:
        b, a = b.coalesce(), a.coalesce()
        return [(b.indices(), a.indices()), (b.values(), a.values())]
    if b.layout in (torch.sparse_csr, torch.sparse_bsr):
        return [
            (b.crow_indices(), a.crow_indices()),
            (b.col_indices(), a.col_indices()),
            (b.values(), a.values()),
        ]
    if b.layout in (torch.sparse_csc, torch.sparse_bsc):
        return [
            (b.ccol_indices(), a.ccol_indices()),
            (b.row_indices(), a.row_indices()),
            (b.values(), a.values()),
        ]
    return [(b.to_dense(), a.to_dense())]


def _changed(before: Any, after: Any, path: str) -> str | None:
    """The path of the first part of ``after`` that differs from ``before``, else None."""
    if isinstance(before, torch.Tensor):
        if not isinstance(after, torch.Tensor):
            return path
        b, a = before, after.detach()
        if b.layout != a.layout:
            return path
        if b.layout != torch.strided:  # compared part by part, never densified: slow under
            if b.shape != a.shape:  # load, and the grader's guard memory limit refuses n×n
                return path
            parts = _sparse_parts(b, a)
            if any(x.shape != y.shape or not torch.equal(x, y) for x, y in parts[:-1]):
                return path
            b, a = parts[-1]
        same = (
            b.shape == a.shape
            and b.dtype == a.dtype
            and bool(
                torch.equal(b, a)
                or (
                    b.is_floating_point()
                    and torch.equal(b.isnan(), a.isnan())
                    and torch.equal(b.nan_to_num(0.0), a.nan_to_num(0.0))
                )
            )
        )
        return None if same else path
    if isinstance(before, (list, tuple)) and isinstance(after, (list, tuple)):
        if len(before) != len(after):
            return path
        for i, (b, a) in enumerate(zip(before, after)):
            where = _changed(b, a, f"{path}[{i}]")
            if where:
                return where
        return None
    if isinstance(before, dict) and isinstance(after, dict):
        if set(before) != set(after):
            return path
        for k in before:
            where = _changed(before[k], after[k], f"{path}[{k!r}]")
            if where:
                return where
        return None
    if before is None:
        return None
    try:
        return None if bool(before == after) else path
    except Exception:  # noqa: BLE001 - incomparable objects count as unchanged
        return None


# ---------------------------------------------------------------- gradients


def _grad_copy(x: Any, leaves: list[torch.Tensor], paths: list[str], path: str) -> Any:
    """``x`` with every floating dense tensor replaced by a fresh leaf that requires grad."""
    if isinstance(x, torch.Tensor):
        if x.layout == torch.strided and x.is_floating_point():
            leaf = x.detach().clone().requires_grad_(True)
            leaves.append(leaf)
            paths.append(path)
            return leaf
        return x
    if type(x) in (list, tuple):
        return type(x)(_grad_copy(v, leaves, paths, f"{path}[{i}]") for i, v in enumerate(x))
    return x


def grad_leaves(
    fn: Callable[..., Any], case: Case
) -> tuple[tuple[Any, ...], list[torch.Tensor], list[str]]:
    """The case's arguments with floating inputs requiring grad, those leaves, and their names
    ("theta[1]") taken from ``fn``'s parameters."""
    leaves: list[torch.Tensor] = []
    paths: list[str] = []
    names = parameter_names(fn, len(case.args))
    args = tuple(_grad_copy(a, leaves, paths, n) for a, n in zip(case.args, names))
    return args, leaves, paths


def cotangent(t: torch.Tensor) -> torch.Tensor:
    """The fixed weights of the output sum whose gradient is compared (the same on both sides)."""
    g = torch.Generator().manual_seed(20091)
    return torch.rand(tuple(t.shape), generator=g, dtype=torch.float64).add_(0.5).to(t.dtype)


def gradients(value: Any, leaves: list[torch.Tensor]) -> list[Any]:
    """∂(Σ w ⊙ output)/∂leaf for every leaf (None where no gradient reaches it)."""
    outs = [
        t
        for t in tree_leaves(value)
        if isinstance(t, torch.Tensor)
        and t.requires_grad
        and t.layout == torch.strided
        and t.is_floating_point()
    ]
    if not outs or not leaves:
        return [None] * len(leaves)
    total = functools.reduce(operator.add, [(o * cotangent(o)).sum() for o in outs])  # ()
    grads = torch.autograd.grad(total, leaves, allow_unused=True)
    return [None if g is None else g.detach() for g in grads]


# ---------------------------------------------------------------- calling


def call(
    fn: Callable[..., Any],
    case: Case,
    *,
    record: bool = False,
    numel_limit: int | None = None,
    ops_limit: int | None = None,
) -> Outcome:
    """Call ``fn`` on one case; never raises.

    On a case with ``grad=True`` the floating inputs are fresh leaves that
    require grad, and the outcome carries the gradients (``Outcome.grads``).
    With ``record``, ``numel_limit``/``ops_limit`` stop the call early once
    exceeded (the outcome is then ``ok`` with no value and the record).
    """
    args = case.args
    leaves: list[torch.Tensor] = []
    if case.grad:
        args, leaves, _ = grad_leaves(fn, case)
    before = _snapshot(args)
    recorder = NumelRecorder(numel_limit, ops_limit) if record else None
    try:
        if recorder is not None:
            with recorder:
                value = fn(*args, **case.kwargs)
        else:
            value = fn(*args, **case.kwargs)
    except Exception as exc:  # noqa: BLE001 - any learner error becomes a message
        if recorder is not None and recorder.exceeded:
            return Outcome(
                OK,
                value=None,
                max_numel=recorder.max_numel,
                largest=recorder.largest,
                creator=recorder.creator,
                ops=recorder.ops,
            )
        if isinstance(exc, NotImplementedError):
            return Outcome(NOT_STARTED, message=str(exc))
        return Outcome(ERROR, message=f"{type(exc).__name__}: {exc}{_learner_frame(exc)}")
    for name, b, a in zip(parameter_names(fn, len(args)), before, args):
        where = _changed(b, a, name)
        if where:
            return Outcome(MUTATED, message=f"`{where}`")
    out = Outcome(OK, value=value)
    if recorder is not None and recorder.exceeded:  # the learner's code swallowed GuardExceeded
        out.value = None
    if recorder is not None:
        out.max_numel, out.largest, out.creator, out.ops = (
            recorder.max_numel,
            recorder.largest,
            recorder.creator,
            recorder.ops,
        )
    if case.grad:
        try:
            out.grads = gradients(value, leaves)
        except Exception as exc:  # noqa: BLE001 - a backward that fails is the learner's
            out.grads, out.grad_error = [None] * len(leaves), f"{type(exc).__name__}: {exc}"[:300]
        out.value = _detached(value)
    return out


def _detached(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach()
    if type(x) in (list, tuple):
        return type(x)(_detached(v) for v in x)
    return x


def run_cases(
    fn: Callable[..., Any],
    cases: list[Case],
    *,
    record: bool = False,
    numel_limits: list[int | None] | None = None,
    ops_limit: int | None = None,
) -> list[Outcome]:
    """Call ``fn`` on every case; stops early once the function is a stub.

    ``numel_limits`` (one per case) and ``ops_limit`` stop a recorded call
    early once its bound is exceeded (``check()`` passes the guard's bounds).
    """
    outcomes = []
    for i, case in enumerate(cases):
        limit = numel_limits[i] if numel_limits is not None and i < len(numel_limits) else None
        o = call(fn, case, record=record, numel_limit=limit, ops_limit=ops_limit)
        outcomes.append(o)
        if o.kind == NOT_STARTED:
            break
    return outcomes
