"""Mistake catalogue of fm_3 (fm_pairwise_naive, FM eq. 1's double sum)."""

import torch

from tests.catalogue import Variant


def _pairs(x, V, *, keep):
    xv = x.unsqueeze(2) * V  # (B, n, k)
    P = xv @ xv.transpose(1, 2)  # (B, n, n)
    n = x.shape[1]
    i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    return (P * keep(i, j).to(P.dtype)).sum(dim=(1, 2))


def with_diagonal(x, V):
    return _pairs(x, V, keep=lambda i, j: j >= i)


def both_orders(x, V):
    return _pairs(x, V, keep=lambda i, j: j != i)


def all_pairs(x, V):
    return _pairs(x, V, keep=lambda i, j: torch.ones_like(i, dtype=torch.bool))


def without_x(x, V):
    G = torch.triu(V @ V.T, diagonal=1).sum()
    return G * torch.ones(x.shape[0], dtype=x.dtype)


def summed_over_batch(x, V):
    return _pairs(x, V, keep=lambda i, j: j > i).sum()


def float32(x, V):
    return _pairs(x.float(), V.float(), keep=lambda i, j: j > i)


def through_numpy(x, V):
    xv = x.detach().numpy()[:, :, None] * V.detach().numpy()
    return torch.from_numpy(
        sum(
            (xv[:, i] * xv[:, j]).sum(1)
            for i in range(x.shape[1])
            for j in range(i + 1, x.shape[1])
        )
        + 0.0 * x.detach().numpy()[:, 0]
    )


WRONG = [
    Variant("j ≥ i (diagonal kept)", with_diagonal, "i = j included"),
    Variant("j ≠ i (both orders)", both_orders, "both orders"),
    Variant("all (i, j)", all_pairs, "all ordered pairs"),
    Variant("x_i x_j left out", without_x, "x missing"),
    Variant("summed over the batch", summed_over_batch, "summed over the batch"),
    Variant("float32", float32, "dtype"),
    Variant("numpy loops", through_numpy, "no_gradient"),
]


def double_loop(x, V):
    B, n = x.shape
    out = torch.zeros(B, dtype=x.dtype)
    for i in range(n):
        for j in range(i + 1, n):
            out = out + (V[i] * V[j]).sum() * x[:, i] * x[:, j]
    return out


def einsum_triu(x, V):
    P = torch.einsum("bi,ik,jk,bj->bij", x, V, V, x)
    return torch.triu(P, diagonal=1).sum(dim=(1, 2))


def lemma(x, V):
    return 0.5 * ((x @ V) ** 2 - (x**2) @ (V**2)).sum(dim=1)


CORRECT = [
    Variant("double loop over i < j", double_loop),
    Variant("einsum and triu", einsum_triu),
    Variant("Lemma 3.1 (also correct here)", lemma),
]
