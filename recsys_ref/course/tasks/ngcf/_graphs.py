"""Random interaction graphs for the NGCF track's cases (drawn from a seeded generator)."""

from __future__ import annotations

import torch
from torch import Tensor

from .._generators import gen


def random_R(
    g: torch.Generator,
    n_users: int,
    n_items: int,
    density: float,
    isolated: bool = False,
    last_isolated: bool = False,
) -> Tensor:
    """Binary interactions (n_users, n_items) as a coalesced float64 sparse COO tensor.

    ``isolated``: the last user and the first item have no interaction;
    ``last_isolated``: the last item (node N−1) has none, so a shape inferred
    from the indices is one short; every other user and item has one.
    """
    R = (torch.rand(n_users, n_items, generator=g) < density).double()  # (U, M)
    if last_isolated:
        R[torch.arange(n_users), torch.randint(0, n_items - 1, (n_users,), generator=g)] = 1.0
        R[torch.randint(0, n_users, (n_items,), generator=g), torch.arange(n_items)] = 1.0
        R[:, -1] = 0.0  # the last item, node N−1, is isolated
    elif isolated:
        R[-1] = 0.0  # an isolated user
        R[:, 0] = 0.0  # an isolated item
    else:  # every user and item has at least one neighbour
        R[torch.arange(n_users), torch.randint(0, n_items, (n_users,), generator=g)] = 1.0
        R[torch.randint(0, n_users, (n_items,), generator=g), torch.arange(n_items)] = 1.0
    return R.to_sparse().coalesce()


def sparse_square(idx_rows: Tensor, idx_cols: Tensor, vals: Tensor, n: int) -> Tensor:
    """The coalesced (n, n) sparse COO matrix with ``vals`` at (idx_rows, idx_cols)."""
    return torch.sparse_coo_tensor(
        torch.stack([idx_rows, idx_cols]), vals, (n, n), check_invariants=False
    ).coalesce()


def guard_interactions(seed: int) -> Tensor:
    """R (1,500 users × 1,200 items, ≤ 6,000 interactions, values 1): the guards' graph."""
    g = gen(seed + 1)
    n_u, n_i, nnz = 1500, 1200, 6000
    idx = torch.stack(
        [torch.randint(0, n_u, (nnz,), generator=g), torch.randint(0, n_i, (nnz,), generator=g)]
    )
    R = torch.sparse_coo_tensor(
        idx, torch.ones(nnz, dtype=torch.float64), (n_u, n_i), check_invariants=False
    ).coalesce()
    return torch.sparse_coo_tensor(  # duplicates summed by coalesce, set back to 1
        R.indices(), torch.ones(R._nnz(), dtype=torch.float64), R.shape, check_invariants=False
    ).coalesce()
