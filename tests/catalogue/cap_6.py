"""cap_6 hat_basis: learner-written piecewise-linear bases."""

import numpy as np
import torch

from tests.catalogue import Variant


def _seg(t, knots):
    M = len(knots)
    return (torch.searchsorted(knots, t, right=True) - 1).clamp(0, M - 2)


def no_clamp(t, knots):
    j = _seg(t, knots)
    lam = (t - knots[j]) / (knots[j + 1] - knots[j])
    out = torch.zeros(len(t), len(knots), dtype=t.dtype)
    out[torch.arange(len(t)), j] = 1 - lam
    out[torch.arange(len(t)), j + 1] += lam
    return out


def nearest(t, knots):
    j = (t[:, None] - knots[None]).abs().argmin(1)
    return torch.nn.functional.one_hot(j, len(knots)).to(t.dtype)


def swapped(t, knots):
    tc = t.clamp(float(knots[0]), float(knots[-1]))
    j = _seg(tc, knots)
    lam = (tc - knots[j]) / (knots[j + 1] - knots[j])
    out = torch.zeros(len(t), len(knots), dtype=t.dtype)
    out[torch.arange(len(t)), j] = lam
    out[torch.arange(len(t)), j + 1] += 1 - lam
    return out


def even(t, knots):
    h = float(knots[1] - knots[0])
    pos = ((t - knots[0]) / h).clamp(0, len(knots) - 1)
    j = pos.floor().long().clamp(0, len(knots) - 2)
    lam = pos - j
    out = torch.zeros(len(t), len(knots), dtype=t.dtype)
    out[torch.arange(len(t)), j] = 1 - lam
    out[torch.arange(len(t)), j + 1] += lam
    return out


def floor_knot(t, knots):
    tc = t.clamp(float(knots[0]), float(knots[-1]))
    j = (torch.searchsorted(knots, tc, right=True) - 1).clamp(0, len(knots) - 1)
    return torch.nn.functional.one_hot(j, len(knots)).to(t.dtype)


def unnormalised(t, knots):  # λ without dividing by the segment width
    tc = t.clamp(float(knots[0]), float(knots[-1]))
    j = _seg(tc, knots)
    lam = tc - knots[j]
    out = torch.zeros(len(t), len(knots), dtype=t.dtype)
    out[torch.arange(len(t)), j] = 1 - lam
    out[torch.arange(len(t)), j + 1] += lam
    return out


def tent_formula(t, knots):  # φ_m(t) = max(0, 1 − |t − κ_m| / width), per side
    tc = t.clamp(float(knots[0]), float(knots[-1]))[:, None]  # (B, 1)
    k = knots[None]  # (1, M)
    left = torch.cat([knots[:1], knots[:-1]])[None]
    right = torch.cat([knots[1:], knots[-1:]])[None]
    up = torch.where(
        tc <= k,
        (tc - left) / (k - left).clamp(min=1e-12),
        (right - tc) / (right - k).clamp(min=1e-12),
    )
    out = up.clamp(0, 1)
    out[:, :1] = torch.where(tc <= k[:, :1], 1.0, out[:, :1])
    out[:, -1:] = torch.where(tc >= k[:, -1:], 1.0, out[:, -1:])
    return out


def numpy_interp(t, knots):
    eye = np.eye(len(knots))
    cols = [np.interp(t.numpy(), knots.numpy(), eye[m]) for m in range(len(knots))]
    return torch.from_numpy(np.stack(cols, axis=1))


WRONG = [
    Variant("no clamping", no_clamp, "no clamping"),
    Variant("nearest knot", nearest, "nearest knot"),
    Variant("weights swapped", swapped, "weights swapped"),
    Variant("even spacing", even, "even spacing assumed"),
    Variant("floor knot", floor_knot, "knot below only"),
    Variant("λ not divided by the width", unnormalised, "λ not normalised"),
]
CORRECT = [
    Variant("np.interp of the identity", numpy_interp),
    Variant("tent formula", tent_formula),
]


def one_hot_columns(t, knots):  # as many columns as the segments used, plus one
    j = _seg(t, knots)
    tc = t.clamp(float(knots[0]), float(knots[-1]))
    lam = (tc - knots[j]) / (knots[j + 1] - knots[j])
    right = torch.nn.functional.one_hot(j + 1).to(t.dtype)  # (B, j.max() + 2)
    left = torch.nn.functional.pad(torch.nn.functional.one_hot(j), (0, 1)).to(t.dtype)
    return left * (1 - lam)[:, None] + right * lam[:, None]


# the variant the edge rule's case catches (Exercise.edges): no t in the last segment
EDGE = [Variant("F.one_hot without num_classes", one_hot_columns, ("hard_coded_size", None))]
