"""NGCF task ngcf_4: one propagation layer in matrix form, eq. 7, E' = LeakyReLU((L+I) E W1 + (L E ⊙ E) W2)."""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor

from ....graph import bipartite_adjacency, normalized_laplacian
from ....ngcf import NEGATIVE_SLOPE, ngcf_layer
from ...engine.spec import Case, ComplexityGuard, Exercise, Misconception
from .._generators import SMALLEST, UNUSED_LAST_INDEX, gen, normal
from . import NB11
from ._graphs import guard_interactions, random_R


def _layer_cases(seed: int) -> list[Case]:
    g = gen(seed)
    randn = partial(normal, g)

    def L(*a, **k) -> Tensor:
        return normalized_laplacian(bipartite_adjacency(random_R(g, *a, **k)), "sym")

    return [
        Case("4 users, 5 items, d = d' = 3", (randn(9, 3), L(4, 5, 0.4), randn(3, 3), randn(3, 3))),
        Case(
            "an isolated user and item",
            (randn(8, 2), L(4, 4, 0.5, isolated=True), randn(2, 2), randn(2, 2)),
        ),
        Case("d = 4 → d' = 2", (randn(7, 4), L(3, 4, 0.5), randn(4, 2), randn(4, 2))),
        Case("one user", (randn(5, 3), L(1, 4, 0.6), randn(3, 3), randn(3, 3))),
        Case("d = 1", (randn(6, 1), L(2, 4, 0.5), randn(1, 1), randn(1, 1))),
        Case(
            "the last item (node N−1) isolated",
            (randn(9, 3), L(4, 5, 0.4, last_isolated=True), randn(3, 3), randn(3, 3)),
        ),
    ]


def _layer_guard_cases(seed: int) -> list[Case]:
    g = gen(seed + 2)
    A = bipartite_adjacency(guard_interactions(seed))
    L = normalized_laplacian(A, "sym")
    N, d = L.shape[0], 8
    return [
        Case(
            "2,700 nodes, d = 8",
            (
                torch.randn(N, d, generator=g, dtype=torch.float64),
                L,
                torch.randn(d, d, generator=g, dtype=torch.float64),
                torch.randn(d, d, generator=g, dtype=torch.float64),
            ),
        )
    ]


def _layer_guard_limit(case: Case) -> int:
    E, L = case.args[0], case.args[1]
    return 4 * E.numel() + 12 * int(L._nnz()) + 1000


def _layer_no_self(E, L, W1, W2):
    side = L @ E
    return F.leaky_relu(side @ W1 + (side * E) @ W2, NEGATIVE_SLOPE)


def _layer_no_bi(E, L, W1, W2):
    return F.leaky_relu((L @ E + E) @ W1, NEGATIVE_SLOPE)


def _layer_swapped(E, L, W1, W2):
    side = L @ E
    return F.leaky_relu((side + E) @ W1 + side * (E @ W2), NEGATIVE_SLOPE)


def _layer_bi_self(E, L, W1, W2):
    side = L @ E + E
    return F.leaky_relu(side @ W1 + (side * E) @ W2, NEGATIVE_SLOPE)


def _layer_no_act(E, L, W1, W2):
    side = L @ E
    return (side + E) @ W1 + (side * E) @ W2


def _layer_relu(E, L, W1, W2):
    side = L @ E
    return torch.relu((side + E) @ W1 + (side * E) @ W2)


def _layer_default_slope(E, L, W1, W2):
    side = L @ E
    return F.leaky_relu((side + E) @ W1 + (side * E) @ W2)  # torch's default slope 0.01


EXERCISES = [
    Exercise(
        task_id="ngcf_4",
        title="one propagation layer in matrix form",
        notebook=NB11,
        func_name="ngcf_layer",
        reference=ngcf_layer,
        make_cases=_layer_cases,
        edges=(
            (UNUSED_LAST_INDEX, "L@1", "L:1"),
            (SMALLEST, "E:1=1", "W1:1=1"),
        ),
        equation="eq. 7, E' = LeakyReLU((L+I) E W1 + (L E ⊙ E) W2)",
        differentiable=True,
        misconceptions=(
            Misconception(
                "no_self_connection",
                _layer_no_self,
                "you used L E W1; eq. 7 has (L+I) E W1 — the I is the self-connection m_{u←u}",
            ),
            Misconception(
                "no_bi_interaction",
                _layer_no_bi,
                "you dropped the bi-interaction term (L E ⊙ E) W2 of eq. 7",
            ),
            Misconception(
                "mul_matmul_swapped",
                _layer_swapped,
                "you computed (L E) ⊙ (E W2); eq. 7 multiplies element-wise first, "
                "((L E) ⊙ E) W2: torch.mul before torch.matmul",
            ),
            Misconception(
                "bi_with_self_loop",
                _layer_bi_self,
                "you used ((L+I) E ⊙ E) W2, as the official code's L̃ does; eq. 7's "
                "bi-interaction term is (L E ⊙ E) W2, without I",
            ),
            Misconception("no_activation", _layer_no_act, "the LeakyReLU of eq. 7 is missing"),
            Misconception(
                "relu", _layer_relu, "you used ReLU; eq. 7 uses LeakyReLU (negative slope 0.2)"
            ),
            Misconception(
                "default_slope",
                _layer_default_slope,
                "you used F.leaky_relu's default negative slope 0.01; NGCF uses 0.2 "
                "(F.leaky_relu(x, 0.2), NEGATIVE_SLOPE in the notebook)",
            ),
        ),
        guard=ComplexityGuard(
            _layer_guard_limit,
            _layer_guard_cases,
            "a dense N×N tensor was created: eq. 7 needs only sparse products L @ E.",
            creators={
                "eye": "write the I of (L+I) as + E, since (L+I) E = L E + E",
                "to_dense": "multiply with L @ E (sparse × dense), never L.to_dense()",
                "zeros": "do not fill an N×N matrix: multiply with L @ E",
            },
            max_ops=200,
            loop_message="the notebook asks for no loops: one layer is a few matrix "
            "products, E' = LeakyReLU((L E + E) W1 + (L E ⊙ E) W2).",
        ),
    ),
]
