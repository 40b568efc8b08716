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
        answer="sha256:0c6f8be45cd10b17b35c5250149ca1096efb5706a46f156789e79de074b72331",
        choices="ABC",
        explanation=(
            "with ŷ = w0 + w·(age − 40)/10 the logit is linear in age: each year adds w/10 to the "
            'log-odds, whatever the age; the intercept w0 (and the centring) make "twice the age" '
            "meaningless, and σ is not linear, so no probability doubles."
        ),
        wrong={
            "sha256:71269595e545ab450e38873076d9ce19549f8700b3e06bebbd980c942deedb17": "the logit is w0 + w·(age − 40)/10: with an intercept and a centred age, doubling the age "
            "does not double the logit (at age 40 the age term is 0)",
            "sha256:e6632e3ad4c1e22c9e02c2e32efc06ca6f7415ae4c6bfe815b98860c307db3fd": "σ(·) is not linear: equal steps in the log-odds are not equal ratios of the probability",
        },
    ),
    question(
        "q_fm_20b",
        NB20,
        "non-zeros of a Criteo one-hot row",
        answer="sha256:c71d07cc35d597837378a7571e58c6442a5e84318499f5bbe4ca3965e8fff285:10.0:c53397e7d28f7d6c",
        rtol=0.0,
        atol=0.5,
        explanation="13 integer fields (bucketised) + 26 categorical ones, one active value each: 39 ones.",
        wrong={
            "sha256:f23def22189ee84bcae9584f3dc6f2b1a038f23d7527c39d37d251290e4c45ce:1.0:aeb91ff1e8d5595a": "13 counts only the integer fields I1..I13; the 26 categorical C1..C26 are one-hot too",
            "sha256:f823d377dc7d3bdc4e3cd39b7a2cfe1d868e89de297a06a061aca91bc159deb0:10.0:02d48dc8305a2a4c": "26 counts only the categorical fields; the 13 bucketised integers are fields as well",
            "sha256:ee828e9a88b961e9a877eb6e97f2905b1fa4227fb293d6d163fc9bdc7255acd7:1.0:df5180988dfda4fd": "one-hot has one 1 per field, not per row: a row has F = 39 ones",
        },
    ),
    question(
        "q_fm_21a",
        NB21,
        "the parameters of FM",
        answer="sha256:23ef4103ae9f9e83ea0ad03fe027225f89fc1c0558162d01dab0a13eea76e6da:1000.0:b3aff70a83f0b0ae",
        rtol=0.0,
        atol=0.5,  # a count: exact
        explanation="w0 (1) + w (n = 1000) + V (n × k = 8000): 9001, linear in n — Poly2 would need n(n−1)/2 pair weights.",
        wrong={
            "sha256:357171dabc4a3fde116a44603f9a14b578528f0dca10b3ee0ef01d995ceea172:1000.0:fa038c05ce64dad1": "8000 is V alone; eq. 1 also has w0 and the n linear weights w",
            "sha256:23ef4103ae9f9e83ea0ad03fe027225f89fc1c0558162d01dab0a13eea76e6da:1000.0:b3aff70a03f0b0ae": "9000 leaves out the global bias w0",
            "sha256:7ab47a3cdfe5e6269fa4a0286338db0769136ba1f613fb8c321a262ee00fd31d:100000.0:c0c6644701be2886": "that is Poly2 (one weight per pair, n(n−1)/2 of them); FM stores one "
            "k-vector per feature instead",
        },
    ),
    question(
        "q_fm_21b",
        NB21,
        "scoring a pair never seen together",
        answer="sha256:9494a1b972ec6fa4218c35bd69b791f3bcbfbadbddc053e3b039fe063c5dd497",
        choices="ABCD",
        explanation=(
            "FM scores (i, j) by ⟨v_i, v_j⟩, and v_i, v_j are learnt from every other partner of i and "
            "of j; Poly2's w_{i,j} only ever moves when i and j occur in one training row."
        ),
        wrong={
            "sha256:dda6ed2756e73e7f7df6dd6055f9f7571302cae02c66671f1ee2ac33dc7f8b59": "Poly2's weight w_{i,j} gets a gradient only from rows where i and j occur together: for an "
            "unseen pair it is still its initial 0 (with hashing, another pair's weight)",
            "sha256:a8ec1c69e4b7c385dee70bcb6d34776089d265c8f721f0b7a7aae1448e0bce29": "Poly2 cannot: its w_{i,j} for an unseen pair never received a gradient",
            "sha256:d6c28e9b3e481d54a96009c556813c2a118ae2ef4181874357332f28c6169d8b": "FM can: ⟨v_i, v_j⟩ is defined for any pair, and both vectors were trained with other partners",
        },
    ),
    question(
        "q_fm_22a",
        NB22,
        "the parameters of FFM here",
        answer="sha256:7e0964ef4a32db6319c8f0a152588c2b5cac6928663684bf31a492d8b9fe8de3:100000.0:6a515c1cc9f9e0fe",
        rtol=0.0,
        atol=0.5,
        explanation=(
            "w0 + w (n) + W (n × F × k): 1 + 34,787 + 34,787·13·4 = 1,843,712 — against FM's "
            "1 + n + n·8 = 313,084: 6.5× more latent parameters here (F·4 / 8), F× only at equal k."
        ),
        wrong={
            "sha256:7e0964ef4a32db6319c8f0a152588c2b5cac6928663684bf31a492d8b9fe8de3:100000.0:6a515c1cd541e7fe": "that is W alone; FFM here also has w0 and w (n)",
            "sha256:e117c7115782610bbf2324cc76e0f0a74d4fbf4c372544d48e4dd6dcf453877b:100000.0:42a6a927ac179452": "that is FM with k = 8; FFM keeps F vectors per feature",
            "sha256:54c985092bc9427180dda38c4066c88daedaa1eab6da42d14954d75dad6a7a47:100000.0:eef53a1f4c8f3876": "the table W is n × F × k: the course (like libffm) keeps a vector for the feature's own "
            "field too, F = 13 of them",
        },
    ),
    question(
        "q_fm_22b",
        NB22,
        "libffm and overfitting",
        answer="sha256:60a8686100663e1a42490400e17e4ad55c21860e628da99db9ba616fbbed4501",
        choices="ABC",
        explanation=(
            "libffm runs -t 15 iterations by default; early stopping is opt-in (--auto-stop, with a "
            "validation set -p), and its README calls early stopping the remedy it has for FFM's "
            "overfitting — a larger λ does not cure it."
        ),
        wrong={
            "sha256:8f970d8249867914250cc1850f0d773b2694282281067c835308ee837b480c5b": "libffm does not stop by itself: without --auto-stop it runs the 15 default iterations "
            "(-t 15) whatever the validation loss does",
            "sha256:49e12f44a9933e4ef31606b65ba409bf9d4d175acc9e02752329ee75d3b923f4": "a larger λ is not the cure libffm's README gives: it names early stopping (--auto-stop) "
            "as its remedy for FFM's overfitting",
        },
    ),
]
