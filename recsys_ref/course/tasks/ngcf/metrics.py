"""NGCF task ngcf_7: recall@K and ndcg@K with the training items masked (§4.2.1).

Cases include users with 1 ≤ |T_u| < K test items and a hit, and tied scores at the K-th rank.
"""

from __future__ import annotations

import torch

from ....metrics import recall_ndcg_at_k
from ...engine.spec import Case, ComplexityGuard, Exercise, Misconception
from .._generators import BATCH_OF_ONE, SMALLEST, TIES, gen
from . import NB12


def _metric_cases(seed: int) -> list[Case]:
    g = gen(seed)

    def case(U: int, M: int, p_train: float, p_test: float):
        cell = torch.rand(U, M, generator=g)
        train = (cell < p_train).double()
        test = ((cell >= p_train) & (cell < p_train + p_test)).double()
        no_test = test.sum(1) == 0
        free = (train == 0).double() * (1 - test)  # give every user at least one test item
        test[no_test, free[no_test].argmax(1)] = 1.0
        scores = (
            torch.randn(U, M, generator=g, dtype=torch.float64) + 1.5 * train
        )  # trained models rank train items high
        return scores, train, test

    def few_test_items_with_a_hit(U: int, M: int, k: int):
        """Every user has 1 ≤ |T_u| < K test items, one of them ranked first; scores ≤ 0
        elsewhere so that masking with 0 instead of −inf shows."""
        scores, train, test = case(U, M, 0.25, 0.0)
        scores = scores - scores.max() - 1.0  # all scores negative
        for u in range(U):
            free = ((train[u] == 0) & (test[u] == 0)).nonzero().flatten()
            n = 2 + int(torch.randint(0, k - 2, (1,), generator=g))
            chosen = free[torch.randperm(len(free), generator=g)[:n]]
            test[u] = 0.0
            test[u, chosen] = 1.0
            if train[u].sum() == 0:
                train[u, free[torch.randperm(len(free), generator=g)[n : n + 1]]] = 1.0
            scores[u, chosen[0]] = 1.0  # a hit at rank 1
            scores[u, chosen[1]] = -0.5  # rank 2 among the items not trained on
        return scores, train, test, k

    def ties(U: int, M: int, k: int):
        """Tied scores straddle the K-th rank, every tied item a test item (any order of ties
        gives the same hits)."""
        scores, train, test = case(U, M, 0.2, 0.0)
        for u in range(U):
            free = (train[u] == 0).nonzero().flatten()
            tied = free[torch.randperm(len(free), generator=g)[: k + 2]]
            test[u] = 0.0
            test[u, tied] = 1.0
            scores[u] = scores[u].clamp(max=0.5)
            scores[u, tied] = 1.0
        return scores, train, test, k

    return [
        Case("8 users, 30 items, k = 5", (*case(8, 30, 0.2, 0.2), 5)),
        Case("k = 1", (*case(6, 12, 0.25, 0.25), 1)),
        Case("one user", (*case(1, 15, 0.2, 0.3), 4)),
        Case("k = 10, many test items", (*case(5, 25, 0.2, 0.5), 10)),
        Case("users with a single test item", (*case(6, 20, 0.3, 0.0), 3)),
        Case(
            "1 ≤ |T_u| < K test items, one of them ranked first",
            few_test_items_with_a_hit(5, 20, 6),
        ),
        Case("tied scores at the K-th rank", ties(4, 16, 3)),
    ]


def _metric_guard_cases(seed: int) -> list[Case]:
    g = gen(seed + 3)
    U, M = 1000, 30  # a per-user loop dispatches > 1,000 ops here, the matrix form < 20
    cell = torch.rand(U, M, generator=g)
    train, test = (cell < 0.2).double(), ((cell >= 0.2) & (cell < 0.4)).double()
    empty = test.sum(1) == 0  # every user gets a test item (as in the cases above): the last
    test[empty, -1], train[empty, -1] = 1.0, 0.0  # item, taken out of train where it was there
    return [
        Case(
            "1,000 users, 30 items, k = 10",
            (torch.randn(U, M, generator=g, dtype=torch.float64), train, test, 10),
        )
    ]


def _metric_not_masked(scores, train, test, k):
    return recall_ndcg_at_k(scores, torch.zeros_like(train), test, k)


def _metric_idcg_retrieved(scores, train, test, k):
    top = scores.masked_fill(train != 0, float("-inf")).topk(k, dim=1).indices
    hits = (test != 0).gather(1, top).to(scores.dtype)
    disc = 1.0 / torch.log2(torch.arange(2, k + 2, dtype=scores.dtype))
    n_hits = hits.sum(1).long()
    idcg = torch.cat([torch.zeros(1, dtype=scores.dtype), disc.cumsum(0)])[n_hits]
    recall = hits.sum(1) / (test != 0).sum(1).clamp(min=1)
    ndcg = torch.where(
        n_hits > 0, (hits * disc).sum(1) / idcg.clamp(min=1e-300), torch.zeros_like(idcg)
    )
    return recall, ndcg


def _metric_recall_over_k(scores, train, test, k):
    recall, ndcg = recall_ndcg_at_k(scores, train, test, k)
    n_test = (test != 0).sum(1).to(scores.dtype)
    return recall * n_test / k, ndcg


def _metric_recall_over_min(scores, train, test, k):
    recall, ndcg = recall_ndcg_at_k(scores, train, test, k)
    n_test = (test != 0).sum(1).to(scores.dtype)
    return recall * n_test.clamp(min=1) / n_test.clamp(min=1, max=k), ndcg


def _metric_parts(scores, train, test, k, *, fill=float("-inf"), ideal="min", first_rank=1):
    masked = scores.masked_fill(train != 0, fill)
    top = masked.topk(k, dim=1).indices
    hits = (test != 0).gather(1, top).to(scores.dtype)
    n_test = (test != 0).sum(1)
    ranks = torch.arange(first_rank, first_rank + k, dtype=scores.dtype)
    disc = 1.0 / torch.log2(ranks + 1)  # rank r (1-based) is discounted by log2(r + 1)
    n_ideal = n_test.clamp(max=k) if ideal == "min" else n_test
    big = torch.arange(first_rank, first_rank + max(int(n_test.max()), k), dtype=scores.dtype)
    ideal_disc = torch.cat(
        [torch.zeros(1, dtype=scores.dtype), (1.0 / torch.log2(big + 1)).cumsum(0)]
    )
    idcg = ideal_disc[n_ideal]
    recall = hits.sum(1) / n_test.clamp(min=1).to(scores.dtype)
    ndcg = (hits * disc).sum(1) / idcg.clamp(min=torch.finfo(scores.dtype).tiny)
    return recall, ndcg


def _metric_mask_zero(scores, train, test, k):
    return _metric_parts(scores, train, test, k, fill=0.0)


def _metric_idcg_all(scores, train, test, k):
    return _metric_parts(scores, train, test, k, ideal="all")


def _metric_zero_based(scores, train, test, k):
    return _metric_parts(scores, train, test, k, first_rank=0)


EXERCISES = [
    Exercise(
        task_id="ngcf_7",
        title="recall@K and ndcg@K with train items masked",
        notebook=NB12,
        func_name="recall_ndcg_at_k",
        reference=recall_ndcg_at_k,
        make_cases=_metric_cases,
        edges=(
            (TIES, "scores"),
            (BATCH_OF_ONE, "scores:0"),
            (SMALLEST, "k=1"),
        ),
        equation="§4.2.1: recall@K, ndcg@K over all items the user did not train on",
        outputs=("recall", "ndcg"),
        misconceptions=(
            Misconception(
                "masked_with_zero",
                _metric_mask_zero,
                "you masked training items with 0; a score can be negative, so a masked item "
                "still outranks others: use masked_fill(train != 0, float('-inf'))",
            ),
            Misconception(
                "idcg_over_all_test_items",
                _metric_idcg_all,
                "your IDCG places all |T_u| test items; only K fit in the list, so the ideal "
                "DCG sums the first min(|T_u|, K) discounts",
            ),
            Misconception(
                "zero_based_rank",
                _metric_zero_based,
                "ranks start at 1: the item at rank r is discounted by 1/log2(r + 1), so "
                "the first by 1/log2(2) = 1 (with 0-based positions use log2(pos + 2))",
            ),
            Misconception(
                "recall_over_min",
                _metric_recall_over_min,
                "your recall divides by min(|T_u|, K); §4.2.1's recall@K divides the hits "
                "by all |T_u| of the user's test items",
            ),
            Misconception(
                "train_not_masked",
                _metric_not_masked,
                "training items were not masked; set their scores to −inf before top-k, "
                "or known positives crowd out the recommendations",
            ),
            Misconception(
                "idcg_from_retrieved",
                _metric_idcg_retrieved,
                "your IDCG comes from the hits in the retrieved list; the ideal DCG puts "
                "min(|test|, K) test items at the top",
            ),
            Misconception(
                "recall_over_k",
                _metric_recall_over_k,
                "you divided the hits by K (that is precision@K); recall@K divides by the "
                "number of the user's test items",
            ),
        ),
        guard=ComplexityGuard(
            lambda case: 10 * case.args[0].numel() + 1000,
            _metric_guard_cases,
            "the metrics need only (U, M) and (U, K) tensors.",
            max_ops=200,
            loop_message="the notebook asks for no per-user Python loop: masked_fill, "
            "topk and gather work on all users at once.",
        ),
    ),
]
