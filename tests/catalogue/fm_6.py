"""Mistake catalogue of fm_6 (fm_forward, FM eq. 1)."""

import torch

from tests.catalogue import Variant


def _pairwise(idx, V, *, half=0.5, subtract=True, reduce="sum"):
    e = V[idx]
    s = e.sum(dim=1)
    inner = s * s - ((e * e).sum(dim=1) if subtract else 0.0)
    return half * (inner.sum(dim=1) if reduce == "sum" else inner.mean(dim=1))


def _linear(idx, w):
    return w[idx].sum(dim=1)


WRONG = [
    Variant(
        "sigmoid of the score",
        lambda idx, w0, w, V: torch.sigmoid(w0 + _linear(idx, w) + _pairwise(idx, V)),
        "sigmoid",
    ),
    Variant("no w0", lambda idx, w0, w, V: _linear(idx, w) + _pairwise(idx, V), "no bias"),
    Variant("no linear term", lambda idx, w0, w, V: w0 + _pairwise(idx, V), "no linear term"),
    Variant(
        "½ missing",
        lambda idx, w0, w, V: w0 + _linear(idx, w) + _pairwise(idx, V, half=1.0),
        "missing ½",
    ),
    Variant(
        "Σ e² not subtracted",
        lambda idx, w0, w, V: w0 + _linear(idx, w) + _pairwise(idx, V, subtract=False),
        "no subtraction",
    ),
    Variant(
        "mean over k",
        lambda idx, w0, w, V: w0 + _linear(idx, w) + _pairwise(idx, V, reduce="mean"),
        "mean over k",
    ),
    Variant(
        "(B, 1) linear term",
        lambda idx, w0, w, V: w0 + w[idx].sum(dim=1, keepdim=True) + _pairwise(idx, V),
        "(B,1) + (B,) broadcast",
    ),
    Variant(
        "mean linear term",
        lambda idx, w0, w, V: w0 + w[idx].mean(dim=1) + _pairwise(idx, V),
        "mean linear term",
    ),
    Variant(
        "float32", lambda idx, w0, w, V: (w0 + _linear(idx, w) + _pairwise(idx, V)).float(), "dtype"
    ),
]


def one_hot_products(idx, w0, w, V):
    x = torch.zeros(idx.shape[0], w.shape[0], dtype=w.dtype).scatter_(1, idx, 1.0)  # dense x (B, n)
    return w0 + x @ w + 0.5 * ((x @ V) ** 2 - (x @ (V**2))).sum(dim=1)


def gather_einsum(idx, w0, w, V):
    e = V[idx]
    s = torch.einsum("bfk->bk", e)
    pair = 0.5 * (s.pow(2).sum(-1) - e.pow(2).sum((1, 2)))
    return (
        torch.as_tensor(w0, dtype=w.dtype)
        + torch.gather(w.expand(idx.shape[0], -1), 1, idx).sum(1)
        + pair
    )


CORRECT = [
    Variant("dense one-hot x and Lemma 3.1", one_hot_products),
    Variant("gather and einsum, w0 as a tensor", gather_einsum),
]


def one_hot_from_indices(idx, w0, w, V):  # x as wide as the largest feature used, not n
    x = torch.nn.functional.one_hot(idx).sum(dim=1).to(V.dtype)  # (B, idx.max() + 1)
    return w0 + x @ w + 0.5 * ((x @ V).pow(2) - x @ V.pow(2)).sum(dim=1)


# the variants the edge rule's case catches (Exercise.edges): a size read off the indices
EDGE = [
    Variant("one_hot(idx) without num_classes", one_hot_from_indices, ("hard_coded_size", None))
]
