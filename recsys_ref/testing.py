"""The one ``assert_close`` the tests share (float64 comparisons with a clear message)."""

from __future__ import annotations

import torch


def assert_close(
    actual, expected, *, rtol: float = 1e-7, atol: float = 1e-9, msg: str = ""
) -> None:
    """``torch.testing.assert_close`` after densifying sparse tensors; dtypes must agree."""

    def dense(x):
        if isinstance(x, torch.Tensor) and x.layout != torch.strided:
            return x.to_dense()
        return x

    torch.testing.assert_close(
        dense(actual),
        dense(expected),
        rtol=rtol,
        atol=atol,
        msg=(lambda m: f"{msg}\n{m}") if msg else None,
    )
