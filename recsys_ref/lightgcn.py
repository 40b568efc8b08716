"""LightGCN (He et al., SIGIR 2020) — NGCF without feature transforms and nonlinearity (the ablation).

Paper → code:  e^(k+1) = Σ_{i∈N_u} 1/sqrt(|N_u||N_i|) e_i^(k), i.e. E^(k+1) = L E^(k) (L of NGCF eq. 8)
→ ``lightgcn_layer``;  e = Σ_k α_k e^(k), α_k = 1/(K+1) → mean of the layers;  ŷ_ui = e_uᵀ e_i.
Compared with NGCF eq. (7): no W1, W2, no bi-interaction term, no LeakyReLU, no self-connection
(the layer combination plays that role), and a mean instead of the concatenation of eq. (9).
"""

from __future__ import annotations

from typing import cast

import torch
from torch import Tensor, nn

from ._checks import expect_positive_int, expect_tensor
from .graph import SparseOperator, to_csr


def lightgcn_layer(E: Tensor, L: Tensor) -> Tensor:
    """E^(k+1) = L E^(k): E (N, d), L (N, N) sparse → (N, d)."""
    return L @ E  # (N, d)


class LightGCN(nn.Module):
    """LightGCN with the NGCF training interface (``bpr_scores``, ``embeddings``, ``ego_rows``).

    DEFAULT_L2: LightGCN's own objective (He et al. 2020, eq. 15 and the authors' code): λ‖E⁽⁰⁾‖² on
    the batch's ego rows, λ (‖e_u⁰‖² + ‖e_i⁰‖² + ‖e_j⁰‖²)/2/B with λ = 1e-4 — not NGCF's eq. 11 over Θ.
    """

    DEFAULT_L2 = (1e-4, "batch")
    L: Tensor  # a buffer (register_buffer in __init__), typed for the checker

    def __init__(
        self, n_users: int, n_items: int, L: Tensor, dim: int = 64, n_layers: int = 3
    ) -> None:
        super().__init__()
        expect_positive_int("n_users", n_users)
        expect_positive_int("n_items", n_items)
        expect_tensor("L", L, ndim=2, allow_sparse=True)
        N = n_users + n_items
        if tuple(L.shape) != (N, N):
            raise ValueError(f"L must have shape ({N}, {N}), got {tuple(L.shape)}")
        self.n_users, self.n_items, self.n_layers = n_users, n_items, n_layers
        L = to_csr(L) if L.layout != torch.strided else to_csr(L.to_sparse())
        self.register_buffer("L", L.to(torch.float32), persistent=False)
        self._op: SparseOperator | None = None  # L with a stored Lᵀ for the backward (built lazily)
        self.embedding = nn.Parameter(nn.init.normal_(torch.empty(N, dim), std=0.1))  # E^(0) (N, d)

    def final(self) -> Tensor:
        if self._op is None or self._op.L is not self.L:
            self._op = SparseOperator(self.L)
        E: Tensor = self.embedding  # (N, d)
        total: Tensor = self.embedding  # (N, d)
        L = cast(Tensor, self._op)  # the operator in L's place: all the layer does is L @ E
        for _ in range(self.n_layers):
            E = lightgcn_layer(E, L)  # (N, d)
            total = total + E
        return total / (self.n_layers + 1)  # (N, d)  α_k = 1/(K+1)

    def embeddings(self) -> tuple[Tensor, Tensor]:
        E = self.final()
        return E[: self.n_users], E[self.n_users :]

    def bpr_scores(self, users: Tensor, pos: Tensor, neg: Tensor) -> tuple[Tensor, Tensor]:
        E = self.final()
        u, i, j = (
            E.index_select(0, x) for x in (users, self.n_users + pos, self.n_users + neg)
        )  # (B, d)
        return (u * i).sum(1), (u * j).sum(1)

    def ego_rows(self, users: Tensor, pos: Tensor, neg: Tensor) -> list[Tensor]:
        E = self.embedding
        return [E.index_select(0, x) for x in (users, self.n_users + pos, self.n_users + neg)]

    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        E = self.final()
        return (E.index_select(0, users) * E.index_select(0, self.n_users + items)).sum(1)
