"""cap_4 top_k_outfits: learner-written rankers."""

import torch

from tests.catalogue import Variant


def no_mask(scores, worn, k):
    return scores.topk(k, dim=1).indices


def zero_mask(scores, worn, k):
    return (scores * ~worn).topk(k, dim=1).indices


def ascending(scores, worn, k):
    return scores.masked_fill(worn, float("inf")).topk(k, dim=1, largest=False).indices


def index_order(scores, worn, k):
    return scores.masked_fill(worn, float("-inf")).topk(k, dim=1).indices.sort(dim=1).values


def inverted(scores, worn, k):
    return scores.masked_fill(~worn, float("-inf")).topk(k, dim=1).indices


def min_minus_one(scores, worn, k):  # "small enough" constant, not −∞
    return scores.masked_fill(worn, -1.0).topk(k, dim=1).indices


def argsort_ascending_sliced(scores, worn, k):  # takes the first k of an ascending sort
    return scores.masked_fill(worn, float("inf")).argsort(dim=1)[:, :k]


def argsort_version(scores, worn, k):
    s = scores.clone()
    s[worn] = -float("inf")
    return s.argsort(dim=1, descending=True)[:, :k]


def per_row_loop(scores, worn, k):
    rows = []
    for s, w in zip(scores, worn):
        free = torch.nonzero(~w).flatten()
        rows.append(free[s[free].argsort(descending=True)[:k]])
    return torch.stack(rows)


WRONG = [
    Variant("no exclusion", no_mask, "worn not excluded"),
    Variant("multiply by the mask", zero_mask, "masked to 0"),
    Variant("largest=False", ascending, "ascending"),
    Variant("sorted by index", index_order, "index order"),
    Variant("mask inverted", inverted, "mask inverted"),
    Variant("masked to −1", min_minus_one, "masked to −1"),
    Variant("ascending argsort", argsort_ascending_sliced, "ascending"),
]
CORRECT = [Variant("argsort descending", argsort_version), Variant("per-row loop", per_row_loop)]
