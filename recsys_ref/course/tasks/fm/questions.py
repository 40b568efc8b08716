"""Concept questions of the FM track (notebooks 20–22), answered in code (``recsys_ref.course.engine.questions``)."""

from __future__ import annotations

from ...engine.questions import question
from . import NB20, NB21, NB22

# notebook 22's setting: make_ctr's 13 fields, n features, FM with k = 8, FFM with k = 4
N_FEATURES_22, N_FIELDS_22, K_FM_22, K_FFM_22 = 34_787, 13, 8, 4


EXERCISES = [
    question(
        "q_fm_20a",
        NB20,
        "age as a number in logistic regression",
        answer="B",
        choices="ABC",
        explanation=(
            "with ŷ = w0 + w·(age − 40)/10 the logit is linear in age: each year adds w/10 to the "
            'log-odds, whatever the age; the intercept w0 (and the centring) make "twice the age" '
            "meaningless, and σ is not linear, so no probability doubles."
        ),
        wrong={
            "A": "the logit is w0 + w·(age − 40)/10: with an intercept and a centred age, doubling the age "
            "does not double the logit (at age 40 the age term is 0)",
            "C": "σ(·) is not linear: equal steps in the log-odds are not equal ratios of the probability",
        },
    ),
    question(
        "q_fm_20b",
        NB20,
        "non-zeros of a Criteo one-hot row",
        answer=39,
        rtol=0.0,
        atol=0.5,
        explanation="13 integer fields (bucketised) + 26 categorical ones, one active value each: 39 ones.",
        wrong={
            13: "13 counts only the integer fields I1..I13; the 26 categorical C1..C26 are one-hot too",
            26: "26 counts only the categorical fields; the 13 bucketised integers are fields as well",
            1: "one-hot has one 1 per field, not per row: a row has F = 39 ones",
        },
    ),
    question(
        "q_fm_21a",
        NB21,
        "the parameters of FM",
        answer=1 + 1000 + 1000 * 8,
        rtol=0.0,
        atol=0.5,  # a count: exact
        explanation="w0 (1) + w (n = 1000) + V (n × k = 8000): 9001, linear in n — Poly2 would need n(n−1)/2 pair weights.",
        wrong={
            8000: "8000 is V alone; eq. 1 also has w0 and the n linear weights w",
            9000: "9000 leaves out the global bias w0",
            1
            + 1000
            + 1000
            * 999
            // 2: "that is Poly2 (one weight per pair, n(n−1)/2 of them); FM stores one "
            "k-vector per feature instead",
        },
    ),
    question(
        "q_fm_21b",
        NB21,
        "scoring a pair never seen together",
        answer="B",
        choices="ABCD",
        explanation=(
            "FM scores (i, j) by ⟨v_i, v_j⟩, and v_i, v_j are learnt from every other partner of i and "
            "of j; Poly2's w_{i,j} only ever moves when i and j occur in one training row."
        ),
        wrong={
            "A": "Poly2's weight w_{i,j} gets a gradient only from rows where i and j occur together: for an "
            "unseen pair it is still its initial 0 (with hashing, another pair's weight)",
            "C": "Poly2 cannot: its w_{i,j} for an unseen pair never received a gradient",
            "D": "FM can: ⟨v_i, v_j⟩ is defined for any pair, and both vectors were trained with other partners",
        },
    ),
    question(
        "q_fm_22a",
        NB22,
        "the parameters of FFM here",
        answer=1 + N_FEATURES_22 + N_FEATURES_22 * N_FIELDS_22 * K_FFM_22,
        rtol=0.0,
        atol=0.5,
        explanation=(
            "w0 + w (n) + W (n × F × k): 1 + 34,787 + 34,787·13·4 = 1,843,712 — against FM's "
            "1 + n + n·8 = 313,084: 6.5× more latent parameters here (F·4 / 8), F× only at equal k."
        ),
        wrong={
            N_FEATURES_22
            * N_FIELDS_22
            * K_FFM_22: "that is W alone; FFM here also has w0 and w (n)",
            1
            + N_FEATURES_22
            + N_FEATURES_22 * K_FM_22: "that is FM with k = 8; FFM keeps F vectors per feature",
            1
            + N_FEATURES_22
            + N_FEATURES_22
            * (N_FIELDS_22 - 1)
            * K_FFM_22: "the table W is n × F × k: the course (like libffm) keeps a vector for the feature's own "
            "field too, F = 13 of them",
        },
    ),
    question(
        "q_fm_22b",
        NB22,
        "libffm and overfitting",
        answer="C",
        choices="ABC",
        explanation=(
            "libffm runs -t 15 iterations by default; early stopping is opt-in (--auto-stop, with a "
            "validation set -p), and its README calls early stopping the remedy it has for FFM's "
            "overfitting — a larger λ does not cure it."
        ),
        wrong={
            "A": "libffm does not stop by itself: without --auto-stop it runs the 15 default iterations "
            "(-t 15) whatever the validation loss does",
            "B": "a larger λ is not the cure libffm's README gives: it names early stopping (--auto-stop) "
            "as its remedy for FFM's overfitting",
        },
    ),
]
