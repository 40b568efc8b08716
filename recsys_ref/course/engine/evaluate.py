"""Judge recorded outcomes against the reference: one verdict, one sentence.

Runs in the process that owns the reference (the learner's kernel for
``check()``, the grader's own process when grading), so the learner's code
never sees expected values.  ``check()`` and the grader share this one code
path: the output contract (container, dtype, layout, shape, inferred from the
reference's output), the values, the gradients, the misconceptions and the
complexity guard (sizes, the op that created the largest tensor, op counts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from . import relations, runner
from .runner import ERROR, MUTATED, NOT_STARTED, OK, SIGNATURE, Outcome
from .spec import Case, Exercise, Misconception
from .verdict import Kind, Result, Status, Text, error_slot, raised_slot, render, text

# the statuses, as the names older code imports (``Status`` members, equal to their strings)
PASSED, FAILED, NOT_STARTED_STATUS, MISSING, CRASHED = (
    Status.PASSED,
    Status.FAILED,
    Status.NOT_STARTED,
    Status.MISSING,
    Status.CRASHED,
)

# Names of the diagnoses the output contract, the gradient check, the guard and the
# input-mutation check give (``Result.misconception``), beside the names of a spec's
# own misconceptions.
CONTAINER, DTYPE, LAYOUT, NO_GRADIENT, GRADIENT, GUARD_VALUE, COMPLEXITY, LOOP, IN_PLACE = (
    "container",
    "dtype",
    "layout",
    "no_gradient",
    "gradient",
    "guard_value",
    "complexity",
    "loop",
    "in_place",
)
DIAGNOSES = (
    CONTAINER,
    DTYPE,
    LAYOUT,
    NO_GRADIENT,
    GRADIENT,
    GUARD_VALUE,
    COMPLEXITY,
    LOOP,
    IN_PLACE,
)


__all__ = ["Result", "Status", "Kind", "render", "evaluate", "difference"]


# ---------------------------------------------------------------- what a value is


def _is_scipy_sparse(x: Any) -> bool:
    return hasattr(x, "toarray") and hasattr(x, "nnz") and hasattr(x, "format")


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(
        x, (bool, np.bool_)
    )


def _layout_name(t: torch.Tensor) -> str:
    return {
        torch.strided: "dense",
        torch.sparse_coo: "sparse COO",
        torch.sparse_csr: "sparse CSR",
        torch.sparse_csc: "sparse CSC",
    }.get(t.layout, str(t.layout).replace("torch.", ""))


def _dtype_name(x: Any) -> str:
    return str(x.dtype).replace("torch.", "") if hasattr(x, "dtype") else type(x).__name__


def _kind(x: Any) -> str:
    """What ``x`` is, in the words of the messages ("a dense torch tensor (float32)")."""
    if x is None:
        return "None (does your function end with `return ...`?)"
    if isinstance(x, torch.Tensor):
        return f"a {_layout_name(x)} torch tensor ({_dtype_name(x)})"
    if isinstance(x, np.ndarray):
        return f"a numpy array ({x.dtype})"
    if _is_scipy_sparse(x):
        return f"a scipy.sparse {x.format} matrix ({x.dtype})"
    if isinstance(x, (bool, np.bool_)):
        return "a Python bool"
    if isinstance(x, (np.integer, np.floating)):
        return f"a numpy scalar ({x.dtype})"
    if isinstance(x, (int, float, str)):
        return f"a Python {type(x).__name__}"
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of {len(x)}"
    if isinstance(x, dict):
        return "a dict"
    return f"a {type(x).__name__}"


def _asked(want: Any) -> str:
    """What the task asks for, from the reference's output."""
    if isinstance(want, torch.Tensor):
        return f"a {_layout_name(want)} torch tensor ({_dtype_name(want)})"
    if isinstance(want, np.ndarray):
        return f"a numpy array ({want.dtype})"
    if _is_scipy_sparse(want):
        return f"a scipy.sparse {want.format} matrix"
    if isinstance(want, bool):
        return "a Python bool"
    if isinstance(want, int):
        return "a Python int"
    if isinstance(want, float):
        return "a Python float"
    if isinstance(want, (tuple, list)):
        return f"a {type(want).__name__} of {len(want)}"
    return _kind(want)


def _returned(what: str, got: Any, want: Any) -> str:
    head = (
        f"your function returned {_kind(got)}"
        if what == "the output"
        else f"{what} is {_kind(got)}"
    )
    return f"{head}; the task asks for {_asked(want)}"


def _numpy(t: torch.Tensor) -> np.ndarray:
    t = t.detach().cpu()
    return t.numpy() if t.dtype != torch.bfloat16 else t.float().numpy()


def _dense(x: Any) -> np.ndarray:
    """A dense ndarray of a tensor, ndarray or scipy.sparse matrix.

    Sparse COO tensors are densified in numpy (duplicates summed, as
    coalescing does): torch's ``to_dense`` of a tiny tensor costs ~20 ms on a
    loaded two-core machine.  Indices outside the shape raise ``ValueError``.
    """
    if isinstance(x, torch.Tensor):
        if x.layout == torch.sparse_coo:
            idx, vals = _numpy(x._indices()), _numpy(x._values())
            shape = tuple(x.shape)
            if idx.size and (
                (idx < 0).any() or (idx >= np.asarray(shape[: idx.shape[0]])[:, None]).any()
            ):
                raise ValueError(f"a sparse tensor with indices outside its shape {shape}")
            out = np.zeros(shape, dtype=vals.dtype)
            np.add.at(out, tuple(idx), vals)
            return out
        if x.layout != torch.strided:
            return _numpy(x.to_dense())
        return _numpy(x)
    if _is_scipy_sparse(x):
        return np.asarray(x.toarray())
    return np.asarray(x)


# ---------------------------------------------------------------- the output contract


def contract_problem(
    got: Any, want: Any, what: str = "the output", names: Sequence[str] = ()
) -> tuple[str, str] | None:
    """``(diagnosis, sentence)`` when ``got`` is not of the kind ``want`` is, else None.

    Container (torch tensor vs numpy vs Python scalar vs scipy.sparse), layout
    (dense vs sparse COO vs CSR) and dtype must match the reference's output
    exactly; shapes and values are the comparison's job.
    """
    if isinstance(want, torch.Tensor):
        if isinstance(got, torch.Tensor):
            if got.layout != want.layout:
                if want.layout == torch.sparse_coo:
                    how = (
                        "build it with torch.sparse_coo_tensor"
                        if got.layout == torch.strided
                        else "convert with .to_sparse_coo()"
                    )
                elif want.layout == torch.strided:
                    how = (
                        "convert with .to_dense() only at the end, or use a sparse × dense product"
                    )
                else:
                    how = f"return the {_layout_name(want)} layout"
                return LAYOUT, f"{what} is {_kind(got)}; the task asks for {_asked(want)}: {how}"
            if got.dtype != want.dtype:
                return DTYPE, f"{what} has dtype {_dtype_name(got)}; the task asks for " + (
                    f"{_dtype_name(want)} {_dtype_cause(got, want)}"
                )
            return None
        if _is_number(got) or isinstance(got, (bool, np.bool_)):
            return CONTAINER, (
                f"{_returned(what, got, want)}: return a tensor; `.item()` and `float()` "
                "cut the autograd graph"
            )
        if isinstance(got, np.ndarray) or _is_scipy_sparse(got):
            return CONTAINER, (
                f"{_returned(what, got, want)}: stay in torch (a numpy round trip "
                "cuts the autograd graph and changes dtypes)"
            )
        return CONTAINER, _returned(what, got, want)
    if isinstance(want, np.ndarray):
        if not isinstance(got, np.ndarray):
            return CONTAINER, _returned(what, got, want)
        if got.dtype != want.dtype:
            return DTYPE, f"{what} has dtype {got.dtype}; the task asks for {want.dtype}"
        return None
    if _is_scipy_sparse(want):
        if not _is_scipy_sparse(got):
            return CONTAINER, _returned(what, got, want)
        if got.dtype != want.dtype:
            return DTYPE, f"{what} has dtype {got.dtype}; the task asks for {want.dtype}"
        return None
    if isinstance(want, (bool, np.bool_)):
        return (
            None if isinstance(got, (bool, np.bool_)) else (CONTAINER, _returned(what, got, want))
        )
    if isinstance(want, (int, np.integer)):
        if isinstance(got, (int, np.integer)) and not isinstance(got, (bool, np.bool_)):
            return None
        return CONTAINER, _returned(what, got, want) + (
            ": convert with int(...)" if isinstance(got, torch.Tensor) else ""
        )
    if isinstance(want, (float, np.floating)):
        if _is_number(got):
            return None
        return CONTAINER, _returned(what, got, want) + (
            ": convert with float(...) or .item()" if isinstance(got, torch.Tensor) else ""
        )
    if isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return CONTAINER, _returned(what, got, want)
        if len(got) != len(want):
            return CONTAINER, (
                f"{what} has {len(got)} elements; the task asks for {len(want)}"
                + (f" ({', '.join(names)})" if len(names) == len(want) else "")
            )
        for i, (g, w) in enumerate(zip(got, want)):
            p = contract_problem(g, w, _element(what, i, names))
            if p:
                return p
        return None
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return CONTAINER, _returned(what, got, want)
        for k in want:
            if k in got:
                p = contract_problem(got[k], want[k], f"{what}[{k!r}]")
                if p:
                    return p
        return None
    if isinstance(want, str):
        return None if isinstance(got, str) else (CONTAINER, _returned(what, got, want))
    if want is None:
        return None if got is None else (CONTAINER, _returned(what, got, want))
    return None


def _dtype_cause(got: torch.Tensor, want: torch.Tensor) -> str:
    """The likely cause of a dtype mismatch, from what the values are."""
    integer = not (want.is_floating_point() or want.is_complex() or want.dtype == torch.bool)
    if integer and (got.is_floating_point() or got.is_complex()):
        try:
            vals = _numpy(got if got.layout == torch.strided else got.to_dense())
            whole = bool(np.all(np.isfinite(vals)) and np.all(vals == np.round(vals)))
        except Exception:  # noqa: BLE001
            whole = True
        if not whole:
            return (
                "(your values are not whole numbers: indices were asked for, and these look "
                "like scores — e.g. `topk(...).values` where `.indices` is meant)"
            )
        return (
            "(your values are whole numbers stored as floats: look for a .float(), a division, "
            "or torch.tensor/torch.zeros without dtype=torch.long)"
        )
    return "(look for a .float(), a torch.tensor/torch.ones without dtype=, or a numpy round trip)"


def _element(what: str, i: int, names: Sequence[str]) -> str:
    if what == "the output" and i < len(names):
        return f"the `{names[i]}` output"
    return f"element {i} of {what}"


# ---------------------------------------------------------------- values


def _coo(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Linear indices (sorted, unique) and summed values of a sparse COO tensor, in numpy."""
    idx, vals = _numpy(x._indices()), _numpy(x._values())
    shape = tuple(x.shape)
    if idx.size and ((idx < 0).any() or (idx >= np.asarray(shape)[:, None]).any()):
        raise ValueError(f"a sparse tensor with indices outside its shape {shape}")
    lin = np.ravel_multi_index(tuple(idx), shape) if idx.shape[1] else np.zeros(0, dtype=np.int64)
    uniq, inv = np.unique(lin, return_inverse=True)
    summed = np.zeros(len(uniq), dtype=vals.dtype)
    np.add.at(summed, inv.reshape(-1), vals)
    return uniq, summed


def _sparse_pair(got: Any, want: Any):
    """Both sparse COO (no dense dimensions): their values on the union of the nonzeros,
    compared without densifying an N×N matrix; else None."""
    if not (
        isinstance(got, torch.Tensor)
        and isinstance(want, torch.Tensor)
        and got.layout == want.layout == torch.sparse_coo
        and got.dense_dim() == 0
        and want.dense_dim() == 0
    ):
        return None
    shape = tuple(got.shape)
    if shape != tuple(want.shape):
        return None, None, None, shape
    gl, gv = _coo(got)
    wl, wv = _coo(want)
    union = np.union1d(gl, wl)
    g = np.zeros(
        len(union), dtype=np.result_type(gv.dtype, np.float64) if gv.dtype.kind == "f" else gv.dtype
    )
    w = np.zeros(len(union), dtype=g.dtype if wv.dtype.kind == g.dtype.kind else wv.dtype)
    g[np.searchsorted(union, gl)] = gv
    w[np.searchsorted(union, wl)] = wv
    return g, w, union, shape


def _compare_flat(
    g: np.ndarray,
    w: np.ndarray,
    where: np.ndarray | None,
    shape: tuple[int, ...],
    rtol: float,
    atol: float,
    what: str,
) -> str | Text | None:
    """Compare flat values; ``where`` maps positions to linear indices of ``shape`` (None: all)."""
    total = int(np.prod(shape)) if shape else 1

    def index(i: int) -> str:
        lin = int(where[i]) if where is not None else i
        return f" at index {tuple(int(v) for v in np.unravel_index(lin, shape))}" if shape else ""

    if w.dtype == bool or w.dtype.kind in "iu":
        if not np.array_equal(g, w):
            return f"{what} differs from the reference in {int((g != w).sum())} of {total} entries"
        return None
    g, w = g.astype(np.float64), w.astype(np.float64)
    bad = ~np.isfinite(g) & np.isfinite(w)
    if bad.any():
        return (
            f"{what} contains NaN or inf (first{index(int(np.argmax(bad)))}) where the reference "
            "is finite"
        )
    if g.size == 0:
        return None
    close = np.isclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
    if not close.all():
        err = np.where(close, 0.0, np.abs(np.nan_to_num(g - w, nan=np.inf)))
        i = int(np.argmax(err))
        lin = int(where[i]) if where is not None else i
        at = tuple(int(v) for v in np.unravel_index(lin, shape)) if shape else None
        return text(
            f"{what} differs from the reference in {int((~close).sum())} of {total} entries ",
            error_slot(float(err[i]), at),
        )
    return None


def difference(
    got: Any,
    want: Any,
    rtol: float,
    atol: float,
    what: str = "the output",
    names: Sequence[str] = (),
) -> str | None:
    """None when ``got`` matches ``want`` in kind and value, else a phrase that says how it differs.

    Strict: ``got`` must be of the kind ``want`` is (``contract_problem``);
    a bool output is compared as bool only when the reference is bool.  Never
    raises: an output that cannot be compared is named as such.
    """
    d = _difference_text(got, want, rtol, atol, what, names)
    return None if d is None else str(d)


def _difference_text(
    got: Any,
    want: Any,
    rtol: float,
    atol: float,
    what: str = "the output",
    names: Sequence[str] = (),
) -> str | Text | None:
    """``difference`` as a ``Text`` (the largest error kept as a field for redaction)."""
    try:
        return _difference(got, want, rtol, atol, what, names)
    except Exception as exc:  # noqa: BLE001 - a learner's object must not crash the verdict
        return f"{_returned(what, got, want)} (it could not be compared: {type(exc).__name__})"


def _difference(
    got: Any, want: Any, rtol: float, atol: float, what: str, names: Sequence[str]
) -> str | Text | None:
    problem = contract_problem(got, want, what, names)
    if problem:
        return problem[1]
    if isinstance(want, torch.Tensor) or isinstance(want, np.ndarray) or _is_scipy_sparse(want):
        try:
            pair = _sparse_pair(got, want)
            if pair is None:
                g, w = _dense(got), _dense(want)
                if g.shape != w.shape:
                    return f"{what} has shape {tuple(g.shape)}, expected {tuple(w.shape)}"
                shape, where = g.shape, None
                g, w = g.reshape(-1), w.reshape(-1)
            else:
                g, w, where, shape = pair
                if shape != tuple(want.shape):
                    return f"{what} has shape {shape}, expected {tuple(want.shape)}"
        except ValueError as exc:
            return f"{what} is {exc}"
        return _compare_flat(g, w, where, shape, rtol, atol, what)
    if isinstance(want, (bool, np.bool_)):
        return (
            None
            if bool(got) == bool(want)
            else f"{what} is {bool(got)}, which is not the expected value"
        )
    if _is_number(want):
        if math.isnan(float(got)) and not math.isnan(float(want)):
            return f"{what} is NaN"
        if isinstance(want, (int, np.integer)):
            return (
                None
                if int(got) == int(want)
                else f"{what} is {int(got)}, which is not the expected value"
            )
        if not math.isclose(float(got), float(want), rel_tol=rtol, abs_tol=atol):
            return f"{what} is {float(got):.6g}, which is not the expected value"
        return None
    if isinstance(want, (tuple, list)):
        for i, (g, w) in enumerate(zip(got, want)):
            d = _difference(g, w, rtol, atol, _element(what, i, names), ())
            if d:
                return d
        return None
    if isinstance(want, dict):
        if set(got) != set(want):
            return f"{what} has keys {sorted(map(str, got))}, expected {sorted(map(str, want))}"
        for k in want:
            d = _difference(got[k], want[k], rtol, atol, f"{what}[{k!r}]", ())
            if d:
                return d
        return None
    if not isinstance(got, type(want)) and not isinstance(want, type(got)):
        return _returned(what, got, want)
    if bool(got != want):
        return f"{what} is {got!r}, expected a different value"
    return None


def _differs(ex: Exercise, got: Any, want: Any) -> str | Text | None:
    strict = ex.kind == "task" and ex.contract is True
    try:
        if callable(ex.contract) and ex.kind == "task":
            problem = ex.contract(got, want)
            if problem:
                return problem
        if ex.compare is not None:
            if strict:
                problem = contract_problem(got, want, names=ex.outputs)
                if problem:
                    return problem[1]
            return ex.compare(got, want)
    except Exception as exc:  # noqa: BLE001
        return (
            f"{_returned('the output', got, want)} (it could not be compared: {type(exc).__name__})"
        )
    return (
        _difference_text(got, want, ex.rtol, ex.atol, names=ex.outputs)
        if strict
        else _loose_difference(got, want, ex.rtol, ex.atol, ex.outputs)
    )


def _loose_difference(
    got: Any, want: Any, rtol: float, atol: float, names: Sequence[str]
) -> str | Text | None:
    """Values only (a spec with ``contract=False`` or a custom contract)."""
    try:
        if isinstance(want, (torch.Tensor, np.ndarray)) or _is_scipy_sparse(want):
            got = torch.as_tensor(_dense(got)) if not isinstance(got, torch.Tensor) else got
            want = torch.as_tensor(_dense(want)) if not isinstance(want, torch.Tensor) else want
            got = (
                got.to(want.dtype) if got.layout == torch.strided else got.to_dense().to(want.dtype)
            )
            want = want if want.layout == torch.strided else want.to_dense()
        return _difference(got, want, rtol, atol, "the output", names)
    except Exception as exc:  # noqa: BLE001
        return (
            f"{_returned('the output', got, want)} (it could not be compared: {type(exc).__name__})"
        )


def _contract(ex: Exercise, got: Any, want: Any) -> tuple[str, str] | None:
    if ex.kind != "task" or ex.contract is not True:
        return None
    try:
        return contract_problem(got, want, names=ex.outputs)
    except Exception as exc:  # noqa: BLE001
        return (
            CONTAINER,
            f"{_returned('the output', got, want)} (it could not be compared: {type(exc).__name__})",
        )


_NO_RUN = object()


def _wrong_output(m: Misconception, case: Case) -> Any:
    try:
        return m.wrong(*case.args, **case.kwargs)
    except Exception:  # noqa: BLE001 - a variant that cannot run on this case cannot match
        return _NO_RUN


def _misconception(
    ex: Exercise, cases: Sequence[Case], outcomes: Sequence[Outcome], first: int, want_of: Any
) -> tuple[Misconception | None, Misconception | None, int | None]:
    """The named misconception that explains the learner's outputs, and a near miss.

    Candidates are the variants whose output equals the learner's on the first
    case that differs from the reference; each must then also equal it on every
    other case the learner's function ran on (a variant that cannot run on a
    case is not judged there).  So when two variants agree on one case, a case
    where they differ decides, never the order of the list.  When none is left,
    the first candidate is the near miss, with the case that ruled it out.
    """
    got = outcomes[first].value
    candidates = []
    for m in ex.misconceptions:
        wrong = _wrong_output(m, cases[first])
        if wrong is _NO_RUN:
            continue
        if _differs(ex, wrong, want_of(first)) is not None and _differs(ex, got, wrong) is None:
            candidates.append(m)
    near, ruled_out = (candidates[0], None) if candidates else (None, None)
    for j, (case, o) in enumerate(zip(cases, outcomes)):
        if j == first or o.kind != OK or not candidates:
            continue
        kept = []
        for m in candidates:
            wrong = _wrong_output(m, case)
            if wrong is _NO_RUN or _differs(ex, o.value, wrong) is None:
                kept.append(m)
            elif m is near and ruled_out is None:
                ruled_out = j
        candidates = kept
    if candidates:
        return candidates[0], None, None
    return None, near, ruled_out


def _shape_of(x: Any) -> tuple[int, ...] | None:
    shape = getattr(x, "shape", None)
    try:
        return tuple(int(d) for d in shape) if shape is not None else None
    except TypeError:
        return None


def _relation(ex: Exercise, got: Any, want: Any, case: Case) -> tuple[str, str] | None:
    """A relation between the learner's output and the reference's on one case
    (``relations.relate``); for a tuple output, on its first element that differs."""
    try:
        if isinstance(want, (tuple, list)) and isinstance(got, (tuple, list)):
            for i, (g, w) in enumerate(zip(got, want)):
                if _difference_text(g, w, ex.rtol, ex.atol) is not None:
                    what = (
                        f"the `{ex.outputs[i]}` output"
                        if i < len(ex.outputs)
                        else (f"element {i} of your output")
                    )
                    return relations.relate(g, w, case, ex.rtol, ex.atol, what)
            return None
        if isinstance(want, dict) and isinstance(got, dict):
            state = case.args[0] if case.args and isinstance(case.args[0], dict) else {}
            for k, w in want.items():
                if k in got and _difference_text(got[k], w, ex.rtol, ex.atol) is not None:
                    if k in state:  # a training step: compare the updates
                        step = relations.relate_step(
                            got[k], w, state[k], case, ex.rtol, ex.atol, f"`{k}`"
                        )
                        if step is not None:
                            return step
                    return relations.relate(got[k], w, case, ex.rtol, ex.atol, f"your `{k}`")
            return None
        return relations.relate(got, want, case, ex.rtol, ex.atol)
    except Exception:  # noqa: BLE001 - a relation that cannot be measured is not reported
        return None


def _is_zero(g: Any) -> bool:
    if g is None:
        return True
    try:
        return not bool(torch.as_tensor(g).ne(0).any())
    except Exception:  # noqa: BLE001
        return True


def _gradient_problem(ex: Exercise, case: Case, o: Outcome) -> tuple[str, str | Text] | None:
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
        d = _difference_text(g, r, max(ex.rtol, 1e-6), max(ex.atol, 1e-8), what=f"∂/∂`{path}`")
        if d:
            return GRADIENT, text(
                "the value is right but its gradient is not: ",
                d,
                "; compute the output with differentiable torch ops from the inputs themselves",
            )
    return None


_FRIENDLY_OPS = {
    "to_dense": "`.to_dense()`",
    "mm": "a matrix product (`@`)",
    "bmm": "a batched matrix product (`@`)",
    "matmul": "a matrix product (`@`)",
    "mul": "an element-wise product (`*`)",
    "add": "an addition (`+`)",
    "sub": "a subtraction (`-`)",
    "expand": "broadcasting (`expand`)",
    "copy": "a copy",
    "index": "indexing",
    "diag_embed": "torch.diag",
    "diag": "torch.diag",
    "unsqueeze": "`unsqueeze`",
    "sparse_coo_tensor_with_dims_and_tensors": "torch.sparse_coo_tensor",
}


def op_name(creator: str) -> str:
    """aten's op name as the learner wrote it: "eye" → "torch.eye", "_to_dense" → "`.to_dense()`"."""
    c = creator.lstrip("_")
    return _FRIENDLY_OPS.get(c, f"torch.{c}" if c else "an op")


# ---------------------------------------------------------------- verdict
#
# ``evaluate`` is four named steps, in this order; each returns a failing
# ``Result`` or None (go on):
#
#   1. ``_judge_cases``: every outcome in turn — signature, not started, raised,
#      changed an input, output contract, values, gradients;
#   2. ``_diagnose``: on the first case whose values differ, the cause — a named
#      misconception, else a relation to the reference, else a near miss, else
#      what differs;
#   3. ``_judge_guard``: the complexity guard's sizes, op counts and values;
#   4. ``_passed``: the ✓ line.


class _Verdict:
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


def _judge_cases(v: _Verdict) -> Result | None:
    """Step 1: the first outcome that fails before its values are compared, or the
    first case whose values differ (kept in ``v.first_bad``/``v.diff``)."""
    ex = v.ex
    for i, (case, o) in enumerate(zip(v.cases, v.outcomes)):
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
        if o.kind == ERROR and case.grad and "requires grad" in o.message:
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
        if o.kind == ERROR:
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
        if o.kind == MUTATED:
            return v.fail(
                f"changed {o.message} in place on the case '{case.name}'; "
                "leave inputs untouched (use x + y, not x += y, or work on x.clone()).",
                IN_PLACE,
                Kind.CONTRACT,
                case,
            )
        if o.kind != OK:
            return v.fail(f"unexpected outcome '{o.kind}' on the case '{case.name}'.", case=case)
        want = v.want_of(i)
        problem = _contract(ex, o.value, want)
        if problem:
            return v.fail(f"{problem[1]} (case '{case.name}').", problem[0], Kind.CONTRACT, case)
        if ex.output_check is not None:
            try:
                check_problem = ex.output_check(o.value, case)
            except Exception as exc:  # noqa: BLE001
                check_problem = f"{_returned('the output', o.value, want)} ({type(exc).__name__})"
            if check_problem:
                return v.fail(
                    text(check_problem, f" (case '{case.name}')."), None, Kind.CONTRACT, case
                )
        diff = _differs(ex, o.value, want)
        if diff:
            v.first_bad, v.diff = i, diff
            return None
        if case.grad:
            g = _gradient_problem(ex, case, o)
            if g:
                return v.fail(text(g[1], f" (case '{case.name}')."), g[0], Kind.CONTRACT, case)
    return None


def _diagnose(v: _Verdict) -> Result:
    """Step 2: why the values on ``v.first_bad`` differ."""
    ex, first, case = v.ex, v.first_bad, v.cases[v.first_bad]
    m, near, ruled_out = _misconception(ex, v.cases, v.outcomes, first, v.want_of)
    if ex.kind == "question":
        if m is not None:
            return v.fail(f"{m.message}.", m.name, Kind.NAMED, case)
        return v.fail(text(v.diff, f"; reread {ex.where}."), None, Kind.GENERIC, case)
    if m is not None:
        return v.fail(f"{m.message} (case '{case.name}')", m.name, Kind.NAMED, case)
    got, want = v.outcomes[first].value, v.want_of(first)
    rel = _relation(ex, got, want, case)
    if rel is not None:
        return v.fail(
            f"on the case '{case.name}', {rel[1]}. Compare your code with {ex.where}.",
            rel[0],
            Kind.RELATIONAL,
            case,
        )
    if first > 0:
        tail = relations.hard_coded(v.cases, first, 0)
        if tail is not None and _shape_of(got) != _shape_of(want):
            return v.fail(
                f"your output has shape {_shape_of(got)} where {_shape_of(want)} is expected on "
                f"the case '{case.name}'{tail}.",
                relations.HARD_CODED,
                Kind.RELATIONAL,
                case,
            )
    if near is not None:
        other = (
            f" (though not on the case '{v.cases[ruled_out].name}')"
            if ruled_out is not None
            else ""
        )
        return v.fail(
            f"on the case '{case.name}' your output equals what a known mistake gives{other}, "
            f"so it may be yours: {near.message}",
            near.name,
            Kind.NEAR_MISS,
            case,
        )
    return v.fail(
        text(f"on the case '{case.name}', ", v.diff, f". Compare your code with {ex.where}."),
        case=case,
    )


def _judge_guard(
    v: _Verdict,
    guard_cases: Sequence[Case],
    guard_outcomes: Sequence[Outcome],
    guard_values_required: bool,
) -> Result | None:
    """Step 3: the complexity guard's cases: sizes, op counts, then values."""
    ex, guard = v.ex, v.ex.guard
    if guard is None:
        return None
    for case, o in zip(guard_cases, guard_outcomes):
        if o.kind != OK:
            return v.fail(f"on the large case '{case.name}': {o.message or o.kind}", case=case)
        limit = guard.max_numel(case)
        if o.max_numel > limit:
            shape = "×".join(map(str, o.largest)) or "?"
            made = ""
            if o.creator:
                advice = guard.advice(o.creator)
                made = f", created by {op_name(o.creator)}" + (f": {advice}" if advice else "")
            return v.fail(
                f"{guard.message} On the case '{case.name}' it created a tensor of "
                f"shape {shape} ({o.max_numel:,} elements; the limit is {limit:,}){made}.",
                COMPLEXITY,
                Kind.CONTRACT,
                case,
            )
        if guard.max_ops is not None and o.ops is not None and o.ops > guard.max_ops:
            return v.fail(
                f"{guard.loop_message or 'the notebook asks for no Python loops.'} On the "
                f"case '{case.name}' it dispatched at least {o.ops:,} torch ops, over the bound "
                f"of {guard.max_ops:,} (the matrix form needs a few dozen): a Python loop "
                "dispatches ops for every element it visits.",
                LOOP,
                Kind.CONTRACT,
                case,
            )
        if o.value is not None or guard_values_required:
            want = ex.reference(*case.args, **case.kwargs)
            d = _differs(ex, o.value, want)
            if d:
                return v.fail(
                    text(
                        f"on the large case '{case.name}', ",
                        d,
                        f": it must compute the same function on every input ({ex.where}).",
                    ),
                    GUARD_VALUE,
                    Kind.CONTRACT,
                    case,
                )
    if len(guard_outcomes) < len(guard_cases):
        return v.fail("did not run on the large cases of the complexity guard.")
    return None


def _passed(v: _Verdict) -> Result:
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
    v = _Verdict(ex, cases, outcomes, expected)
    early = _judge_cases(v)
    if early is not None:
        return early
    if v.first_bad is not None:
        return _diagnose(v)
    if len(outcomes) < len(cases):
        return v.fail("did not run on every case.")
    guard = _judge_guard(v, guard_cases, guard_outcomes, guard_values_required)
    if guard is not None:
        return guard
    return _passed(v)
