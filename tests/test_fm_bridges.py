"""FM contains biased MF; multi-hot fields by EmbeddingBag equal the explicit x; Poly2 cannot score unseen pairs."""

from __future__ import annotations

import pytest
import torch

from recsys_ref.data.encoding import one_hot
from recsys_ref.fm import FMOneHot, biased_mf_score, fm_pairwise, fm_score, fm_weights_from_mf
from recsys_ref.mf import MF
from recsys_ref.multihot import (
    ffm_pairwise_explicit,
    ffm_pairwise_multihot,
    fm_score_multihot,
    multihot_x,
)
from recsys_ref.poly2 import Poly2, pair_buckets, unseen_pair_split


def _g(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fm_on_one_hot_user_item_is_biased_mf(seed):
    g = _g(seed)
    U, I, k, B = 6, 9, 4, 40
    P, Q = (
        torch.randn(U, k, generator=g, dtype=torch.float64),
        torch.randn(I, k, generator=g, dtype=torch.float64),
    )
    bu, bi = (
        torch.randn(U, generator=g, dtype=torch.float64),
        torch.randn(I, generator=g, dtype=torch.float64),
    )
    mu = 0.37
    users, items = torch.randint(0, U, (B,), generator=g), torch.randint(0, I, (B,), generator=g)
    w0, w, V = fm_weights_from_mf(mu, bu, bi, P, Q)
    idx = torch.stack([users, U + items], dim=1)  # (B, 2) label codes of the two fields
    model = FMOneHot(U + I, k).double()
    with torch.no_grad():
        model.w0.copy_(w0), model.w.copy_(w), model.V.copy_(V)
    mf = biased_mf_score(users, items, mu, bu, bi, P, Q)
    # eq. 1 on the explicit one-hot x, and through label codes
    assert (model(one_hot(idx, U + I)) - mf).abs().max() < 1e-10
    assert (fm_score(idx, w0, w, V) - mf).abs().max() < 1e-10
    # the NGCF track's MF (no biases) is FM's pairwise term on the same x
    net = MF(U, I, dim=k).double()
    with torch.no_grad():
        net.user.copy_(P), net.item.copy_(Q)
    assert (net(users, items) - fm_pairwise(one_hot(idx, U + I).to_dense(), V)).abs().max() < 1e-10


def _multihot_batch(seed):
    g = _g(seed)
    dims, n_bag, B = [3, 4], 6, 5
    n = sum(dims) + n_bag
    idx = torch.stack(
        [torch.randint(0, 3, (B,), generator=g), 3 + torch.randint(0, 4, (B,), generator=g)], 1
    )
    lengths = torch.randint(0, 4, (B,), generator=g)
    lengths[0] = 0  # an empty bag
    values = torch.cat([sum(dims) + torch.randperm(n_bag, generator=g)[: int(m)] for m in lengths])
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)[:-1]])
    field_of = torch.tensor([0] * 3 + [1] * 4 + [2] * n_bag)
    return idx, values, offsets, n, field_of


@pytest.mark.parametrize("mode", ["sum", "mean"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multihot_fm_by_embedding_bag_equals_the_one_hot_product(mode, seed):
    idx, values, offsets, n, _ = _multihot_batch(seed)
    g = _g(seed + 10)
    w0 = torch.tensor(0.1, dtype=torch.float64)
    w, V = (
        torch.randn(n, generator=g, dtype=torch.float64),
        torch.randn(n, 3, generator=g, dtype=torch.float64),
    )
    x = multihot_x(idx, values, offsets, n, mode)  # (B, n)
    assert torch.equal((x > 0).sum(1), 2 + torch.diff(offsets, append=torch.tensor([len(values)])))
    want = w0 + x @ w + fm_pairwise(x, V)
    assert (fm_score_multihot(idx, values, offsets, w0, w, V, mode) - want).abs().max() < 1e-10


@pytest.mark.parametrize("mode", ["sum", "mean"])
@pytest.mark.parametrize("seed", [0, 1])
def test_multihot_ffm_equals_the_pair_loop_over_nonzeros(mode, seed):
    idx, values, offsets, n, field_of = _multihot_batch(seed)
    W = torch.randn(n, 3, 2, generator=_g(seed + 20), dtype=torch.float64)
    x = multihot_x(idx, values, offsets, n, mode)
    got = ffm_pairwise_multihot(idx, values, offsets, W, mode)
    assert (got - ffm_pairwise_explicit(x, field_of, W)).abs().max() < 1e-10


def test_poly2_unseen_pairs_keep_weight_zero_and_split_has_no_seen_pair():
    from recsys_ref.data.ctr import make_ctr
    from recsys_ref.train_ctr import train_ctr

    data = make_ctr(4_000, seed=0)
    train, held, pairs = unseen_pair_split(data, "ad_category", "site_category", frac=0.3, seed=0)
    fa, fb = data.field_names.index("ad_category"), data.field_names.index("site_category")
    train_keys = set((train.idx[:, fa] * data.n_features + train.idx[:, fb]).tolist())
    held_keys = set((held.idx[:, fa] * data.n_features + held.idx[:, fb]).tolist())
    assert len(held) > 0 and not (train_keys & held_keys)
    n = data.n_features
    model = Poly2(n, n_buckets=2**20)  # the hashing trick: 1M pair weights for n² ≈ 1.2·10⁹ pairs
    train_ctr(model, train, epochs=1, progress=False)
    used = torch.unique(
        pair_buckets(train.idx, n, model.n_buckets)
    )  # every bucket training touched
    h = (held.idx[:, fa] * n + held.idx[:, fb]) % model.n_buckets
    free = ~torch.isin(h, used)  # held-out pairs whose bucket no training pair shares
    assert free.float().mean() > 0.5  # ~220k of the 1M buckets are used: about a quarter collide
    w = model.pair_weight(held.idx[:, fa], held.idx[:, fb])
    assert torch.all(w[free] == 0)  # never a gradient: Poly2 cannot score these pairs
    assert torch.all(w[~free] == model.pair.weight[h[~free], 0])  # the rest: another pair's weight


def test_pair_buckets_hash_every_field_pair_once():
    idx = torch.tensor([[0, 3, 5], [1, 4, 6]])
    h = pair_buckets(idx, 7, 10_000)
    assert h.tolist() == [[0 * 7 + 3, 0 * 7 + 5, 3 * 7 + 5], [1 * 7 + 4, 1 * 7 + 6, 4 * 7 + 6]]
