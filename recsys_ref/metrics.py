"""Top-K evaluation of NGCF (Wang et al., SIGIR 2019, §4.2.1): recall@K and ndcg@K over the full ranking.

Protocol: for each user with at least one test item, rank *all* items except the user's training
items (those are masked to −∞: they are known positives, not recommendations), take the top K.

Paper → code:  K → ``k``;  test set T_u → ``test`` row;  rank r = 0..K-1 of the top list;
recall@K = |top_K ∩ T_u| / |T_u|;  DCG@K = Σ_r hit_r / log2(r + 2);
IDCG@K = Σ_{r < min(|T_u|, K)} 1 / log2(r + 2) — from the user's *test set*, not from the retrieved
list.  The authors' TensorFlow code's ``metrics.py`` still computes it from the hits of the list
(ndcg = 1 for a user whose single hit sits at rank 0 although other test items were missed); the
paper's footnote and the PyTorch port use the ideal list, as here.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from ._checks import expect_positive_int, expect_same_size, expect_tensor


def _discounts(k: int, dtype: torch.dtype, device=None) -> Tensor:
    return 1.0 / torch.log2(torch.arange(2, k + 2, dtype=dtype, device=device))  # (k,)


def _recall_ndcg_from_hits(hits: Tensor, n_test: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """hits (B, k) 0/1 in rank order, n_test (B,) → recall, ndcg (B,); 0 for a user with no test item."""
    disc = _discounts(k, hits.dtype, hits.device)  # (k,)
    ideal = torch.cat(
        [torch.zeros(1, dtype=hits.dtype, device=hits.device), disc.cumsum(0)]
    )  # (k+1,)
    idcg = ideal[n_test.clamp(max=k)]  # (B,)  min(|T_u|, K) ideal hits
    denom = n_test.clamp(min=1).to(hits.dtype)  # (B,)
    recall = hits.sum(1) / denom  # (B,)
    ndcg = (hits * disc).sum(1) / idcg.clamp(min=torch.finfo(hits.dtype).tiny)  # (B,)
    return recall, ndcg


def recall_ndcg_at_k(scores: Tensor, train: Tensor, test: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """recall@K and ndcg@K per user, train items masked (dense form, small data).

    scores (U, M) float; train, test (U, M) 0/1 (any dtype); k ≥ 1 → (recall (U,), ndcg (U,)) in
    scores' dtype.  A user with no test item gets 0 for both (exclude such users when averaging).
    """
    expect_tensor("scores", scores, ndim=2, floating=True)
    expect_tensor("train", train, ndim=2)
    expect_tensor("test", test, ndim=2)
    expect_positive_int("k", k)
    if train.shape != scores.shape or test.shape != scores.shape:
        raise ValueError(
            f"scores, train and test must have the same shape (U, M); got "
            f"{tuple(scores.shape)}, {tuple(train.shape)}, {tuple(test.shape)}"
        )
    if k > scores.shape[1]:
        raise ValueError(f"k ({k}) must be at most the number of items ({scores.shape[1]})")
    masked = scores.masked_fill(train != 0, float("-inf"))  # (U, M)  known positives out
    top = masked.topk(k, dim=1).indices  # (U, k)
    is_test = test != 0  # (U, M)
    hits = is_test.gather(1, top).to(scores.dtype)  # (U, k)
    return _recall_ndcg_from_hits(hits, is_test.sum(1), k)


# ----------------------------------------------------------- batched, sparse ground truth


def _csr(M: object, name: str) -> sp.csr_matrix:
    if isinstance(M, Tensor):
        M = M.to_dense() if M.layout != torch.strided else M
        M = sp.csr_matrix(M.cpu().numpy())
    if not sp.issparse(M):
        raise TypeError(
            f"{name} must be a scipy.sparse matrix or a torch tensor (n_users, n_items), "
            f"got {type(M).__name__}"
        )
    csr: sp.csr_matrix = sp.csr_matrix(M)
    csr.sort_indices()
    return csr


def _rows_of(crow: Tensor, col: Tensor, users: Tensor) -> tuple[Tensor, Tensor]:
    """(row position in ``users``, column) of every stored entry of the given CSR rows, no loop."""
    start, counts = crow[users], crow[users + 1] - crow[users]  # (B,), (B,)
    r = torch.repeat_interleave(torch.arange(len(users)), counts)  # (nnz_b,)
    first = torch.repeat_interleave(counts.cumsum(0) - counts, counts)  # (nnz_b,)
    pos = torch.arange(len(r)) - first + start[r]  # (nnz_b,)
    return r, col[pos]


@torch.no_grad()
def evaluate_topk(
    user_emb: Tensor,
    item_emb: Tensor,
    train: object,
    test: object,
    k: int = 20,
    batch_users: int = 2048,
    users: Tensor | np.ndarray | None = None,
) -> dict[str, float]:
    """Mean recall@K and ndcg@K over the users with at least one test item, full ranking.

    user_emb (n_users, d*), item_emb (n_items, d*): final embeddings (eq. 9); scores are
    user_emb @ item_embᵀ (eq. 10), computed ``batch_users`` rows at a time.  train, test:
    scipy.sparse or torch (n_users, n_items).  users: restrict to these ids (default: all).
    Top-K and hit lookup happen on the tensor side; no per-user Python loop.
    """
    expect_tensor("user_emb", user_emb, ndim=2, floating=True)
    expect_tensor("item_emb", item_emb, ndim=2, floating=True)
    expect_positive_int("k", k)
    expect_positive_int("batch_users", batch_users)
    train_m, test_m = _csr(train, "train"), _csr(test, "test")
    n_users, n_items = user_emb.shape[0], item_emb.shape[0]
    for name, m in (("train", train_m), ("test", test_m)):
        if m.shape != (n_users, n_items):
            raise ValueError(
                f"{name} has shape {m.shape}, expected (n_users, n_items) = ({n_users}, {n_items})"
            )
    expect_same_size("user_emb's width", user_emb.shape[1], "item_emb's width", item_emb.shape[1])
    n_test_all = np.diff(test_m.indptr)  # (n_users,)
    ids = np.arange(n_users) if users is None else np.asarray(users, dtype=np.int64)
    ids = ids[n_test_all[ids] > 0]
    dev = user_emb.device
    tr_crow, tr_col = (
        torch.from_numpy(train_m.indptr.astype(np.int64)),
        torch.from_numpy(train_m.indices.astype(np.int64)),
    )
    te_crow, te_col = (
        torch.from_numpy(test_m.indptr.astype(np.int64)),
        torch.from_numpy(test_m.indices.astype(np.int64)),
    )
    item_t = item_emb.T.contiguous()  # (d*, n_items)
    rec_sum = ndcg_sum = 0.0
    for s in range(0, len(ids), batch_users):
        b = torch.from_numpy(ids[s : s + batch_users])  # (B,)
        scores = user_emb[b.to(dev)] @ item_t  # (B, n_items)
        r, c = _rows_of(tr_crow, tr_col, b)
        scores[r.to(dev), c.to(dev)] = float("-inf")  # train items masked
        top = scores.topk(k, dim=1).indices  # (B, k)
        is_test = torch.zeros(len(b), n_items, dtype=torch.bool, device=dev)  # (B, n_items)
        r, c = _rows_of(te_crow, te_col, b)
        is_test[r.to(dev), c.to(dev)] = True
        hits = is_test.gather(1, top).to(torch.float64)  # (B, k)
        n_test = (te_crow[b + 1] - te_crow[b]).to(dev)  # (B,)
        recall, ndcg = _recall_ndcg_from_hits(hits, n_test, k)
        rec_sum += float(recall.sum())
        ndcg_sum += float(ndcg.sum())
    n = max(len(ids), 1)
    return {"recall": rec_sum / n, "ndcg": ndcg_sum / n}


@torch.no_grad()
def evaluate_scores(
    scores: Tensor | np.ndarray, train: object, test: object, k: int = 20
) -> dict[str, float]:
    """``evaluate_topk`` for a ready score matrix (n_users, n_items) — popularity, content-based or
    hybrid scores that are not inner products of embeddings (scores = S @ I with I the identity)."""
    S = torch.as_tensor(scores)
    expect_tensor("scores", S, ndim=2, floating=True)
    eye = torch.eye(S.shape[1], dtype=S.dtype)  # (n_items, n_items), one-hot item "embeddings"
    return evaluate_topk(
        S, eye, train, test, k=k, batch_users=max(1, min(2048, 2**24 // S.shape[1]))
    )


@torch.no_grad()
def evaluate_model(
    model: torch.nn.Module,
    train: object,
    test: object,
    k: int = 20,
    batch_users: int = 2048,
    users=None,
) -> dict[str, float]:
    """``evaluate_topk`` on ``model.embeddings()`` computed once in eval mode (no dropout)."""
    was_training = model.training
    model.eval()
    try:
        U, I = model.embeddings()  # type: ignore[operator]  # nn.Module's attributes: Tensor | Module
        return evaluate_topk(U, I, train, test, k=k, batch_users=batch_users, users=users)
    finally:
        model.train(was_training)
