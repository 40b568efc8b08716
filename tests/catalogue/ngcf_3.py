"""Mistake catalogue of ngcf_3 (node_update, eq. 3–4 with explicit loops)."""

import math

import torch
import torch.nn.functional as F

from tests.catalogue import Variant


def _update(
    t, E, neighbors, W1, W2, *, decay="sym", self_conn=True, bi="ok", act="leaky", columns=False
):
    e_t = E[t]
    mm = (lambda W, v: W @ v) if columns else (lambda W, v: v @ W)
    total = mm(W1, e_t) if self_conn else 0.0
    for j in neighbors[t]:
        n_t, n_j = len(neighbors[t]), len(neighbors[j])
        p = {
            "sym": 1 / math.sqrt(n_t * n_j),
            "mean": 1 / n_t,
            "plus_one": 1 / math.sqrt((n_t + 1) * (n_j + 1)),
            "none": 1.0,
        }[decay]
        e_j = E[j]
        msg = mm(W1, e_j)
        if bi == "ok":
            msg = msg + mm(W2, e_j * e_t)
        elif bi == "swapped":
            msg = msg + e_j * mm(W2, e_t)
        total = total + p * msg
    if act == "leaky":
        return F.leaky_relu(total, 0.2)
    if act == "default":
        return F.leaky_relu(total)
    if act == "relu":
        return torch.relu(total)
    return total


WRONG = [
    Variant("no self-connection", lambda *a: _update(*a, self_conn=False), "no_self_connection"),
    Variant("no bi-interaction", lambda *a: _update(*a, bi="none"), "no_bi_interaction"),
    Variant("e_i ⊙ (W2 e_u)", lambda *a: _update(*a, bi="swapped"), "mul_matmul_swapped"),
    Variant("mean decay 1/|N_u|", lambda *a: _update(*a, decay="mean"), "mean_decay"),
    Variant("degrees + 1", lambda *a: _update(*a, decay="plus_one"), "degree_plus_one"),
    Variant(
        "W1 @ e (column orientation)", lambda *a: _update(*a, columns=True), "column_orientation"
    ),
    Variant("F.leaky_relu default slope", lambda *a: _update(*a, act="default"), "default_slope"),
    Variant("no decay", lambda *a: _update(*a, decay="none"), "no_decay"),
    Variant("no activation", lambda *a: _update(*a, act="none"), "no_activation"),
    Variant("ReLU", lambda *a: _update(*a, act="relu"), "relu"),
    Variant("result detached", lambda *a: _update(*a).detach(), "no_gradient"),
]


def gathered(t, E, neighbors, W1, W2):
    nb = torch.tensor(neighbors[t], dtype=torch.long)
    deg = torch.tensor([len(neighbors[j]) for j in neighbors[t]], dtype=E.dtype)
    p = 1.0 / torch.sqrt(len(neighbors[t]) * deg)  # (|N_t|,)
    e_t, e_n = E[t], E[nb]  # (d,), (|N_t|, d)
    msgs = e_n @ W1 + (e_n * e_t) @ W2  # (|N_t|, d')
    return F.leaky_relu(e_t @ W1 + (p[:, None] * msgs).sum(dim=0), negative_slope=0.2)


def einsum_where(t, E, neighbors, W1, W2):
    total = torch.einsum("d,de->e", E[t], W1)
    for j in neighbors[t]:
        p = (len(neighbors[t]) * len(neighbors[j])) ** -0.5
        total = total + p * (
            torch.einsum("d,de->e", E[j], W1) + torch.einsum("d,de->e", E[j] * E[t], W2)
        )
    return torch.where(total > 0, total, 0.2 * total)


CORRECT = [
    Variant("gathered neighbours, vectorised", gathered),
    Variant("einsum and torch.where for LeakyReLU", einsum_where),
]
