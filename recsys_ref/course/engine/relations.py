"""Relational diagnoses: what a wrong output is, measured against the reference's output.

Applied by ``evaluate`` when no named misconception explains an output: the
relation between the learner's output and the expected one names a likely
cause for mistakes no catalogue foresaw — a transpose or permutation of axes,
a missing, extra or wrong-axis reduction (by shape algebra against the
reference's output and the inputs' shapes), an exact multiple (−1, 2, ½, ln 2,
1/ln 2, d, √d …) or a constant offset, all zeros, and, across cases, a size
hard-coded from the first case.  Each sentence says what was observed, then
the likely cause; it never shows an expected value or an input's value (only
shapes, case names and recognised constants).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .spec import Case

# the names ``Result.misconception`` takes for a relational diagnosis
TRANSPOSE, PERMUTED, REDUCTION_MISSING, REDUCTION_EXTRA, REDUCTION_AXIS = (
    "transposed",
    "permuted_axes",
    "missing_reduction",
    "extra_reduction",
    "reduction_axis",
)
SIGN, SCALED, OFFSET, ZEROS, HARD_CODED, NOT_WRITTEN, STEP_SCALED = (
    "sign_flip",
    "scaled",
    "offset",
    "all_zeros",
    "hard_coded_size",
    "branch_not_written",
    "step_scaled",
)
RELATIONS = (
    TRANSPOSE,
    PERMUTED,
    REDUCTION_MISSING,
    REDUCTION_EXTRA,
    REDUCTION_AXIS,
    SIGN,
    SCALED,
    OFFSET,
    ZEROS,
    HARD_CODED,
    NOT_WRITTEN,
    STEP_SCALED,
)


def _array(x: Any) -> np.ndarray | None:
    """A dense float64 array of a tensor, ndarray, scipy.sparse matrix or real number; else None."""
    try:
        if isinstance(x, torch.Tensor):
            t = x.detach().cpu()
            if t.layout != torch.strided:
                t = t.to_dense()
            if t.is_complex():
                return None
            return t.to(torch.float64).numpy()
        if hasattr(x, "toarray") and hasattr(x, "nnz"):
            return np.asarray(x.toarray(), dtype=np.float64)
        if isinstance(x, np.ndarray) and x.dtype.kind in "biuf":
            return x.astype(np.float64)
        if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool):
            return np.asarray(float(x))
    except Exception:  # noqa: BLE001 - an object that is not an array has no relation
        return None
    return None


def _close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    return (
        a.shape == b.shape
        and a.size > 0
        and bool(np.all(np.isfinite(a)))
        and bool(np.allclose(a, b, rtol=max(rtol, 1e-9), atol=max(atol, 1e-12)))
    )


def _shapes(case: Case) -> list[tuple[str, tuple[int, ...]]]:
    """``(name, shape)`` of the array inputs of ``case`` (names ``args[i]`` unless keyword)."""
    out = []
    items = [(f"input {i + 1}", a) for i, a in enumerate(case.args)] + [
        (f"`{k}`", v) for k, v in case.kwargs.items()
    ]
    for name, a in items:
        shape = getattr(a, "shape", None)
        if shape is None and isinstance(a, (list, tuple)) and a:
            inner = a[0]
            shape = (len(a), len(inner)) if isinstance(inner, (list, tuple)) else (len(a),)
        if shape is not None and not isinstance(a, (str, bytes)):
            try:
                out.append((name, tuple(int(s) for s in shape)))
            except TypeError:
                continue
    return out


def _dims(case: Case) -> set[int]:
    """Every axis length of the inputs of ``case`` above 1 (candidates for d)."""
    return {s for _, shape in _shapes(case) for s in shape if s > 1}


def _constant_name(c: float, dims: set[int]) -> tuple[str, str] | None:
    """``(name, likely cause)`` of a recognisable factor ``c``, else None."""
    named: list[tuple[float, str, str]] = [
        (-1.0, "−1", "a sign flipped: check the order of a subtraction or a missing minus"),
        (2.0, "2", "a missing ½, or a term counted twice (i, j and j, i)"),
        (0.5, "½", "an extra ½, or a term counted once where the sum runs over both orders"),
        (math.log(2), "ln 2", "a logarithm in another base (ln where log₂ is meant)"),
        (1 / math.log(2), "1/ln 2", "a logarithm in another base (log₂ where ln is meant)"),
        (-2.0, "−2", "a sign flipped and a missing ½"),
        (-0.5, "−½", "a sign flipped and an extra ½"),
    ]
    for d in sorted(dims):
        named += [
            (float(d), f"{d} (an axis length of the inputs)", "a sum where the task averages"),
            (1 / d, f"1/{d} (one over an axis length of the inputs)", "a mean where the task sums"),
            (math.sqrt(d), f"√{d}", "a scaling by √d applied the wrong way or not at all"),
            (1 / math.sqrt(d), f"1/√{d}", "an extra scaling by 1/√d"),
        ]
    for value, name, cause in named:
        if math.isclose(c, value, rel_tol=1e-6):
            return name, cause
    return None


def _reduced(x: np.ndarray, axis: int) -> list[tuple[str, np.ndarray]]:
    return [("summed", x.sum(axis=axis)), ("averaged", x.mean(axis=axis))]


def relate(
    got: Any,
    want: Any,
    case: Case,
    rtol: float,
    atol: float,
    what: str = "your output",
) -> tuple[str, str] | None:
    """``(relation name, sentence)`` when ``got`` is a recognisable function of ``want``."""
    g, w = _array(got), _array(want)
    if g is None or w is None:
        return None
    if g.shape != w.shape:
        return _shape_relation(g, w, case, rtol, atol, what)
    if g.size == 0 or not np.all(np.isfinite(g)):
        return None
    if g.ndim == 2 and g.shape[0] == g.shape[1] and g.shape[0] > 1 and _close(g, w.T, rtol, atol):
        return TRANSPOSE, (
            f"{what} is the transpose of the expected matrix: "
            "rows and columns are swapped (a `.T`, or the operands of a product in the wrong order)"
        )
    if not np.any(g) and np.any(w):
        return ZEROS, (
            f"{what} is all zeros where the expected one is not: a term that is never added, "
            "or a result overwritten by a fresh torch.zeros"
        )
    ww = float(np.dot(w.reshape(-1), w.reshape(-1)))
    if ww > 0:
        c = float(np.dot(g.reshape(-1), w.reshape(-1))) / ww
        if not math.isclose(c, 1.0, rel_tol=1e-6) and _close(g, c * w, rtol, atol):
            named = _constant_name(c, _dims(case))
            if named is not None and named[0] == "−1":
                return SIGN, (f"{what} is exactly −1 × the expected one: {named[1]}")
            if named is not None:
                return SCALED, f"{what} is exactly {named[0]} × the expected one: {named[1]}"
            return SCALED, (
                f"{what} is the expected one times a constant factor ({c:.4g}): "
                "a normalisation, a ½ or a count applied the wrong number of times"
            )
    delta = g - w
    off = float(np.mean(delta))
    if off != 0 and g.size > 1 and _close(g, w + off, rtol, atol):
        if math.isclose(off, round(off), abs_tol=1e-9) and off != 0:
            cause = "an off-by-one: a + 1 or − 1 too many, or indices counted from 1"
            return OFFSET, f"{what} is the expected one plus {round(off):+d} everywhere: {cause}"
        return OFFSET, (
            f"{what} is the expected one plus the same constant everywhere: "
            "a bias or constant term added or dropped"
        )
    return None


def _shape_relation(
    g: np.ndarray, w: np.ndarray, case: Case, rtol: float, atol: float, what: str
) -> tuple[str, str] | None:
    gs, ws = tuple(g.shape), tuple(w.shape)
    if g.ndim == w.ndim and sorted(gs) == sorted(ws):
        if g.ndim == 2 and _close(g, w.T, rtol, atol):
            return TRANSPOSE, (
                f"{what} has shape {gs} and is the transpose of the expected {ws}: rows and "
                "columns are swapped (a `.T`, or the operands of a product in the wrong order)"
            )
        import itertools

        for perm in itertools.permutations(range(w.ndim)):
            if perm != tuple(range(w.ndim)) and _close(g, np.transpose(w, perm), rtol, atol):
                return PERMUTED, (
                    f"{what} has shape {gs}, the expected axes in the order {perm} (expected "
                    f"{ws}): check the order of a permute, stack or einsum output"
                )
    if g.ndim == w.ndim + 1:  # one axis too many: a missing reduction?
        for axis in range(g.ndim):
            for how, r in _reduced(g, axis):
                if _close(r, w, rtol, atol):
                    verb = "sum" if how == "summed" else "mean"
                    return REDUCTION_MISSING, (
                        f"{what} has shape {gs} where {ws} is expected, and its {verb} over "
                        f"axis {axis} is the expected output: a missing reduction "
                        f"(`.{verb}(dim={axis})`)"
                    )
    if g.ndim + 1 == w.ndim:  # one axis too few: an extra reduction?
        for axis in range(w.ndim):
            for how, r in _reduced(w, axis):
                if _close(g, r, rtol, atol):
                    return REDUCTION_EXTRA, (
                        f"{what} has shape {gs} where {ws} is expected: it is the expected "
                        f"output {how} over axis {axis}, an axis the task keeps (a `.sum()`/"
                        "`.mean()` too many, or a missing keepdim)"
                    )
    if g.ndim >= 1 and w.ndim >= 0 and g.size != w.size:
        wrong_axis = _wrong_axis(gs, ws, case)
        if wrong_axis is not None:
            return REDUCTION_AXIS, wrong_axis
    if g.ndim == 0 and w.ndim >= 1:
        return REDUCTION_EXTRA, (
            f"{what} is one number where shape {ws} is expected: a reduction (a `.sum()`, "
            "`.mean()` or `.item()`) that the task does not ask for"
        )
    return None


def _wrong_axis(gs: tuple[int, ...], ws: tuple[int, ...], case: Case) -> str | None:
    """An input whose shape reduced over one axis gives the expected shape and over
    another gives the learner's: a reduction over the wrong axis."""
    for name, shape in _shapes(case):
        keep = [a for a in range(len(shape)) if shape[:a] + shape[a + 1 :] == ws]
        took = [a for a in range(len(shape)) if shape[:a] + shape[a + 1 :] == gs]
        if keep and took and set(took) - set(keep):
            a, b = sorted(set(took) - set(keep))[0], keep[0]
            return (
                f"your output has shape {gs} where {ws} is expected: that is {name} "
                f"(shape {shape}) reduced over axis {a}; the task reduces over axis {b} "
                "(check the dim= of a sum, mean, softmax or norm)"
            )
    return None


def shapes_phrase(case: Case) -> str:
    """ "its inputs have shapes (7, 3) and (7,)" (shapes only, never values)."""
    shapes = [s for _, s in _shapes(case)]
    if not shapes:
        return ""
    listed = ", ".join(str(s) for s in shapes)
    return f"its inputs have shape{'s' if len(shapes) > 1 else ''} {listed}"


def hard_coded(cases: Sequence[Case], later: int, earlier: int) -> str | None:
    """What follows "raised X on the case 'Y'" (or "has shape …") when the function
    ran on case ``earlier`` and inputs of case ``later`` have other sizes: a size
    hard-coded from a case it passed.  None when the sizes are the same."""
    now = [s for _, s in _shapes(cases[later])]
    before = [s for _, s in _shapes(cases[earlier])]
    if not now or now == before:
        return None
    new = sorted({d for s in now for d in s} - {d for s in before for d in s})
    sizes = f" (sizes {', '.join(map(str, new))} appear only there)" if new else ""
    a, b = cases[later].name, cases[earlier].name
    return (
        f" after it ran on the case '{b}': look for a hard-coded size; on '{a}' "
        f"{shapes_phrase(cases[later])}{sizes}, on '{b}' {shapes_phrase(cases[earlier])}"
    )


OPTIMIZER_ADVICE = (
    "a learning rate or sign of your own instead of the optimizer's (update through "
    "optimizer.step(), which uses the lr it was built with)"
)
STEP_ADVICE = "look at the learning rate and the sign of your step, θ − η ∂L/∂θ with the η given"


def relate_step(
    got: Any,
    want: Any,
    before: Any,
    case: Case,
    rtol: float,
    atol: float,
    what: str,
    advice: str = OPTIMIZER_ADVICE,
) -> tuple[str, str] | None:
    """For a training step (an input state in, the updated state out): the learner's
    update ``got − before`` an exact multiple of the expected ``want − before``."""
    g, w, b = _array(got), _array(want), _array(before)
    if g is None or w is None or b is None or not (g.shape == w.shape == b.shape):
        return None
    rel = relate(g - b, w - b, case, rtol, atol, what)
    if rel is None or rel[0] not in (SCALED, SIGN):
        return None
    ratio = float(
        np.dot((g - b).ravel(), (w - b).ravel()) / np.dot((w - b).ravel(), (w - b).ravel())
    )
    return STEP_SCALED, (
        f"the update of {what} is exactly {ratio:.3g} × the expected step: {advice}"
    )
