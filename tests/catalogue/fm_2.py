"""Mistake catalogue of fm_2 (one_hot from global indices)."""

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from tests.catalogue import Variant


def _rows_cols(idx, interleave=True):
    B, n_fields = idx.shape
    rows = (
        torch.arange(B).repeat_interleave(n_fields)
        if interleave
        else torch.arange(B).repeat(n_fields)
    )
    return rows, idx.reshape(-1)


def repeat(idx, n_features):
    rows, cols = _rows_cols(idx, interleave=False)
    return torch.sparse_coo_tensor(
        torch.stack([rows, cols]),
        torch.ones(len(rows), dtype=torch.float64),
        (idx.shape[0], n_features),
    )


def no_size(idx, n_features):
    rows, cols = _rows_cols(idx)
    return torch.sparse_coo_tensor(
        torch.stack([rows, cols]), torch.ones(len(rows), dtype=torch.float64)
    )


def per_field(idx, n_features):
    return F.one_hot(idx, n_features).double().to_sparse()


def transposed(idx, n_features):
    rows, cols = _rows_cols(idx)
    return torch.sparse_coo_tensor(
        torch.stack([cols, rows]),
        torch.ones(len(rows), dtype=torch.float64),
        (n_features, idx.shape[0]),
    )


def dense(idx, n_features):
    return F.one_hot(idx, n_features).sum(dim=1).double()


def float32(idx, n_features):
    rows, cols = _rows_cols(idx)
    return torch.sparse_coo_tensor(
        torch.stack([rows, cols]), torch.ones(len(rows)), (idx.shape[0], n_features)
    )


def long_values(idx, n_features):
    rows, cols = _rows_cols(idx)
    return torch.sparse_coo_tensor(
        torch.stack([rows, cols]),
        torch.ones(len(rows), dtype=torch.long),
        (idx.shape[0], n_features),
    )


def csr(idx, n_features):
    rows, cols = _rows_cols(idx)
    return torch.sparse_coo_tensor(
        torch.stack([rows, cols]),
        torch.ones(len(rows), dtype=torch.float64),
        (idx.shape[0], n_features),
    ).to_sparse_csr()


WRONG = [
    Variant("rows by .repeat", repeat, "repeat"),
    Variant("no size=", no_size, "no size"),
    Variant("one row per field (B, F, n)", per_field, "per field"),
    Variant("(n, B)", transposed, "transposed"),
    Variant("dense x", dense, "layout"),
    Variant("float32 values", float32, "dtype"),
    Variant("integer values", long_values, "dtype"),
    Variant("CSR", csr, "layout"),
]


def uncoalesced(idx, n_features):
    rows, cols = _rows_cols(idx)
    return torch.sparse_coo_tensor(
        torch.stack([rows, cols]),
        torch.ones(len(rows), dtype=torch.float64),
        size=(idx.shape[0], n_features),
    )


def via_scipy(idx, n_features):
    B, n_fields = idx.shape
    m = sp.csr_matrix(
        (np.ones(B * n_fields), idx.numpy().ravel(), np.arange(0, B * n_fields + 1, n_fields)),
        shape=(B, n_features),
    ).tocoo()
    return torch.sparse_coo_tensor(
        torch.as_tensor(np.vstack([m.row, m.col]), dtype=torch.long),
        torch.as_tensor(m.data),
        m.shape,
    )


def dense_then_sparse(idx, n_features):
    x = torch.zeros(idx.shape[0], n_features, dtype=torch.float64)
    x.scatter_(1, idx, 1.0)
    return x.to_sparse()


CORRECT = [
    Variant("uncoalesced COO", uncoalesced),
    Variant("scipy CSR (indptr) → torch COO", via_scipy),
    Variant("scatter_ into a dense x, then .to_sparse()", dense_then_sparse),
]
