"""cap_7 offset_gate: learner-written per-user offset gates g_ℓ(t + δ_u)."""

import numpy as np
import torch

from recsys_ref.context import hat_basis
from tests.catalogue import Variant


def _curve(t, level, A, knots):  # the learner's gate: the basis times the level's row of heights
    return (hat_basis(t, knots) * A[level]).sum(dim=1)


def minus(t, user, level, delta, A, knots):
    return _curve(t - delta[user], level, A, knots)


def bias(t, user, level, delta, A, knots):
    g = _curve(t, level, A, knots)
    return g + delta[user]


def no_offset(t, user, level, delta, A, knots):
    return _curve(t, level, A, knots)


def clamp_then_shift(t, user, level, delta, A, knots):
    t = torch.clamp(t, min=knots[0].item(), max=knots[-1].item())
    return _curve(t + delta[user], level, A, knots)


def delta_of_level(t, user, level, delta, A, knots):
    return _curve(t + delta[level], level, A, knots)


def every_level(t, user, level, delta, A, knots):
    phi = hat_basis(t + delta[user], knots)  # (B, M)
    return (phi.unsqueeze(1) * A.unsqueeze(0)).sum(dim=(1, 2))


def one_based(t, user, level, delta, A, knots):
    return _curve(t + delta[user], level - 1, A, knots)


def per_row_interp(t, user, level, delta, A, knots):  # np.interp is flat outside the knots
    shifted = (t + delta[user]).numpy()
    rows = [np.interp(shifted[b], knots.numpy(), A[level[b]].numpy()) for b in range(len(t))]
    return torch.tensor(rows, dtype=t.dtype)


def segment_formula(t, user, level, delta, A, knots):  # λ by hand, heights gathered per segment
    s = (t + delta[user]).clamp(knots[0], knots[-1])
    j = (torch.searchsorted(knots, s, right=True) - 1).clamp(0, len(knots) - 2)
    lam = (s - knots[j]) / (knots[j + 1] - knots[j])
    h = A[level]  # (B, M)
    lo = h.gather(1, j[:, None])[:, 0]
    hi = h.gather(1, (j + 1)[:, None])[:, 0]
    return lo + lam * (hi - lo)


WRONG = [
    Variant("t − δ", minus, "offset subtracted"),
    Variant("δ added to the gate's output", bias, "offset outside the gate"),
    Variant("no offset", no_offset, "offset ignored"),
    Variant("clamp, then shift", clamp_then_shift, "clamped before the shift"),
    Variant("delta[level]", delta_of_level, "δ by warmth level"),
    Variant("every level's heights", every_level, "every level summed"),
    Variant("A[level − 1]", one_based, "levels counted from 1"),
]
CORRECT = [
    Variant("np.interp per event", per_row_interp),
    Variant("λ by hand, heights gathered", segment_formula),
]


def one_hot_levels(t, user, level, delta, A, knots):  # the level's row through a one-hot
    rows = torch.nn.functional.one_hot(level).to(A.dtype) @ A  # (B, level.max() + 1) @ (L, M)
    return (hat_basis(t + delta[user], knots) * rows).sum(dim=1)


# the variants the edge rule's case catches (Exercise.edges): a size read off the indices
EDGE = [Variant("F.one_hot(level) without num_classes", one_hot_levels, ("hard_coded_size", None))]
