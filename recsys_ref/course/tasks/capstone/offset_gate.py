"""The capstone's own model term, task cap_7 (notebook 31): the per-user offset gate.

g_ℓ(t + δ_u) = Σ_m φ_m(t + δ_u) A[ℓ, m]: each user feels the temperature shifted by a
learned offset δ_u, inside the gate of task cap_6 (``recsys_ref.context.offset_gate``).  It is
graded here on fixed weights (random heights A, offsets δ and knots) and then trained in the
notebook, where ``OffsetGatedFM`` with the learner's function must beat plain FM on held-out
logloss.  Misconceptions named: the offset subtracted, added outside the gate or ignored,
the clamp before the shift, δ looked up by the warmth level, every level's heights summed,
levels counted from 1.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ....context import hat_basis, offset_gate
from ...engine.spec import Case, Exercise, Misconception
from .._generators import BATCH_OF_ONE, UNUSED_LAST_INDEX, gen, uniform, unused_last
from . import NB31

KNOTS = (-10.0, 0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 32.0)  # notebook 31's knots, uneven


def _case(
    g: torch.Generator,
    B: int,
    lo: float,
    hi: float,
    U: int = 12,
    L: int = 8,
    knots: tuple[float, ...] = KNOTS,
) -> tuple[Tensor, ...]:
    """t, user, level (B,) and the fixed weights: offsets δ (U,) °C, heights A (L, M), knots (M,)."""
    delta = 3.0 * torch.randn(U, generator=g, dtype=torch.float64)  # (U,)
    A = torch.randn(L, len(knots), generator=g, dtype=torch.float64)  # (L, M)
    t = uniform(g, B, lo, hi)  # (B,) °C
    user = torch.randint(0, U, (B,), generator=g)  # (B,)
    level = torch.randint(0, L, (B,), generator=g)  # (B,)
    level[0] = L - 1  # the warmest level is in every case: levels counted from 1 shows
    return t, user, level, delta, A, torch.tensor(knots, dtype=torch.float64)


def _own_cases(seed: int) -> list[Case]:
    g = gen(seed)
    cold = list(_case(g, 6, -25.0, -12.0))  # below the first knot, shifted into the knots
    cold[3] = cold[3].abs() + 6.0  # every offset +6 … +15 °C: the clamp's place shows
    hot = list(_case(g, 5, 33.0, 40.0))
    hot[3] = -(hot[3].abs() + 4.0)  # offsets −4 … −13 °C from beyond the last knot
    unused = list(_case(g, 10, -12.0, 33.0, U=6, L=4))
    unused[1], unused[2] = unused_last(unused[1], 6), unused_last(unused[2], 4)  # sizes: δ's, A's
    return [
        Case("a month of events, 12 users, 8 warmth levels", _case(g, 16, -12.0, 33.0)),
        Case("cold days below the first knot, warm-blooded users", tuple(cold)),
        Case("hot days beyond the last knot, users who feel it cooler", tuple(hot)),
        Case(
            "evenly spaced knots, 3 levels",
            _case(g, 8, -5.0, 25.0, U=5, L=3, knots=(-10.0, 0.0, 10.0, 20.0, 30.0)),
        ),
        Case("one event", _case(g, 1, -3.0, 8.0, U=4, L=8)),
        Case("the last user and the warmest level unused", tuple(unused)),
    ]


def _gate(t: Tensor, level: Tensor, A: Tensor, knots: Tensor) -> Tensor:
    return (hat_basis(t, knots) * A[level]).sum(dim=1)  # (B,)


def _subtracted(t, user, level, delta, A, knots):  # t − δ_u: the offset's sign flipped
    return _gate(t - delta[user], level, A, knots)


def _outside(t, user, level, delta, A, knots):  # g_ℓ(t) + δ_u: a per-user bias, not a shift
    return _gate(t, level, A, knots) + delta[user]


def _ignored(t, user, level, delta, A, knots):  # notebook 31's GatedFM again
    return _gate(t, level, A, knots)


def _clamp_first(t, user, level, delta, A, knots):  # clamp t to the knots, then shift
    return _gate(t.clamp(float(knots[0]), float(knots[-1])) + delta[user], level, A, knots)


def _delta_by_level(t, user, level, delta, A, knots):  # δ looked up with the outfit's level
    return _gate(t + delta[level], level, A, knots)


def _all_levels(t, user, level, delta, A, knots):  # every level's curve summed: no A[ℓ]
    return (hat_basis(t + delta[user], knots) @ A.T).sum(dim=1)


def _from_one(t, user, level, delta, A, knots):  # A[ℓ − 1]: levels read as 1 … L
    return _gate(t + delta[user], level - 1, A, knots)


EXERCISES = [
    Exercise(
        task_id="cap_7",
        title="the capstone's own term: a per-user offset inside the gate",
        notebook=NB31,
        func_name="offset_gate",
        reference=offset_gate,
        make_cases=_own_cases,
        edges=(
            (UNUSED_LAST_INDEX, "user", "delta:0"),
            (UNUSED_LAST_INDEX, "level", "A:0"),
            (BATCH_OF_ONE, "t:0"),
        ),
        equation="g_ℓ(t + δ_u) = Σ_m φ_m(t + δ_u) A[ℓ, m], φ = hat_basis at the knots",
        misconceptions=(
            Misconception(
                "offset subtracted",
                _subtracted,
                "you shifted the temperature by −δ_u; the user feels t + δ_u (a warm-blooded "
                "user, δ_u > 0, feels it warmer): hat_basis(t + delta[user], knots)",
            ),
            Misconception(
                "offset outside the gate",
                _outside,
                "you added δ_u to the gate's output, a per-user bias; the offset shifts the "
                "temperature inside it: g_ℓ(t + δ_u), not g_ℓ(t) + δ_u",
            ),
            Misconception(
                "offset ignored",
                _ignored,
                "your gate ignores the user's offset (that is cap_6's GatedFM); evaluate the "
                "basis at t + delta[user]",
            ),
            Misconception(
                "clamped before the shift",
                _clamp_first,
                "you clamped t to the knots before adding δ_u; shift first, then clamp (a "
                "−20 °C day felt 15 °C warmer is −5 °C, inside the knots)",
            ),
            Misconception(
                "δ by warmth level",
                _delta_by_level,
                "you looked the offset up with the outfit's warmth level; δ has one entry per "
                "user: delta[user]",
            ),
            Misconception(
                "every level summed",
                _all_levels,
                "you summed the curves of every warmth level; each event uses its outfit's own "
                "row of heights, A[level]",
            ),
            Misconception(
                "levels counted from 1",
                _from_one,
                "you read the heights of level − 1; warmth levels are codes 0 … L − 1, the rows "
                "of A: A[level]",
            ),
        ),
    ),
]
