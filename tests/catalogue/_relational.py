"""Wrong variants of every task whose outputs stand in a plain relation to the
reference's (class 4 of issue 21): a sign flipped, a constant factor, an off-by-one,
a transpose, an extra reduction, a size hard-coded from the first case.

They are written once for all tasks, as the transformation a learner's slip
applies to the right result, so that every task gets at least four, each with
the relational name (``recsys_ref.course.engine.relations``) its check must report —
or a spec misconception, when one names the same slip more precisely.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from recsys_ref.course.engine import relations
from recsys_ref.course.engine.spec import Exercise
from tests.catalogue import Variant


def _main(out: Any) -> Any:
    """Where the slip lands: None for a tensor output, else the first tensor element (or key)."""
    if isinstance(out, torch.Tensor):
        return None
    if isinstance(out, dict):
        for k, o in out.items():
            if isinstance(o, torch.Tensor) and o.is_floating_point():
                return k
    if isinstance(out, (tuple, list)):
        for i, o in enumerate(out):
            if isinstance(o, torch.Tensor):
                return i
    return -1


def _apply(out: Any, where: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    if where is None:
        return fn(out)
    if isinstance(out, dict):
        return {**out, where: fn(out[where])}
    parts = list(out)
    parts[where] = fn(parts[where])
    return type(out)(parts)


def _element(out: Any, where: Any) -> torch.Tensor:
    return out if where is None else out[where]


def variants(ex: Exercise) -> list[Variant]:
    ref = ex.reference
    cases = [ex.make_cases(s) for s in (0, 1, 2)]
    first = [ref(*c[0].args, **c[0].kwargs) for c in cases]
    where = _main(first[0])
    if where == -1:
        return []
    main = _element(first[0], where)
    floating = main.is_floating_point()
    found: list[Variant] = []

    def wrap(name: str, fn: Callable[[torch.Tensor], torch.Tensor], expect: str) -> None:
        def wrong(*args: Any, **kwargs: Any) -> Any:
            return _apply(ref(*args, **kwargs), where, fn)

        found.append(Variant(f"relational: {name}", wrong, expect))

    if floating and bool(main.to_dense().ne(0).any()):
        wrap("sign flipped", lambda t: -t, relations.SIGN)
        wrap("counted twice", lambda t: t * 2, relations.SCALED)
        wrap("an extra ½", lambda t: t * 0.5, relations.SCALED)
    if not floating:
        wrap("indices counted from 1", lambda t: t + 1, relations.OFFSET)
        wrap("one less everywhere", lambda t: t - 1, relations.OFFSET)
    dense = main.layout == torch.strided
    if dense and main.dim() == 2 and main.shape[0] != main.shape[1]:
        wrap("rows and columns swapped", lambda t: t.T.contiguous(), relations.TRANSPOSE)
    if dense and main.dim() >= 1 and floating and main.shape[-1] > 1:
        wrap("summed over the last axis", lambda t: t.sum(-1), relations.REDUCTION_EXTRA)
    sizes = {tuple(_element(f, where).shape) for f in first}
    if len(sizes) == 1 and main.dim() >= 1:
        n0 = main.shape[0]
        later = [
            c
            for cs in cases
            for c in cs[1:]
            if tuple(_element(ref(*c.args, **c.kwargs), where).shape)[:1] != (n0,)
        ]
        if later:

            def hard_coded(*args: Any, **kwargs: Any) -> Any:
                out = ref(*args, **kwargs)
                n = _element(out, where).shape[0]
                if n != n0:  # `for i in range(n0)` written for the first example
                    raise IndexError(f"index {min(n, n0)} is out of bounds for dimension 0")
                return out

            found.append(
                Variant("relational: size of the first case", hard_coded, relations.HARD_CODED)
            )
    return found
