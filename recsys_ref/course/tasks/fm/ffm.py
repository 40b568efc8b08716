"""FM task fm_7: the FFM interaction term, Σ_{j1<j2} ⟨w_{j1,f2}, w_{j2,f1}⟩ x_{j1} x_{j2}."""

from __future__ import annotations

import torch
from torch import Tensor

from ....ffm import ffm_pairwise
from ....fm import pairwise_from_embeddings
from ...engine.spec import Case, Exercise, Misconception
from .._generators import (
    BATCH_OF_ONE,
    SMALLEST,
    UNUSED_LAST_INDEX,
    gen,
    global_idx,
    normal,
    unused_last,
)
from . import NB22


def _ffm_cases(seed: int) -> list[Case]:
    g = gen(seed)
    cases = []
    for name, B, dims, k in [
        ("B = 5, 4 fields, k = 2", 5, [3, 4, 2, 3], 2),
        ("batch of one", 1, [2, 3, 2], 3),
        ("two fields (one pair)", 4, [3, 3], 2),
        ("one field (no pair)", 3, [4], 2),
        ("k = 1", 4, [2, 2, 3], 1),
    ]:
        cases.append(Case(name, (global_idx(g, B, dims), normal(g, sum(dims), len(dims), k))))
    n = 9  # fields of 3, 2, 4: no row uses the last feature, so a size from idx.max() is short
    idx = unused_last(global_idx(g, 4, [3, 2, 4]), n)  # (4, 3)
    cases.append(Case("the last feature used by no row", (idx, normal(g, n, 3, 2))))
    return cases


def _ffm_terms(idx: Tensor, W: Tensor) -> Tensor:
    E = W[idx]  # (B, F, F, k)  E[b, a, c] = w_{j_a, c}
    return E


def _ffm_own_field(idx: Tensor, W: Tensor) -> Tensor:  # ⟨w_{j1,f1}, w_{j2,f2}⟩
    own = W[idx, torch.arange(idx.shape[1])]  # (B, F, k)  w_{j_f, f}
    return pairwise_from_embeddings(own)


def _ffm_same_field(idx: Tensor, W: Tensor) -> Tensor:  # ⟨w_{j1,f2}, w_{j2,f2}⟩
    E = _ffm_terms(idx, W)  # (B, F, F, k)
    own = torch.diagonal(E, dim1=1, dim2=2).transpose(1, 2)  # (B, F, k)  own[b, c] = w_{j_c, c}
    P = (E * own.unsqueeze(1)).sum(dim=3)  # (B, F, F)  P[b, a, c] = ⟨w_{j_a, c}, w_{j_c, c}⟩
    return torch.triu(P, diagonal=1).sum(dim=(1, 2))


def _ffm_both_orders(idx: Tensor, W: Tensor) -> Tensor:
    return 2 * ffm_pairwise(idx, W)


def _ffm_not_swapped(idx: Tensor, W: Tensor) -> Tensor:  # ⟨w_{j1,f2}, w_{j1,f2}⟩: no transpose
    E = _ffm_terms(idx, W)  # (B, F, F, k)
    P = (E * E).sum(dim=3)  # (B, F, F)
    return torch.triu(P, diagonal=1).sum(dim=(1, 2))


def _ffm_one_field_vector(idx: Tensor, W: Tensor) -> Tensor:  # field 0's vector for every pair (FM)
    return pairwise_from_embeddings(W[idx][:, :, 0])


def _ffm_with_diagonal(idx: Tensor, W: Tensor) -> Tensor:
    E = _ffm_terms(idx, W)
    diag = (torch.diagonal(E, dim1=1, dim2=2) ** 2).sum(dim=(1, 2))  # Σ_f ⟨w_{j_f,f}, w_{j_f,f}⟩
    return ffm_pairwise(idx, W) + diag


EXERCISES = [
    Exercise(
        task_id="fm_7",
        title="FFM interaction term",
        notebook=NB22,
        func_name="ffm_pairwise",
        reference=ffm_pairwise,
        make_cases=_ffm_cases,
        edges=(
            (UNUSED_LAST_INDEX, "idx", "W:0"),
            (BATCH_OF_ONE, "idx:0"),
            (SMALLEST, "idx:1=1", "W:2=1"),
        ),
        equation="FFM, Σ_{j1<j2} ⟨w_{j1,f2}, w_{j2,f1}⟩ x_{j1} x_{j2}",
        differentiable=True,
        misconceptions=(
            Misconception(
                "field axes not swapped",
                _ffm_not_swapped,
                "you paired E[b, f1, f2] with itself, ⟨w_{j1,f2}, w_{j1,f2}⟩; the partner is "
                "the other feature's vector for your field, E[b, f2, f1]: transpose the "
                "two field axes (E.transpose(1, 2))",
            ),
            Misconception(
                "one field's vector",
                _ffm_one_field_vector,
                "you used one field's vector W[j, 0] for every pair (that is FM); FFM picks "
                "w_{j1,f2}: the vector of j1 for the partner's field f2",
            ),
            Misconception(
                "own field",
                _ffm_own_field,
                "you used each feature's vector for its own field, ⟨w_{j1,f1}, w_{j2,f2}⟩; "
                "FFM takes the vector for the partner's field: ⟨w_{j1,f2}, w_{j2,f1}⟩",
            ),
            Misconception(
                "same field",
                _ffm_same_field,
                "you used the same field index on both sides, ⟨w_{j1,f2}, w_{j2,f2}⟩; "
                "each feature uses the other's field: ⟨w_{j1,f2}, w_{j2,f1}⟩",
            ),
            Misconception(
                "both orders",
                _ffm_both_orders,
                "you counted each field pair twice, as (f1, f2) and (f2, f1); FFM sums "
                "j1 < j2 only",
            ),
            Misconception(
                "f1 = f2 included",
                _ffm_with_diagonal,
                "you included a feature paired with itself (f1 = f2); FFM sums pairs "
                "j1 < j2 of different fields",
            ),
        ),
    ),
]
