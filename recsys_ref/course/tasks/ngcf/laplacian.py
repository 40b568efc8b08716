"""NGCF tasks ngcf_1 (the bipartite adjacency A from R) and ngcf_2 (the symmetric L), eq. 8.

Cases include an isolated last node (a shape inferred from the indices comes out one short) and an
isolated user and item (zero degree: L's row stays 0).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ....graph import bipartite_adjacency, normalized_laplacian
from ...engine.spec import Case, ComplexityGuard, Exercise, Misconception
from .._generators import BATCH_OF_ONE, SMALLEST, UNUSED_LAST_INDEX, gen
from . import NB10
from ._graphs import guard_interactions, random_R, sparse_square

# ------------------------------------------------------------------ ngcf_1: A from R


def build_adjacency(R: Tensor) -> Tensor:
    """Eq. (8)'s A = [[0, R], [Rᵀ, 0]]: R sparse COO (n_users, n_items) → A sparse COO (N, N)."""
    return bipartite_adjacency(R)


def _adj_cases(seed: int) -> list[Case]:
    g = gen(seed)
    return [
        Case("4 users, 6 items", (random_R(g, 4, 6, 0.35),)),
        Case("an isolated user and an isolated item", (random_R(g, 5, 4, 0.5, isolated=True),)),
        Case("the last item (node N−1) isolated", (random_R(g, 3, 5, 0.4, last_isolated=True),)),
        Case("one user", (random_R(g, 1, 5, 0.5),)),
        Case("one user, one item", (torch.ones(1, 1, dtype=torch.float64).to_sparse().coalesce(),)),
        Case("more users than items", (random_R(g, 9, 3, 0.3),)),
    ]


def _adj_guard_cases(seed: int) -> list[Case]:
    return [Case("1,500 users × 1,200 items, 6,000 interactions", (guard_interactions(seed),))]


def _sparse_limit(case: Case) -> int:
    M = case.args[0]
    return 12 * int(M._nnz()) + 4 * sum(M.shape) + 1000


def _adj_one_block(R: Tensor) -> Tensor:
    n_u, n_i = R.shape
    u, i = R.indices()
    return sparse_square(u, i + n_u, R.values(), n_u + n_i)


def _adj_no_size(R: Tensor) -> Tensor:
    n_u, _ = R.shape
    u, i = R.indices()
    idx = torch.stack([torch.cat([u, i + n_u]), torch.cat([i + n_u, u])])
    return torch.sparse_coo_tensor(
        idx, torch.cat([R.values(), R.values()])
    ).coalesce()  # shape inferred


def _adj_doubled(R: Tensor) -> Tensor:
    A = bipartite_adjacency(R)
    return (A + A.t()).coalesce()


def _adj_no_offset(R: Tensor) -> Tensor:
    n_u, n_i = R.shape
    u, i = R.indices()
    return sparse_square(
        torch.cat([u, i]), torch.cat([i, u]), torch.cat([R.values(), R.values()]), n_u + n_i
    )


# ------------------------------------------------------------------ ngcf_2: symmetric L


def sym_laplacian(A: Tensor) -> Tensor:
    """Eq. (8): L = D^{-1/2} A D^{-1/2}, A sparse COO (N, N) → L sparse COO (N, N); isolated → 0."""
    return normalized_laplacian(A, "sym")


def _lap_cases(seed: int) -> list[Case]:
    g = gen(seed)

    def A(*a, **k) -> Tensor:
        return bipartite_adjacency(random_R(g, *a, **k))

    return [
        Case("4 users, 6 items", (A(4, 6, 0.35),)),
        Case("an isolated user and an isolated item", (A(5, 4, 0.5, isolated=True),)),
        Case("one user", (A(1, 5, 0.5),)),
        Case("one user, one item", (bipartite_adjacency(torch.ones(1, 1, dtype=torch.float64)),)),
        Case("7 users, 3 items", (A(7, 3, 0.3),)),
        Case("the last item (node N−1) isolated", (A(4, 5, 0.4, last_isolated=True),)),
    ]


def _lap_guard_cases(seed: int) -> list[Case]:
    return [Case("2,700 nodes, 12,000 edges", (bipartite_adjacency(guard_interactions(seed)),))]


def _lap_row(A: Tensor) -> Tensor:
    return normalized_laplacian(A, "row")


def _lap_row_self(A: Tensor) -> Tensor:
    return normalized_laplacian(A, "row_self")


def _lap_sym_self(A: Tensor) -> Tensor:
    N = A.shape[0]
    eye = torch.arange(N)
    A = A.coalesce()
    A_I = sparse_square(
        torch.cat([A.indices()[0], eye]),
        torch.cat([A.indices()[1], eye]),
        torch.cat([A.values(), torch.ones(N, dtype=A.dtype)]),
        N,
    )
    return normalized_laplacian(A_I, "sym")


def _lap_col(A: Tensor) -> Tensor:
    return normalized_laplacian(A, "row").t().coalesce()


def _lap_scaled(A: Tensor, p_row: float, p_col: float, plus: float = 0.0) -> Tensor:
    A = A.coalesce()
    deg = torch.zeros(A.shape[0], dtype=A.dtype).index_add_(0, A.indices()[0], A.values()) + plus
    r, c = A.indices()

    def inv(p: float) -> Tensor:
        return (
            torch.where(deg > 0, deg.clamp(min=1e-300) ** -p, torch.zeros_like(deg))
            if p
            else torch.ones_like(deg)
        )

    vals = inv(p_row)[r] * A.values() * inv(p_col)[c]
    return torch.sparse_coo_tensor(A.indices(), vals, A.shape, check_invariants=False).coalesce()


def _lap_one_sided(A: Tensor) -> Tensor:
    return _lap_scaled(A, 0.5, 0.0)


def _lap_no_sqrt(A: Tensor) -> Tensor:
    return _lap_scaled(A, 1.0, 1.0)


def _lap_degree_plus_one(A: Tensor) -> Tensor:
    return _lap_scaled(A, 0.5, 0.5, plus=1.0)


EXERCISES = [
    Exercise(
        task_id="ngcf_1",
        title="bipartite adjacency A from R",
        notebook=NB10,
        func_name="build_adjacency",
        reference=build_adjacency,
        make_cases=_adj_cases,
        edges=(
            (UNUSED_LAST_INDEX, "R@1", "R:1"),
            (BATCH_OF_ONE, "R:0"),
            (SMALLEST, "R:0=1", "R:1=1"),
        ),
        equation="eq. 8, A = [[0, R], [Rᵀ, 0]]",
        misconceptions=(
            Misconception(
                "no_size",
                _adj_no_size,
                "you let torch infer A's shape from the indices: when the last item (node "
                "N−1) has no interaction A comes out one row short; pass the size "
                "(n_users + n_items, n_users + n_items) to torch.sparse_coo_tensor",
            ),
            Misconception(
                "doubled",
                _adj_doubled,
                "every edge is in A twice (values 2): you placed R and Rᵀ and then "
                "symmetrised again with A + Aᵀ; eq. 8's A holds each interaction once per block",
            ),
            Misconception(
                "one_block",
                _adj_one_block,
                "you filled only the user→item block R; eq. 8's A = [[0, R], [Rᵀ, 0]] is "
                "symmetric, so item rows need Rᵀ too",
            ),
            Misconception(
                "no_offset",
                _adj_no_offset,
                "item i must be node n_users + i; you placed items at 0..n_items-1 on top "
                "of the users (eq. 8 stacks users first, then items)",
            ),
        ),
        guard=ComplexityGuard(
            _sparse_limit,
            _adj_guard_cases,
            "A must stay sparse: a dense N×N tensor was created (eq. 8 needs only the "
            "2·nnz(R) nonzeros).",
            creators={
                "to_dense": "take R.indices() and R.values() instead of a dense R",
                "zeros": "do not fill a dense matrix: concatenate the indices of "
                "both blocks and build A with torch.sparse_coo_tensor",
            },
        ),
    ),
    Exercise(
        task_id="ngcf_2",
        title="symmetric normalised Laplacian",
        notebook=NB10,
        func_name="sym_laplacian",
        reference=sym_laplacian,
        make_cases=_lap_cases,
        edges=(
            (UNUSED_LAST_INDEX, "A@1", "A:1"),
            (SMALLEST, "A:0=2"),
        ),
        equation="eq. 8, L = D^{-1/2} A D^{-1/2}",
        misconceptions=(
            Misconception(
                "one_sided",
                _lap_one_sided,
                "you scaled only one side, D^{-1/2} A; eq. 8 divides by sqrt(|N_u|) on the "
                "left and by sqrt(|N_i|) on the right: D^{-1/2} A D^{-1/2}",
            ),
            Misconception(
                "no_square_root",
                _lap_no_sqrt,
                "you built D⁻¹ A D⁻¹ (no square root); eq. 8's entries are "
                "1/sqrt(|N_u||N_i|): D^{-1/2} on each side",
            ),
            Misconception(
                "degree_plus_one",
                _lap_degree_plus_one,
                "you used the degree + 1 (as if A had self-loops); eq. 8's D is A's own "
                "row sums, D_tt = |N_t|",
            ),
            Misconception(
                "row_normalised",
                _lap_row,
                "you built D⁻¹A (row normalisation, a mean over neighbours); eq. 8 is the "
                "symmetric D^{-1/2} A D^{-1/2}, entries 1/sqrt(|N_u||N_i|)",
            ),
            Misconception(
                "row_self_loops",
                _lap_row_self,
                "you built D̃⁻¹(A+I), the official code's variant; eq. 8 is D^{-1/2} A D^{-1/2} "
                "without self-loops (eq. 7 adds I separately)",
            ),
            Misconception(
                "self_loops",
                _lap_sym_self,
                "you added self-loops (A+I) before normalising; eq. 8 normalises A itself, "
                "the self-connection is the separate I of eq. 7",
            ),
            Misconception(
                "column_normalised",
                _lap_col,
                "you built A D⁻¹ (column normalisation); eq. 8 divides by sqrt(|N_u|) and "
                "sqrt(|N_i|), one on each side",
            ),
        ),
        guard=ComplexityGuard(
            _sparse_limit,
            _lap_guard_cases,
            "L must stay sparse: a dense N×N tensor was created (compute the degrees "
            "with torch.sparse.sum or index_add and scale the nonzero values).",
            creators={
                "eye": "scale A.values() by the degrees of their row and column "
                "instead of building a diagonal matrix",
                "diag_embed": "scale A.values() by the degrees of their row and "
                "column instead of torch.diag",
            },
        ),
    ),
]

__all__ = ["EXERCISES", "build_adjacency", "sym_laplacian"]
