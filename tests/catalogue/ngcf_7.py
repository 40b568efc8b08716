"""Mistake catalogue of ngcf_7 (recall_ndcg_at_k, §4.2.1)."""

import torch

from tests.catalogue import Variant


def _metrics(
    scores,
    train,
    test,
    k,
    *,
    fill=float("-inf"),
    mask=True,
    ideal="min",
    first=1,
    recall_denominator="all",
):
    s = scores.masked_fill(train != 0, fill) if mask else scores
    top = s.topk(k, dim=1).indices
    is_test = test != 0
    hits = is_test.gather(1, top).to(scores.dtype)
    n_test = is_test.sum(dim=1)
    positions = torch.arange(first, first + k, dtype=scores.dtype)
    disc = 1.0 / torch.log2(positions + 1)
    dcg = (hits * disc).sum(dim=1)
    if ideal == "min":
        n_ideal = n_test.clamp(max=k)
    elif ideal == "all":
        n_ideal = n_test
    else:  # from the retrieved hits
        n_ideal = hits.sum(dim=1).long()
    longest = max(int(n_test.max()), k)
    all_disc = 1.0 / torch.log2(torch.arange(first, first + longest, dtype=scores.dtype) + 1)
    idcg = torch.cat([torch.zeros(1, dtype=scores.dtype), all_disc.cumsum(0)])[n_ideal]
    ndcg = torch.where(idcg > 0, dcg / idcg, torch.zeros_like(dcg))
    if recall_denominator == "all":
        recall = hits.sum(dim=1) / n_test.clamp(min=1)
    elif recall_denominator == "min":
        recall = hits.sum(dim=1) / n_test.clamp(min=1, max=k)
    else:
        recall = hits.sum(dim=1) / k
    return recall, ndcg


def per_user_loop(scores, train, test, k):
    recall, ndcg = [], []
    disc = 1.0 / torch.log2(torch.arange(2, k + 2, dtype=scores.dtype))
    for u in range(scores.shape[0]):
        s = scores[u].masked_fill(train[u] != 0, float("-inf"))
        hits = (test[u] != 0)[s.topk(k).indices].to(scores.dtype)
        n = int((test[u] != 0).sum())
        idcg = disc[: min(n, k)].sum()
        recall.append(hits.sum() / max(n, 1))
        ndcg.append((hits * disc).sum() / idcg if n else torch.zeros((), dtype=scores.dtype))
    return torch.stack(recall), torch.stack(ndcg)


def numpy_outputs(scores, train, test, k):
    recall, ndcg = _metrics(scores, train, test, k)
    return recall.numpy(), ndcg.numpy()


WRONG = [
    Variant("train items not masked", lambda *a: _metrics(*a, mask=False), "train_not_masked"),
    Variant("masked with 0", lambda *a: _metrics(*a, fill=0.0), "masked_with_zero"),
    Variant(
        "IDCG over all |T_u|", lambda *a: _metrics(*a, ideal="all"), "idcg_over_all_test_items"
    ),
    Variant(
        "IDCG from the retrieved hits", lambda *a: _metrics(*a, ideal="hits"), "idcg_from_retrieved"
    ),
    Variant("0-based log2(r + 1)", lambda *a: _metrics(*a, first=0), "zero_based_rank"),
    Variant(
        "recall / min(|T_u|, K)",
        lambda *a: _metrics(*a, recall_denominator="min"),
        "recall_over_min",
    ),
    Variant(
        "recall / K (precision)", lambda *a: _metrics(*a, recall_denominator="k"), "recall_over_k"
    ),
    Variant("per-user Python loop", per_user_loop, "loop"),
    Variant("numpy outputs", numpy_outputs, "container"),
]


def argsort_and_big_negative(scores, train, test, k):
    s = scores - 1e12 * (train != 0).to(scores.dtype)
    top = torch.argsort(s, dim=1, descending=True)[:, :k]
    hits = torch.take_along_dim((test != 0).to(scores.dtype), top, dim=1)
    n = (test != 0).sum(dim=1)
    disc = torch.log2(torch.arange(k, dtype=scores.dtype) + 2).reciprocal()
    idcg = torch.cumsum(disc, 0)[(n.clamp(max=k) - 1).clamp(min=0)] * (n > 0)
    ndcg = torch.nan_to_num((hits * disc).sum(1) / idcg, nan=0.0)
    return hits.sum(1) / n.clamp(min=1), ndcg


def loop_over_ranks(scores, train, test, k):
    s = scores.clone()
    s[train != 0] = float("-inf")
    top = s.topk(k, dim=1).indices
    hit = (test != 0).gather(1, top)
    n = (test != 0).sum(1)
    dcg = torch.zeros(scores.shape[0], dtype=scores.dtype)
    idcg = torch.zeros(scores.shape[0], dtype=scores.dtype)
    for r in range(k):  # a loop over the K ranks, not over users
        w = 1.0 / torch.log2(torch.tensor(r + 2.0, dtype=scores.dtype))
        dcg = dcg + hit[:, r] * w
        idcg = idcg + (n > r) * w
    ndcg = torch.where(n > 0, dcg / idcg.clamp(min=1e-300), torch.zeros_like(dcg))
    return hit.sum(1).to(scores.dtype) / n.clamp(min=1), ndcg


CORRECT = [
    Variant("argsort, −1e12 mask, take_along_dim", argsort_and_big_negative),
    Variant("loop over the K ranks", loop_over_ranks),
    Variant("a list instead of a tuple", lambda *a: list(_metrics(*a))),
]
