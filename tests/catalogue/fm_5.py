"""Mistake catalogue of fm_5 (fm_pairwise_fields, Lemma 3.1 on label-encoded fields)."""

import torch

from tests.catalogue import Variant


def _sums(idx, V):
    e = V[idx]  # (B, F, k)
    return e, e.sum(dim=1), (e * e).sum(dim=1)  # (B, F, k), (B, k), (B, k)


def no_half(idx, V):
    e, s, s2 = _sums(idx, V)
    return (s * s - s2).sum(dim=1)


def no_subtraction(idx, V):
    e, s, s2 = _sums(idx, V)
    return 0.5 * (s * s).sum(dim=1)


def plus_diagonal(idx, V):
    e, s, s2 = _sums(idx, V)
    return 0.5 * (s * s + s2).sum(dim=1)


def wrong_axis(idx, V):
    e = V[idx]
    return 0.5 * (e.sum(dim=2) ** 2 - (e * e).sum(dim=2)).sum(dim=1)


def mean_over_k(idx, V):
    e, s, s2 = _sums(idx, V)
    return 0.5 * (s * s - s2).mean(dim=1)


def keepdim(idx, V):
    e = V[idx]
    s = e.sum(dim=1)
    return 0.5 * (s * s - (e * e).sum(dim=1)).sum(dim=1, keepdim=True)


def all_field_pairs(idx, V):
    e = V[idx]
    P = e @ e.transpose(1, 2)  # (B, F, F)
    return torch.triu(P, diagonal=1).sum(dim=(1, 2))


def float32(idx, V):
    e = V.float()[idx]
    s = e.sum(dim=1)
    return 0.5 * (s * s - (e * e).sum(dim=1)).sum(dim=1)


WRONG = [
    Variant("½ missing", no_half, "missing ½"),
    Variant("Σ e² not subtracted", no_subtraction, "no subtraction"),
    Variant("Σ e² added", plus_diagonal, "i = j included"),
    Variant("sums over k instead of fields", wrong_axis, "wrong axis"),
    Variant("mean over k", mean_over_k, "mean over k"),
    Variant("keepdim=True", keepdim, "keepdim"),
    Variant("(B, F, F) field pairs", all_field_pairs, "complexity"),
    Variant("float32", float32, "dtype"),
]


def embedding_bag(idx, V):
    s = torch.nn.functional.embedding_bag(idx, V, mode="sum")  # (B, k)
    s2 = torch.nn.functional.embedding_bag(idx, V * V, mode="sum")
    return 0.5 * (s.pow(2) - s2).sum(1)


def loop_over_fields(idx, V):
    s = torch.zeros(idx.shape[0], V.shape[1], dtype=V.dtype)
    s2 = torch.zeros_like(s)
    for f in range(idx.shape[1]):  # loops are allowed here
        e = V[idx[:, f]]
        s, s2 = s + e, s2 + e * e
    return 0.5 * (s * s - s2).sum(dim=1)


def einsum(idx, V):
    e = V[idx]
    s = torch.einsum("bfk->bk", e)
    return 0.5 * (torch.einsum("bk,bk->b", s, s) - torch.einsum("bfk,bfk->b", e, e))


CORRECT = [
    Variant("embedding_bag sums", embedding_bag),
    Variant("loop over fields", loop_over_fields),
    Variant("einsum", einsum),
]


def one_hot_from_indices(idx, V):  # x as wide as the largest feature used, not V's n rows
    x = torch.nn.functional.one_hot(idx).sum(dim=1).to(V.dtype)  # (B, idx.max() + 1)
    return 0.5 * ((x @ V).pow(2) - x @ V.pow(2)).sum(dim=1)


# the variants the edge rule's case catches (Exercise.edges): a size read off the indices
EDGE = [
    Variant("one_hot(idx) without num_classes", one_hot_from_indices, ("hard_coded_size", None))
]
