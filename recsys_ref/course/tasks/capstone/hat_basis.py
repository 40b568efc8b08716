"""Capstone task cap_6: the piecewise-linear (hat) basis of feels-like temperature, the own-idea gate.

Misconceptions: no clamping, the nearest knot, the weights swapped, λ not divided by the segment
width, evenly spaced knots assumed, the knot below only.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ....context_fm import hat_basis
from ...engine.spec import Case, Exercise, Misconception
from .._generators import EMPTY_LAST_BUCKET, SMALLEST, empty_last_bucket, f64, gen, uniform
from . import NB31


def _hat_cases(seed: int) -> list[Case]:
    g = gen(seed)
    even = f64(-10.0, 0.0, 10.0, 20.0, 30.0)
    uneven = f64(-10.0, 0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 32.0)
    return [
        Case("uneven knots, temperatures inside", (uniform(g, 10, -9, 31), uneven)),
        Case("evenly spaced knots", (uniform(g, 8, -10, 30), even)),
        Case("outside the knots (clamped)", (f64(-25.0, -10.0, 32.0, 40.0), uneven)),
        Case("exactly on knots", (f64(-10.0, 0.0, 5.0, 25.0), uneven)),
        Case("two knots", (uniform(g, 5, -5, 15), f64(0.0, 10.0))),
        Case(  # no t beyond the last-but-one knot: the last knot's column is all 0
            "nothing in the last segment",
            (empty_last_bucket(uniform(g, 7, -12, 31), uneven[:-1]), uneven),
        ),
    ]


def _hat_no_clamp(t: Tensor, knots: Tensor) -> Tensor:  # linear extrapolation of the end segments
    M = knots.shape[0]
    j = (torch.bucketize(t, knots, right=True) - 1).clamp(0, M - 2)
    lam = (t - knots[j]) / (knots[j + 1] - knots[j])
    out = torch.zeros(t.shape[0], M, dtype=t.dtype)
    out.scatter_(1, j.unsqueeze(1), (1 - lam).unsqueeze(1))
    return out.scatter_add_(1, (j + 1).unsqueeze(1), lam.unsqueeze(1))


def _hat_nearest(t: Tensor, knots: Tensor) -> Tensor:
    j = (t.unsqueeze(1) - knots).abs().argmin(dim=1)
    return torch.nn.functional.one_hot(j, knots.shape[0]).to(t.dtype)


def _hat_swapped(t: Tensor, knots: Tensor) -> Tensor:
    B = hat_basis(t, knots)
    M = knots.shape[0]
    tc = t.clamp(float(knots[0]), float(knots[-1]))
    j = (torch.bucketize(tc, knots, right=True) - 1).clamp(0, M - 2)
    lam = (tc - knots[j]) / (knots[j + 1] - knots[j])
    out = torch.zeros_like(B)
    out.scatter_(1, j.unsqueeze(1), lam.unsqueeze(1))
    return out.scatter_add_(1, (j + 1).unsqueeze(1), (1 - lam).unsqueeze(1))


def _hat_even(t: Tensor, knots: Tensor) -> Tensor:  # assumes knots[j] = knots[0] + j·h
    M = knots.shape[0]
    h = float(knots[1] - knots[0])
    pos = ((t - knots[0]) / h).clamp(0, M - 1)
    j = pos.floor().long().clamp(0, M - 2)
    lam = pos - j
    out = torch.zeros(t.shape[0], M, dtype=t.dtype)
    out.scatter_(1, j.unsqueeze(1), (1 - lam).unsqueeze(1))
    return out.scatter_add_(1, (j + 1).unsqueeze(1), lam.unsqueeze(1))


def _hat_unnormalised(t: Tensor, knots: Tensor) -> Tensor:  # λ = t − κ_j, not divided by the width
    M = knots.shape[0]
    tc = t.clamp(float(knots[0]), float(knots[-1]))
    j = (torch.bucketize(tc, knots, right=True) - 1).clamp(0, M - 2)
    lam = tc - knots[j]
    out = torch.zeros(t.shape[0], M, dtype=t.dtype)
    out.scatter_(1, j.unsqueeze(1), (1 - lam).unsqueeze(1))
    return out.scatter_add_(1, (j + 1).unsqueeze(1), lam.unsqueeze(1))


def _hat_left_only(t: Tensor, knots: Tensor) -> Tensor:  # weight 1 on the knot at or below (a step)
    M = knots.shape[0]
    tc = t.clamp(float(knots[0]), float(knots[-1]))
    j = (torch.bucketize(tc, knots, right=True) - 1).clamp(0, M - 1)
    return torch.nn.functional.one_hot(j, M).to(t.dtype)


EXERCISES = [
    Exercise(
        task_id="cap_6",
        title="piecewise-linear basis of feels-like temperature (the own-idea gate)",
        notebook=NB31,
        func_name="hat_basis",
        reference=hat_basis,
        make_cases=_hat_cases,
        edges=(
            (EMPTY_LAST_BUCKET, "t", "knots#-2"),
            (SMALLEST, "knots:0=2"),
        ),
        equation="φ_j(t) = 1 − λ, φ_{j+1}(t) = λ, λ = (t − κ_j)/(κ_{j+1} − κ_j), t clamped to [κ_0, κ_{M−1}]",
        misconceptions=(
            Misconception(
                "no clamping",
                _hat_no_clamp,
                "outside the knots your weights extrapolate (negative or above 1); clamp t "
                "to [knots[0], knots[-1]] first, so the function stays flat there",
            ),
            Misconception(
                "nearest knot",
                _hat_nearest,
                "you put all the weight on the nearest knot (a step function); interpolate: "
                "1 − λ on the knot below, λ on the knot above",
            ),
            Misconception(
                "weights swapped",
                _hat_swapped,
                "your weights are swapped: the knot below gets 1 − λ and the knot above λ, "
                "λ = (t − κ_j)/(κ_{j+1} − κ_j)",
            ),
            Misconception(
                "even spacing assumed",
                _hat_even,
                "you assumed evenly spaced knots (one step h = κ_1 − κ_0); find t's segment "
                "and use its own width κ_{j+1} − κ_j",
            ),
            Misconception(
                "knot below only",
                _hat_left_only,
                "you put all the weight on the knot below t (a step function); the knot "
                "above gets λ",
            ),
            Misconception(
                "λ not normalised",
                _hat_unnormalised,
                "your λ is t − κ_j in degrees; it is the fraction of the segment, "
                "λ = (t − κ_j)/(κ_{j+1} − κ_j) ∈ [0, 1]",
            ),
        ),
    ),
]
