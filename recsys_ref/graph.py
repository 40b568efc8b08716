"""The user–item graph of NGCF (Wang et al., SIGIR 2019, arXiv 1905.08108 v2, eq. 8).

Paper → code:  R ∈ {0,1}^{n_users×n_items} → R;  A = [[0, R], [Rᵀ, 0]] → A (N, N), N = n_users + n_items;
D_tt = |N_t| → deg (N,);  L = D^{-1/2} A D^{-1/2} → L (kind="sym").

Everything stays sparse: an N×N matrix is never densified (Gowalla has N = 70,839,
a dense float32 A would take 20 GB).  Variants of L selectable by name:

- ``"sym"``      D^{-1/2} A D^{-1/2}  — the paper, eq. 8; L_ui = 1/sqrt(|N_u||N_i|)
- ``"row"``      D^{-1} A             — row normalisation (mean of the neighbours)
- ``"row_self"`` D̃^{-1} (A + I), D̃ = D + I — what the official NGCF code feeds its layers

A node with no neighbours (degree 0) gets an all-zero row and column, never NaN/inf.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from ._checks import expect_tensor

KINDS = ("sym", "row", "row_self")


def as_sparse_coo(R: object, name: str = "R") -> Tensor:
    """R as a coalesced float torch sparse COO tensor (n_users, n_items).

    Accepts a torch tensor (dense, COO or CSR), a scipy.sparse matrix or a numpy array.
    """
    if isinstance(R, np.ndarray):
        R = torch.from_numpy(R)
    if sp.issparse(R):
        coo = sp.coo_matrix(R)
        idx = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))  # (2, nnz)
        vals = torch.from_numpy(
            np.asarray(coo.data, dtype=np.float64 if coo.dtype == np.float64 else np.float32)
        )
        return torch.sparse_coo_tensor(idx, vals, coo.shape, check_invariants=False).coalesce()
    T = expect_tensor(name, R, ndim=2, allow_sparse=True)  # R itself, typed
    if T.layout == torch.strided:
        T = T.to_sparse()
    elif T.layout != torch.sparse_coo:
        T = T.to_sparse_coo()
    if not T.is_floating_point():
        T = T.float()
    return T.coalesce()


def bipartite_adjacency(R: object) -> Tensor:
    """Eq. (8)'s A = [[0, R], [Rᵀ, 0]] as a sparse COO tensor (N, N), N = n_users + n_items.

    R (n_users, n_items): interactions, any form ``as_sparse_coo`` accepts.
    Users are nodes 0..n_users-1, item i is node n_users + i.
    """
    R = as_sparse_coo(R)
    n_users, n_items = R.shape
    N = n_users + n_items
    u, i = R.indices()  # (nnz,), (nnz,)
    v = R.values()  # (nnz,)
    rows = torch.cat([u, i + n_users])  # (2 nnz,)
    cols = torch.cat([i + n_users, u])  # (2 nnz,)
    return torch.sparse_coo_tensor(
        torch.stack([rows, cols]), torch.cat([v, v]), (N, N), check_invariants=False
    ).coalesce()


def degrees(A: Tensor) -> Tensor:
    """D_tt = |N_t|: row sums of A (N,), dense, A's dtype."""
    expect_tensor("A", A, ndim=2, allow_sparse=True)
    A = A.coalesce() if A.layout == torch.sparse_coo else A.to_sparse_coo().coalesce()
    deg = torch.zeros(A.shape[0], dtype=A.dtype)  # (N,)
    return deg.index_add_(0, A.indices()[0], A.values())


def _inv_pow(deg: Tensor, p: float) -> Tensor:
    out = deg.pow(-p)  # (N,)
    out[deg == 0] = 0.0  # isolated node: no neighbours, no message (instead of inf)
    return out


def normalized_laplacian(A: Tensor, kind: str = "sym") -> Tensor:
    """The normalised adjacency ("Laplacian") of eq. (8) as a coalesced sparse COO tensor (N, N).

    kind: ``"sym"`` D^{-1/2} A D^{-1/2} (paper), ``"row"`` D^{-1} A, ``"row_self"`` D̃^{-1}(A + I)
    (official code).  A (N, N) sparse or dense, square.
    """
    expect_tensor("A", A, ndim=2, allow_sparse=True)
    if A.shape[0] != A.shape[1]:
        raise ValueError(
            f"A must be square (N, N), got shape {tuple(A.shape)}; build it with bipartite_adjacency(R)"
        )
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    A = A.to_sparse() if A.layout == torch.strided else A
    A = A.coalesce() if A.layout == torch.sparse_coo else A.to_sparse_coo().coalesce()
    if not A.is_floating_point():
        A = A.float()
    N = A.shape[0]
    if kind == "row_self":
        eye = torch.arange(N)
        idx = torch.cat([A.indices(), torch.stack([eye, eye])], dim=1)  # (2, nnz + N)
        vals = torch.cat([A.values(), torch.ones(N, dtype=A.dtype)])
        A = torch.sparse_coo_tensor(idx, vals, (N, N), check_invariants=False).coalesce()
    deg = degrees(A)  # (N,)
    r, c = A.indices()  # (nnz,), (nnz,)
    if kind == "sym":
        d = _inv_pow(deg, 0.5)  # (N,)
        vals = d[r] * A.values() * d[c]  # (nnz,)
    else:
        vals = _inv_pow(deg, 1.0)[r] * A.values()  # (nnz,)
    return torch.sparse_coo_tensor(A.indices(), vals, (N, N), check_invariants=False).coalesce()


def laplacian_from_interactions(
    R: object, kind: str = "sym", dtype: torch.dtype = torch.float32
) -> Tensor:
    """R → A → L in one call, returned as a torch sparse CSR tensor (N, N) ready for ``L @ E``."""
    A = bipartite_adjacency(R)
    return to_csr(normalized_laplacian(A, kind), dtype)


def to_csr(M: Tensor, dtype: torch.dtype | None = None) -> Tensor:
    """A sparse COO (or CSR) tensor as torch sparse CSR, optionally cast to ``dtype``."""
    expect_tensor("M", M, ndim=2, allow_sparse=True)
    if M.layout == torch.strided:
        raise TypeError("M must be a sparse tensor; to_csr never converts a dense N×N matrix")
    if dtype is not None and M.dtype != dtype:
        M = M.to(dtype)
    if M.layout == torch.sparse_csr:
        return M
    with warnings.catch_warnings():  # "CSR support is in beta": true, and not the reader's concern
        warnings.simplefilter("ignore", UserWarning)
        return M.coalesce().to_sparse_csr()


def dense_memory_bytes(N: int, dtype: torch.dtype = torch.float32) -> int:
    """Bytes a dense N×N matrix would take (for the storage comparison in notebook 10)."""
    return N * N * torch.empty(0, dtype=dtype).element_size()


def sparse_memory_bytes(M: Tensor) -> int:
    """Bytes held by a sparse COO/CSR tensor's index and value arrays."""
    if M.layout == torch.sparse_coo:
        M = M.coalesce()
        return M.indices().nbytes + M.values().nbytes
    if M.layout == torch.sparse_csr:
        return M.crow_indices().nbytes + M.col_indices().nbytes + M.values().nbytes
    raise TypeError(f"M must be sparse COO or CSR, got layout {M.layout}")


class _SpMM(torch.autograd.Function):
    """y = L E with ∂/∂E = Lᵀ g from a precomputed Lᵀ (torch would re-sort L into Lᵀ every backward)."""

    @staticmethod
    def forward(ctx, E: Tensor, L: Tensor, Lt: Tensor) -> Tensor:
        ctx.Lt = Lt
        return L @ E  # (N, d)

    @staticmethod
    def backward(ctx, g: Tensor):
        return ctx.Lt @ g.contiguous(), None, None  # (N, d)


class SparseOperator:
    """L as a linear operator: ``L_op @ E`` is L E, and its backward reuses Lᵀ stored once.

    ``ngcf_layer(E, L_op, W1, W2)`` works unchanged (it only writes ``L @ E``).  Lᵀ = L for the
    symmetric kind; for the row kinds it is built once here (one sort), not at every step.
    """

    def __init__(self, L: Tensor, Lt: Tensor | None = None) -> None:
        self.L = to_csr(L)
        if Lt is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                Lt = self.L.to_sparse_coo().t().coalesce().to_sparse_csr()
        self.Lt = to_csr(Lt)

    @property
    def shape(self) -> torch.Size:
        return self.L.shape

    @property
    def dtype(self) -> torch.dtype:
        return self.L.dtype

    @property
    def device(self) -> torch.device:
        return self.L.device

    def to(self, *args, **kwargs) -> SparseOperator:
        return SparseOperator(self.L.to(*args, **kwargs), self.Lt.to(*args, **kwargs))

    def __matmul__(self, E: Tensor) -> Tensor:
        return _SpMM.apply(E, self.L, self.Lt)

    def drop_nodes(self, keep: Tensor) -> SparseOperator:
        """Node dropout: scale column t of L (row t of Lᵀ) by keep[t] (N,)."""
        L, Lt = self.L, self.Lt
        lt_rows = torch.repeat_interleave(
            torch.arange(Lt.shape[0], device=Lt.device), Lt.crow_indices().diff()
        )  # (nnz,)
        L2 = torch.sparse_csr_tensor(
            L.crow_indices(),
            L.col_indices(),
            L.values() * keep[L.col_indices()],
            L.shape,
            check_invariants=False,
        )
        Lt2 = torch.sparse_csr_tensor(
            Lt.crow_indices(),
            Lt.col_indices(),
            Lt.values() * keep[lt_rows],
            Lt.shape,
            check_invariants=False,
        )
        return SparseOperator(L2, Lt2)
