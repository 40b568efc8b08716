"""FM task fm_5: the batched pairwise term over label-encoded fields, Lemma 3.1 with e = V[idx]."""

from __future__ import annotations

from torch import Tensor

from ....fm import fm_pairwise_fields
from ...engine.spec import Case, ComplexityGuard, Exercise, Misconception
from .._generators import (
    BATCH_OF_ONE,
    SMALLEST,
    UNUSED_LAST_INDEX,
    gen,
    global_idx,
    normal,
    unused_last,
)
from . import NB21
from .pairwise import MISSING_HALF, NO_SUBTRACT, PLUS_DIAGONAL


def _fields_cases(seed: int) -> list[Case]:
    g = gen(seed)
    cases = []
    for name, B, dims, k in [
        ("B = 6, 4 fields, k = 3", 6, [5, 3, 4, 6], 3),
        ("batch of one", 1, [4, 4, 2], 2),
        ("one field (no pair)", 5, [7], 3),
        ("k = 1", 4, [3, 5, 2], 1),
        ("39 Criteo-like fields", 8, [3] * 39, 4),
    ]:
        cases.append(Case(name, (global_idx(g, B, dims), normal(g, sum(dims), k))))
    n = 12  # fields of 4, 5, 3: no row uses the last feature, so a size from idx.max() is short
    idx = unused_last(global_idx(g, 4, [4, 5, 3]), n)  # (4, 3)
    cases.append(Case("the last feature used by no row", (idx, normal(g, n, 2))))
    return cases


def _fields_no_half(idx: Tensor, V: Tensor) -> Tensor:
    return 2 * fm_pairwise_fields(idx, V)


def _fields_no_subtract(idx: Tensor, V: Tensor) -> Tensor:
    return 0.5 * (V[idx].sum(dim=1) ** 2).sum(dim=1)


def _fields_plus_diagonal(idx: Tensor, V: Tensor) -> Tensor:
    e = V[idx]  # (B, F, k)
    return 0.5 * (e.sum(dim=1) ** 2 + (e * e).sum(dim=1)).sum(dim=1)


def _fields_wrong_axis(
    idx: Tensor, V: Tensor
) -> Tensor:  # sums over k where Lemma 3.1 sums over fields
    e = V[idx]  # (B, F, k)
    return 0.5 * (e.sum(dim=2) ** 2 - (e * e).sum(dim=2)).sum(dim=1)


def _fields_mean_over_k(idx: Tensor, V: Tensor) -> Tensor:
    e = V[idx]
    return 0.5 * (e.sum(dim=1) ** 2 - (e * e).sum(dim=1)).mean(dim=1)


def _fields_keepdim(idx: Tensor, V: Tensor) -> Tensor:
    return fm_pairwise_fields(idx, V).unsqueeze(1)  # (B, 1)


def _fm5_guard_cases(seed: int) -> list[Case]:
    g = gen(seed + 2)
    return [
        Case("B = 16, F = 300 fields, k = 2", (global_idx(g, 16, [2] * 300), normal(g, 600, 2)))
    ]


def _fm5_limit(case: Case) -> int:
    idx, V = case.args
    B, F = idx.shape
    return 4 * max(B * F * V.shape[1], V.numel())  # O(B F k), no B×F×F


EXERCISES = [
    Exercise(
        task_id="fm_5",
        title="batched pairwise term over label-encoded fields",
        notebook=NB21,
        func_name="fm_pairwise_fields",
        reference=fm_pairwise_fields,
        make_cases=_fields_cases,
        edges=(
            (UNUSED_LAST_INDEX, "idx", "V:0"),
            (BATCH_OF_ONE, "idx:0"),
            (SMALLEST, "idx:1=1", "V:1=1"),
        ),
        equation="Lemma 3.1 with e = V[idx]: ½ Σ_f [(Σ_F e)² − Σ_F e²]",
        differentiable=True,
        misconceptions=(
            Misconception("missing ½", _fields_no_half, MISSING_HALF),
            Misconception("no subtraction", _fields_no_subtract, NO_SUBTRACT),
            Misconception("i = j included", _fields_plus_diagonal, PLUS_DIAGONAL),
            Misconception(
                "mean over k",
                _fields_mean_over_k,
                "you averaged over f = 1..k; Lemma 3.1 sums over the k latent dimensions "
                "(.sum(dim=1), not .mean)",
            ),
            Misconception(
                "keepdim",
                _fields_keepdim,
                "your result has shape (B, 1); return one value per example, shape (B,) "
                "(sum without keepdim=True, or .squeeze(1))",
            ),
            Misconception(
                "wrong axis",
                _fields_wrong_axis,
                "you summed e = V[idx] (B, F, k) over the latent axis k; Lemma 3.1 sums over "
                "the fields (dim=1), squares, then sums over k",
            ),
        ),
        guard=ComplexityGuard(
            max_numel=_fm5_limit,
            make_cases=_fm5_guard_cases,
            message=(
                "a B×F×F tensor (all field pairs) was created: Lemma 3.1 needs only the sums "
                "over fields, (B, k)."
            ),
        ),
    ),
]
