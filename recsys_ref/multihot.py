"""Multi-hot fields in FM and FFM: a field with a variable number of values per row (e.g. genres).

Paper → code (Rendle 2010 eq. 1, Juan et al. 2016 φ_FFM, on real-valued x):  a multi-hot field
sets x_j = 1 for each of its values ("sum") or x_j = 1/|bag| ("mean", the field's values share one
unit of weight); the bag of row b is ``values[offsets[b]:offsets[b+1]]``, the layout
``nn.EmbeddingBag`` reads.  Then, for FM,

    Σ_i v_i x_i   = Σ_f V[idx_f] + EmbeddingBag(V)(values, offsets, x)          (B, k)
    Σ_i v_i² x_i² = Σ_f V[idx_f]² + EmbeddingBag(V²)(values, offsets, x²)       (B, k)

and Lemma 3.1 applies unchanged: the pairwise term is the one of the explicit multi-hot x, never
built.  For FFM the bag is pooled per partner field (one EmbeddingBag over W (n, F·k)), which
is exact for the pairs across fields; the pairs inside the bag (two genres of one row) are
⟨w_{j1,f}, w_{j2,f}⟩ with f the bag's own field, Lemma 3.1 on the bag.

``multihot_x`` builds the explicit x (the test oracle).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .ffm import pairwise_from_field_embeddings
from .fm import pairwise_from_embeddings

# Letters: B batch, F one-hot fields, T values in all bags, n features, k latent size.

MODES = ("sum", "mean")


def bag_weights(offsets: Tensor, n_values: int, mode: str = "sum", dtype=torch.float64) -> Tensor:
    """x_j of every bag value (T,): 1 for "sum", 1/|bag| for "mean"."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    lengths = torch.diff(offsets, append=torch.tensor([n_values]))  # (B,)
    if mode == "sum":
        return torch.ones(n_values, dtype=dtype)
    return (1.0 / lengths.clamp(min=1).to(dtype)).repeat_interleave(lengths)  # (T,)


def _bag(table: Tensor, values: Tensor, offsets: Tensor, weights: Tensor) -> Tensor:
    return F.embedding_bag(
        values, table, offsets, mode="sum", per_sample_weights=weights.to(table.dtype)
    )


def multihot_x(
    idx: Tensor, values: Tensor, offsets: Tensor, n_features: int, mode: str = "sum"
) -> Tensor:
    """The explicit x (B, n), dense float64: a 1 per one-hot field plus the bag's x_j."""
    B = idx.shape[0]
    x = torch.zeros(B, n_features, dtype=torch.float64)
    x.scatter_add_(1, idx, torch.ones(idx.shape, dtype=torch.float64))
    rows = torch.repeat_interleave(
        torch.arange(B), torch.diff(offsets, append=torch.tensor([len(values)]))
    )
    x.index_put_((rows, values), bag_weights(offsets, len(values), mode), accumulate=True)
    return x


def fm_score_multihot(
    idx: Tensor,
    values: Tensor,
    offsets: Tensor,
    w0: Tensor,
    w: Tensor,
    V: Tensor,
    mode: str = "sum",
) -> Tensor:
    """Eq. 1 with F one-hot fields idx (B, F) and one multi-hot field (values (T,), offsets (B,)) → (B,).

    w0 (), w (n,), V (n, k).  Two embedding lookups and two EmbeddingBags, O((F + |bag|) k) per row.
    """
    x = bag_weights(offsets, len(values), mode)  # (T,)
    e = V[idx]  # (B, F, k)
    s = e.sum(dim=1) + _bag(V, values, offsets, x)  # (B, k)  Σ_i v_i x_i
    q = (e * e).sum(dim=1) + _bag(V * V, values, offsets, x * x)  # (B, k)  Σ_i v_i² x_i²
    linear = w[idx].sum(dim=1) + _bag(w.unsqueeze(1), values, offsets, x).squeeze(1)  # (B,)
    return w0 + linear + 0.5 * (s * s - q).sum(dim=1)  # (B,)


def ffm_pairwise_multihot(
    idx: Tensor, values: Tensor, offsets: Tensor, W: Tensor, mode: str = "sum"
) -> Tensor:
    """φ_FFM with F one-hot fields idx (B, F) and one multi-hot field, field number F (the last).

    W (n, F + 1, k): w_{j, f} for every feature and field.  Returns (B,), every pair of
    non-zero features once: across fields by the pooled (B, F+1, F+1, k) table, inside the
    bag by Lemma 3.1 on w_{j, F}.
    """
    B, n_one_hot = idx.shape
    n, n_fields, k = W.shape
    if n_fields != n_one_hot + 1:
        raise ValueError(
            f"W has {n_fields} fields; with {n_one_hot} one-hot fields and one bag it needs "
            f"{n_one_hot + 1}"
        )
    x = bag_weights(offsets, len(values), mode)  # (T,)
    E_one = W[idx]  # (B, F, F+1, k)
    E_bag = _bag(W.reshape(n, -1), values, offsets, x).view(B, 1, n_fields, k)  # (B, 1, F+1, k)
    E = torch.cat([E_one, E_bag], dim=1)  # (B, F+1, F+1, k)  E[b, a, c] = Σ_{j in a} x_j w_{j, c}
    across = pairwise_from_field_embeddings(E)  # (B,)  pairs of different fields
    own = W[:, -1]  # (n, k)  w_{j, F}: a bag value meeting a value of its own field
    s = E_bag[:, 0, -1]  # (B, k)
    inside = 0.5 * (s * s - _bag(own * own, values, offsets, x * x)).sum(dim=1)  # (B,)
    return across + inside


def ffm_pairwise_explicit(x: Tensor, field_of: Tensor, W: Tensor) -> Tensor:
    """φ_FFM = Σ_{j1<j2} ⟨w_{j1,f2}, w_{j2,f1}⟩ x_{j1} x_{j2} over the non-zeros of an explicit x (B, n).

    The oracle, loops over pairs of non-zeros: small inputs only.
    """
    out = torch.zeros(x.shape[0], dtype=W.dtype)
    for b in range(x.shape[0]):
        nz = torch.nonzero(x[b]).squeeze(1).tolist()
        for a, j1 in enumerate(nz):
            for j2 in nz[a + 1 :]:
                f1, f2 = int(field_of[j1]), int(field_of[j2])
                out[b] += (W[j1, f2] * W[j2, f1]).sum() * x[b, j1] * x[b, j2]
    return out


__all__ = [
    "bag_weights",
    "multihot_x",
    "fm_score_multihot",
    "ffm_pairwise_multihot",
    "ffm_pairwise_explicit",
    "pairwise_from_embeddings",
]
