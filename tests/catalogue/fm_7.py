"""Mistake catalogue of fm_7 (ffm_pairwise, field-aware pairs)."""

import torch

from tests.catalogue import Variant


def _E(idx, W):
    return W[idx]  # (B, F, F, k)  E[b, a, c] = w_{j_a, c}


def _upper(P):
    return torch.triu(P, diagonal=1).sum(dim=(1, 2))


def own_field(idx, W):
    F_ = idx.shape[1]
    own = W[idx, torch.arange(F_)]  # (B, F, k)  w_{j_f, f}
    return _upper(own @ own.transpose(1, 2))


def same_field(idx, W):
    E = _E(idx, W)
    own = torch.diagonal(E, dim1=1, dim2=2).transpose(1, 2)  # (B, F, k)  w_{j_c, c}
    return _upper((E * own.unsqueeze(1)).sum(-1))


def both_orders(idx, W):
    E = _E(idx, W)
    P = (E * E.transpose(1, 2)).sum(-1)
    return P.sum(dim=(1, 2)) - torch.diagonal(P, dim1=1, dim2=2).sum(-1)


def with_diagonal(idx, W):
    E = _E(idx, W)
    P = (E * E.transpose(1, 2)).sum(-1)
    return torch.triu(P).sum(dim=(1, 2))


def not_swapped(idx, W):
    E = _E(idx, W)
    return _upper((E * E).sum(-1))


def one_field_vector(idx, W):
    e = W[idx][:, :, 0]  # (B, F, k): field 0's vectors
    return _upper(e @ e.transpose(1, 2))


def through_numpy(idx, W):
    E = _E(idx, W).detach().numpy()
    P = (E * E.transpose(0, 2, 1, 3)).sum(-1)
    return torch.from_numpy(P).triu(diagonal=1).sum(dim=(1, 2))


WRONG = [
    Variant("⟨w_{j1,f1}, w_{j2,f2}⟩", own_field, "own field"),
    Variant("⟨w_{j1,f2}, w_{j2,f2}⟩", same_field, "same field"),
    Variant("both orders", both_orders, "both orders"),
    Variant("f1 = f2 kept", with_diagonal, "f1 = f2 included"),
    Variant("field axes not swapped", not_swapped, "field axes not swapped"),
    Variant("field 0's vector for all", one_field_vector, "one field's vector"),
    Variant("numpy round trip", through_numpy, "no_gradient"),
]


def double_loop(idx, W):
    B, F_ = idx.shape
    out = torch.zeros(B, dtype=W.dtype)
    for a in range(F_):
        for c in range(a + 1, F_):
            out = out + (W[idx[:, a], c] * W[idx[:, c], a]).sum(-1)
    return out


def einsum(idx, W):
    E = _E(idx, W)
    P = torch.einsum("back,bcak->bac", E, E)
    mask = torch.ones(P.shape[1:], dtype=torch.bool).triu(1)
    return (P * mask).sum(dim=(1, 2))


CORRECT = [
    Variant("double loop over field pairs", double_loop),
    Variant("einsum with a triu mask", einsum),
]


def one_hot_from_indices(idx, W):  # the rows gathered through a one-hot as wide as idx.max() + 1
    x = torch.nn.functional.one_hot(idx).to(W.dtype)  # (B, F, idx.max() + 1)
    E = torch.einsum("bfn,ngk->bfgk", x, W)  # (B, F, F, k)
    return _upper(torch.einsum("back,bcak->bac", E, E))


# the variants the edge rule's case catches (Exercise.edges): a size read off the indices
EDGE = [
    Variant("one_hot(idx) without num_classes", one_hot_from_indices, ("hard_coded_size", None))
]
