"""Capstone task cap_4: top-K outfits per context, recently worn ones left out.

Misconceptions: worn ones not excluded or masked to 0 or −1, the mask inverted, ascending or
index order.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ....context_fm import top_k_outfits
from ...engine.spec import Case, Exercise, Misconception
from .._generators import BATCH_OF_ONE, SMALLEST, gen
from . import NB30


def _topk_cases(seed: int) -> list[Case]:
    g = gen(seed)

    def case(U: int, M: int, k: int, frac: float, shift: float = 0.0):
        scores = torch.randn(U, M, generator=g, dtype=torch.float64) + shift
        worn = torch.rand(U, M, generator=g) < frac
        for u in range(U):  # a worn best item in every row, so leaving it out matters
            best = int(scores[u].argmax())
            worn[u, best] = True
            extra = [i for i in torch.nonzero(worn[u]).flatten().tolist() if i != best]
            while int((~worn[u]).sum()) < k:  # leave at least k outfits to recommend
                worn[u, extra.pop()] = False
        return scores, worn, k

    s, w, _ = case(2, 6, 3, 0.0, shift=-3.0)
    s = -0.5 + 0.4 * torch.tanh(
        s + 3.0
    )  # scores in (−1, 0): a mask of 0 is chosen, a mask of −1 is not
    w[:] = False
    w[:, :2] = True
    return [
        Case("8 users, 20 outfits, k = 5", case(8, 20, 5, 0.2)),
        Case("all scores negative (logits)", case(4, 10, 4, 0.3, shift=-4.0)),
        Case("one user", case(1, 12, 3, 0.25)),
        Case("k = 1", case(5, 8, 1, 0.3)),
        Case("nothing worn but the best", case(3, 9, 4, 0.0)),
        Case("k = every unworn outfit", (s, w, 4)),
    ]


def _topk_no_exclusion(scores: Tensor, worn: Tensor, k: int) -> Tensor:
    return torch.topk(scores, k, dim=1).indices


def _topk_mask_zero(scores: Tensor, worn: Tensor, k: int) -> Tensor:
    return torch.topk(scores.masked_fill(worn, 0.0), k, dim=1).indices


def _topk_ascending(scores: Tensor, worn: Tensor, k: int) -> Tensor:
    return torch.topk(scores.masked_fill(worn, float("inf")), k, dim=1, largest=False).indices


def _topk_index_order(scores: Tensor, worn: Tensor, k: int) -> Tensor:
    return top_k_outfits(scores, worn, k).sort(dim=1).values


def _topk_keep_only_worn(scores: Tensor, worn: Tensor, k: int) -> Tensor:  # mask inverted
    return torch.topk(scores.masked_fill(~worn, float("-inf")), k, dim=1).indices


def _topk_mask_minus_one(
    scores: Tensor, worn: Tensor, k: int
) -> Tensor:  # a "small enough" constant
    return torch.topk(scores.masked_fill(worn, -1.0), k, dim=1).indices


EXERCISES = [
    Exercise(
        task_id="cap_4",
        title="top-K outfits per context, recently worn ones left out",
        notebook=NB30,
        func_name="top_k_outfits",
        reference=top_k_outfits,
        make_cases=_topk_cases,
        edges=(
            (BATCH_OF_ONE, "scores:0"),
            (SMALLEST, "k=1"),
        ),
        equation="top-K of s(u, i, c) over i ∉ worn(u), highest first",
        misconceptions=(
            Misconception(
                "worn not excluded",
                _topk_no_exclusion,
                "outfits worn in the last days are still recommended; set their scores to "
                "−∞ before taking the top K",
            ),
            Misconception(
                "masked to 0",
                _topk_mask_zero,
                "you set worn outfits to 0: scores are logits and can be negative, so a worn "
                "outfit still beats them; mask with −∞",
            ),
            Misconception(
                "ascending",
                _topk_ascending,
                "you returned the lowest scores; the top K are the largest, highest first",
            ),
            Misconception(
                "index order",
                _topk_index_order,
                "you returned the right K outfits in index order; a ranking lists the "
                "highest score first",
            ),
            Misconception(
                "mask inverted",
                _topk_keep_only_worn,
                "your mask is inverted: you kept only the worn outfits",
            ),
            Misconception(
                "masked to −1",
                _topk_mask_minus_one,
                "you set worn outfits to −1: logits go below any finite constant, so a worn "
                "outfit still beats them; mask with −∞ (float('-inf'))",
            ),
        ),
    ),
]
