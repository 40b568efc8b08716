"""Field-aware Factorization Machines (Juan et al., RecSys 2016).

Paper → code:  w_{j,f} (one latent vector per feature j and *other* field f) → W (n, F, k);
               j1, j2 the features of fields f1, f2 → idx[:, f1], idx[:, f2];  φ_FFM → ffm_pairwise

    φ_FFM(w, x) = Σ_{j1<j2} ⟨w_{j1,f2}, w_{j2,f1}⟩ x_{j1} x_{j2}

With label codes every example has one active feature per field, so the sum runs
over the F(F−1)/2 field pairs.  There is no Lemma-3.1 trick here (the vector used
for j1 depends on the partner's field): the cost is O(F² k) per example.  The
pairs are computed in one batched product, no Python loop over field pairs;
``ffm_pairwise_loops`` keeps the per-pair loop as the test oracle.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import expect_same_size, expect_tensor
from .row_grad import RowIndex

# Letters: B batch, F fields, k latent size, n features (all fields together).


def _check(idx: Tensor, W: Tensor) -> None:
    expect_tensor("W", W, ndim=3, floating=True)
    expect_tensor("idx", idx, ndim=2, integer=True)
    expect_same_size(
        "idx's number of fields (idx.shape[1])",
        idx.shape[1],
        "W's field axis (W.shape[1])",
        W.shape[1],
    )
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= W.shape[0]):
        raise ValueError(
            f"idx must hold global feature indices in [0, {W.shape[0]}), got values in "
            f"[{int(idx.min())}, {int(idx.max())}]; did you add the field offsets?"
        )


class _FieldPairs(torch.autograd.Function):
    """Σ_{a<c} ⟨E[b, a, c], E[b, c, a]⟩ with a hand-written backward.

    The field-swapped copy Eᵀ (Eᵀ[b, a, c] = E[b, c, a]) is made once: the forward is
    one dot product per row, ⟨E, Eᵀ⟩, and the backward reuses it, since
    ∂/∂E[b, a, c] = E[b, c, a] for a ≠ c (each entry meets its partner once) and 0 for a = c.
    The gradient is written into Eᵀ's own buffer (no second (B, F, F, k) tensor per step; a
    second backward through the same graph rebuilds Eᵀ from E).
    """

    @staticmethod
    def forward(ctx, E: Tensor) -> Tensor:
        B = E.shape[0]
        Et = E.transpose(1, 2).contiguous()  # (B, F, F, k)  partners lined up
        if Et.data_ptr() == E.data_ptr():  # F = 1: already contiguous, the same storage as E
            Et = Et.clone()  # (its buffer is overwritten in backward; E must stay intact)
        ctx.save_for_backward(E)
        ctx.Et = Et  # kept off the saved-tensor list: its buffer becomes the gradient (once)
        total = torch.bmm(E.reshape(B, 1, -1), Et.view(B, -1, 1)).view(
            B
        )  # (B,)  all (a, c), a = c too
        d = torch.diagonal(
            E, dim1=1, dim2=2
        )  # (B, k, F)  E[b, a, a]: a field with itself, not a pair
        return 0.5 * (total - (d * d).sum(dim=(1, 2)))  # (B,)  each unordered pair once

    @staticmethod
    def backward(ctx, grad_out: Tensor) -> Tensor:
        (E,) = ctx.saved_tensors
        scale = grad_out.view(-1, 1, 1, 1)
        if (
            ctx.Et is not None
        ):  # the first backward writes into Et's buffer: no new (B, F, F, k) tensor
            grad, ctx.Et = ctx.Et.mul_(scale), None  # (B, F, F, k)
        else:  # a second backward (retain_graph=True): Et was used up, rebuild it from E
            grad = E.transpose(1, 2) * scale
        torch.diagonal(grad, dim1=1, dim2=2).zero_()
        return grad


_CHUNK_BYTES = 3 << 19  # rows of a batch looked up at a time: ~1.5 MB each, kept in cache


def _swap_fields(E: Tensor) -> Tensor:
    """Eᵀ[b, a, c] = E[b, c, a] for E (b, F, F, k), as a new contiguous tensor (bit-exact).

    Each k-vector is moved whole: viewed as one or two 16-byte (or 8-byte) words, the copy
    moves F² words per row instead of F²·k scalars, ~10× faster than ``.contiguous()``.
    """
    c, n_fields, _, k = E.shape
    nbytes = k * E.element_size()
    word = torch.complex128 if nbytes % 16 == 0 else torch.int64 if nbytes % 8 == 0 else None
    if word is None or not E.is_contiguous():
        return E.transpose(1, 2).contiguous()
    X = E.view(c, n_fields, n_fields * k).view(word).view(c, n_fields, n_fields, -1)
    return X.transpose(1, 2).contiguous().view(E.dtype).view(c, n_fields, n_fields, k)


class _TablePairs(torch.autograd.Function):
    """φ_FFM straight from the table: W (n, F·k), idx (B, F) → (B,), chunked over the batch.

    The same sums as ``_FieldPairs``, but the (B, F, F, k) look-up is never made whole: rows
    are looked up ~1.5 MB at a time, so every temporary stays in cache and is recycled by the
    allocator (a 50 MB look-up is a fresh mapping each step, and filling its pages costs more
    than the arithmetic).  The backward scales each chunk's Eᵀ in place and adds it into one
    row per *distinct* feature of the batch (``index_add_``): with ``sparse=True`` the
    gradient is already coalesced, as sparse Adagrad wants it.
    """

    @staticmethod
    def forward(ctx, W: Tensor, idx: Tensor, n_fields: int, k: int, sparse: bool) -> Tensor:
        B = idx.shape[0]
        rows = max(1, _CHUNK_BYTES // (n_fields * n_fields * k * W.element_size()))
        out = W.new_empty(B)  # (B,)
        swapped: list[Tensor] = []
        for s in range(0, B, rows):
            ic = idx[s : s + rows]  # (c, F)
            c = ic.shape[0]
            E = W.index_select(0, ic.reshape(-1)).view(c, n_fields, n_fields, k)  # (c, F, F, k)
            Et = _swap_fields(E)  # (c, F, F, k)  partners lined up
            total = torch.linalg.vecdot(E.view(c, -1), Et.view(c, -1))  # (c,)  all (a, c)
            d = torch.diagonal(E, dim1=1, dim2=2)  # (c, k, F)  a field with itself
            out[s : s + c] = 0.5 * (total - (d * d).sum(dim=(1, 2)))
            swapped.append(Et)
        ctx.save_for_backward(W, idx)
        ctx.swapped, ctx.rows, ctx.shape = swapped, rows, (n_fields, k, sparse)
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        W, idx = ctx.saved_tensors
        n_fields, k, sparse = ctx.shape
        swapped, ctx.swapped = ctx.swapped, None  # used up (in place) by this backward
        if sparse:  # one row per distinct feature: the gradient comes out coalesced
            index = RowIndex(idx, W.shape[0])
            where, G = index.where().view(idx.shape), W.new_zeros(index.rows.shape[0], W.shape[1])
        else:
            where, G = idx, torch.zeros_like(W)  # (B, F), (n, F·k)
        for i, s in enumerate(range(0, idx.shape[0], ctx.rows)):
            ic = idx[s : s + ctx.rows]
            c = ic.shape[0]
            if swapped is not None:
                Gt = swapped[i]  # (c, F, F, k)
            else:  # a second backward (retain_graph=True): look the rows up again
                Gt = _swap_fields(W.index_select(0, ic.reshape(-1)).view(c, n_fields, n_fields, k))
            Gt.mul_(grad_out[s : s + c].view(-1, 1, 1, 1))  # ∂φ/∂E[b, a, c] = E[b, c, a]
            torch.diagonal(Gt, dim1=1, dim2=2).zero_()  # a = c is not a pair
            G.index_add_(0, where[s : s + c].reshape(-1), Gt.view(c * n_fields, n_fields * k))
        return (index.gradient(G, W, True) if sparse else G), None, None, None, None


def ffm_pairwise_table(idx: Tensor, W: Tensor, *, sparse: bool = False) -> Tensor:
    """φ_FFM from the embedding weight W (n, F·k) and idx (B, F) → (B,), without the full look-up.

    Equal to ``pairwise_from_field_embeddings(W.view(n, F, k)[idx])``; the gradient of W is
    sparse (coalesced) with ``sparse=True``, dense otherwise.  What ``FFM`` trains with.
    """
    n_fields = idx.shape[1]
    if W.ndim != 2 or W.shape[1] % max(n_fields, 1):
        raise ValueError(
            f"W must be (n, F·k) with F = idx.shape[1] = {n_fields}, got {tuple(W.shape)}"
        )
    return _TablePairs.apply(W, idx, n_fields, W.shape[1] // n_fields, sparse)


def pairwise_from_field_embeddings(E: Tensor) -> Tensor:
    """φ_FFM from looked-up vectors E (B, F, F, k), E[b, a, c] = w_{idx_a, c} → (B,).

    Pair (a, c) multiplies E[b, a, c] with E[b, c, a]: the transpose over the two
    field axes lines every partner up at once.  ½ (Σ_{a,c} − Σ_{a=c}) counts each pair once.
    """
    return _FieldPairs.apply(E)


def pairwise_from_field_embeddings_autograd(E: Tensor) -> Tensor:
    """The same as ``pairwise_from_field_embeddings`` with autograd's own backward (test oracle)."""
    P = (E * E.transpose(1, 2)).sum(
        dim=3
    )  # (B, F, F)  P[b, a, c] = ⟨w_{j_a, c}, w_{j_c, a}⟩, symmetric
    diag = torch.diagonal(P, dim1=1, dim2=2).sum(dim=1)  # (B,)
    return 0.5 * (P.sum(dim=(1, 2)) - diag)  # (B,)


def ffm_pairwise(idx: Tensor, W: Tensor) -> Tensor:
    """φ_FFM for label-encoded rows, vectorised: idx (B, F) long, W (n, F, k) → (B,)."""
    _check(idx, W)
    return pairwise_from_field_embeddings(W[idx])  # W[idx]: (B, F, F, k)


def ffm_pairwise_loops(idx: Tensor, W: Tensor) -> Tensor:
    """φ_FFM with a Python loop over the field pairs f1 < f2: the oracle."""
    _check(idx, W)
    B, n_fields = idx.shape
    out = torch.zeros(B, dtype=W.dtype)  # (B,)
    for f1 in range(n_fields):
        for f2 in range(f1 + 1, n_fields):
            w1 = W[idx[:, f1], f2]  # (B, k)  w_{j1, f2}
            w2 = W[idx[:, f2], f1]  # (B, k)  w_{j2, f1}
            out = out + (w1 * w2).sum(dim=1)
    return out


class FFM(nn.Module):
    """ŷ = w0 + Σ_f w[idx_f] + φ_FFM, on idx (B, F) global feature indices → logits (B,).

    W is one ``nn.Embedding(n, F·k)``: a lookup returns all F field-aware
    vectors of a feature at once, and with ``sparse=True`` only the batch's rows
    get gradients (Adagrad, as libffm uses).  ``dropout`` acts on the looked-up
    vectors in training; ``normalize`` is libffm's instance-wise normalisation
    (the F active x_j are 1/√F, so each pair term is divided by F).  ``interaction(idx, W)``
    plugs in another φ_FFM (e.g. a learner's ``ffm_pairwise``), fed W as (n, F, k).
    """

    def __init__(
        self,
        n_features: int,
        n_fields: int,
        k: int = 4,
        *,
        sparse: bool = True,
        dropout: float = 0.0,
        normalize: bool = False,
        init_std: float = 0.01,
        seed: int | None = None,
        interaction: Callable[[Tensor, Tensor], Tensor] | None = None,
    ):
        super().__init__()
        if interaction is not None and (dropout or normalize):
            raise ValueError(
                "a plugged-in interaction gets the raw W: use it without dropout/normalize"
            )
        self.interaction = interaction
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        self.n_fields, self.k = n_fields, k
        self.w0 = nn.Parameter(torch.zeros(()))  # ()
        self.w = nn.Embedding(n_features, 1, sparse=sparse)  # (n, 1)
        self.W = nn.Embedding(n_features, n_fields * k, sparse=sparse)  # (n, F·k)
        with torch.no_grad():
            self.w.weight.zero_()
            self.W.weight.copy_(torch.randn(n_features, n_fields * k, generator=g) * init_std)
        self.dropout, self.normalize = dropout, normalize

    def forward(self, idx: Tensor) -> Tensor:
        """idx (B, F) → logits (B,)."""
        B, n_fields = idx.shape
        if n_fields != self.n_fields:
            raise ValueError(f"idx has {n_fields} fields, the model was built for {self.n_fields}")
        if self.interaction is not None:  # dependency injection: φ_FFM written by someone else
            return (
                self.w0
                + self.w(idx).squeeze(2).sum(dim=1)
                + self.interaction(idx, self.weight_table)
            )
        lin = self.w(idx).squeeze(2)  # (B, F)
        scale = 1.0 / math.sqrt(n_fields) if self.normalize else 1.0
        if self.dropout and self.training:  # dropout needs the look-up itself
            E = self.W(idx).view(B, n_fields, n_fields, self.k) * scale  # (B, F, F, k)
            pairs = pairwise_from_field_embeddings(F.dropout(E, self.dropout, True))  # (B,)
        else:  # each pair term is bilinear: scaling both vectors by s scales it by s²
            pairs = ffm_pairwise_table(idx, self.W.weight, sparse=self.W.sparse) * scale**2
        return self.w0 + lin.sum(dim=1) * scale + pairs  # (B,)

    def penalty(self, idx: Tensor) -> Tensor:
        """½ Σ of the squared parameters the batch touches."""
        return 0.5 * (self.W(idx).pow(2).sum() + self.w(idx).pow(2).sum())

    @property
    def weight_table(self) -> Tensor:
        """W as (n, F, k), the paper's w_{j,f} (a view of the embedding weight)."""
        return self.W.weight.view(-1, self.n_fields, self.k)
