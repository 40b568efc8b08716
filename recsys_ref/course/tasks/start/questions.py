"""Concept questions of 00_start_here: how a check works, and eq. 10's shape."""

from __future__ import annotations

from ...engine.questions import question
from . import NB00

EXERCISES = [
    question(
        "q_start_00a",
        NB00,
        "what a check does with a stub",
        "B",
        'a stub that still raises NotImplementedError is reported as "not started" and the '
        "check returns, so Run All goes on to the next task; only a wrong answer raises.",
        choices="ABC",
        wrong={
            "A": "an AssertionError is what a *wrong* answer gets; a stub is not wrong yet, "
            "only not started, and Run All must not stop on it",
            "C": 'nothing is skipped silently: the check prints a "not started" line so you '
            "can see which tasks remain",
        },
    ),
    question(
        "q_start_00b",
        NB00,
        "how many scores eq. 10 gives",
        35,
        "dot_scores(U, I) is U Iᵀ: one inner product per (user, item) pair, 5 × 7 = 35, "
        "whatever the embedding size d.",
        wrong={
            3: "3 is d, the embedding size; eq. 10 sums over it, it does not appear in the output",
            12: "5 + 7 counts the users and items; the scores are one per (user, item) pair",
            105: "5 × 7 × 3 counts the products inside the sums; each inner product adds its d "
            "products into one score",
        },
    ),
]
