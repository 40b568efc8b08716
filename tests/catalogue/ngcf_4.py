"""Mistake catalogue of ngcf_4 (ngcf_layer, eq. 7 in matrix form)."""

import torch
import torch.nn.functional as F

from tests.catalogue import Variant


def no_self_connection(E, L, W1, W2):
    side = L @ E
    return F.leaky_relu(side @ W1 + (side * E) @ W2, 0.2)


def no_bi_interaction(E, L, W1, W2):
    return F.leaky_relu((L @ E + E) @ W1, 0.2)


def mul_after_matmul(E, L, W1, W2):
    side = L @ E
    return F.leaky_relu((side + E) @ W1 + side * (E @ W2), 0.2)


def bi_with_self_loop(E, L, W1, W2):
    side = L @ E + E
    return F.leaky_relu(side @ W1 + (side * E) @ W2, 0.2)


def no_activation(E, L, W1, W2):
    side = L @ E
    return (side + E) @ W1 + (side * E) @ W2


def relu(E, L, W1, W2):
    side = L @ E
    return torch.relu((side + E) @ W1 + (side * E) @ W2)


def default_slope(E, L, W1, W2):
    side = L @ E
    return F.leaky_relu((side + E) @ W1 + (side * E) @ W2)


def with_eye(E, L, W1, W2):
    N = E.shape[0]
    side = L @ E
    return F.leaky_relu((torch.eye(N, dtype=E.dtype) + L) @ E @ W1 + (side * E) @ W2, 0.2)


def dense_L(E, L, W1, W2):
    Ld = L.to_dense()
    side = Ld @ E
    return F.leaky_relu((side + E) @ W1 + (side * E) @ W2, 0.2)


def loop_over_nodes(E, L, W1, W2):
    L = L.coalesce()
    rows, cols = L.indices()
    vals = L.values()
    out = []
    for t in range(E.shape[0]):
        mask = rows == t
        side_t = (vals[mask, None] * E[cols[mask]]).sum(dim=0)  # (L E)_t
        out.append(F.leaky_relu((side_t + E[t]) @ W1 + (side_t * E[t]) @ W2, 0.2))
    return torch.stack(out)


def float32(E, L, W1, W2):
    side = L.float() @ E.float()
    return F.leaky_relu((side + E.float()) @ W1.float() + (side * E.float()) @ W2.float(), 0.2)


WRONG = [
    Variant("L E W1 (no I)", no_self_connection, "no_self_connection"),
    Variant("no bi-interaction", no_bi_interaction, "no_bi_interaction"),
    Variant("(L E) ⊙ (E W2)", mul_after_matmul, "mul_matmul_swapped"),
    Variant("((L+I) E ⊙ E) W2", bi_with_self_loop, "bi_with_self_loop"),
    Variant("no activation", no_activation, "no_activation"),
    Variant("ReLU", relu, "relu"),
    Variant("F.leaky_relu default slope", default_slope, "default_slope"),
    Variant("(torch.eye(N) + L) @ E", with_eye, "complexity"),
    Variant("L.to_dense() @ E", dense_L, "complexity"),
    Variant("Python loop over nodes", loop_over_nodes, "loop"),
    Variant("float32", float32, "dtype"),
]


def sparse_mm_einsum(E, L, W1, W2):
    side = torch.sparse.mm(L, E)
    pre = torch.einsum("nd,de->ne", side + E, W1) + torch.einsum("nd,de->ne", side * E, W2)
    return torch.where(pre > 0, pre, 0.2 * pre)


def csr(E, L, W1, W2):
    side = L.to_sparse_csr() @ E
    return F.leaky_relu(side @ W1 + E @ W1 + torch.mul(side, E) @ W2, negative_slope=0.2)


def loop_over_layers_of_terms(E, L, W1, W2):
    terms = [(L @ E) @ W1, E @ W1, ((L @ E) * E) @ W2]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return F.leaky_relu(total, 0.2)


CORRECT = [
    Variant("torch.sparse.mm, einsum, torch.where", sparse_mm_einsum),
    Variant("CSR L, W1 distributed", csr),
    Variant("a short loop over the three terms", loop_over_layers_of_terms),
]


def rebuilt_without_size(E, L, W1, W2):  # L copied with its size read off its indices
    L = L.coalesce()
    side = torch.sparse_coo_tensor(L.indices(), L.values()).to_dense() @ E
    return F.leaky_relu((side + E) @ W1 + (side * E) @ W2, 0.2)


# the variants the edge rule's case catches (Exercise.edges): a size read off the indices (node N−1 isolated)
EDGE = [Variant("L rebuilt without its size", rebuilt_without_size, ("hard_coded_size", None))]
