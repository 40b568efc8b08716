"""Capstone task cap_2: cyclic encoding of hour and month, (sin 2πv/P, cos 2πv/P).

Misconceptions: degrees for radians, period P − 1, sine alone, the plain number, half a turn,
the columns swapped.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ....context_fm import cyclic_features
from ...engine.spec import Case, Exercise, Misconception
from .._generators import BATCH_OF_ONE, f64, gen, uniform
from . import NB30


def _cyclic_cases(seed: int) -> list[Case]:
    g = gen(seed)
    return [
        Case("hours 0..23", (torch.randint(0, 24, (10,), generator=g).double(), 24.0)),
        Case("23 h and 0 h", (f64(23.0, 0.0, 12.0), 24.0)),
        Case("months 1..12", (torch.randint(1, 13, (8,), generator=g).double(), 12.0)),
        Case("fractional hours", (uniform(g, 6, 0, 24), 24.0)),
        Case("one value", (f64(6.0), 24.0)),
    ]


def _cyclic_degrees(value: Tensor, period: float) -> Tensor:
    a = 360.0 * value / period
    return torch.stack([torch.sin(a), torch.cos(a)], dim=-1)


def _cyclic_p_minus_1(value: Tensor, period: float) -> Tensor:
    a = 2 * math.pi * value / (period - 1)
    return torch.stack([torch.sin(a), torch.cos(a)], dim=-1)


def _cyclic_swapped(value: Tensor, period: float) -> Tensor:
    return cyclic_features(value, period).flip(-1)


def _cyclic_plain(value: Tensor, period: float) -> Tensor:
    return torch.stack([value / period, value / period], dim=-1)


def _cyclic_half(value: Tensor, period: float) -> Tensor:
    a = math.pi * value / period
    return torch.stack([torch.sin(a), torch.cos(a)], dim=-1)


def _cyclic_sin_only(value: Tensor, period: float) -> Tensor:  # one column, (N, 1)
    return torch.sin(2 * math.pi * value / period).unsqueeze(-1)


EXERCISES = [
    Exercise(
        task_id="cap_2",
        title="cyclic encoding of hour and month",
        notebook=NB30,
        func_name="cyclic_features",
        reference=cyclic_features,
        make_cases=_cyclic_cases,
        edges=((BATCH_OF_ONE, "value:0"),),
        equation="(sin 2πv/P, cos 2πv/P)",
        misconceptions=(
            Misconception(
                "degrees",
                _cyclic_degrees,
                "torch.sin takes radians: the angle is 2π·v/P, not 360·v/P",
            ),
            Misconception(
                "period P − 1",
                _cyclic_p_minus_1,
                "you divided by P − 1: then 23 h lands on 0 h (a collision); one full turn "
                "is the period P (24 hours, 12 months)",
            ),
            Misconception(
                "sin and cos swapped",
                _cyclic_swapped,
                "the columns are swapped: column 0 is sin(2πv/P), column 1 is cos(2πv/P)",
            ),
            Misconception(
                "plain number",
                _cyclic_plain,
                "you returned the value itself (scaled): 23 h and 0 h are then as far apart "
                "as possible; put it on the circle: (sin 2πv/P, cos 2πv/P)",
            ),
            Misconception(
                "half a turn",
                _cyclic_half,
                "you used π·v/P, half a turn per period: 0 h and 24 h must coincide, angle 2π·v/P",
            ),
            Misconception(
                "sin only",
                _cyclic_sin_only,
                "you returned sin(2πv/P) alone: sine takes each value twice a turn (3 h and 9 h "
                "collide); the encoding is the pair (sin 2πv/P, cos 2πv/P), shape (N, 2)",
            ),
        ),
    ),
]
