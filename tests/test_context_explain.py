"""Contrastive explanations (notebook 30): why this outfit rather than the others, in this context.

``contrastive_pairs`` takes each field pair's term of eq. 1 against its mean over every outfit scored in
the same context.  Pairs that do not change between the candidates (user × context, user × user)
contrast to exactly 0; the contrasts of all pairs sum to the candidate's pair part of the logit minus the
candidates' mean pair part (two computations of the same number).
"""

from __future__ import annotations

import torch

from recsys_ref.context import (
    CONTEXT_FIELDS,
    ITEM_FIELDS,
    USER_FIELDS,
    ContextFM,
    context_rows,
    contrastive_pairs,
    encode,
    pair_contributions,
)
from recsys_ref.data.outfits import make_outfit_data


def _model_and_rows():
    data = make_outfit_data(2_000, seed=0)
    fields = USER_FIELDS + ITEM_FIELDS + CONTEXT_FIELDS
    _, layout = encode(data, fields)
    model = ContextFM(layout, 4, seed=0)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.3, generator=torch.Generator().manual_seed(1))
    rows = context_rows(data, layout.names, user=3, month=1, hour=7, feels=-8.0)
    return model, rows, layout.names


def test_context_free_pairs_contrast_to_zero_and_all_pairs_sum_back():
    model, rows, names = _model_and_rows()
    everything = contrastive_pairs(model, rows, 5, names, n=10_000)
    by_pair = dict(everything)
    for a in USER_FIELDS:
        for b in CONTEXT_FIELDS:
            key = f"{a} × {b}" if names.index(a) < names.index(b) else f"{b} × {a}"
            assert abs(by_pair[key]) < 1e-5, key
    _, _, P = pair_contributions(model, rows)  # (M, F, F)
    pair_part = P.sum(dim=(1, 2))  # (M,)
    want = float(pair_part[5] - pair_part.mean())
    assert abs(sum(by_pair.values()) - want) < 1e-4


def test_sides_keep_only_outfit_by_context_or_user_pairs():
    model, rows, names = _model_and_rows()
    sides = (ITEM_FIELDS, CONTEXT_FIELDS + USER_FIELDS)
    got = contrastive_pairs(model, rows, 0, names, n=50, sides=sides)
    assert got
    for pair, _ in got:
        a, b = pair.split(" × ")
        assert (a in sides[0]) != (b in sides[0]), pair
    assert [abs(v) for _, v in got] == sorted((abs(v) for _, v in got), reverse=True)
