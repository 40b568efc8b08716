"""Input validation shared by the reference package.

Every public function checks its inputs with these helpers, so a learner who
passes the wrong thing reads one sentence that says what was expected, not a
traceback from deep inside torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def expect_tensor(
    name: str,
    x: object,
    *,
    ndim: int | Sequence[int] | None = None,
    floating: bool | None = None,
    integer: bool | None = None,
    allow_sparse: bool = False,
) -> Tensor:
    """Raise ``TypeError``/``ValueError`` with a plain message unless ``x`` fits."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.layout != torch.strided and not allow_sparse:
        raise TypeError(
            f"{name} must be a dense tensor, got layout {x.layout}; call .to_dense() first"
        )
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.dim() not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {want}, got shape {tuple(x.shape)}")
    if floating and not x.is_floating_point():
        raise TypeError(f"{name} must have a floating dtype (float32 or float64), got {x.dtype}")
    if integer and (x.is_floating_point() or x.is_complex() or x.dtype == torch.bool):
        raise TypeError(f"{name} must have an integer dtype (e.g. torch.long), got {x.dtype}")
    return x


def expect_same_size(name_a: str, a: int, name_b: str, b: int) -> None:
    """Raise ``ValueError`` when two sizes that must agree differ."""
    if a != b:
        raise ValueError(f"{name_a} ({a}) must equal {name_b} ({b})")


def expect_positive_int(name: str, value: object) -> int:
    """Raise unless ``value`` is an int > 0 (bools excluded)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value
