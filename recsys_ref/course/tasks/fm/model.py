"""FM task fm_6: the FM model forward, eq. 1, ŷ = w0 + Σ_i w_i x_i + Σ_{i<j} ⟨v_i, v_j⟩ x_i x_j."""

from __future__ import annotations

import torch

from ....fm import fm_pairwise_fields, fm_score
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
from .fields import _fields_mean_over_k, _fields_no_subtract
from .pairwise import MISSING_HALF, NO_SUBTRACT


def _forward_cases(seed: int) -> list[Case]:
    g = gen(seed)
    cases = []
    for name, B, dims, k in [
        ("B = 6, 4 fields, k = 3", 6, [5, 3, 4, 6], 3),
        ("batch of one", 1, [4, 2], 2),
        ("one field", 4, [6], 2),
        ("k = 1", 5, [3, 3, 3], 1),
    ]:
        n = sum(dims)
        cases.append(
            Case(name, (global_idx(g, B, dims), float(normal(g, 1)), normal(g, n), normal(g, n, k)))
        )
    n = 11  # fields of 3, 6, 2: no row uses the last feature, so a size from idx.max() is short
    idx = unused_last(global_idx(g, 5, [3, 6, 2]), n)  # (5, 3)
    cases.append(
        Case(
            "the last feature used by no row",
            (idx, float(normal(g, 1)), normal(g, n), normal(g, n, 2)),
        )
    )
    return cases


def _forward_sigmoid(idx, w0, w, V):
    return torch.sigmoid(fm_score(idx, w0, w, V))


def _forward_no_bias(idx, w0, w, V):
    return fm_score(idx, 0.0, w, V)


def _forward_no_linear(idx, w0, w, V):
    return w0 + fm_pairwise_fields(idx, V)


def _forward_no_half(idx, w0, w, V):
    return fm_score(idx, w0, w, V) + fm_pairwise_fields(idx, V)


def _forward_no_subtract(idx, w0, w, V):
    return w0 + w[idx].sum(dim=1) + _fields_no_subtract(idx, V)


def _forward_mean_over_k(idx, w0, w, V):
    return w0 + w[idx].sum(dim=1) + _fields_mean_over_k(idx, V)


def _forward_broadcast(idx, w0, w, V):
    return (
        w0 + w[idx].sum(dim=1, keepdim=True) + fm_pairwise_fields(idx, V)
    )  # (B, 1) + (B,) → (B, B)


def _forward_mean_linear(idx, w0, w, V):
    return w0 + w[idx].mean(dim=1) + fm_pairwise_fields(idx, V)


EXERCISES = [
    Exercise(
        task_id="fm_6",
        title="FM model forward (eq. 1)",
        notebook=NB22,
        func_name="fm_forward",
        reference=fm_score,
        make_cases=_forward_cases,
        edges=(
            (UNUSED_LAST_INDEX, "idx", "w:0"),
            (BATCH_OF_ONE, "idx:0"),
            (SMALLEST, "idx:1=1", "V:1=1"),
        ),
        equation="eq. 1, ŷ = w0 + Σ_i w_i x_i + Σ_{i<j} ⟨v_i, v_j⟩ x_i x_j",
        differentiable=True,
        misconceptions=(
            Misconception(
                "mean over k",
                _forward_mean_over_k,
                "your pairwise term averages over f = 1..k; Lemma 3.1 sums over the k latent "
                "dimensions (.sum(dim=1), not .mean)",
            ),
            Misconception(
                "(B,1) + (B,) broadcast",
                _forward_broadcast,
                "a (B, 1) term plus a (B,) term broadcasts to (B, B); keep every term (B,) "
                "(sum without keepdim=True)",
            ),
            Misconception(
                "mean linear term",
                _forward_mean_linear,
                "you averaged the linear term; eq. 1's Σ_i w_i x_i is the sum of the F "
                "weights w[idx] (.sum(dim=1))",
            ),
            Misconception(
                "sigmoid",
                _forward_sigmoid,
                "you applied the sigmoid; eq. 1 is the score ŷ (a logit): the logistic loss "
                "applies σ itself",
            ),
            Misconception("no bias", _forward_no_bias, "you left out the global bias w0 of eq. 1"),
            Misconception(
                "no linear term",
                _forward_no_linear,
                "you left out the linear term Σ_i w_i x_i = Σ_f w[idx_f] of eq. 1",
            ),
            Misconception("missing ½", _forward_no_half, MISSING_HALF),
            Misconception("no subtraction", _forward_no_subtract, NO_SUBTRACT),
        ),
    ),
]
