"""Mistake catalogue of ngcf_2 (sym_laplacian, eq. 8's L = D^{-1/2} A D^{-1/2})."""

import numpy as np
import scipy.sparse as sp
import torch

from tests.catalogue import Variant


def _parts(A):
    A = A.coalesce()
    deg = torch.sparse.sum(A, dim=1).to_dense()
    r, c = A.indices()
    return A, deg, r, c


def _coo(A, vals):
    return torch.sparse_coo_tensor(A.indices(), vals, A.shape).coalesce()


def one_sided(A):
    A, deg, r, c = _parts(A)
    return _coo(A, deg[r] ** -0.5 * A.values())


def no_square_root(A):
    A, deg, r, c = _parts(A)
    return _coo(A, A.values() / (deg[r] * deg[c]))


def degree_plus_one(A):
    A, deg, r, c = _parts(A)
    d = (deg + 1) ** -0.5
    return _coo(A, d[r] * A.values() * d[c])


def row_normalised(A):
    A, deg, r, c = _parts(A)
    return _coo(A, A.values() / deg[r])


def column_normalised(A):
    A, deg, r, c = _parts(A)
    return _coo(A, A.values() / deg[c])


def self_loops(A):
    N = A.shape[0]
    eye = torch.arange(N)
    A = A.coalesce()
    AI = torch.sparse_coo_tensor(
        torch.cat([A.indices(), torch.stack([eye, eye])], dim=1),
        torch.cat([A.values(), torch.ones(N, dtype=A.dtype)]),
        A.shape,
    ).coalesce()
    return sym(AI)


def sym(A):
    A, deg, r, c = _parts(A)
    d = deg.pow(-0.5)
    d[deg == 0] = 0.0
    return _coo(A, d[r] * A.values() * d[c])


def dense_result(A):
    return sym(A).to_dense()


def float32(A):
    return sym(A.float())


def diagonal_matrices(A):
    deg = torch.sparse.sum(A, dim=1).to_dense()
    d = deg.pow(-0.5)
    d[deg == 0] = 0.0
    D = torch.diag(d)
    return (D @ A.to_dense() @ D).to_sparse()


WRONG = [
    Variant("D^{-1/2} A (one side)", one_sided, "one_sided"),
    Variant("D⁻¹ A D⁻¹ (no square root)", no_square_root, "no_square_root"),
    Variant("degree + 1", degree_plus_one, "degree_plus_one"),
    Variant("D⁻¹ A (mean over neighbours)", row_normalised, "row_normalised"),
    Variant("A D⁻¹", column_normalised, "column_normalised"),
    Variant("A + I before normalising", self_loops, "self_loops"),
    Variant("dense result", dense_result, "layout"),
    Variant("float32", float32, "dtype"),
    Variant("torch.diag(d) @ A @ torch.diag(d)", diagonal_matrices, "complexity"),
]


def index_add(A):
    A = A.coalesce()
    r, c = A.indices()
    deg = torch.zeros(A.shape[0], dtype=A.dtype).index_add_(0, r, A.values())
    inv = torch.where(deg > 0, deg.rsqrt(), torch.zeros_like(deg))
    return torch.sparse_coo_tensor(
        A.indices(), inv[r] * A.values() * inv[c], A.shape
    )  # uncoalesced is fine


def scipy_diags(A):
    A = A.coalesce()
    r, c = A.indices().numpy()
    S = sp.coo_matrix((A.values().numpy(), (r, c)), shape=A.shape).tocsr()
    deg = np.asarray(S.sum(axis=1)).ravel()
    with np.errstate(divide="ignore"):
        d = np.where(deg > 0, deg**-0.5, 0.0)
    L = (sp.diags(d) @ S @ sp.diags(d)).tocoo()
    return torch.sparse_coo_tensor(
        torch.as_tensor(np.vstack([L.row, L.col]), dtype=torch.long),
        torch.as_tensor(L.data),
        L.shape,
    )


def sparse_diagonal_products(A):
    N = A.shape[0]
    deg = torch.sparse.sum(A, dim=1).to_dense()
    d = torch.where(deg > 0, deg.pow(-0.5), torch.zeros_like(deg))
    i = torch.arange(N)
    D = torch.sparse_coo_tensor(torch.stack([i, i]), d, (N, N))
    return torch.sparse.mm(D, torch.sparse.mm(A, D))


CORRECT = [
    Variant("index_add degrees, uncoalesced", index_add),
    Variant("scipy.sparse.diags", scipy_diags),
    Variant("sparse diagonal D times A times D", sparse_diagonal_products),
]


def result_without_size(A):  # the result's size read off its indices
    A, deg, r, c = _parts(A)
    vals = deg[r] ** -0.5 * A.values() * deg[c] ** -0.5
    return torch.sparse_coo_tensor(A.indices(), vals).coalesce()


def degrees_by_bincount(A):  # no minlength: short by the isolated last node, never indexed there
    A = A.coalesce()
    r, c = A.indices()
    d = torch.bincount(r, weights=A.values()).pow(-0.5)  # (max r + 1,)
    return torch.sparse_coo_tensor(A.indices(), d[r] * A.values() * d[c], A.shape).coalesce()


# the variants the edge rule's case catches (Exercise.edges): a size read off the indices (node N−1 isolated)
EDGE = [
    Variant("sparse_coo_tensor without its size", result_without_size, ("hard_coded_size", None))
]
CORRECT.append(Variant("degrees by bincount without minlength", degrees_by_bincount))
