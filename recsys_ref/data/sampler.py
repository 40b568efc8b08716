"""BPR triples (u, i, j): i a training item of u, j an item u has not interacted with (Rendle et al. 2009).

Vectorised: negatives are drawn for the whole batch at once and only the collisions with the
user's training items are redrawn (membership by binary search on the sorted CSR keys).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor


class BPRSampler:
    """One epoch = every training interaction once as (u, i), in random order, each with a fresh
    negative j ∉ N_u drawn uniformly from the other items.

    train (n_users, n_items) scipy.sparse; seed makes the sequence of batches repeatable.
    """

    def __init__(self, train: sp.spmatrix, seed: int = 0) -> None:
        if not sp.issparse(train):
            raise TypeError(f"train must be a scipy.sparse matrix (n_users, n_items), got {type(train).__name__}")
        R = sp.csr_matrix(train)
        R.sum_duplicates()
        R.eliminate_zeros()
        R.sort_indices()
        self.n_users, self.n_items = R.shape
        counts = np.diff(R.indptr)
        full = np.flatnonzero(counts >= self.n_items)
        if len(full):
            raise ValueError(f"user {int(full[0])} has interacted with every item: no negative item exists")
        self.users = np.repeat(np.arange(self.n_users), counts).astype(np.int64)  # (nnz,)
        self.items = R.indices.astype(np.int64)  # (nnz,)
        self._keys = self.users * self.n_items + self.items  # (nnz,) sorted: rows, then columns
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.users)

    def is_positive(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """(u, j) ∈ train, elementwise (bool array)."""
        keys = np.asarray(users, dtype=np.int64) * self.n_items + np.asarray(items, dtype=np.int64)
        pos = np.searchsorted(self._keys, keys)
        pos = np.minimum(pos, len(self._keys) - 1)
        return self._keys[pos] == keys

    def negatives(self, users: np.ndarray) -> np.ndarray:
        """One uniform item j ∉ N_u for each user (redraws only the collisions)."""
        neg = self.rng.integers(0, self.n_items, size=len(users))
        bad = np.flatnonzero(self.is_positive(users, neg))
        while len(bad):
            neg[bad] = self.rng.integers(0, self.n_items, size=len(bad))
            bad = bad[self.is_positive(users[bad], neg[bad])]
        return neg

    def epoch(self, batch_size: int = 1024, max_batches: int | None = None):
        """Yield (users, pos, neg) LongTensor batches (B,) covering the interactions once."""
        if batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        order = self.rng.permutation(len(self.users))
        for b, s in enumerate(range(0, len(order), batch_size)):
            if max_batches is not None and b >= max_batches:
                return
            idx = order[s: s + batch_size]
            u, i = self.users[idx], self.items[idx]
            yield torch.from_numpy(u), torch.from_numpy(i), torch.from_numpy(self.negatives(u))

    def n_batches(self, batch_size: int) -> int:
        return -(-len(self.users) // batch_size)


def sample_triples_loop(train: sp.spmatrix, n: int, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """The naive per-triple Python sampler (one user, one positive, rejection for the negative),
    kept as the baseline of benchmarks/bench_ngcf.py."""
    R = sp.csr_matrix(train)
    rng = np.random.default_rng(seed)
    pos_sets = [set(R.indices[R.indptr[u]: R.indptr[u + 1]].tolist()) for u in range(R.shape[0])]
    active = [u for u in range(R.shape[0]) if pos_sets[u]]
    us, ps, ns = [], [], []
    for _ in range(n):
        u = active[rng.integers(len(active))]
        items = list(pos_sets[u])
        i = items[rng.integers(len(items))]
        while True:
            j = int(rng.integers(R.shape[1]))
            if j not in pos_sets[u]:
                break
        us.append(u), ps.append(i), ns.append(j)
    return torch.tensor(us), torch.tensor(ps), torch.tensor(ns)
