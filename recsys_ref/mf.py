"""Matrix factorisation trained with BPR (Rendle et al., UAI 2009) — the MF baseline of NGCF's Table 2.

Paper → code:  e_u, e_i → ``user`` (n_users, d), ``item`` (n_items, d);  ŷ_ui = e_uᵀ e_i (NGCF eq. 10
with no propagation: MF is NGCF with zero layers).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._checks import expect_positive_int


class MF(nn.Module):
    """MF-BPR: one embedding per user and per item; the same training interface as ``NGCF``.

    DEFAULT_L2: BPR's regulariser (Rendle et al. 2009, BPR-Opt with per-step updates): λ on the
    parameters of the sampled triples, i.e. the batch's rows, λ (‖e_u‖² + ‖e_i‖² + ‖e_j‖²)/2/B.
    """

    DEFAULT_L2 = (1e-4, "batch")

    def __init__(self, n_users: int, n_items: int, dim: int = 64) -> None:
        super().__init__()
        expect_positive_int("n_users", n_users)
        expect_positive_int("n_items", n_items)
        expect_positive_int("dim", dim)
        self.n_users, self.n_items = n_users, n_items
        self.user = nn.Parameter(nn.init.xavier_uniform_(torch.empty(n_users, dim)))  # (n_users, d)
        self.item = nn.Parameter(nn.init.xavier_uniform_(torch.empty(n_items, dim)))  # (n_items, d)

    def embeddings(self) -> tuple[Tensor, Tensor]:
        return self.user, self.item

    def bpr_scores(self, users: Tensor, pos: Tensor, neg: Tensor) -> tuple[Tensor, Tensor]:
        u = self.user.index_select(0, users)  # (B, d)  index_select: a repeatable backward
        return (u * self.item.index_select(0, pos)).sum(1), (
            u * self.item.index_select(0, neg)
        ).sum(1)

    def ego_rows(self, users: Tensor, pos: Tensor, neg: Tensor) -> list[Tensor]:
        return [
            self.user.index_select(0, users),
            self.item.index_select(0, pos),
            self.item.index_select(0, neg),
        ]

    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        return (self.user.index_select(0, users) * self.item.index_select(0, items)).sum(1)  # (B,)
