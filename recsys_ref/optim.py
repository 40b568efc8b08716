"""Adagrad (Duchi et al., JMLR 2011) and SGD updating only the rows a sparse gradient holds.

Paper → code:  G_t = Σ_{τ≤t} g_τ² (per entry) → state "sum";  η → lr;  ε → eps.

    Adagrad:  G ← G + g²;   θ ← θ − η / (1 + (t−1)·lr_decay) · g / (√G + ε)
    SGD:      θ ← θ − η g

The same maths as ``torch.optim.Adagrad`` and ``torch.optim.SGD`` (tested equal to them), but a
sparse gradient is used row by row: its distinct rows are gathered, updated and written back
(``index_select`` / ``index_copy_`` / ``index_add_``), with no ``coalesce`` when its rows are
already distinct and sorted (as ``row_grad.as_gradient`` builds them: one row per distinct
feature; checked in O(rows), since autograd drops the tensor's "coalesced" flag when it stores a
sparse ``.grad``).  A gradient with repeated rows (``nn.Embedding(sparse=True)``'s, one row per
look-up) is coalesced first, as torch does.  Dense gradients get torch's dense update.

Both skip torch's ``torch._disable_dynamo`` wrappers of ``add_param_group`` and ``zero_grad``
(the undecorated functions, ``__wrapped__``), whose first call imports ``torch._dynamo``
(1.5-5 s) though nothing here is compiled: a check that builds an optimizer (ngcf_9's step
through ``train_bpr.run_step``) pays no compiler import.  Eager behaviour is the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor


def _rows_and_values(grad: Tensor) -> tuple[Tensor, Tensor]:
    """(rows (U,), values (U, …)) of a sparse COO gradient, coalescing only when it is not."""
    if grad.sparse_dim() != 1:
        raise ValueError(
            f"a sparse gradient must be sparse over rows only (sparse_dim 1, as nn.Embedding's "
            f"is), got sparse_dim {grad.sparse_dim()}"
        )
    rows = grad._indices()[0]  # (nnz,)
    if not grad.is_coalesced() and not bool((rows[1:] > rows[:-1]).all()):
        grad = grad.coalesce()  # rows repeated or out of order: sum them, as torch does
        rows = grad._indices()[0]
    return rows, grad._values()


def _undecorated(fn: Any) -> Any:
    return getattr(fn, "__wrapped__", fn)


class _EagerOptimizer(torch.optim.Optimizer):
    """``torch.optim.Optimizer`` whose ``add_param_group`` and ``zero_grad`` import no compiler."""

    def add_param_group(self, param_group: dict) -> None:
        _undecorated(torch.optim.Optimizer.add_param_group)(self, param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        _undecorated(torch.optim.Optimizer.zero_grad)(self, set_to_none)


class RowAdagrad(_EagerOptimizer):
    """``torch.optim.Adagrad`` (lr, lr_decay, eps, initial_accumulator_value; weight_decay for
    dense gradients only, as torch) with a row-wise update for sparse gradients."""

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        for name, v in (("lr", lr), ("lr_decay", lr_decay), ("weight_decay", weight_decay),
                        ("initial_accumulator_value", initial_accumulator_value), ("eps", eps)):  # fmt: skip
            if not v >= 0.0:
                raise ValueError(f"{name} must be ≥ 0, got {v}")
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = 0
                state["sum"] = torch.full_like(
                    p, group["initial_accumulator_value"], memory_format=torch.preserve_format
                )

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, eps, decay, wd = group["lr"], group["eps"], group["lr_decay"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                state["step"] += 1
                clr = lr / (1 + (state["step"] - 1) * decay)
                G, grad = state["sum"], p.grad
                if grad.is_sparse:
                    if wd != 0:
                        raise RuntimeError("weight_decay does not work with sparse gradients")
                    rows, g = _rows_and_values(grad)  # (U,), (U, …)  distinct rows
                    if p.dim() == 2 and p.shape[1] == 1:  # (n, 1) as (n,): a row is one number,
                        p, G, g = p.view(-1), G.view(-1), g.reshape(-1)  # gathered ~10× faster
                    s = G.index_select(0, rows).addcmul_(g, g)  # (U, …)  G + g² on those rows
                    G.index_copy_(0, rows, s)
                    std = s.sqrt_().add_(eps)  # (U, …)  s is not needed after the copy
                    theta = p.index_select(0, rows).addcdiv_(g, std, value=-clr)  # (U, …)
                    p.index_copy_(0, rows, theta)  # (index_add_ goes row by row: ~10× slower)
                else:
                    if wd != 0:
                        grad = grad.add(p, alpha=wd)
                    G.addcmul_(grad, grad, value=1)
                    p.addcdiv_(grad, G.sqrt().add_(eps), value=-clr)
        return loss


class RowSGD(_EagerOptimizer):
    """``torch.optim.SGD`` without momentum: θ ← θ − η g, a sparse g added row by row.

    Duplicate rows of an uncoalesced gradient are summed by ``index_add_`` itself, so no
    coalesce is needed at all."""

    def __init__(self, params: Iterable, lr: float = 1e-3) -> None:
        if not lr >= 0.0:
            raise ValueError(f"lr must be ≥ 0, got {lr}")
        super().__init__(params, dict(lr=lr))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if grad.is_sparse:
                    if grad.sparse_dim() != 1:
                        raise ValueError("a sparse gradient must be sparse over rows only")
                    p.index_add_(0, grad._indices()[0], grad._values(), alpha=-group["lr"])
                else:
                    p.add_(grad, alpha=-group["lr"])
        return loss
