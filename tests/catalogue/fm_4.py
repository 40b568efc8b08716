"""Mistake catalogue of fm_4 (fm_pairwise_fast, Lemma 3.1)."""

import torch

from tests.catalogue import Variant


def no_half(x, V):
    return ((x @ V) ** 2 - (x * x) @ (V * V)).sum(dim=1)


def no_subtraction(x, V):
    return 0.5 * ((x @ V) ** 2).sum(dim=1)


def plus_diagonal(x, V):
    return 0.5 * ((x @ V) ** 2 + (x * x) @ (V * V)).sum(dim=1)


def sum_before_square(x, V):
    return 0.5 * ((x @ V).sum(dim=1) ** 2 - ((x * x) @ (V * V)).sum(dim=1))


def x_not_squared(x, V):
    return 0.5 * ((x @ V) ** 2 - x @ (V * V)).sum(dim=1)


def mean_over_k(x, V):
    return 0.5 * ((x @ V) ** 2 - (x * x) @ (V * V)).mean(dim=1)


def naive(x, V):
    xv = x.unsqueeze(2) * V  # (B, n, k)
    return torch.triu(xv @ xv.transpose(1, 2), diagonal=1).sum(dim=(1, 2))  # (B, n, n)


def loop_over_features(x, V):
    s = torch.zeros(x.shape[0], V.shape[1], dtype=x.dtype)
    s2 = torch.zeros(x.shape[0], V.shape[1], dtype=x.dtype)
    for i in range(x.shape[1]):
        term = x[:, i : i + 1] * V[i]
        s = s + term
        s2 = s2 + term * term
    return 0.5 * (s * s - s2).sum(dim=1)


def float32(x, V):
    x, V = x.float(), V.float()
    return 0.5 * ((x @ V) ** 2 - (x * x) @ (V * V)).sum(dim=1)


WRONG = [
    Variant("½ missing", no_half, "missing ½"),
    Variant("Σ v²x² not subtracted", no_subtraction, "no subtraction"),
    Variant("Σ v²x² added", plus_diagonal, "i = j included"),
    Variant("sum over f before squaring", sum_before_square, "wrong axis"),
    Variant("x not squared", x_not_squared, "x not squared"),
    Variant("mean over k", mean_over_k, "mean over k"),
    Variant("the naive (B, n, n) form", naive, "complexity"),
    Variant("Python loop over the n features", loop_over_features, "loop"),
    Variant("float32", float32, "dtype"),
]


def einsum(x, V):
    xv = torch.einsum("bn,nk->bk", x, V)
    x2v2 = torch.einsum("bn,nk->bk", x.square(), V.square())
    return 0.5 * (xv.square() - x2v2).sum(-1)


def loop_over_k(x, V):
    out = torch.zeros(x.shape[0], dtype=x.dtype)
    for f in range(V.shape[1]):  # a loop over the k latent dimensions is fine
        v = V[:, f]
        out = out + 0.5 * ((x @ v) ** 2 - (x**2) @ (v**2))
    return out


def pow_and_mul(x, V):
    a = torch.matmul(x, V).pow(2).sum(1)
    b = torch.matmul(x.pow(2), V.pow(2)).sum(1)
    return (a - b) / 2


CORRECT = [
    Variant("einsum and square", einsum),
    Variant("loop over the k dimensions", loop_over_k),
    Variant("matmul, pow, / 2", pow_and_mul),
]
