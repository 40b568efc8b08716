"""Seeded generators shared by every track's cases: each case is a function of its seed alone.

Every ``make_cases(seed)`` draws from its own ``torch.Generator`` (``gen``), never from the global
RNG, so the same seed gives the same tensors in the learner's kernel, in pytest and in the grader.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ...data.encoding import field_offsets


def gen(seed: int) -> torch.Generator:
    """A fresh CPU generator seeded with ``seed``."""
    return torch.Generator().manual_seed(seed)


def normal(
    g: torch.Generator, *shape: int, scale: float = 1.0, dtype: torch.dtype | None = torch.float64
) -> Tensor:
    """Standard normal draws of ``shape`` from ``g`` times ``scale``; float64 unless ``dtype`` says
    otherwise (``None``: torch's default dtype)."""
    x = torch.randn(*shape, generator=g, dtype=dtype)  # shape
    return x if scale == 1.0 else x * scale


def uniform(g: torch.Generator, n: int, lo: float, hi: float) -> Tensor:
    """``n`` float64 draws uniform on [lo, hi)."""
    return lo + (hi - lo) * torch.rand(n, generator=g, dtype=torch.float64)  # (n,)


def f64(*values: float) -> Tensor:
    """The given values as a float64 vector."""
    return torch.tensor(values, dtype=torch.float64)


def global_idx(g: torch.Generator, B: int, dims: list[int]) -> Tensor:
    """``B`` label-encoded rows: a uniform code per field plus the field's offset Σ_{h<f} dims[h]."""
    codes = torch.stack([torch.randint(0, d, (B,), generator=g) for d in dims], dim=1)  # (B, F)
    return codes + field_offsets(dims)  # (B, F)


# Edges by rule (issue 21): each helper below draws one edge that a class of wrong answers needs in
# order to fail; a task declares the rules its cases realise in ``Exercise.edges`` and
# tests/test_edges.py checks every declaration on seeds 0..19.

UNUSED_LAST_INDEX = "unused_last_index"  # (index, size): a size inferred by max()+1 comes out short
CONFIDENTLY_WRONG = "confidently_wrong"  # (y, p): p = 1 with y = 0 and p = 0 with y = 1
EMPTY_LAST_BUCKET = "empty_last_bucket"  # (values, bound): no value at or above the last edge
VARIED_LR = "varied_lr"  # (lr,): two learning rates across the cases
TWO_OPTIMIZERS = "two_optimizers"  # (optimizer,): two optimizers across the cases, one with state
TIES = "ties"  # (scores,): two equal values in one row
BATCH_OF_ONE = "batch_of_one"  # (arg:dim, ...): a case where that dimension is 1
SMALLEST = "smallest"  # (arg:dim=min, ...): each size at its smallest legal value in some case
STATEFUL_OPTIMIZERS = (
    "adagrad",
)  # the names ``train_bpr.run_step`` builds with per-parameter state


def unused_last(index: Tensor, size: int) -> Tensor:
    """``index`` with every entry equal to the largest legal index ``size − 1`` moved to ``size − 2``,
    so a size inferred from the data (``max() + 1``, ``bincount`` without ``minlength``) is short by
    one (needs ``size ≥ 2``)."""
    if size < 2:
        raise ValueError(f"unused_last needs size ≥ 2, got {size}")
    return torch.where(index == size - 1, torch.full_like(index, size - 2), index)  # index's shape


def confidently_wrong(y: Tensor, p: Tensor) -> tuple[Tensor, Tensor]:
    """Copies of labels ``y`` and probabilities ``p`` whose first two events are predicted with
    certainty and wrongly: p = 1 with y = 0, then p = 0 with y = 1 (needs two events), so only the
    stated clip bound gives the stated loss (an unclipped log is inf, a 1e-7 clip is 16.1, not 34.5)."""
    if y.numel() < 2:
        raise ValueError(f"confidently_wrong needs two events, got {y.numel()}")
    y, p = y.clone(), p.clone()  # (N,), (N,)
    p[0], y[0], p[1], y[1] = 1.0, 0.0, 0.0, 1.0
    return y, p


def empty_last_bucket(t: Tensor, edges: Tensor) -> Tensor:
    """``t`` with every value at or above the last edge moved to the middle of the last inner bucket
    (or one below a single edge): the last bucket is empty, so a bucket count taken from the data
    comes out short."""
    last = float(edges[-1])
    inside = (last + float(edges[-2])) / 2 if edges.numel() > 1 else last - 1.0
    return torch.where(t >= last, torch.full_like(t, inside), t)  # t's shape


def tie_at(scores: Tensor, row: int, k: int) -> Tensor:
    """A copy of the 2-D ``scores`` whose row ``row`` has its (k+1)-th largest value set equal to its
    k-th largest: a tie across the cut of a top-k (needs k < the row's length)."""
    out = scores.clone()  # (U, M)
    order = out[row].argsort(descending=True)  # (M,)
    out[row, order[k]] = out[row, order[k - 1]]
    return out
