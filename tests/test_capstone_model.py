"""The capstone's model code: the outfit data, context encoding, ContextFM, explanations, ranker, gate.

Each numeric claim is checked against an independent computation (FMOneHot on an explicit x,
loops, numpy.interp, the planted equation recomputed).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recsys_ref.context import (
    CONTEXT_FIELDS,
    ITEM_FIELDS,
    USER_FIELDS,
    ContextFM,
    GatedFM,
    bucketize,
    cyclic_features,
    encode,
    hat_basis,
    pair_contributions,
    rank_for_context,
    rank_for_day,
    stratified_logloss,
    top_k_outfits,
    top_pairs,
    try_idea,
)
from recsys_ref.data.outfits import comfort_warmth, make_outfit_data, true_logit
from recsys_ref.ffm import FFM
from recsys_ref.fm import FMOneHot

ALL = USER_FIELDS + ITEM_FIELDS + CONTEXT_FIELDS + ["feels"]


@pytest.fixture(scope="module")
def data():
    return make_outfit_data(3_000, n_users=50, seed=1)


def test_data_is_seeded_and_p_true_is_the_planted_model(data):
    again = make_outfit_data(3_000, n_users=50, seed=1)
    assert np.array_equal(data.y, again.y) and np.array_equal(data.item, again.item)
    z = true_logit(data.users, data.outfits, data.user, data.item, data.feels, data.hour, data.rain)
    np.testing.assert_allclose(data.p_true, 1 / (1 + np.exp(-z)))
    assert 0.1 < data.y.mean() < 0.6
    assert data.best_logloss() < 0.69  # the labels carry signal
    # the comfort curve falls with temperature: warm outfits for cold days
    assert (np.diff(comfort_warmth(np.linspace(-15, 35, 51))) <= 0).all()


def test_split_by_days_keeps_days_apart_and_cold_items_out(data):
    train, val = data.split_days(0.2, seed=0)
    assert not set(train.day) & set(val.day)
    assert not data.outfits.cold[train.item].any() and not data.outfits.cold[val.item].any()
    assert data.outfits.cold[data.cold_items().item].all()
    assert len(train) + len(val) + len(data.cold_items()) == len(data)


def test_encode_offsets_keep_fields_apart(data):
    ctr, layout = encode(data, ALL)
    offs = layout.offsets
    for c, (lo, d) in enumerate(zip(offs, layout.dims)):
        assert int(ctr.idx[:, c].min()) >= lo and int(ctr.idx[:, c].max()) < lo + d
    assert ctr.idx.shape == (len(data), len(ALL)) and layout.n_features == sum(layout.dims)
    with pytest.raises(KeyError, match="unknown fields"):
        encode(data, ["user", "shoe_size"])


def test_context_fm_equals_fm_on_an_explicit_x_with_the_numeric_value(data):
    ctr, layout = encode(data.subset(np.arange(40)), ALL)
    model = ContextFM(layout, k=3, seed=0, init_std=0.3)
    with torch.no_grad():
        model.fm.w.weight.normal_()
        model.fm.w0.fill_(0.7)
    # the same eq. 1 on an explicit x (B, n): ones at the categorical codes, t/10 at the numeric row
    x = torch.zeros(40, layout.n_features)
    c = layout.col("feels")
    off = layout.offsets[c]
    for b in range(40):
        for f in range(len(ALL)):
            if f == c:
                x[b, off] = layout.numeric["feels"][int(ctr.idx[b, f]) - off]
            else:
                x[b, ctr.idx[b, f]] = 1.0
    ref = FMOneHot(layout.n_features, 3)
    with torch.no_grad():
        ref.w0.copy_(model.fm.w0)
        ref.w.copy_(model.fm.w.weight.squeeze(1))
        ref.V.copy_(model.fm.V.weight)
        torch.testing.assert_close(model(ctr.idx), ref(x), rtol=1e-5, atol=1e-5)


def test_pair_contributions_sum_to_the_logit(data):
    ctr, layout = encode(data.subset(np.arange(30)), USER_FIELDS + ITEM_FIELDS + CONTEXT_FIELDS)
    model = ContextFM(layout, k=4, seed=0, init_std=0.3)
    w0, lin, P = pair_contributions(model, ctr.idx)
    with torch.no_grad():
        torch.testing.assert_close(
            w0 + lin.sum(1) + P.sum((1, 2)), model(ctr.idx), rtol=1e-5, atol=1e-5
        )
    ffm = FFM(layout.n_features, len(layout.names), k=2, init_std=0.3)
    w0, lin, P = pair_contributions(ffm, ctr.idx)
    with torch.no_grad():
        torch.testing.assert_close(
            w0 + lin.sum(1) + P.sum((1, 2)), ffm(ctr.idx), rtol=1e-5, atol=1e-5
        )
    pairs = top_pairs(model, ctr.idx[:2], layout.names, n=2)
    assert len(pairs) == 2 and all(" × " in name for name, _ in pairs[0])
    assert abs(pairs[0][0][1]) >= abs(pairs[0][1][1])
    with pytest.raises(TypeError, match="ContextFM or FFM"):
        pair_contributions(torch.nn.Linear(2, 1), ctr.idx)


def test_top_k_against_a_loop_and_bad_input():
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(6, 15, generator=g, dtype=torch.float64) - 2
    worn = torch.rand(6, 15, generator=g) < 0.3
    got = top_k_outfits(scores, worn, 4)
    for u in range(6):
        free = [i for i in range(15) if not worn[u, i]]
        assert got[u].tolist() == sorted(free, key=lambda i: -float(scores[u, i]))[:4]
    tie = torch.zeros(1, 5, dtype=torch.float64)
    assert top_k_outfits(tie, torch.zeros(1, 5, dtype=torch.bool), 3).tolist() == [[0, 1, 2]]
    with pytest.raises(ValueError, match="only 1 outfits"):
        top_k_outfits(tie, torch.tensor([[True, True, True, True, False]]), 2)
    with pytest.raises(ValueError, match="bool tensor"):
        top_k_outfits(tie, torch.zeros(1, 5), 1)


def test_stratified_logloss_against_a_loop():
    g = torch.Generator().manual_seed(2)
    p = torch.rand(50, generator=g, dtype=torch.float64)
    y = (torch.rand(50, generator=g, dtype=torch.float64) < p).double()
    band = torch.randint(0, 3, (50,), generator=g)
    got = stratified_logloss(y, p, band, 4)
    for b in range(3):
        m = band == b
        ref = -np.mean(
            [np.log(pi) if yi else np.log(1 - pi) for pi, yi in zip(p[m].tolist(), y[m].tolist())]
        )
        assert got[b].item() == pytest.approx(ref)
    assert torch.isnan(got[3])


def test_buckets_and_cyclic():
    e = torch.tensor([0.0, 10.0], dtype=torch.float64)
    assert bucketize(
        torch.tensor([-1.0, 0.0, 9.9, 10.0, 50.0], dtype=torch.float64), e
    ).tolist() == [0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="strictly increasing"):
        bucketize(torch.tensor([1.0]), torch.tensor([1.0, 0.0]))
    f = cyclic_features(torch.tensor([23.0, 0.0, 12.0], dtype=torch.float64), 24)
    assert (f[0] - f[1]).norm() < (f[0] - f[2]).norm()  # 23 h is next to 0 h, not to 12 h
    torch.testing.assert_close(f.norm(dim=1), torch.ones(3, dtype=torch.float64))


def test_hat_basis_is_numpy_interp():
    knots = torch.tensor([-10.0, 0.0, 5.0, 10.0, 25.0], dtype=torch.float64)
    t = torch.linspace(-30, 40, 141, dtype=torch.float64)
    B = hat_basis(t, knots)
    h = torch.tensor([2.0, -1.0, 0.5, 3.0, -2.0], dtype=torch.float64)
    np.testing.assert_allclose(
        (B @ h).numpy(), np.interp(t.numpy(), knots.numpy(), h.numpy()), atol=1e-12
    )
    torch.testing.assert_close(B.sum(1), torch.ones(141, dtype=torch.float64))
    with pytest.raises(ValueError, match="two strictly increasing"):
        hat_basis(t, torch.tensor([1.0], dtype=torch.float64))


def test_gated_fm_adds_the_gate_to_the_fm(data):
    ctr, layout = encode(data.subset(np.arange(25)), ALL)
    model = GatedFM(layout, k=3, seed=0)
    with torch.no_grad():
        model.A.weight.normal_()
        t = model.celsius(ctr.idx)
        level = ctr.idx[:, layout.col("warmth_level")] - layout.offsets[layout.col("warmth_level")]
        manual = torch.tensor(
            [
                np.interp(float(t[b]), model.knots.numpy(), model.A.weight[level[b]].numpy())
                for b in range(25)
            ],
            dtype=torch.float32,
        )
        torch.testing.assert_close(
            model(ctr.idx) - model.base(ctr.idx), manual, rtol=1e-5, atol=1e-5
        )
        # the decoded temperature is the event's feels-like rounded to 0.5 °C
        np.testing.assert_allclose(t.numpy(), np.round(data.feels[:25] * 2) / 2, atol=1e-4)
    with pytest.raises(ValueError, match="numeric 'feels'"):
        GatedFM(encode(data, USER_FIELDS)[1])


def test_ranker_and_try_idea(data):
    fields = USER_FIELDS + ITEM_FIELDS + CONTEXT_FIELDS
    train, val = data.split_days(0.3, seed=0)
    tr, layout = encode(train, fields)
    va, _ = encode(val, fields)
    model = ContextFM(layout, k=4, seed=0)
    report = try_idea(model, tr, va, epochs=2)
    assert (
        report["trains"]
        and np.isfinite(report["val_logloss"])
        and "trains: yes" in report["message"]
    )
    top, scores, idx = rank_for_context(
        model, data, fields, user=0, month=1, hour=7, feels=-8.0, k=3
    )
    assert (
        top.shape == (3,)
        and bool((scores[:-1] >= scores[1:]).all())
        and idx.shape == (3, len(fields))
    )
    worn = torch.zeros(len(data.outfits), dtype=torch.bool)
    worn[top[0]] = True
    again, _, _ = rank_for_context(
        model, data, fields, user=0, month=1, hour=7, feels=-8.0, k=3, worn=worn
    )
    assert int(top[0]) not in again.tolist()
    # a (user, day, hour) of the data: the same ranking as its context passed by hand
    e = int(np.flatnonzero(data.user == 0)[0])
    by_day = rank_for_day(
        model, data, fields, user=0, day=int(data.day[e]), hour=int(data.hour[e]), k=3
    )[0]
    by_hand = rank_for_context(
        model,
        data,
        fields,
        user=0,
        month=int(data.month[e]),
        hour=int(data.hour[e]),
        feels=float(data.feels[e]),
        rain=int(data.rain[e]),
        k=3,
    )[0]
    assert by_day.tolist() == by_hand.tolist()

    class Broken(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, idx):
            return self.w.expand(idx.shape[0], 2)

    bad = try_idea(Broken(), tr, va, epochs=1)
    assert not bad["trains"] and "logits (B,)" in bad["message"]
