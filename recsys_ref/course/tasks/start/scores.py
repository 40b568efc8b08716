"""The warm-up task of 00_start_here: inner-product scores (NGCF eq. 10)."""

from __future__ import annotations

from functools import partial

import torch

from ....scores import inner_product_scores
from ...engine.spec import Case, Exercise, Misconception
from .._generators import BATCH_OF_ONE, SMALLEST, gen, normal
from . import NB00


def _cases(seed: int) -> list[Case]:
    g = gen(seed)
    randn = partial(normal, g)

    return [
        Case("5 users, 7 items, d = 3", (randn(5, 7 - 4), randn(7, 3))),
        Case("one user", (randn(1, 4), randn(6, 4))),
        Case("d = 1", (randn(4, 1), randn(3, 1))),
        Case("vectors of different lengths", (randn(3, 4) * 5, randn(8, 4) * 0.1)),
    ]


def _cosine(U: torch.Tensor, I: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(U, dim=1) @ torch.nn.functional.normalize(I, dim=1).T


def _transposed(U: torch.Tensor, I: torch.Tensor) -> torch.Tensor:
    return I @ U.T


def _sigmoid(U: torch.Tensor, I: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(U @ I.T)


def _elementwise_sum(U: torch.Tensor, I: torch.Tensor) -> torch.Tensor:
    return (U.sum(1, keepdim=True) * I.sum(1)).reshape(U.shape[0], I.shape[0])


EXERCISES = [
    Exercise(
        task_id="warmup",
        title="inner-product scores",
        notebook=NB00,
        func_name="dot_scores",
        reference=inner_product_scores,
        make_cases=_cases,
        edges=(
            (BATCH_OF_ONE, "U:0"),
            (SMALLEST, "U:1=1"),
        ),
        equation="eq. 10, ŷ_ui = e_uᵀ e_i",
        differentiable=True,
        misconceptions=(
            Misconception(
                "cosine",
                _cosine,
                "you normalised the vectors (cosine similarity); eq. 10 is the raw inner "
                "product e_uᵀ e_i, whose length carries the popularity signal",
            ),
            Misconception(
                "transposed",
                _transposed,
                "you returned items × users; rows must be users: compute U Iᵀ",
            ),
            Misconception(
                "sigmoid",
                _sigmoid,
                "you applied the sigmoid; eq. 10's score is the raw inner product e_uᵀ e_i "
                "(a ranking needs no probability, and σ flattens large scores)",
            ),
            Misconception(
                "sums",
                _elementwise_sum,
                "you multiplied the sums of the vectors; the inner product sums the "
                "element-wise products Σ_f u_f i_f",
            ),
        ),
    )
]
