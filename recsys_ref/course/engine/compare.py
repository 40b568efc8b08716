"""Values: how the learner's output differs from the reference's, in one phrase.

``difference`` is strict (the output contract of ``contract.py`` first, then
shape and values); ``differs`` applies a spec's own comparison or contract
(``Exercise.compare``/``contract``).  Sparse outputs are compared on the
union of their nonzeros, never densified; the largest error is kept as a
field of the ``Text`` (``verdict.error_slot``) so that the grader can redact it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .contract import (
    CONTAINER,
    Problem,
    contract_problem,
    element,
    is_number,
    is_scipy_sparse,
    returned,
    to_numpy,
)
from .spec import Exercise
from .verdict import Text, error_slot, text


def dense(x: Any) -> np.ndarray:
    """A dense ndarray of a tensor, ndarray or scipy.sparse matrix.

    Sparse COO tensors are densified in numpy (duplicates summed, as
    coalescing does): torch's ``to_dense`` of a tiny tensor costs ~20 ms on a
    loaded two-core machine.  Indices outside the shape raise ``ValueError``.
    """
    if isinstance(x, torch.Tensor):
        if x.layout == torch.sparse_coo:
            idx, vals = to_numpy(x._indices()), to_numpy(x._values())
            shape = tuple(x.shape)
            if idx.size and (
                (idx < 0).any() or (idx >= np.asarray(shape[: idx.shape[0]])[:, None]).any()
            ):
                raise ValueError(f"a sparse tensor with indices outside its shape {shape}")
            out = np.zeros(shape, dtype=vals.dtype)
            np.add.at(out, tuple(idx), vals)
            return out
        if x.layout != torch.strided:
            return to_numpy(x.to_dense())
        return to_numpy(x)
    if is_scipy_sparse(x):
        return np.asarray(x.toarray())
    return np.asarray(x)


def _coo(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Linear indices (sorted, unique) and summed values of a sparse COO tensor, in numpy."""
    idx, vals = to_numpy(x._indices()), to_numpy(x._values())
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
    d = difference_text(got, want, rtol, atol, what, names)
    return None if d is None else str(d)


def difference_text(
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
        return f"{returned(what, got, want)} (it could not be compared: {type(exc).__name__})"


def _difference(
    got: Any, want: Any, rtol: float, atol: float, what: str, names: Sequence[str]
) -> str | Text | None:
    problem = contract_problem(got, want, what, names)
    if problem:
        return problem[1]
    if isinstance(want, torch.Tensor) or isinstance(want, np.ndarray) or is_scipy_sparse(want):
        return _array_difference(got, want, rtol, atol, what)
    if isinstance(want, (bool, np.bool_)):
        return (
            None
            if bool(got) == bool(want)
            else f"{what} is {bool(got)}, which is not the expected value"
        )
    if is_number(want):
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
            d = _difference(g, w, rtol, atol, element(what, i, names), ())
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
        return returned(what, got, want)
    if bool(got != want):
        return f"{what} is {got!r}, expected a different value"
    return None


def _array_difference(
    got: Any, want: Any, rtol: float, atol: float, what: str
) -> str | Text | None:
    """Shape, then values, of a tensor, ndarray or scipy.sparse output."""
    try:
        pair = _sparse_pair(got, want)
        if pair is None:
            g, w = dense(got), dense(want)
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


def differs(ex: Exercise, got: Any, want: Any) -> str | Text | None:
    """How ``got`` differs from ``want`` under ``ex``'s contract and comparison, else None."""
    strict = ex.kind == "task" and ex.contract is True
    try:
        if callable(ex.contract) and ex.kind == "task":
            problem = ex.contract(got, want)
            if problem:
                return problem
        if ex.compare is not None:
            if strict:
                contract = contract_problem(got, want, names=ex.outputs)
                if contract:
                    return contract[1]
            return ex.compare(got, want)
    except Exception as exc:  # noqa: BLE001
        return (
            f"{returned('the output', got, want)} (it could not be compared: {type(exc).__name__})"
        )
    return (
        difference_text(got, want, ex.rtol, ex.atol, names=ex.outputs)
        if strict
        else _loose_difference(got, want, ex.rtol, ex.atol, ex.outputs)
    )


def _loose_difference(
    got: Any, want: Any, rtol: float, atol: float, names: Sequence[str]
) -> str | Text | None:
    """Values only (a spec with ``contract=False`` or a custom contract)."""
    try:
        if isinstance(want, (torch.Tensor, np.ndarray)) or is_scipy_sparse(want):
            got = torch.as_tensor(dense(got)) if not isinstance(got, torch.Tensor) else got
            want = torch.as_tensor(dense(want)) if not isinstance(want, torch.Tensor) else want
            got = (
                got.to(want.dtype) if got.layout == torch.strided else got.to_dense().to(want.dtype)
            )
            want = want if want.layout == torch.strided else want.to_dense()
        return _difference(got, want, rtol, atol, "the output", names)
    except Exception as exc:  # noqa: BLE001
        return (
            f"{returned('the output', got, want)} (it could not be compared: {type(exc).__name__})"
        )


def contract_of(ex: Exercise, got: Any, want: Any) -> Problem | None:
    """The output contract's problem with ``got`` when ``ex`` has the default contract."""
    if ex.kind != "task" or ex.contract is not True:
        return None
    try:
        return contract_problem(got, want, names=ex.outputs)
    except Exception as exc:  # noqa: BLE001
        return (
            CONTAINER,
            f"{returned('the output', got, want)} (it could not be compared: {type(exc).__name__})",
        )
