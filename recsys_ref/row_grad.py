"""The gradient of a table looked up by label codes, one row per distinct feature.

A batch's B·F look-ups of an embedding table W (n, width) hit far fewer distinct rows U (a
Criteo-shaped batch of 2048 × 39 codes: ~7,500 rows).  ``nn.Embedding(sparse=True)`` returns one
gradient row per *look-up* (B·F rows, uncoalesced), and sparse Adagrad then sorts and sums them
(``coalesce``) every step.  Here the codes are sorted once (``RowIndex``: one stable sort of the
B·F codes, 32-bit when the table allows) and each look-up's gradient is summed into its feature's
row: the sparse gradient comes out coalesced, U sorted rows, which ``optim.RowAdagrad`` updates
without a sort.  The sum runs in the look-ups' own order (a stable sort), as ``index_add_`` would.

Used by ``fm._FMTable`` (``RowIndex.sum_examples``: a per-example value summed over each row's
look-ups, one pass) and ``ffm._TablePairs`` (chunk by chunk: ``RowIndex.where`` and ``index_add_``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

# Letters: B batch, F fields, n table rows, U distinct rows of the batch.


class RowIndex:
    """The distinct codes of idx (B, F) (``rows`` (U,), sorted) and where each look-up went."""

    def __init__(self, idx: Tensor, n_rows: int) -> None:
        flat = idx.reshape(-1)  # (B·F,)
        key = flat.to(torch.int32) if n_rows <= 2**31 - 1 else flat  # a 32-bit sort is ~2× faster
        ordered, self.perm = torch.sort(key, stable=True)  # (B·F,), (B·F,)  look-ups by code
        rows, self.counts = torch.unique_consecutive(ordered, return_counts=True)  # (U,), (U,)
        self.rows = rows.long()
        self.offsets = self.counts.cumsum(0) - self.counts  # (U,)  first look-up of each row

    def sum(self, values: Tensor) -> Tensor:
        """values (B·F, width), one per look-up → (U, width), summed per distinct row."""
        return F.embedding_bag(self.perm, values, self.offsets, mode="sum")  # (U, width)

    def sum_examples(self, values: Tensor) -> Tensor:
        """values (B, width), one per example (row of idx) → (U, width): for each distinct row,
        the sum of the values of the examples that look it up, once per look-up."""
        n_fields = self.perm.shape[0] // max(values.shape[0], 1)
        example = torch.div(self.perm, n_fields, rounding_mode="floor")  # (B·F,)  the look-up's row
        return F.embedding_bag(example, values, self.offsets, mode="sum")  # (U, width)

    def where(self) -> Tensor:
        """(B·F,) each look-up's position in ``rows`` (``torch.unique``'s inverse)."""
        out = torch.empty_like(self.perm)
        U = self.rows.shape[0]
        return out.index_copy_(0, self.perm, torch.arange(U).repeat_interleave(self.counts))

    def gradient(self, G: Tensor, W: Tensor, sparse: bool) -> Tensor:
        """G (U, width) as W's gradient: sparse COO with one row per distinct code, coalesced,
        or dense (n, width) with zeros elsewhere."""
        G = G.view(self.rows.shape[0], *W.shape[1:])
        if not sparse:
            return W.new_zeros(W.shape).index_copy_(0, self.rows, G)
        return torch.sparse_coo_tensor(
            self.rows.unsqueeze(0), G, W.shape, is_coalesced=True, check_invariants=False
        )
