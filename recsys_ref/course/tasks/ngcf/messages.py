"""NGCF task ngcf_3: the per-edge messages of one node and their aggregation, eq. 3–4, with loops.

The wrong variants are one function, ``_node_variant``, with a switch per misconception.
"""

from __future__ import annotations

import math
from functools import partial

import torch
import torch.nn.functional as F

from ....ngcf import NEGATIVE_SLOPE, neighbor_lists, node_update
from ...engine.spec import Case, Exercise, Misconception
from .._generators import SMALLEST, gen, normal
from . import NB11
from ._graphs import random_R


def _node_cases(seed: int) -> list[Case]:
    g = gen(seed)
    randn = partial(normal, g)

    R1 = random_R(g, 4, 5, 0.5)
    n1 = neighbor_lists(R1)
    t1 = max(range(4), key=lambda t: len(n1[t]))  # a user with several neighbours
    R2 = random_R(g, 4, 4, 0.5, isolated=True)
    n2 = neighbor_lists(R2)
    R3 = random_R(g, 3, 6, 0.4)
    n3 = neighbor_lists(R3)
    return [
        Case("a user of a 4×5 graph, d = d' = 3", (t1, randn(9, 3), n1, randn(3, 3), randn(3, 3))),
        Case("an item node", (3 + 6 - 1, randn(9, 2), n3, randn(2, 2), randn(2, 2))),
        Case("an isolated user", (3, randn(8, 3), n2, randn(3, 3), randn(3, 3))),
        Case("d = 3 → d' = 2", (0, randn(9, 3), n3, randn(3, 2), randn(3, 2))),
        Case("d = 1", (1, randn(9, 1), n1, randn(1, 1), randn(1, 1))),
    ]


def _node_variant(
    t,
    E,
    neighbors,
    W1,
    W2,
    *,
    self_conn=True,
    bi=True,
    swapped=False,
    decay="sym",
    act="leaky",
    columns=False,
):
    if columns:  # the paper's column orientation W e, which is Wᵀ e here
        W1, W2 = W1.T, W2.T
    e_t = E[t]
    total = e_t @ W1 if self_conn else torch.zeros(W1.shape[1], dtype=E.dtype)
    for j in neighbors[t]:
        n_t, n_j = len(neighbors[t]), len(neighbors[j])
        if decay == "sym":
            p = 1.0 / math.sqrt(n_t * n_j)
        elif decay == "mean":
            p = 1.0 / n_t
        elif decay == "plus_one":
            p = 1.0 / math.sqrt((n_t + 1) * (n_j + 1))
        else:
            p = 1.0
        msg = E[j] @ W1
        if bi:
            msg = msg + (E[j] * (e_t @ W2) if swapped else (E[j] * e_t) @ W2)
        total = total + p * msg
    if act == "leaky":
        return F.leaky_relu(total, NEGATIVE_SLOPE)
    if act == "leaky_default":
        return F.leaky_relu(total)  # torch's default slope 0.01
    return torch.relu(total) if act == "relu" else total


EXERCISES = [
    Exercise(
        task_id="ngcf_3",
        title="per-edge messages and aggregation for one node",
        notebook=NB11,
        func_name="node_update",
        reference=node_update,
        make_cases=_node_cases,
        edges=((SMALLEST, "E:1=1", "W1:1=1"),),
        equation="eq. 3–4, e_u' = LeakyReLU(m_{u←u} + Σ_i m_{u←i})",
        differentiable=True,
        misconceptions=(
            Misconception(
                "no_self_connection",
                lambda *a: _node_variant(*a, self_conn=False),
                "the self-connection m_{u←u} = W1 e_u is missing; eq. 4 adds it to the sum of "
                "the neighbours' messages",
            ),
            Misconception(
                "no_bi_interaction",
                lambda *a: _node_variant(*a, bi=False),
                "you dropped the bi-interaction term W2 (e_i ⊙ e_u) of eq. 3; the message "
                "depends on how similar e_i and e_u are",
            ),
            Misconception(
                "mul_matmul_swapped",
                lambda *a: _node_variant(*a, swapped=True),
                "you computed e_i ⊙ (W2 e_u); eq. 3 multiplies element-wise first, "
                "W2 (e_i ⊙ e_u): torch.mul, then torch.matmul",
            ),
            Misconception(
                "mean_decay",
                lambda *a: _node_variant(*a, decay="mean"),
                "you used the mean decay 1/|N_u|; eq. 3's p_ui = 1/sqrt(|N_u||N_i|) uses both "
                "ends' degrees",
            ),
            Misconception(
                "degree_plus_one",
                lambda *a: _node_variant(*a, decay="plus_one"),
                "you used the degrees + 1; eq. 3's p_ui = 1/sqrt(|N_u||N_i|) counts only the "
                "neighbours (the self-connection is a separate term)",
            ),
            Misconception(
                "column_orientation",
                lambda *a: _node_variant(*a, columns=True),
                "you wrote W1 @ e (the paper's column vectors), which is W1ᵀ e here: the "
                "weights are (d, d') and embeddings are rows, so write e @ W1 and "
                "(e_i * e_u) @ W2",
            ),
            Misconception(
                "default_slope",
                lambda *a: _node_variant(*a, act="leaky_default"),
                "you used F.leaky_relu's default negative slope 0.01; NGCF uses 0.2 "
                "(F.leaky_relu(x, 0.2), NEGATIVE_SLOPE in the notebook)",
            ),
            Misconception(
                "no_decay",
                lambda *a: _node_variant(*a, decay=None),
                "the decay p_ui = 1/sqrt(|N_u||N_i|) of eq. 3 is missing; without it "
                "high-degree nodes dominate",
            ),
            Misconception(
                "no_activation",
                lambda *a: _node_variant(*a, act=None),
                "the LeakyReLU of eq. 4 is missing",
            ),
            Misconception(
                "relu",
                lambda *a: _node_variant(*a, act="relu"),
                "you used ReLU; eq. 4 uses LeakyReLU (negative slope 0.2 here)",
            ),
        ),
    ),
]
