"""Concept questions of the capstone track (notebooks 30–31), answered in code."""

from __future__ import annotations

from ...engine.questions import question
from . import NB30, NB31

EXERCISES = [
    question(
        "q_cap_30a",
        NB30,
        "hour as a plain number",
        "sha256:444e841c8690912146a6bd63494ee656f56883b8309e8f883ca71f16560de8e6",
        "On a line 23 h and 0 h are 23 apart, the farthest pair of the day although they are one hour "
        "apart; on the circle (sin, cos) they are neighbours, as close as 12 h and 13 h.",
        choices="ABC",
        wrong={
            "sha256:ba07ee39a2064032d670db36d90b43a26b2e23a0d7e8324659e8b26f48872afe": "on the circle 23 h and 0 h are one hour apart, like 12 h and 13 h; the plain number "
            "puts them 23 apart",
            "sha256:8016fee189d24c71c397785cae2de16dc0a5f01205405b9f0313bd295fc430e1": "23 h and 0 h are one hour apart in time, but the plain number puts them 23 apart",
        },
    ),
    question(
        "q_cap_30b",
        NB30,
        "numeric temperature in an FM",
        "sha256:0f25bcc75b4eb5260b9ddd09010ad7bceb3c9a9e7c5bbbcf143ccbf354ae86db",
        "A numeric field enters eq. 1 as x·v: its interaction with an outfit is ⟨v_i, v_t⟩·t, linear in t, "
        "so it cannot express 'warm outfits are liked at 0 °C and disliked at 25 °C and again at −15 °C' "
        "— buckets give every band its own vector.",
        choices="ABC",
        wrong={
            "sha256:2be200594c7af1d01979fa7b9bfb3caa8a4a4f4ce0481f47b3d2c4c98ab4753a": "the numeric field has one vector v_t for every temperature; its interaction "
            "⟨v_i, v_t⟩·t is linear in t, not any function of it",
            "sha256:7d0fff4c0af1e477b01177ab6b5bbd599c02131ce28ade51189eac7c89512d78": "it is not about the size of V: one row or eight, the interaction ⟨v_i, v_t⟩·t stays "
            "linear in t",
        },
    ),
    question(
        "q_cap_31a",
        NB31,
        "shapes of the gate",
        "sha256:019e15e7efc40cb1998661ab890c0feee17494f92d296bd551c1f4081c4970c6:1.0:73cf7b62aa708590",
        "A has one row per warmth level and one column per knot, (L, M): with L = 8 levels and the two "
        "knots (0 °C, 20 °C), 8 × 2 = 16 numbers.",
        rtol=0.0,
        atol=0.5,
        wrong={
            "sha256:354c4f9df35aa8fc032a9d110de470c7509c219a401828353ef84517ee3943c8:1.0:0161c0ea8164e134": "that is one number per level; each level has one height per knot (M = 2 here)",
            "sha256:bd69be762e929848bf5b6f13ee3e7e8772e2d8862cfc7c61989e87038fa2f165:1.0:bf6fe340800cfc8b": "that is one level's heights; there are L = 8 levels",
        },
    ),
    question(
        "q_cap_31b",
        NB31,
        "warm start within a recency window",
        "sha256:1fdb1132f709a823f671f1e16a366c4d74cd680e61d7b12d82f0a305a3b753da",
        "Warm start keeps what the old months taught (user and outfit vectors) and only needs to adapt to "
        "the new month; the recency window keeps enough old rows that it does not forget them.",
        choices="ABC",
        wrong={
            "sha256:53b717bb956222d9c98050f30013968c4ded545c202ad9c53e647ccb499dafbe": "a warm start begins from the trained weights, so it needs fewer epochs than a model "
            "from scratch, not more",
            "sha256:41149eb425207c7c8aff77f3452ac029a18139e9148aa719b51c8f208c6492f9": "training only on the new month forgets the other seasons; the recency window keeps "
            "recent old months in the training set",
        },
    ),
]
