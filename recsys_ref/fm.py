"""Factorization Machines (Rendle, ICDM 2010).

Paper → code:  x ∈ R^n → x (B, n);  w0, w → w0, w;  V ∈ R^{n×k} → V;  ŷ(x) → y_hat
               m(x) non-zeros of x → the F label codes ``idx`` (B, F) of one example per row.

Eq. (1):   ŷ(x) = w0 + Σ_i w_i x_i + Σ_i Σ_{j>i} ⟨v_i, v_j⟩ x_i x_j
Lemma 3.1: Σ_{i<j} ⟨v_i, v_j⟩ x_i x_j = ½ Σ_f [(Σ_i v_{i,f} x_i)² − Σ_i v_{i,f}² x_i²]  — O(kn),
           O(k·m(x)) for sparse x.
Gradient:  ∂ŷ/∂v_{i,f} = x_i Σ_j v_{j,f} x_j − v_{i,f} x_i²

The pairwise term is given three ways that agree: for a dense x (B, n), for a
sparse one-hot x (torch sparse), and for label-encoded fields (B, F) through one
embedding lookup (the one-hot row of an example selects F rows of V, so
x V = Σ_f V[idx_f]).  ``FMOneHot`` (nn.Parameter, x @ V) and ``FM``
(nn.Embedding, label codes) are the same model with the same weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import expect_same_size, expect_tensor
from .row_grad import RowIndex

# Letters: B batch, n features (one-hot width), k latent size, F fields.


def _check_x_V(x: Tensor, V: Tensor, *, allow_sparse: bool = False) -> None:
    expect_tensor("x", x, ndim=2, floating=True, allow_sparse=allow_sparse)
    expect_tensor("V", V, ndim=2, floating=True)
    expect_same_size(
        "x's number of features (x.shape[1])", x.shape[1], "V's rows (V.shape[0])", V.shape[0]
    )


def _check_idx(idx: Tensor, n_rows: int, name: str = "the table") -> None:
    expect_tensor("idx", idx, ndim=2, integer=True)
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= n_rows):
        raise ValueError(
            f"idx must hold global feature indices in [0, {n_rows}) (the rows of {name}), "
            f"got values in [{int(idx.min())}, {int(idx.max())}]; did you add the field offsets?"
        )


def fm_pairwise_naive(x: Tensor, V: Tensor) -> Tensor:
    """Eq. (1)'s pairwise term as written: Σ_i Σ_{j>i} ⟨v_i, v_j⟩ x_i x_j, O(k n²) per row.

    x (B, n), V (n, k), floating → (B,).  Builds a (B, n, n) tensor: the test
    oracle and the slow side of the benchmark, not for large n.
    """
    _check_x_V(x, V)
    xv = x.unsqueeze(2) * V  # (B, n, k)  row i is x_i v_i
    pairs = xv @ xv.transpose(1, 2)  # (B, n, n)  entry (i, j) is ⟨v_i, v_j⟩ x_i x_j
    return torch.triu(pairs, diagonal=1).sum(dim=(1, 2))  # (B,)  only j > i


def fm_pairwise_loops(x: Tensor, V: Tensor) -> Tensor:
    """The double sum of eq. (1) with Python loops over i < j: the slowest, most literal oracle."""
    _check_x_V(x, V)
    B, n = x.shape
    out = torch.zeros(B, dtype=x.dtype)  # (B,)
    for i in range(n):
        for j in range(i + 1, n):
            out = out + (V[i] * V[j]).sum() * x[:, i] * x[:, j]  # (B,)
    return out


def fm_pairwise(x: Tensor, V: Tensor) -> Tensor:
    """Lemma 3.1, O(kn): ½ Σ_f [(Σ_i v_{i,f} x_i)² − Σ_i v_{i,f}² x_i²].

    x (B, n) dense or torch sparse (COO/CSR, e.g. one-hot rows), V (n, k),
    floating → (B,).  With sparse x the cost is O(k · nnz(x)).
    """
    _check_x_V(x, V, allow_sparse=True)
    if x.layout != torch.strided:
        x = x.to_sparse_coo() if x.layout != torch.sparse_coo else x
        xv = torch.sparse.mm(x, V)  # (B, k)  Σ_i v_{i,f} x_i
        x2v2 = torch.sparse.mm(x * x, V * V)  # (B, k)  Σ_i v_{i,f}² x_i²  (x*x keeps the pattern)
    else:
        xv = x @ V  # (B, k)
        x2v2 = (x * x) @ (V * V)  # (B, k)
    return 0.5 * (xv * xv - x2v2).sum(dim=1)  # (B,)


def fm_pairwise_fields(idx: Tensor, V: Tensor) -> Tensor:
    """Lemma 3.1 for label-encoded fields: one embedding lookup, O(kF) per row.

    idx (B, F) global feature indices (per-field code + the field's offset), V (n, k)
    → (B,).  Every x_i is 1 for the F looked-up rows and 0 elsewhere, so
    Σ_i v_i x_i = Σ_f e_f and Σ_i v_i² x_i² = Σ_f e_f² with e = V[idx].
    """
    expect_tensor("V", V, ndim=2, floating=True)
    _check_idx(idx, V.shape[0], "V")
    return pairwise_from_embeddings(V[idx])  # V[idx]: (B, F, k)


def pairwise_from_embeddings(e: Tensor) -> Tensor:
    """Lemma 3.1 on already looked-up (and possibly scaled) vectors e (B, F, k) → (B,)."""
    s = e.sum(dim=1)  # (B, k)   Σ_f e_f
    return 0.5 * (s * s - (e * e).sum(dim=1)).sum(dim=1)  # (B,)


_CHUNK_BYTES = 1 << 19  # look-ups of a batch made at a time (~0.5 MB): they stay in cache


class _FMTable(torch.autograd.Function):
    """Σ_f w[idx_f] and Lemma 3.1 straight from the tables, with a hand-written backward.

    Forward: the same operations as ``w(idx).sum`` and ``pairwise_from_embeddings(V[idx])``, on
    ~0.5 MB of look-ups at a time, so that the (B, F, k) look-up never leaves the cache (made
    whole, it is a fresh 5 MB buffer per Criteo-sized batch, written and read four times).
    Backward (eq. 4 for label codes): ∂/∂e_f = g (s − e_f) with s = Σ_f e_f, so a row v that the
    batch looks up at (b, f) pairs gets Σ g_b s_b − v Σ g_b: one ``embedding_bag`` over the
    per-example values [g s, g, g_lin] (B, k + 2), summed per *distinct* feature of the batch
    (``row_grad.RowIndex.sum_examples``), and one gather of those U rows of V; no (B, F, k)
    buffer at all.  With ``sparse=True`` the gradients come out coalesced.
    """

    @staticmethod
    def forward(ctx, idx: Tensor, w: Tensor, V: Tensor, sparse_w: bool, sparse_V: bool):
        B, n_fields = idx.shape
        k = V.shape[1]
        s, pairs = V.new_empty(B, k), V.new_empty(B)  # (B, k), (B,)
        rows = max(1, _CHUNK_BYTES // (n_fields * k * V.element_size()))
        for a in range(0, B, rows):
            ic = idx[a : a + rows]  # (c, F)
            e = V.index_select(0, ic.reshape(-1)).view(ic.shape[0], n_fields, k)  # (c, F, k)
            sc = torch.sum(e, dim=1, out=s[a : a + rows])  # (c, k)  Σ_f e_f
            sq = e.mul_(e).sum(dim=1)  # (c, k)  Σ_f e_f², in e's buffer (e is not needed after)
            pairs[a : a + rows] = 0.5 * (sc * sc - sq).sum(dim=1)  # as pairwise_from_embeddings
        flat = idx.reshape(-1)  # (B·F,)
        lin = w.view(-1).index_select(0, flat).view(B, n_fields).sum(dim=1)  # (B,)  w (n, 1)
        ctx.save_for_backward(idx, w, V, s)
        ctx.sparse = (sparse_w, sparse_V)
        return lin, pairs

    @staticmethod
    def backward(ctx, g_lin: Tensor, g_pairs: Tensor):
        idx, w, V, s = ctx.saved_tensors
        sparse_w, sparse_V = ctx.sparse
        k = V.shape[1]
        need_w, need_V = ctx.needs_input_grad[1], ctx.needs_input_grad[2]
        grads: list[Tensor | None] = [None, None, None, None, None]
        index = RowIndex(idx, V.shape[0])  # the distinct features of the batch, sorted once
        per_example = torch.cat(
            [s * g_pairs.unsqueeze(1), g_pairs.unsqueeze(1), g_lin.unsqueeze(1)], dim=1
        )  # (B, k + 2)  [g s, g, g_lin] of each example
        summed = index.sum_examples(per_example)  # (U, k + 2)  over each row's look-ups
        if need_V:
            v = V.index_select(0, index.rows)  # (U, k)
            dV = torch.addcmul(summed[:, :k], v, summed[:, k : k + 1], value=-1)  # Σ g (s − v)
            grads[2] = index.gradient(dV, V, sparse_V)  # (U, k)
        if need_w:
            grads[1] = index.gradient(summed[:, k + 1 :].contiguous(), w, sparse_w)  # (U, 1)
        return tuple(grads)


def fm_table_terms(
    idx: Tensor, w: Tensor, V: Tensor, *, sparse_w: bool = False, sparse_V: bool = False
) -> tuple[Tensor, Tensor]:
    """(Σ_f w[idx_f] (B,), Lemma 3.1's pairwise term (B,)) from w (n, 1) and V (n, k).

    Equal to ``w[idx].sum(1)`` and ``fm_pairwise_fields(idx, V)``; the gradients are sparse and
    coalesced (one row per distinct feature) where ``sparse_*`` says so, dense otherwise.  What
    ``FM`` trains with.
    """
    return _FMTable.apply(idx, w, V, sparse_w, sparse_V)


def fm_pairwise_grad(x: Tensor, V: Tensor) -> Tensor:
    """∂ŷ/∂v_{i,f} = x_i Σ_j v_{j,f} x_j − v_{i,f} x_i² for every row of the batch.

    x (B, n), V (n, k) → (B, n, k): the gradient of each example's ŷ w.r.t. V.
    """
    _check_x_V(x, V)
    xv = x @ V  # (B, k)   Σ_j v_{j,f} x_j
    return x.unsqueeze(2) * xv.unsqueeze(1) - V.unsqueeze(0) * (x * x).unsqueeze(2)  # (B, n, k)


def fm_score(idx: Tensor, w0: Tensor | float, w: Tensor, V: Tensor) -> Tensor:
    """Eq. (1) for label-encoded rows: ŷ = w0 + Σ_f w[idx_f] + Σ_{f<g} ⟨v_{idx_f}, v_{idx_g}⟩.

    idx (B, F) long, w0 a float or a tensor () / (1,), w (n,), V (n, k) → (B,)
    logits (no sigmoid: the logistic loss applies it).
    """
    if isinstance(w0, (int, float)) and not isinstance(w0, bool):
        w0 = torch.tensor(float(w0), dtype=V.dtype if isinstance(V, Tensor) else torch.float64)
    expect_tensor("w0", w0, ndim=(0, 1), floating=True)
    expect_tensor("w", w, ndim=1, floating=True)
    expect_tensor("V", V, ndim=2, floating=True)
    expect_same_size("w's length", w.shape[0], "V's rows", V.shape[0])
    _check_idx(idx, V.shape[0], "w and V")
    assert isinstance(w0, Tensor)  # a number became a tensor above
    return w0.reshape(()) + w[idx].sum(dim=1) + fm_pairwise_fields(idx, V)  # (B,)


# ---------------------------------------------------------------- models


class FMOneHot(nn.Module):
    """Eq. (1) on an explicit x (B, n), dense or sparse one-hot: parameters w0, w, V as nn.Parameter.

    The teaching form: ŷ = w0 + x w + Lemma 3.1 on x V.  Same model as ``FM``
    (see ``FM.from_one_hot``), which skips building x.
    """

    def __init__(
        self, n_features: int, k: int = 8, *, init_std: float = 0.01, seed: int | None = None
    ):
        super().__init__()
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        self.w0 = nn.Parameter(torch.zeros(()))  # ()
        self.w = nn.Parameter(torch.zeros(n_features))  # (n,)
        self.V = nn.Parameter(torch.randn(n_features, k, generator=g) * init_std)  # (n, k)

    def forward(self, x: Tensor) -> Tensor:
        """x (B, n) dense or sparse → logits (B,)."""
        if x.layout != torch.strided:
            x = x.to_sparse_coo() if x.layout != torch.sparse_coo else x
            linear = torch.sparse.mm(x, self.w.unsqueeze(1)).squeeze(1)  # (B,)
        else:
            linear = x @ self.w  # (B,)
        return self.w0 + linear + fm_pairwise(x, self.V)  # (B,)


class FM(nn.Module):
    """Eq. (1) on label codes idx (B, F): w and V are nn.Embedding tables, one lookup per field.

    ``sparse=True`` gives sparse gradients (only the batch's rows), for
    ``torch.optim.Adagrad``/``SparseAdam``.  Options tried in notebook 23:
    ``dropout`` on the looked-up vectors (training only) and ``normalize``,
    instance-wise normalisation as in libffm: the F active x_i are 1/√F, so
    ‖x‖ = 1 and the pairwise term is divided by F.
    """

    def __init__(
        self,
        n_features: int,
        k: int = 8,
        *,
        sparse: bool = True,
        dropout: float = 0.0,
        normalize: bool = False,
        init_std: float = 0.01,
        seed: int | None = None,
        score: Callable[[Tensor, Tensor, Tensor, Tensor], Tensor] | None = None,
    ):
        super().__init__()
        if score is not None and (dropout or normalize):
            raise ValueError(
                "a plugged-in score function gets the raw weights: use it without dropout/normalize"
            )
        self.score = score
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        self.w0 = nn.Parameter(torch.zeros(()))  # ()
        self.w = nn.Embedding(n_features, 1, sparse=sparse)  # (n, 1)
        self.V = nn.Embedding(n_features, k, sparse=sparse)  # (n, k)
        with torch.no_grad():
            self.w.weight.zero_()
            self.V.weight.copy_(torch.randn(n_features, k, generator=g) * init_std)
        self.dropout, self.normalize = dropout, normalize

    def forward(self, idx: Tensor) -> Tensor:
        """idx (B, F) global feature indices → logits (B,)."""
        if self.score is not None:  # dependency injection: eq. 1 written by someone else
            return self.score(idx, self.w0, self.w.weight.squeeze(1), self.V.weight)  # (B,)
        if not (self.dropout and self.training):  # the table form: coalesced sparse gradients
            lin_sum, pairs = fm_table_terms(
                idx, self.w.weight, self.V.weight, sparse_w=self.w.sparse, sparse_V=self.V.sparse
            )  # (B,), (B,)
            if self.normalize:  # x_i = 1/√F: the linear term scales by it, each pair by its square
                scale = 1.0 / math.sqrt(idx.shape[1])
                lin_sum, pairs = lin_sum * scale, pairs * scale**2
            return self.w0 + lin_sum + pairs  # (B,)
        e = self.V(idx)  # (B, F, k)
        lin = self.w(idx).squeeze(2)  # (B, F)
        if self.normalize:
            scale = 1.0 / math.sqrt(idx.shape[1])  # x_i = 1/√F for each active feature
            e, lin = e * scale, lin * scale
        e = F.dropout(e, self.dropout, self.training)
        return self.w0 + lin.sum(dim=1) + pairwise_from_embeddings(e)  # (B,)

    def penalty(self, idx: Tensor) -> Tensor:
        """½ Σ of the squared parameters the batch touches (L2 on the rows used, as libffm does)."""
        return 0.5 * (self.V(idx).pow(2).sum() + self.w(idx).pow(2).sum())

    @classmethod
    def from_one_hot(cls, model: FMOneHot, **kwargs) -> FM:
        """An ``FM`` with the weights of ``model``: the same eq. (1), fed label codes."""
        n, k = model.V.shape
        fm = cls(n, k, **kwargs)
        with torch.no_grad():
            fm.w0.copy_(model.w0)
            fm.w.weight.copy_(model.w.unsqueeze(1))
            fm.V.weight.copy_(model.V)
        return fm


# ---------------------------------------------------------------- FM contains (biased) MF


def biased_mf_score(
    users: Tensor,
    items: Tensor,
    mu: Tensor | float,
    b_user: Tensor,
    b_item: Tensor,
    P: Tensor,
    Q: Tensor,
) -> Tensor:
    """Biased matrix factorisation: ŷ_ui = μ + b_u + b_i + ⟨p_u, q_i⟩.

    users, items (B,) long; b_user (U,), b_item (I,), P (U, k), Q (I, k) → (B,).
    """
    return mu + b_user[users] + b_item[items] + (P[users] * Q[items]).sum(dim=1)  # (B,)


def fm_weights_from_mf(
    mu: Tensor | float, b_user: Tensor, b_item: Tensor, P: Tensor, Q: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """FM's (w0, w, V) for x = one-hot(user) ‖ one-hot(item) (Rendle 2010, §V-A): the same weights.

    Features 0..U−1 are the users, U..U+I−1 the items; w = b_user ‖ b_item, V = P ‖ Q.  With these,
    eq. 1 on that x is exactly ``biased_mf_score``: the only pair in a row is (user, item).
    """
    w0 = torch.as_tensor(mu, dtype=P.dtype)
    return w0, torch.cat([b_user, b_item]), torch.cat([P, Q])  # (), (U+I,), (U+I, k)
