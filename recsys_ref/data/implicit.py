"""Implicit feedback: the dataset container and the seeded synthetic generator (docs/design.md §7).

The generator plants what makes graph models useful: power-law item popularity (a few hits, a long
tail), uneven user activity (many users with a handful of interactions), and latent communities
(users mostly consume items of their own community, so two-hop neighbours are informative).  Items
carry genre vectors correlated with their community, so content-based and hybrid scores can be
shown (notebook 13).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .split import per_user_split


@dataclass
class ImplicitData:
    """Train / validation / test interactions, each a binary CSR (n_users, n_items).

    ``item_features`` (n_items, n_features) float32 (e.g. genre flags) with ``feature_names``;
    ``user_community``/``item_community`` only for synthetic data (the planted truth);
    ``user_ids``/``item_ids``: the original id of each row/column when a loader renumbered them.
    """

    train: sp.csr_matrix
    test: sp.csr_matrix
    val: sp.csr_matrix | None = None
    item_features: np.ndarray | None = None
    feature_names: list[str] | None = None
    user_community: np.ndarray | None = None
    item_community: np.ndarray | None = None
    name: str = ""
    user_ids: np.ndarray | None = None
    item_ids: np.ndarray | None = None

    @property
    def n_users(self) -> int:
        return self.train.shape[0]

    @property
    def n_items(self) -> int:
        return self.train.shape[1]

    def summary(self) -> str:
        nnz = self.train.nnz + self.test.nnz + (self.val.nnz if self.val is not None else 0)
        density = nnz / (self.n_users * self.n_items)
        val = f", {self.val.nnz:,} val" if self.val is not None else ""
        return (
            f"{self.name or 'data'}: {self.n_users:,} users · {self.n_items:,} items · "
            f"{self.train.nnz:,} train{val}, {self.test.nnz:,} test interactions · density {density:.4f}"
        )


def make_implicit(
    n_users: int = 1000,
    n_items: int = 600,
    n_communities: int = 30,
    n_genres: int = 12,
    mean_activity: float = 8.0,
    popularity_exponent: float = 0.9,
    affinity: float = 0.85,
    val_frac: float = 0.1,
    seed: int = 0,
) -> ImplicitData:
    """A seeded synthetic implicit-feedback dataset, split per user 80/20 (then ``val_frac`` of the
    training part held out for early stopping).

    - popularity: item of popularity rank r has weight (r + 1)^(−popularity_exponent);
    - activity: n_u ~ lognormal with mean ≈ ``mean_activity``, at least 3 interactions;
    - communities: a user draws a fraction ``affinity`` of its items from its own community
      (weighted by popularity), the rest from the whole catalogue;
    - genres: each community has a profile over ``n_genres``; an item gets 1–3 genres drawn mostly
      from its community's profile.
    """
    for name, v in (
        ("n_users", n_users),
        ("n_items", n_items),
        ("n_communities", n_communities),
        ("n_genres", n_genres),
    ):
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if not 0.0 <= affinity <= 1.0:
        raise ValueError(f"affinity must be in [0, 1], got {affinity}")
    rng = np.random.default_rng(seed)
    pop = (np.arange(n_items) + 1.0) ** (-popularity_exponent)
    pop = pop[rng.permutation(n_items)]  # (M,)  popularity not tied to the item id
    item_comm = rng.integers(0, n_communities, n_items)  # (M,)
    user_comm = rng.integers(0, n_communities, n_users)  # (U,)
    sigma = 0.8
    act: np.ndarray = rng.lognormal(np.log(mean_activity) - sigma**2 / 2, sigma, n_users)  # (U,)
    act = np.clip(np.round(act), 3, n_items // 2).astype(np.int64)
    # P(u, i) ∝ pop_i · (affinity · [same community] / mass_c + (1 − affinity) / mass_all)
    mass_c = np.bincount(item_comm, weights=pop, minlength=n_communities)  # (C,)
    same = user_comm[:, None] == item_comm[None, :]  # (U, M)
    P = pop[None, :] * (
        affinity * same / np.maximum(mass_c[user_comm], 1e-12)[:, None] + (1 - affinity) / pop.sum()
    )  # (U, M)
    # n_u items without replacement, all users at once: Gumbel top-k on log P
    keys = np.log(P + 1e-300) + rng.gumbel(size=P.shape)  # (U, M)
    order = np.argsort(-keys, axis=1)  # (U, M)
    take = np.arange(n_items)[None, :] < act[:, None]  # (U, M)
    rows = np.repeat(np.arange(n_users), act)
    cols = order[take]
    R = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n_users, n_items)
    )
    # genres: a community profile (Dirichlet), 1–3 genres per item from it
    profile = rng.dirichlet(np.full(n_genres, 0.3), n_communities)  # (C, G)
    feats = np.zeros((n_items, n_genres), dtype=np.float32)
    n_g = rng.integers(1, 4, n_items)  # (M,)  genres per item
    cdf = profile.cumsum(1)[item_comm]  # (M, G)  inverse-CDF sampling, all items at once
    for g in range(3):
        draw = np.minimum((rng.random(n_items)[:, None] > cdf).sum(1), n_genres - 1)  # (M,)
        feats[np.flatnonzero(n_g > g), draw[n_g > g]] = 1.0
    train_full, test = per_user_split(R, 0.2, seed=seed + 1)
    train, val = (
        per_user_split(train_full, val_frac, seed=seed + 2) if val_frac > 0 else (train_full, None)
    )
    return ImplicitData(
        train=train,
        test=test,
        val=val,
        item_features=feats,
        feature_names=[f"genre_{g}" for g in range(n_genres)],
        user_community=user_comm,
        item_community=item_comm,
        name=f"synthetic(seed={seed})",
    )
