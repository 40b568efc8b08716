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
