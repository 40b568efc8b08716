"""Eq. (11) BPR with L2 over Θ; recall@K and ndcg@K against a slow per-user Python implementation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recsys_ref.losses import bpr_loss
from recsys_ref.metrics import evaluate_topk, recall_ndcg_at_k
from recsys_ref.testing import assert_close


def test_bpr_loss_by_hand_and_gradcheck() -> None:
    g = torch.Generator().manual_seed(0)
    pos, neg = (
        torch.randn(5, generator=g, dtype=torch.float64),
        torch.randn(5, generator=g, dtype=torch.float64),
    )
    theta = [
        torch.randn(4, 3, generator=g, dtype=torch.float64),
        torch.randn(3, generator=g, dtype=torch.float64),
    ]
    want = (
        sum(-math.log(1 / (1 + math.exp(-(p - n)))) for p, n in zip(pos.tolist(), neg.tolist())) / 5
    )
    want += 0.1 * sum(float((t**2).sum()) for t in theta)
    assert_close(bpr_loss(pos, neg, theta, 0.1), torch.tensor(want, dtype=torch.float64))
    pos.requires_grad_(), neg.requires_grad_()
    torch.autograd.gradcheck(lambda p, n: bpr_loss(p, n, theta, 0.1), (pos, neg))


def test_bpr_batch_l2_is_the_official_form() -> None:
    g = torch.Generator().manual_seed(1)
    pos, neg = (
        torch.randn(4, generator=g, dtype=torch.float64),
        torch.randn(4, generator=g, dtype=torch.float64),
    )
    rows = [torch.randn(4, 3, generator=g, dtype=torch.float64) for _ in range(3)]
    base = bpr_loss(pos, neg, [], 0.0)
    got = bpr_loss(pos, neg, [torch.ones(100, dtype=torch.float64)], 0.5, rows, l2_on="batch")
    assert_close(got, base + 0.5 * sum(float((r**2).sum()) for r in rows) / 2 / 4)


def test_bpr_is_finite_for_large_margins() -> None:
    x = torch.tensor([1e4, -1e4], dtype=torch.float64)
    assert torch.isfinite(bpr_loss(x, -x, [], 0.0))


def test_bpr_bad_inputs() -> None:
    with pytest.raises(ValueError, match="must equal"):
        bpr_loss(torch.zeros(3), torch.zeros(4), [], 0.0)
    with pytest.raises(ValueError, match="l2_on"):
        bpr_loss(torch.zeros(3), torch.zeros(3), [], 0.0, l2_on="all")
    with pytest.raises(ValueError, match="batch_emb"):
        bpr_loss(torch.zeros(3), torch.zeros(3), [], 0.0, l2_on="batch")


def slow_metrics(scores: np.ndarray, train: np.ndarray, test: np.ndarray, k: int):
    """Per user: sort the candidate items by score, count hits; IDCG from |test|."""
    recalls, ndcgs = [], []
    for u in range(scores.shape[0]):
        candidates = [i for i in range(scores.shape[1]) if not train[u, i]]
        ranked = sorted(candidates, key=lambda i: -scores[u, i])[:k]
        truth = {i for i in range(scores.shape[1]) if test[u, i]}
        if not truth:
            recalls.append(0.0), ndcgs.append(0.0)
            continue
        dcg = sum(1 / math.log2(r + 2) for r, i in enumerate(ranked) if i in truth)
        idcg = sum(1 / math.log2(r + 2) for r in range(min(len(truth), k)))
        recalls.append(len(truth & set(ranked)) / len(truth))
        ndcgs.append(dcg / idcg)
    return np.array(recalls), np.array(ndcgs)


def random_case(seed: int, U: int = 30, M: int = 25):
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((U, M))
    cell = rng.random((U, M))
    train = cell < 0.2
    test = (cell >= 0.2) & (cell < 0.35)
    scores = scores + 2.0 * train  # train items would top the list if they were not masked
    return scores, train, test


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 5, 20])
def test_dense_metrics_match_slow_python(seed: int, k: int) -> None:
    scores, train, test = random_case(seed)
    r, n = recall_ndcg_at_k(
        torch.from_numpy(scores), torch.from_numpy(train), torch.from_numpy(test), k
    )
    r_slow, n_slow = slow_metrics(scores, train, test, k)
    assert_close(r, torch.from_numpy(r_slow))
    assert_close(n, torch.from_numpy(n_slow))


@pytest.mark.parametrize("batch_users", [1, 7, 2048])
def test_batched_sparse_evaluation_matches_slow_python(batch_users: int) -> None:
    scores, train, test = random_case(5, U=40, M=30)
    g = np.random.default_rng(0)
    # scores as an inner product U Iᵀ: factor through an exact embedding (U = scores, I = identity)
    U, I = torch.from_numpy(scores), torch.eye(30, dtype=torch.float64)
    got = evaluate_topk(
        U, I, sp.csr_matrix(train), sp.csr_matrix(test), k=10, batch_users=batch_users
    )
    r_slow, n_slow = slow_metrics(scores, train, test, 10)
    has = test.sum(1) > 0
    assert got["recall"] == pytest.approx(r_slow[has].mean(), rel=1e-12)
    assert got["ndcg"] == pytest.approx(n_slow[has].mean(), rel=1e-12)
    subset = g.choice(40, 9, replace=False)
    got = evaluate_topk(U, I, sp.csr_matrix(train), sp.csr_matrix(test), k=10, users=subset)
    keep = subset[has[subset]]
    assert got["recall"] == pytest.approx(r_slow[keep].mean(), rel=1e-12)


def test_ndcg_idcg_comes_from_the_test_set() -> None:
    # one hit at rank 0, three test items, k = 5: DCG = 1, IDCG = 1 + 1/log2(3) + 1/log2(4)
    scores = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0, 0.0, -1.0]], dtype=torch.float64)
    test = torch.tensor([[1, 0, 0, 0, 0, 1, 1]])
    r, n = recall_ndcg_at_k(scores, torch.zeros_like(test), test, 5)
    assert r.item() == pytest.approx(1 / 3)
    assert n.item() == pytest.approx(1 / (1 + 1 / math.log2(3) + 0.5))


def test_metrics_bad_inputs() -> None:
    s = torch.zeros(2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="at most the number of items"):
        recall_ndcg_at_k(s, torch.zeros(2, 3), torch.zeros(2, 3), 4)
    with pytest.raises(ValueError, match="same shape"):
        recall_ndcg_at_k(s, torch.zeros(2, 2), torch.zeros(2, 3), 1)
    with pytest.raises(ValueError, match="expected \\(n_users, n_items\\)"):
        evaluate_topk(
            torch.zeros(2, 4), torch.zeros(3, 4), sp.csr_matrix((2, 4)), sp.csr_matrix((2, 3))
        )
