"""BPR triples (u, i, j): i a training item of u, j an item u has not interacted with (Rendle et al. 2009).

Two protocols.  Per interaction (the paper's: an epoch visits every observed (u, i) once, in random
order) and per user (the official NGCF code's: draw a user uniformly, then one of its items
uniformly, with replacement).  Negatives are drawn uniformly for the whole batch at once and only
the collisions with the user's training items are redrawn (membership by binary search on the
sorted CSR keys).  ``sample_triples`` is the same computation on given random draws (task ngcf_8).
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
    per_user: the official code's protocol instead (as many triples per epoch, users drawn
    uniformly among those with an item, a positive drawn uniformly per user, with replacement).
    """

    def __init__(self, train: sp.spmatrix, seed: int = 0, per_user: bool = False) -> None:
        if not sp.issparse(train):
            raise TypeError(
                f"train must be a scipy.sparse matrix (n_users, n_items), got {type(train).__name__}"
            )
        R = sp.csr_matrix(train)
        R.sum_duplicates()
        R.eliminate_zeros()
        R.sort_indices()
        self.n_users, self.n_items = R.shape
        counts = np.diff(R.indptr)
        full = np.flatnonzero(counts >= self.n_items)
        if len(full):
            raise ValueError(
                f"user {int(full[0])} has interacted with every item: no negative item exists"
            )
        self.users = np.repeat(np.arange(self.n_users), counts).astype(np.int64)  # (nnz,)
        self.items = R.indices.astype(np.int64)  # (nnz,)
        self._keys = self.users * self.n_items + self.items  # (nnz,) sorted: rows, then columns
        self.rng = np.random.default_rng(seed)
        self.per_user = per_user
        self._indptr, self._active = R.indptr.astype(np.int64), np.flatnonzero(counts > 0)

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
            idx = order[s : s + batch_size]
            if self.per_user:  # official code: u uniform, then i uniform among u's items
                u = self._active[self.rng.integers(0, len(self._active), size=len(idx))]
                deg = self._indptr[u + 1] - self._indptr[u]
                idx = self._indptr[u] + np.floor(self.rng.random(len(u)) * deg).astype(np.int64)
            u, i = self.users[idx], self.items[idx]
            yield torch.from_numpy(u), torch.from_numpy(i), torch.from_numpy(self.negatives(u))

    def n_batches(self, batch_size: int) -> int:
        return -(-len(self.users) // batch_size)


def sample_triples(
    indptr: Tensor,
    indices: Tensor,
    picks: Tensor,
    fractions: Tensor,
    candidates: Tensor,
    per_user: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """BPR triples from given random draws, vectorised (no loop over triples) — task ngcf_8.

    indptr (n_users + 1,), indices (nnz,): the training matrix R in CSR form (int64; each row's
    items sorted).  per_user=False (the paper): picks (B,) are interaction ids (a slice of a random
    permutation of 0..nnz-1), so u = the row of interaction picks[b] and i = indices[picks[b]];
    fractions is unused.  per_user=True (official code): picks (B,) are user ids with ≥ 1 item and
    i = indices[indptr[u] + ⌊fractions[b]·|N_u|⌋], fractions (B,) uniform in [0, 1).
    candidates (B, T) uniform item ids: j = the first candidate of row b that is not a training item
    of u (rejection sampling, done for all rows at once; every row has one).
    → users, pos, neg (B,) int64.
    """
    deg = indptr[1:] - indptr[:-1]  # (n_users,)
    if per_user:
        users = picks  # (B,)
        offset = (
            (fractions * deg[users].to(fractions.dtype)).long().clamp(max=deg[users] - 1)
        )  # (B,)
        pos = indices[indptr[users] + offset]  # (B,)
    else:
        rows = torch.repeat_interleave(
            torch.arange(len(deg)), deg
        )  # (nnz,)  user of each interaction
        users, pos = rows[picks], indices[picks]  # (B,), (B,)
    n = int(max(int(indices.max()) if len(indices) else 0, int(candidates.max()))) + 1
    keys = torch.repeat_interleave(torch.arange(len(deg)), deg) * n + indices  # (nnz,) sorted
    want = users[:, None] * n + candidates  # (B, T)
    at = torch.searchsorted(keys, want).clamp(max=max(len(keys) - 1, 0))  # (B, T)
    is_train = keys[at] == want  # (B, T)  j ∈ N_u
    first = (~is_train).to(torch.int8).argmax(1)  # (B,)  first candidate outside N_u
    neg = candidates.gather(1, first[:, None]).squeeze(1)  # (B,)
    return users, pos, neg


def sample_triples_loop(train: sp.spmatrix, n: int, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """The naive per-triple Python sampler (one user, one positive, rejection for the negative),
    kept as the baseline of benchmarks/bench_ngcf.py."""
    R = sp.csr_matrix(train)
    rng = np.random.default_rng(seed)
    pos_sets = [set(R.indices[R.indptr[u] : R.indptr[u + 1]].tolist()) for u in range(R.shape[0])]
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
        us.append(u)
        ps.append(i)
        ns.append(j)
    return torch.tensor(us), torch.tensor(ps), torch.tensor(ns)


class DrawSampler:
    """``BPRSampler``'s interface around a ``sample_triples``-like function (a learner's ngcf_8).

    Each batch draws the random inputs (a slice of a permutation of the interactions, or uniform
    users and fractions; ``n_candidates`` uniform negatives per row, the last one replaced by a
    known non-item of u) with a seeded NumPy generator and calls ``fn`` on them.
    """

    def __init__(
        self,
        train: sp.spmatrix,
        fn=sample_triples,
        seed: int = 0,
        per_user: bool = False,
        n_candidates: int = 4,
    ) -> None:
        self._base = BPRSampler(train, seed=seed)
        R = sp.csr_matrix(train)
        R.sum_duplicates()
        R.eliminate_zeros()
        R.sort_indices()
        self.indptr = torch.from_numpy(R.indptr.astype(np.int64))
        self.indices = torch.from_numpy(R.indices.astype(np.int64))
        self.fn, self.per_user, self.n_candidates = fn, per_user, n_candidates
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self._base)

    def epoch(self, batch_size: int = 1024, max_batches: int | None = None):
        base, rng = self._base, self.rng
        order = rng.permutation(len(base))
        for b, s in enumerate(range(0, len(order), batch_size)):
            if max_batches is not None and b >= max_batches:
                return
            B = len(order[s : s + batch_size])
            if self.per_user:
                users = base._active[rng.integers(0, len(base._active), size=B)]
                picks = torch.from_numpy(users)
            else:
                users = base.users[order[s : s + batch_size]]
                picks = torch.from_numpy(order[s : s + batch_size].astype(np.int64))
            fractions = torch.from_numpy(rng.random(B))
            cand = rng.integers(0, base.n_items, size=(B, self.n_candidates))
            cand[:, -1] = base.negatives(users)  # one sure non-item per row
            yield self.fn(
                self.indptr, self.indices, picks, fractions, torch.from_numpy(cand), self.per_user
            )
