"""Mistake catalogue of ngcf_1 (build_adjacency, eq. 8's A = [[0, R], [Rᵀ, 0]])."""

import numpy as np
import scipy.sparse as sp
import torch

from tests.catalogue import Variant


def _blocks(R):
    R = R.coalesce()
    n_u, n_i = R.shape
    u, i = R.indices()
    return n_u, n_i, u, i, R.values()


def no_size(R):
    n_u, n_i, u, i, v = _blocks(R)
    idx = torch.stack([torch.cat([u, i + n_u]), torch.cat([i + n_u, u])])
    return torch.sparse_coo_tensor(idx, torch.cat([v, v])).coalesce()


def symmetrised_twice(R):
    n_u, n_i, u, i, v = _blocks(R)
    N = n_u + n_i
    A = torch.sparse_coo_tensor(
        torch.stack([torch.cat([u, i + n_u]), torch.cat([i + n_u, u])]), torch.cat([v, v]), (N, N)
    )
    return (A + A.t()).coalesce()


def upper_block_only(R):
    n_u, n_i, u, i, v = _blocks(R)
    N = n_u + n_i
    return torch.sparse_coo_tensor(torch.stack([u, i + n_u]), v, (N, N)).coalesce()


def items_not_offset(R):
    n_u, n_i, u, i, v = _blocks(R)
    N = n_u + n_i
    return torch.sparse_coo_tensor(
        torch.stack([torch.cat([u, i]), torch.cat([i, u])]), torch.cat([v, v]), (N, N)
    ).coalesce()


def csr(R):
    n_u, n_i, u, i, v = _blocks(R)
    N = n_u + n_i
    A = torch.sparse_coo_tensor(
        torch.stack([torch.cat([u, i + n_u]), torch.cat([i + n_u, u])]), torch.cat([v, v]), (N, N)
    )
    return A.coalesce().to_sparse_csr()


def dense(R):
    n_u, n_i = R.shape
    A = torch.zeros(n_u + n_i, n_u + n_i, dtype=R.dtype)
    Rd = R.to_dense()
    A[:n_u, n_u:] = Rd
    A[n_u:, :n_u] = Rd.T
    return A


def float32_ones(R):
    n_u, n_i, u, i, v = _blocks(R)
    N = n_u + n_i
    idx = torch.stack([torch.cat([u, i + n_u]), torch.cat([i + n_u, u])])
    return torch.sparse_coo_tensor(idx, torch.ones(idx.shape[1]), (N, N)).coalesce()


def dense_then_sparse(R):
    return dense(R).to_sparse()


WRONG = [
    Variant("no size= (shape inferred)", no_size, "no_size"),
    Variant("both blocks, then A + Aᵀ", symmetrised_twice, "doubled"),
    Variant("only the R block", upper_block_only, "one_block"),
    Variant("items not offset by n_users", items_not_offset, "no_offset"),
    Variant("CSR instead of COO", csr, "layout"),
    Variant("dense A", dense, "layout"),
    Variant("torch.ones values (float32)", float32_ones, "dtype"),
    Variant("dense A, then .to_sparse()", dense_then_sparse, "complexity"),
]


def uncoalesced(R):
    n_u, n_i, u, i, v = _blocks(R)
    N = n_u + n_i
    return torch.sparse_coo_tensor(
        torch.stack([torch.cat([u, i + n_u]), torch.cat([i + n_u, u])]), torch.cat([v, v]), (N, N)
    )


def scipy_bmat(R):
    n_u, n_i, u, i, v = _blocks(R)
    Rs = sp.coo_matrix((v.numpy(), (u.numpy(), i.numpy())), shape=(n_u, n_i))
    A = sp.bmat([[None, Rs], [Rs.T, None]]).tocoo()
    idx = torch.as_tensor(np.vstack([A.row, A.col]), dtype=torch.long)
    return torch.sparse_coo_tensor(idx, torch.as_tensor(A.data), A.shape)


def one_block_plus_transpose(R):
    n_u, n_i, u, i, v = _blocks(R)
    N = n_u + n_i
    B = torch.sparse_coo_tensor(torch.stack([u, i + n_u]), v, (N, N))
    return (B + B.t()).coalesce()


CORRECT = [
    Variant("uncoalesced COO", uncoalesced),
    Variant("scipy.sparse.bmat", scipy_bmat),
    Variant("one block + its transpose", one_block_plus_transpose),
]
