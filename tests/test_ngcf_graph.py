"""Eq. (8): the bipartite adjacency and the normalised Laplacian, worked by hand on a 2×3 graph."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recsys_ref.graph import (
    bipartite_adjacency,
    degrees,
    laplacian_from_interactions,
    normalized_laplacian,
    sparse_memory_bytes,
    to_csr,
)
from recsys_ref.testing import assert_close

# users u0, u1; items i0, i1, i2 (nodes 2, 3, 4):  u0–i0, u0–i1, u1–i1, u1–i2
R23 = torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]], dtype=torch.float64)


def dense(kind: str, R=R23) -> torch.Tensor:
    return normalized_laplacian(bipartite_adjacency(R), kind).to_dense()


def test_adjacency_blocks() -> None:
    A = bipartite_adjacency(R23).to_dense()
    assert A.shape == (5, 5)
    assert_close(A[:2, 2:], R23)
    assert_close(A[2:, :2], R23.T)
    assert A[:2, :2].abs().sum() == 0 and A[2:, 2:].abs().sum() == 0
    assert_close(
        degrees(bipartite_adjacency(R23)),
        torch.tensor([2.0, 2.0, 1.0, 2.0, 1.0], dtype=torch.float64),
    )


def test_adjacency_accepts_scipy_numpy_and_dense() -> None:
    want = bipartite_adjacency(R23).to_dense()
    for R in (sp.csr_matrix(R23.numpy()), R23.numpy(), R23.to_sparse(), R23.to_sparse_csr()):
        assert_close(bipartite_adjacency(R).to_dense(), want)


def test_sym_entries_by_hand() -> None:
    # |N_u0| = |N_u1| = 2, |N_i0| = |N_i2| = 1, |N_i1| = 2  →  p_ui = 1/sqrt(|N_u||N_i|)
    L = dense("sym")
    want = torch.zeros(5, 5, dtype=torch.float64)
    for (u, i), p in {
        (0, 2): 1 / math.sqrt(2 * 1),
        (0, 3): 1 / math.sqrt(2 * 2),
        (1, 3): 1 / math.sqrt(2 * 2),
        (1, 4): 1 / math.sqrt(2 * 1),
    }.items():
        want[u, i] = want[i, u] = p
    assert_close(L, want)
    assert_close(L, L.T)


def test_row_variant_by_hand_is_not_symmetric() -> None:
    L = dense("row")  # D^-1 A: each non-isolated row is a mean over the neighbours
    assert L[0, 2] == 0.5 and L[0, 3] == 0.5  # u0 has 2 neighbours
    assert L[2, 0] == 1.0  # i0 has 1 neighbour
    assert L[3, 0] == 0.5 and L[3, 1] == 0.5
    assert_close(L.sum(1), torch.ones(5, dtype=torch.float64))
    assert not torch.allclose(L, L.T)


def test_row_self_variant_by_hand() -> None:
    L = dense("row_self")  # D̃^-1 (A + I), D̃ = D + 1
    assert_close(L[0, [0, 2, 3]], torch.full((3,), 1 / 3, dtype=torch.float64))
    assert_close(L[2, [0, 2]], torch.full((2,), 1 / 2, dtype=torch.float64))
    assert_close(L.sum(1), torch.ones(5, dtype=torch.float64))
    assert (L.diagonal() > 0).all()
    assert (dense("sym").diagonal() == 0).all() and (dense("row").diagonal() == 0).all()


def test_isolated_nodes_give_zero_rows_not_nan() -> None:
    R = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)  # u1, i1, i2 isolated
    for kind in ("sym", "row"):
        L = dense(kind, R)
        assert torch.isfinite(L).all()
        assert L[[1, 3, 4]].abs().sum() == 0 and L[:, [1, 3, 4]].abs().sum() == 0
    L = dense("row_self", R)
    assert torch.isfinite(L).all()
    assert L[1, 1] == 1.0  # only its self-loop


def test_to_csr_is_sparse_and_equal() -> None:
    rng = np.random.default_rng(0)
    R = sp.random(30, 40, density=0.1, random_state=rng, format="csr")
    R.data[:] = 1
    L = laplacian_from_interactions(R, "sym", dtype=torch.float64)
    assert L.layout == torch.sparse_csr
    assert L._nnz() == 2 * R.nnz
    want = normalized_laplacian(bipartite_adjacency(R), "sym")
    assert_close(L.to_dense(), want.to_dense())
    assert sparse_memory_bytes(L) < 70 * 70 * 8
    assert to_csr(want).layout == torch.sparse_csr


def test_bad_inputs_say_what_was_expected() -> None:
    with pytest.raises(ValueError, match="square"):
        normalized_laplacian(torch.ones(2, 3).to_sparse())
    with pytest.raises(ValueError, match="kind must be one of"):
        normalized_laplacian(bipartite_adjacency(R23), "col")
    with pytest.raises(ValueError, match="2-D"):
        bipartite_adjacency(torch.ones(3))
    with pytest.raises(TypeError, match="torch.Tensor"):
        bipartite_adjacency([[1, 0]])
    with pytest.raises(TypeError, match="dense N×N"):
        to_csr(torch.ones(3, 3))
