"""FM tasks fm_3 (eq. 1's pairwise term, naive O(kn²)) and fm_4 (its O(kn) form, Lemma 3.1).

Both take the same cases.  The messages of Lemma 3.1's three classic slips (the ½ missing,
Σv²x² not subtracted, i = j included) are shared with fm_5 and fm_6.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ....fm import fm_pairwise, fm_pairwise_naive
from ...engine.spec import Case, ComplexityGuard, Exercise, Misconception
from .._generators import BATCH_OF_ONE, SMALLEST, gen, normal
from . import NB21

MISSING_HALF = (
    "you forgot the ½: (Σ_i v_{i,f} x_i)² − Σ_i v_{i,f}² x_i² counts every pair (i, j) "
    "twice, as (i, j) and (j, i); Lemma 3.1 halves it"
)
NO_SUBTRACT = (
    "you forgot to subtract Σ_i v_{i,f}² x_i²: the square of the sum keeps the "
    "diagonal i = j, which Lemma 3.1 removes"
)
PLUS_DIAGONAL = (
    "you included i = j: the result is Σ_{i≤j}; Lemma 3.1 subtracts the diagonal "
    "Σ_i v_{i,f}² x_i² before halving (eq. 1 sums over j > i only)"
)


def _pairwise_cases(seed: int) -> list[Case]:
    g = gen(seed)
    sparse_x = normal(g, 4, 7) * (torch.rand(4, 7, generator=g) < 0.4)
    return [
        Case("B = 4, n = 6, k = 3", (normal(g, 4, 6), normal(g, 6, 3))),
        Case("batch of one", (normal(g, 1, 5), normal(g, 5, 2))),
        Case("n = 1 (no pair at all)", (normal(g, 3, 1), normal(g, 1, 2))),
        Case("k = 1", (normal(g, 3, 4), normal(g, 4, 1))),
        Case("x mostly zeros (a sparse row)", (sparse_x, normal(g, 7, 3))),
        Case(
            "one-hot rows (x_i ∈ {0, 1})",
            (
                torch.eye(5, dtype=torch.float64)[[0, 2, 4]]
                + torch.eye(5, dtype=torch.float64)[[1, 3, 3]],
                normal(g, 5, 2),
            ),
        ),
    ]


def _naive_with_diagonal(x: Tensor, V: Tensor) -> Tensor:  # Σ_{i≤j}
    xv = x.unsqueeze(2) * V  # (B, n, k)
    return torch.triu(xv @ xv.transpose(1, 2)).sum(dim=(1, 2))


def _naive_both_orders(x: Tensor, V: Tensor) -> Tensor:  # Σ_{i≠j} = 2 Σ_{i<j}
    return 2 * fm_pairwise_naive(x, V)


def _naive_all_pairs(x: Tensor, V: Tensor) -> Tensor:  # Σ_i Σ_j
    return ((x @ V) ** 2).sum(dim=1)


def _fast_no_half(x: Tensor, V: Tensor) -> Tensor:
    return ((x @ V) ** 2 - (x * x) @ (V * V)).sum(dim=1)


def _fast_no_subtract(x: Tensor, V: Tensor) -> Tensor:
    return 0.5 * ((x @ V) ** 2).sum(dim=1)


def _fast_plus_diagonal(x: Tensor, V: Tensor) -> Tensor:
    return 0.5 * ((x @ V) ** 2 + (x * x) @ (V * V)).sum(dim=1)


def _fast_wrong_axis(x: Tensor, V: Tensor) -> Tensor:  # Σ over f taken before squaring
    return 0.5 * ((x @ V).sum(dim=1) ** 2 - ((x * x) @ (V * V)).sum(dim=1))


def _fast_x_not_squared(x: Tensor, V: Tensor) -> Tensor:
    return 0.5 * ((x @ V) ** 2 - x @ (V * V)).sum(dim=1)


def _naive_no_x(x: Tensor, V: Tensor) -> Tensor:
    G = V @ V.T  # (n, n)  ⟨v_i, v_j⟩ without x_i x_j
    return torch.triu(G, diagonal=1).sum().expand(x.shape[0]).clone()


def _naive_batch_summed(x: Tensor, V: Tensor) -> Tensor:
    return fm_pairwise_naive(x, V).sum()


def _fast_mean_over_k(x: Tensor, V: Tensor) -> Tensor:
    return 0.5 * ((x @ V) ** 2 - (x * x) @ (V * V)).mean(dim=1)


def _fm4_guard_cases(seed: int) -> list[Case]:
    g = gen(seed + 1)
    return [Case("B = 4, n = 1000, k = 4", (normal(g, 4, 1000), normal(g, 1000, 4)))]


def _fm4_limit(case: Case) -> int:
    x, V = case.args
    return 4 * x.shape[0] * x.shape[1] * V.shape[1]  # O(B n k): far below n²


EXERCISES = [
    Exercise(
        task_id="fm_3",
        title="naive pairwise term O(kn²)",
        notebook=NB21,
        func_name="fm_pairwise_naive",
        reference=fm_pairwise_naive,
        make_cases=_pairwise_cases,
        edges=(
            (BATCH_OF_ONE, "x:0"),
            (SMALLEST, "V:0=1", "V:1=1"),
        ),
        equation="eq. 1, Σ_i Σ_{j>i} ⟨v_i, v_j⟩ x_i x_j",
        differentiable=True,
        misconceptions=(
            Misconception(
                "x missing",
                _naive_no_x,
                "you summed ⟨v_i, v_j⟩ without x_i x_j; eq. 1 weights each pair by the "
                "features' values, so the result depends on the row x",
            ),
            Misconception(
                "summed over the batch",
                _naive_batch_summed,
                "you summed over the batch; return one value per example, shape (B,)",
            ),
            Misconception(
                "i = j included",
                _naive_with_diagonal,
                "you included i = j (Σ_{i≤j}); eq. 1 pairs each feature only with the "
                "ones after it, j > i",
            ),
            Misconception(
                "both orders",
                _naive_both_orders,
                "you counted each pair twice, as (i, j) and (j, i); eq. 1 sums j > i only",
            ),
            Misconception(
                "all ordered pairs",
                _naive_all_pairs,
                "you summed over all (i, j), the diagonal and both orders included; eq. 1 "
                "sums j > i only",
            ),
        ),
    ),
    Exercise(
        task_id="fm_4",
        title="the O(kn) form (Lemma 3.1)",
        notebook=NB21,
        func_name="fm_pairwise_fast",
        reference=fm_pairwise,
        make_cases=_pairwise_cases,
        edges=(
            (BATCH_OF_ONE, "x:0"),
            (SMALLEST, "V:0=1", "V:1=1"),
        ),
        equation="Lemma 3.1, ½ Σ_f [(Σ_i v_{i,f} x_i)² − Σ_i v_{i,f}² x_i²]",
        misconceptions=(
            Misconception("missing ½", _fast_no_half, MISSING_HALF),
            Misconception("no subtraction", _fast_no_subtract, NO_SUBTRACT),
            Misconception("i = j included", _fast_plus_diagonal, PLUS_DIAGONAL),
            Misconception(
                "wrong axis",
                _fast_wrong_axis,
                "you summed over f before squaring; Lemma 3.1 squares each (Σ_i v_{i,f} x_i) "
                "on its own and then sums over f = 1..k",
            ),
            Misconception(
                "mean over k",
                _fast_mean_over_k,
                "you averaged over f = 1..k; Lemma 3.1 sums over the k latent dimensions "
                "(.sum(dim=1), not .mean)",
            ),
            Misconception(
                "x not squared",
                _fast_x_not_squared,
                "you subtracted Σ_i v_{i,f}² x_i instead of Σ_i v_{i,f}² x_i² (the two agree "
                "only for one-hot x); Lemma 3.1 squares x too",
            ),
        ),
        differentiable=True,
        guard=ComplexityGuard(
            max_numel=_fm4_limit,
            make_cases=_fm4_guard_cases,
            message=(
                "an n×n (or B×n×n) tensor was created: that is the O(kn²) double sum; "
                "Lemma 3.1 needs only x V (B, k) and x² V² (B, k)."
            ),
            max_ops=200,
            loop_message=(
                "the notebook asks for no loops: Lemma 3.1 is two matrix products, "
                "x V and (x ⊙ x)(V ⊙ V)."
            ),
        ),
    ),
]
