"""Mistake catalogue of ngcf_5 (ngcf_scores, eq. 9–10)."""

import torch
import torch.nn.functional as F

from tests.catalogue import Variant


def layer(E, L, W1, W2):  # the learner's own ngcf_layer from ngcf_4
    side = L @ E
    return F.leaky_relu((side + E) @ W1 + (side * E) @ W2, 0.2)


def _layers(E0, L, W1s, W2s):
    layers = [E0]
    for W1, W2 in zip(W1s, W2s):
        layers.append(layer(layers[-1], L, W1, W2))
    return layers


def _scores(E, n_users):
    return E[:n_users] @ E[n_users:].T


def summed(E0, L, W1s, W2s, n_users):
    return _scores(sum(_layers(E0, L, W1s, W2s)), n_users)


def last_only(E0, L, W1s, W2s, n_users):
    return _scores(_layers(E0, L, W1s, W2s)[-1], n_users)


def no_ego(E0, L, W1s, W2s, n_users):
    return _scores(torch.cat(_layers(E0, L, W1s, W2s)[1:], dim=1), n_users)


def mean(E0, L, W1s, W2s, n_users):
    return _scores(torch.stack(_layers(E0, L, W1s, W2s)).mean(dim=0), n_users)


def normalised_outputs(E0, L, W1s, W2s, n_users):
    layers = _layers(E0, L, W1s, W2s)
    return _scores(
        torch.cat([layers[0]] + [F.normalize(E, p=2, dim=1) for E in layers[1:]], dim=1), n_users
    )


def normalised_propagated(E0, L, W1s, W2s, n_users):
    layers = [E0]
    for W1, W2 in zip(W1s, W2s):
        layers.append(F.normalize(layer(layers[-1], L, W1, W2), dim=1))
    return _scores(torch.cat(layers, dim=1), n_users)


def split_plus_one(E0, L, W1s, W2s, n_users):
    E = torch.cat(_layers(E0, L, W1s, W2s), dim=1)
    return E[: n_users + 1] @ E[n_users + 1 :].T


def split_minus_one(E0, L, W1s, W2s, n_users):
    E = torch.cat(_layers(E0, L, W1s, W2s), dim=1)
    return E[: n_users - 1] @ E[n_users - 1 :].T


def transposed(E0, L, W1s, W2s, n_users):
    E = torch.cat(_layers(E0, L, W1s, W2s), dim=1)
    return E[n_users:] @ E[:n_users].T


def detached_layers(E0, L, W1s, W2s, n_users):
    return _scores(torch.cat([E.detach() for E in _layers(E0, L, W1s, W2s)], dim=1), n_users)


WRONG = [
    Variant("sum of the layers", summed, "sum_of_layers"),
    Variant("last layer only", last_only, "last_layer_only"),
    Variant("no e^(0)", no_ego, "no_ego_embeddings"),
    Variant("mean of the layers", mean, "mean_of_layers"),
    Variant("F.normalize of each output", normalised_outputs, "normalized_layers"),
    Variant("F.normalize, propagated", normalised_propagated, "normalized_propagated"),
    Variant("split at n_users + 1", split_plus_one, "split_plus_one"),
    Variant("split at n_users − 1", split_minus_one, "split_minus_one"),
    Variant("items × users", transposed, "transposed"),
    Variant("layers detached", detached_layers, "no_gradient"),
]


def per_layer_dot_products(E0, L, W1s, W2s, n_users):
    # e*_uᵀ e*_i of a concatenation = the sum of the layers' inner products
    return sum(E[:n_users] @ E[n_users:].T for E in _layers(E0, L, W1s, W2s))


def hstack_einsum(E0, L, W1s, W2s, n_users):
    E = torch.hstack(_layers(E0, L, W1s, W2s))
    users, items = torch.split(E, [n_users, E.shape[0] - n_users])
    return torch.einsum("ud,id->ui", users, items)


CORRECT = [
    Variant("sum of per-layer inner products", per_layer_dot_products),
    Variant("hstack, torch.split, einsum", hstack_einsum),
]


def rebuilt_without_size(E0, L, W1s, W2s, n_users):  # L copied with its size read off its indices
    L = L.coalesce()
    Ls = torch.sparse_coo_tensor(L.indices(), L.values())
    return _scores(torch.cat(_layers(E0, Ls, W1s, W2s), dim=1), n_users)


# the variants the edge rule's case catches (Exercise.edges): a size read off the indices (node N−1 isolated)
EDGE = [Variant("L rebuilt without its size", rebuilt_without_size, ("hard_coded_size", None))]
