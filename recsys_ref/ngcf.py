"""Neural Graph Collaborative Filtering (Wang et al., SIGIR 2019, arXiv 1905.08108 v2).

Paper → code (row-vector convention: a node's embedding is a row, so ``W1 e_i`` is ``e_i @ W1``):

- eq. 1  E = [e_u1..e_uN, e_i1..e_iM] (ego embeddings)       → ``E`` (N, d), N = n_users + n_items
- eq. 3  m_{u←i} = p_ui (W1 e_i + W2 (e_i ⊙ e_u)), p_ui = 1/sqrt(|N_u||N_i|)
- eq. 4  e_u^(1) = LeakyReLU(m_{u←u} + Σ_{i∈N_u} m_{u←i}), m_{u←u} = W1 e_u   → ``node_update`` (loops)
- eq. 5–6 the same for layer l                                 → ``ngcf_layer_loop``
- eq. 7  E^(l) = LeakyReLU((L+I) E W1 + (L E ⊙ E) W2)           → ``ngcf_layer`` (one sparse product)
- eq. 9  e* = e^(0) ‖ … ‖ e^(L);  eq. 10  ŷ_ui = e_u*ᵀ e_i*      → ``concat_layers``, ``ngcf_scores``
- §2.4.2 message and node dropout, training only                → ``NGCF(message_dropout=, node_dropout=)``

Symbols of the official code: ``ego_embeddings`` = E^(l-1); ``side_embeddings`` = L E (with the code's
L̃ = D̃^{-1}(A+I) this already holds the self-connection); ``sum_embeddings`` = LeakyReLU(side W1 + b1);
``bi_embeddings`` = LeakyReLU((E ⊙ side) W2 + b2); ``norm_embeddings`` = the L2-normalised layer output
that is concatenated.  ``NGCF(official=True)`` reproduces that variant (``ngcf_layer_official``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import expect_positive_int, expect_same_size, expect_tensor
from .graph import SparseOperator, to_csr

NEGATIVE_SLOPE = 0.2  # LeakyReLU slope of the official code (tf.nn.leaky_relu's default)

Layer = Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]


# ----------------------------------------------------------- per-edge form (eq. 3–6), teaching code


def neighbor_lists(R: object) -> list[list[int]]:
    """N_t for every node t of the bipartite graph: users 0..n_users-1, then items (offset n_users)."""
    from .graph import as_sparse_coo

    R = as_sparse_coo(R)
    n_users, n_items = R.shape
    nbrs: list[list[int]] = [[] for _ in range(n_users + n_items)]
    u, i = R.indices().tolist()
    for a, b in zip(u, i):
        nbrs[a].append(n_users + b)
        nbrs[n_users + b].append(a)
    return nbrs


def node_update(t: int, E: Tensor, neighbors: list[list[int]], W1: Tensor, W2: Tensor) -> Tensor:
    """Eq. (3)–(4) for one node t with explicit loops over its neighbours → e_t^(l) (d',).

    E (N, d) previous layer; neighbors[t] = N_t (node ids); W1, W2 (d, d').
    m_{t←j} = 1/sqrt(|N_t||N_j|) (e_j W1 + (e_j ⊙ e_t) W2); self-connection m_{t←t} = e_t W1.
    """
    expect_tensor("E", E, ndim=2, floating=True)
    e_t = E[t]  # (d,)
    total = e_t @ W1  # (d',)  m_{t←t}
    for j in neighbors[t]:
        p = 1.0 / (len(neighbors[t]) * len(neighbors[j])) ** 0.5  # p_tj, eq. 3
        e_j = E[j]  # (d,)
        total = total + p * (e_j @ W1 + (e_j * e_t) @ W2)  # (d',)  m_{t←j}
    return F.leaky_relu(total, NEGATIVE_SLOPE)


def ngcf_layer_loop(E: Tensor, neighbors: list[list[int]], W1: Tensor, W2: Tensor) -> Tensor:
    """Eq. (5)–(6): ``node_update`` for every node, stacked (N, d'). Slow; the oracle of eq. (7)."""
    return torch.stack([node_update(t, E, neighbors, W1, W2) for t in range(E.shape[0])])


# ----------------------------------------------------------- matrix form (eq. 7)


def ngcf_layer(E: Tensor, L: Tensor, W1: Tensor, W2: Tensor) -> Tensor:
    """Eq. (7), one propagation layer: LeakyReLU((L+I) E W1 + (L E ⊙ E) W2).

    E (N, d) float; L (N, N) sparse (COO or CSR) or dense, E's dtype; W1, W2 (d, d') → (N, d').
    One sparse product: ``side = L E`` is reused by both terms, and (L+I) E = side + E.
    """
    side = L @ E  # (N, d)  the neighbours' messages, p_ui-weighted
    return F.leaky_relu((side + E) @ W1 + (side * E) @ W2, NEGATIVE_SLOPE)  # (N, d')


def ngcf_layer_official(
    E: Tensor, L: Tensor, W1: Tensor, W2: Tensor, b1: Tensor, b2: Tensor
) -> Tensor:
    """The official code's layer: LeakyReLU(L̃ E W1 + b1) + LeakyReLU((E ⊙ L̃ E) W2 + b2).

    L̃ = D̃^{-1}(A + I) already holds the self-connection, so no ``+ E`` here; two activations,
    biases b1, b2 (d',).  The caller L2-normalises the output before concatenating it.
    """
    side = L @ E  # (N, d)  side_embeddings
    sum_emb = F.leaky_relu(side @ W1 + b1, NEGATIVE_SLOPE)  # (N, d')
    bi_emb = F.leaky_relu((E * side) @ W2 + b2, NEGATIVE_SLOPE)  # (N, d')
    return sum_emb + bi_emb


def concat_layers(layers: Sequence[Tensor]) -> Tensor:
    """Eq. (9): e* = e^(0) ‖ e^(1) ‖ … ‖ e^(L), rows are nodes → (N, d + Σ d_l)."""
    return torch.cat(list(layers), dim=1)


def ngcf_scores(
    E0: Tensor, L: Tensor, W1s: list[Tensor], W2s: list[Tensor], n_users: int
) -> Tensor:
    """Eq. (7) for every layer, (9) concatenation and (10) inner products → ŷ (n_users, n_items).

    E0 (N, d); L (N, N) sparse; W1s[l], W2s[l] (d_l, d_{l+1}); no dropout (evaluation).
    """
    expect_tensor("E0", E0, ndim=2, floating=True)
    expect_same_size("len(W1s)", len(W1s), "len(W2s)", len(W2s))
    layers = [E0]
    for W1, W2 in zip(W1s, W2s):
        layers.append(ngcf_layer(layers[-1], L, W1, W2))  # (N, d_{l+1})
    E_star = concat_layers(layers)  # (N, d*)
    return E_star[:n_users] @ E_star[n_users:].T  # (n_users, n_items)


def message_dropout(E: Tensor, p: float, training: bool) -> Tensor:
    """§2.4.2 message dropout: each entry of E zeroed with probability p, the rest scaled by 1/(1-p).

    The same distribution as ``F.dropout`` (p exact to 2⁻³¹), drawn as 31-bit integers
    compared with a threshold: a quarter of the time of ``F.dropout``'s Bernoulli draws,
    which were ~12 % of a Gowalla training step (three N×d masks).
    """
    if not training or p == 0.0:
        return E
    r = torch.empty(E.shape, dtype=torch.int32, device=E.device).random_()  # uniform on [0, 2³¹)
    keep = (r >= round(p * 2**31)).to(E.dtype).mul_(1.0 / (1.0 - p))  # (N, d)  0 or 1/(1-p)
    return E * keep


# ----------------------------------------------------------- the model


def _rows(layers: Sequence[Tensor], idx: Tensor) -> Tensor:
    """Eq. (9) for the given rows only: e^(0)[idx] ‖ … ‖ e^(L)[idx] → (B, d*).

    index_select, not ``E[idx]``: on a multi-threaded CPU the backward of advanced indexing
    accumulates repeated rows in a nondeterministic order, and runs stop being repeatable."""
    return torch.cat([E.index_select(0, idx) for E in layers], dim=1)


class NGCF(nn.Module):
    """NGCF: ego embeddings E^(0) → L propagation layers (eq. 7) → concatenation (eq. 9) → eq. 10.

    L: the normalised Laplacian (N, N), sparse (``graph.laplacian_from_interactions``; use
    kind="sym" for the paper, "row_self" with ``official=True`` for the official code's variant).
    layer: an eq.-(7) function ``(E, L, W1, W2) -> E'`` — the reference ``ngcf_layer`` by default,
    or a learner's own.  official: biases, two LeakyReLUs (``ngcf_layer_official``) and
    per-layer L2 normalisation of the concatenated outputs.  normalize_layers: that normalisation
    alone, with any layer (default: on exactly when ``official``).  Dropouts act only in ``train()``.

    DEFAULT_L2: eq. 11 as the paper writes it, λ‖Θ‖² over every parameter (λ = 1e-5): the course
    teaches the paper's objective.  The official codes put λ on the batch's final e* rows, which equals
    the ego rows only because they L2-normalise every layer (``ego_rows``); ``l2_on="batch"`` is that.
    """

    DEFAULT_L2 = (1e-5, "theta")
    L: Tensor  # a buffer (register_buffer in __init__), typed for the checker

    def __init__(
        self,
        n_users: int,
        n_items: int,
        L: Tensor,
        dim: int = 64,
        layer_dims: Sequence[int] = (64, 64, 64),
        message_dropout: float = 0.1,
        node_dropout: float = 0.0,
        official: bool = False,
        layer: Layer | None = None,
        normalize_layers: bool | None = None,
    ) -> None:
        super().__init__()
        expect_positive_int("n_users", n_users)
        expect_positive_int("n_items", n_items)
        expect_positive_int("dim", dim)
        expect_tensor("L", L, ndim=2, allow_sparse=True)
        N = n_users + n_items
        if tuple(L.shape) != (N, N):
            raise ValueError(
                f"L must have shape (n_users + n_items, n_users + n_items) = ({N}, {N}), "
                f"got {tuple(L.shape)}"
            )
        for name, p in (("message_dropout", message_dropout), ("node_dropout", node_dropout)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {p}")
        if official and layer is not None:
            raise ValueError(
                "layer= replaces the eq.-(7) layer; the official variant uses its own layer"
            )
        self.n_users, self.n_items = n_users, n_items
        self.message_dropout, self.node_dropout = message_dropout, node_dropout
        self.official = official
        self.normalize_layers = official if normalize_layers is None else normalize_layers
        self.layer = layer if layer is not None else ngcf_layer
        L = to_csr(L if L.layout != torch.strided else L.to_sparse(), torch.float32)
        self.register_buffer("L", L, persistent=False)
        # the reference layers get L as an operator whose backward reuses a stored Lᵀ;
        # an injected layer gets the plain sparse tensor (any torch call works on it)
        self._op: SparseOperator | None = None
        self.embedding = nn.Parameter(nn.init.xavier_uniform_(torch.empty(N, dim)))  # E^(0) (N, d)
        dims = [dim, *layer_dims]
        self.W1 = nn.ParameterList(
            [
                nn.Parameter(nn.init.xavier_uniform_(torch.empty(a, b)))
                for a, b in zip(dims, dims[1:])
            ]
        )
        self.W2 = nn.ParameterList(
            [
                nn.Parameter(nn.init.xavier_uniform_(torch.empty(a, b)))
                for a, b in zip(dims, dims[1:])
            ]
        )
        if official:
            self.b1 = nn.ParameterList([nn.Parameter(torch.zeros(b)) for b in dims[1:]])
            self.b2 = nn.ParameterList([nn.Parameter(torch.zeros(b)) for b in dims[1:]])

    @property
    def out_dim(self) -> int:
        return self.embedding.shape[1] + sum(W.shape[1] for W in self.W1)

    def _operator(self) -> SparseOperator:
        if self._op is None or self._op.L is not self.L:
            self._op = SparseOperator(self.L)
        return self._op

    def _graph(self) -> SparseOperator | Tensor:
        """L as the operator the layers use; with node dropout (training only, §2.4.2) each node
        is blocked with probability p, discarding its outgoing messages (its column of L), and
        the rest is rescaled by 1/(1-p)."""
        if self.training and self.node_dropout > 0:
            keep = torch.rand(self.L.shape[1], device=self.L.device) >= self.node_dropout
            keep = keep.to(self.L.dtype) / (1 - self.node_dropout)  # (N,)
            return self._operator().drop_nodes(keep)
        return self._operator() if (self.official or self.layer is ngcf_layer) else self.L

    def propagate(self) -> list[Tensor]:
        """[E^(0), E^(1), …, E^(L)], each (N, d_l); dropouts only when ``self.training``.

        Node dropout (§2.4.2): each node is blocked with probability p, discarding its outgoing
        messages (its column of L); the rest is rescaled by 1/(1-p).
        """
        fast = self.official or self.layer is ngcf_layer
        graph = self._graph()
        # the reference layers take the operator in L's place (all they do with L is L @ E)
        L = cast(Tensor, graph) if fast or not isinstance(graph, SparseOperator) else graph.L
        E: Tensor = self.embedding  # (N, d)
        out = [E]
        for l in range(len(self.W1)):
            if self.official:
                E = ngcf_layer_official(
                    E, L, self.W1[l], self.W2[l], self.b1[l], self.b2[l]
                )  # (N, d_l)
            else:
                E = self.layer(E, L, self.W1[l], self.W2[l])  # (N, d_l)
            E = message_dropout(E, self.message_dropout, self.training)  # §2.4.2
            out.append(F.normalize(E, p=2, dim=1) if self.normalize_layers else E)
        return out

    def embeddings(self) -> tuple[Tensor, Tensor]:
        """Eq. (9) for every node: (users (n_users, d*), items (n_items, d*))."""
        E_star = concat_layers(self.propagate())  # (N, d*)
        return E_star[: self.n_users], E_star[self.n_users :]

    def bpr_scores(self, users: Tensor, pos: Tensor, neg: Tensor) -> tuple[Tensor, Tensor]:
        """ŷ_ui, ŷ_uj (B,) for a batch of triples; one propagation, and eq. (9) only for the
        batch's rows (concatenating all N rows would cost as much as a layer)."""
        B = users.shape[0]
        idx = torch.cat([users, self.n_users + pos, self.n_users + neg])  # (3B,)
        if self.layer is ngcf_layer and not (self.official or self.normalize_layers):
            # the same maths with a hand-written backward (ngcf_fused): fewer (N, d) passes
            from .ngcf_fused import Workspace, propagated_rows

            op = cast(SparseOperator, self._graph())  # the reference layer: always the operator
            if getattr(self, "_workspace", None) is None:  # buffers kept from step to step
                self._workspace = Workspace()
            rows = propagated_rows(
                self.embedding, list(self.W1), list(self.W2), op.L, op.Lt, idx,
                self.message_dropout, self.training, self._workspace,
            )  # fmt: skip
        else:
            rows = _rows(self.propagate(), idx)  # (3B, d*)
        u, i, j = rows[:B], rows[B : 2 * B], rows[2 * B :]  # one gather per layer: one zero-filled
        return (u * i).sum(1), (u * j).sum(
            1
        )  # gradient buffer per layer in the backward, not three

    def ego_rows(self, users: Tensor, pos: Tensor, neg: Tensor) -> list[Tensor]:
        """E^(0) rows of the batch [(B, d)] × 3.

        Both official codes regularise the batch's final concatenated rows e*; with every propagated
        layer L2-normalised, ‖e*‖² = ‖e⁽⁰⁾‖² + L, so up to a constant the term is on these ego rows.
        Without per-layer normalisation the same term on e* would also reach W1, W2."""
        E = self.embedding
        return [
            E.index_select(0, users),
            E.index_select(0, self.n_users + pos),
            E.index_select(0, self.n_users + neg),
        ]

    def forward(self, users: Tensor, items: Tensor) -> Tensor:
        """Eq. (10) for pairs: ŷ (B,)."""
        layers = self.propagate()
        return (_rows(layers, users) * _rows(layers, self.n_users + items)).sum(1)  # (B,)
