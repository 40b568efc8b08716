"""Concept questions of the capstone track (notebooks 30–31), answered in code."""

from __future__ import annotations

from ...engine.questions import question
from . import NB30, NB31

EXERCISES = [
    question(
        "q_cap_30a",
        NB30,
        "hour as a plain number",
        "B",
        "On a line 23 h and 0 h are 23 apart, the farthest pair of the day although they are one hour "
        "apart; on the circle (sin, cos) they are neighbours, as close as 12 h and 13 h.",
        choices="ABC",
        wrong={
            "A": "on the circle 23 h and 0 h are one hour apart, like 12 h and 13 h; the plain number "
            "puts them 23 apart",
            "C": "23 h and 0 h are one hour apart in time, but the plain number puts them 23 apart",
        },
    ),
    question(
        "q_cap_30b",
        NB30,
        "numeric temperature in an FM",
        "C",
        "A numeric field enters eq. 1 as x·v: its interaction with an outfit is ⟨v_i, v_t⟩·t, linear in t, "
        "so it cannot express 'warm outfits are liked at 0 °C and disliked at 25 °C and again at −15 °C' "
        "— buckets give every band its own vector.",
        choices="ABC",
        wrong={
            "A": "the numeric field has one vector v_t for every temperature; its interaction "
            "⟨v_i, v_t⟩·t is linear in t, not any function of it",
            "B": "it is not about the size of V: one row or eight, the interaction ⟨v_i, v_t⟩·t stays "
            "linear in t",
        },
    ),
    question(
        "q_cap_31a",
        NB31,
        "shapes of the gate",
        16,
        "A has one row per warmth level and one column per knot, (L, M): with L = 8 levels and the two "
        "knots (0 °C, 20 °C), 8 × 2 = 16 numbers.",
        rtol=0.0,
        atol=0.5,
        wrong={
            8: "that is one number per level; each level has one height per knot (M = 2 here)",
            2: "that is one level's heights; there are L = 8 levels",
        },
    ),
    question(
        "q_cap_31b",
        NB31,
        "warm start within a recency window",
        "A",
        "Warm start keeps what the old months taught (user and outfit vectors) and only needs to adapt to "
        "the new month; the recency window keeps enough old rows that it does not forget them.",
        choices="ABC",
        wrong={
            "B": "a warm start begins from the trained weights, so it needs fewer epochs than a model "
            "from scratch, not more",
            "C": "training only on the new month forgets the other seasons; the recency window keeps "
            "recent old months in the training set",
        },
    ),
]
