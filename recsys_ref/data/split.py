"""Per-user random split of implicit feedback (the NGCF protocol: 80% of each user's items train, 20% test)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def per_user_split(
    R: sp.spmatrix, test_frac: float = 0.2, seed: int = 0, min_train: int = 1
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Split each user's interactions at random: round(test_frac · n_u) to test, the rest to train.

    R (n_users, n_items) scipy.sparse, nonzero = interaction.  Every user keeps at least
    ``min_train`` training items (a user with fewer interactions has no test item).
    Vectorised: one random key per interaction, ranked within its row.
    Returns (train, test), both binary float32 CSR with R's shape.
    """
    if not sp.issparse(R):
        raise TypeError(
            f"R must be a scipy.sparse matrix (n_users, n_items), got {type(R).__name__}"
        )
    if not 0.0 <= test_frac < 1.0:
        raise ValueError(f"test_frac must be in [0, 1), got {test_frac}")
    R = sp.csr_matrix(R, dtype=np.float32)
    R.sum_duplicates()
    R.eliminate_zeros()
    rows = np.repeat(np.arange(R.shape[0]), np.diff(R.indptr))  # (nnz,)
    key = np.random.default_rng(seed).random(R.nnz)  # (nnz,)
    order = np.lexsort((key, rows))  # rows ascending, random order inside each row
    counts = np.diff(R.indptr)  # (n_users,)
    rank = np.empty(R.nnz, dtype=np.int64)
    rank[order] = np.arange(R.nnz) - np.repeat(R.indptr[:-1], counts)  # rank inside the row
    n_test = np.minimum(
        np.floor(test_frac * counts + 0.5).astype(np.int64), np.maximum(counts - min_train, 0)
    )  # (n_users,)
    is_test = rank < n_test[rows]  # (nnz,)
    cols = R.indices
    ones = np.ones(R.nnz, dtype=np.float32)

    def part(mask: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((ones[mask], (rows[mask], cols[mask])), shape=R.shape)

    return part(~is_test), part(is_test)
