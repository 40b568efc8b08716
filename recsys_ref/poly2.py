"""Poly2: one free weight per feature pair, with the hashing trick — FM's baseline (Rendle, ICDM 2010, §III-A).

Paper → code:  ŷ = w0 + Σ_i w_i x_i + Σ_{i<j} w_{i,j} x_i x_j  →  ``Poly2``;  w_{i,j} → ``pair[h(i, j)]``.

Poly2 (degree-2 polynomial regression, "SVM with a polynomial kernel" in Rendle's §III-A) gives
every pair (i, j) its own weight.  With label codes a row has F active features, so F(F−1)/2
pair weights; the hashing trick stores them in a table of ``n_buckets`` rows, bucket
h(i, j) = (i·n + j) mod n_buckets (collisions share a weight).  A pair never seen together in
training never gets a gradient: its weight stays at its initial 0, so Poly2 cannot score it —
while FM's ⟨v_i, v_j⟩ is learnt from i's and j's other partners.  ``unseen_pair_split`` plants
such a held-out set in a CTR log.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

# Letters: B batch, F fields, P = F(F−1)/2 field pairs, n features.


def pair_buckets(idx: Tensor, n_features: int, n_buckets: int) -> Tensor:
    """Hashed pair indices h(i, j) = (i·n + j) mod n_buckets of every field pair a < c: idx (B, F) → (B, P)."""
    a, c = torch.triu_indices(idx.shape[1], idx.shape[1], offset=1)  # (P,), (P,)
    i, j = idx[:, a], idx[:, c]  # (B, P)  column a < column c
    return (i * n_features + j) % n_buckets  # (B, P)


class Poly2(nn.Module):
    """ŷ = w0 + Σ_f w[idx_f] + Σ_{a<c} pair[h(idx_a, idx_c)]: logits (B,) from idx (B, F).

    ``n_buckets`` bounds the pair table (the hashing trick); ``n_buckets ≥ n²`` with the
    default hash means no collisions.  Pair weights start at 0, so an unseen pair scores 0.
    """

    def __init__(self, n_features: int, n_buckets: int = 2**20, *, sparse: bool = True):
        super().__init__()
        self.n_features, self.n_buckets = n_features, n_buckets
        self.w0 = nn.Parameter(torch.zeros(()))  # ()
        self.w = nn.Embedding(n_features, 1, sparse=sparse)  # (n, 1)
        self.pair = nn.Embedding(n_buckets, 1, sparse=sparse)  # (n_buckets, 1)
        with torch.no_grad():
            self.w.weight.zero_()
            self.pair.weight.zero_()

    def forward(self, idx: Tensor) -> Tensor:
        """idx (B, F) global feature indices → logits (B,)."""
        h = pair_buckets(idx, self.n_features, self.n_buckets)  # (B, P)
        return self.w0 + self.w(idx).squeeze(2).sum(dim=1) + self.pair(h).squeeze(2).sum(dim=1)

    def pair_weight(self, i: Tensor, j: Tensor) -> Tensor:
        """The weight w_{i,j} Poly2 uses for features i < j (same shapes in and out)."""
        return self.pair.weight[(i * self.n_features + j) % self.n_buckets, 0]

    def penalty(self, idx: Tensor) -> Tensor:
        """½ Σ of the squared parameters the batch touches."""
        h = pair_buckets(idx, self.n_features, self.n_buckets)
        return 0.5 * (self.w(idx).pow(2).sum() + self.pair(h).pow(2).sum())


def unseen_pair_split(data, field_a: str, field_b: str, frac: float = 0.3, seed: int = 0):
    """Plant a held-out set of value pairs: (train, held_out, pairs).

    A random ``frac`` of the (value of ``field_a``, value of ``field_b``) combinations that occur
    in ``data`` is chosen; every row with one of them goes to ``held_out``, the rest to ``train``.
    So no held-out pair is ever seen together in training, while each of its two values is
    (with other partners).  ``pairs`` (P, 2) lists the held-out global index pairs.
    """
    if not 0 < frac < 1:
        raise ValueError(f"frac must be in (0, 1), got {frac}")
    fa, fb = data.field_names.index(field_a), data.field_names.index(field_b)
    i, j = data.idx[:, fa], data.idx[:, fb]  # (N,), (N,)
    key = i * data.n_features + j  # (N,)  one integer per combination
    combos = torch.unique(key)  # (C,)
    g = torch.Generator().manual_seed(seed)
    chosen = combos[
        torch.randperm(len(combos), generator=g)[: max(1, math.floor(frac * len(combos)))]
    ]
    held = torch.isin(key, chosen)  # (N,)
    # keep only pairs whose two values are both seen in training (with other partners)
    seen_a = torch.isin(i, i[~held])
    seen_b = torch.isin(j, j[~held])
    held_out_rows = held & seen_a & seen_b
    train_rows = ~held
    pairs = torch.stack([chosen // data.n_features, chosen % data.n_features], dim=1)  # (P, 2)
    return (
        data.subset(torch.nonzero(train_rows).squeeze(1)),
        data.subset(torch.nonzero(held_out_rows).squeeze(1)),
        pairs,
    )
