"""NGCF task ngcf_5: the full forward, layers concatenated and scored, eq. 9–10."""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor

from ....graph import bipartite_adjacency, normalized_laplacian
from ....ngcf import concat_layers, ngcf_layer, ngcf_scores
from ...engine.spec import Case, Exercise, Misconception
from .._generators import SMALLEST, UNUSED_LAST_INDEX, gen, normal
from . import NB12
from ._graphs import random_R


def _forward_cases(seed: int) -> list[Case]:
    g = gen(seed)
    randn = partial(normal, g, scale=0.5)

    def L(*a, **k) -> Tensor:
        return normalized_laplacian(bipartite_adjacency(random_R(g, *a, **k)), "sym")

    return [
        Case(
            "4 users, 5 items, 2 layers of 3",
            (randn(9, 3), L(4, 5, 0.4), [randn(3, 3), randn(3, 3)], [randn(3, 3), randn(3, 3)], 4),
        ),
        Case("one layer", (randn(7, 2), L(3, 4, 0.5), [randn(2, 2)], [randn(2, 2)], 3)),
        Case(
            "layer sizes 4 → 3 → 2",
            (
                randn(8, 4),
                L(5, 3, 0.5, isolated=True),
                [randn(4, 3), randn(3, 2)],
                [randn(4, 3), randn(3, 2)],
                5,
            ),
        ),
        Case("one user", (randn(5, 2), L(1, 4, 0.6), [randn(2, 2)], [randn(2, 2)], 1)),
        Case(
            "the last item (node N−1) isolated",
            (randn(8, 2), L(3, 5, 0.5, last_isolated=True), [randn(2, 2)], [randn(2, 2)], 3),
        ),
    ]


def _fwd_layers(E0, L, W1s, W2s):
    layers = [E0]
    for W1, W2 in zip(W1s, W2s):
        layers.append(ngcf_layer(layers[-1], L, W1, W2))
    return layers


def _fwd_sum(E0, L, W1s, W2s, n_users):
    E = torch.stack(_fwd_layers(E0, L, W1s, W2s)).sum(0)
    return E[:n_users] @ E[n_users:].T


def _fwd_last(E0, L, W1s, W2s, n_users):
    E = _fwd_layers(E0, L, W1s, W2s)[-1]
    return E[:n_users] @ E[n_users:].T


def _fwd_no_ego(E0, L, W1s, W2s, n_users):
    E = concat_layers(_fwd_layers(E0, L, W1s, W2s)[1:])
    return E[:n_users] @ E[n_users:].T


def _fwd_mean(E0, L, W1s, W2s, n_users):
    E = torch.stack(_fwd_layers(E0, L, W1s, W2s)).mean(0)
    return E[:n_users] @ E[n_users:].T


def _fwd_normalized(E0, L, W1s, W2s, n_users):  # the official code's F.normalize of each new layer
    layers = [E0]
    for W1, W2 in zip(W1s, W2s):
        layers.append(ngcf_layer(layers[-1], L, W1, W2))
    E = concat_layers([E0] + [F.normalize(E_l, dim=1) for E_l in layers[1:]])
    return E[:n_users] @ E[n_users:].T


def _fwd_normalized_propagated(E0, L, W1s, W2s, n_users):  # normalised before the next layer too
    layers = [E0]
    for W1, W2 in zip(W1s, W2s):
        layers.append(F.normalize(ngcf_layer(layers[-1], L, W1, W2), dim=1))
    E = concat_layers(layers)
    return E[:n_users] @ E[n_users:].T


def _fwd_split(shift: int):
    def wrong(E0, L, W1s, W2s, n_users):
        E = concat_layers(_fwd_layers(E0, L, W1s, W2s))
        return E[: n_users + shift] @ E[n_users + shift :].T

    return wrong


def _fwd_transposed(E0, L, W1s, W2s, n_users):
    return ngcf_scores(E0, L, W1s, W2s, n_users).T


EXERCISES = [
    Exercise(
        task_id="ngcf_5",
        title="full forward with concatenation",
        notebook=NB12,
        func_name="ngcf_scores",
        reference=ngcf_scores,
        make_cases=_forward_cases,
        edges=(
            (UNUSED_LAST_INDEX, "L@1", "L:1"),
            (SMALLEST, "n_users=1", "W1s=1"),
        ),
        equation="eq. 9–10, e* = e^(0) ‖ … ‖ e^(L), ŷ_ui = e_u*ᵀ e_i*",
        differentiable=True,
        misconceptions=(
            Misconception(
                "sum_of_layers",
                _fwd_sum,
                "you summed the layers; eq. 9 concatenates them, e^(0) ‖ e^(1) ‖ … ‖ e^(L) "
                "(torch.cat along dim 1)",
            ),
            Misconception(
                "last_layer_only",
                _fwd_last,
                "you scored with the last layer only; eq. 9 concatenates every layer, "
                "e^(0) included",
            ),
            Misconception(
                "no_ego_embeddings",
                _fwd_no_ego,
                "the ego embeddings e^(0) are missing from the concatenation of eq. 9",
            ),
            Misconception(
                "mean_of_layers",
                _fwd_mean,
                "you averaged the layers (LightGCN's choice); eq. 9 concatenates them, "
                "e^(0) ‖ e^(1) ‖ … ‖ e^(L) (torch.cat along dim 1)",
            ),
            Misconception(
                "normalized_layers",
                _fwd_normalized,
                "you L2-normalised each layer's output (F.normalize, as the official code "
                "does); eq. 9 concatenates the layers as they are",
            ),
            Misconception(
                "normalized_propagated",
                _fwd_normalized_propagated,
                "you L2-normalised each layer (F.normalize) and propagated the normalised "
                "embeddings; eq. 7 and 9 use the layers as they are",
            ),
            Misconception(
                "split_plus_one",
                _fwd_split(1),
                "users are rows 0..n_users−1 of E*, items the rows from n_users on: you "
                "split at n_users + 1 (use E[:n_users] and E[n_users:])",
            ),
            Misconception(
                "split_minus_one",
                _fwd_split(-1),
                "users are rows 0..n_users−1 of E*, items the rows from n_users on: you "
                "split at n_users − 1 (use E[:n_users] and E[n_users:])",
            ),
            Misconception(
                "transposed",
                _fwd_transposed,
                "you returned items × users; rows must be users: E_users @ E_itemsᵀ",
            ),
        ),
    ),
]
