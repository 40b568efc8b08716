"""The NGCF track's tasks ngcf_1 … ngcf_7 (docs/design.md §4), with the misconceptions of §5.

Each task's function is a pure function of tensors, lists and scalars; the references live in the
core package (graph, ngcf, losses, metrics).  Every misconception is a wrong variant with the
reference's signature that differs from it on the first case.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ...graph import bipartite_adjacency, normalized_laplacian
from ...losses import bpr_loss
from ...metrics import recall_ndcg_at_k
from ...ngcf import NEGATIVE_SLOPE, concat_layers, ngcf_layer, ngcf_scores, node_update
from ..spec import Case, ComplexityGuard, Exercise, Misconception

NB10, NB11, NB12 = "10_graph_laplacian", "11_embedding_propagation", "12_model_bpr_training"


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _random_R(g: torch.Generator, n_users: int, n_items: int, density: float,
              isolated: bool = False) -> Tensor:
    """Binary interactions (n_users, n_items) as a coalesced float64 sparse COO tensor."""
    R = (torch.rand(n_users, n_items, generator=g) < density).double()  # (U, M)
    if isolated:
        R[-1] = 0.0  # an isolated user
        R[:, 0] = 0.0  # an isolated item
    else:  # every user and item has at least one neighbour
        R[torch.arange(n_users), torch.randint(0, n_items, (n_users,), generator=g)] = 1.0
        R[torch.randint(0, n_users, (n_items,), generator=g), torch.arange(n_items)] = 1.0
    return R.to_sparse().coalesce()


def _sparse(idx_rows: Tensor, idx_cols: Tensor, vals: Tensor, n: int) -> Tensor:
    return torch.sparse_coo_tensor(torch.stack([idx_rows, idx_cols]), vals, (n, n),
                                   check_invariants=False).coalesce()


def _is_sparse(out: object, case: Case) -> str | None:
    if isinstance(out, Tensor) and out.layout == torch.strided:
        return "the result must be a sparse tensor (torch.sparse_coo_tensor); eq. 8 never needs a dense N×N matrix"
    return None


# ------------------------------------------------------------------ ngcf_1: A from R


def build_adjacency(R: Tensor) -> Tensor:
    """Eq. (8)'s A = [[0, R], [Rᵀ, 0]]: R sparse COO (n_users, n_items) → A sparse COO (N, N)."""
    return bipartite_adjacency(R)


def _adj_cases(seed: int) -> list[Case]:
    g = _gen(seed)
    return [
        Case("4 users, 6 items", (_random_R(g, 4, 6, 0.35),)),
        Case("an isolated user and an isolated item", (_random_R(g, 5, 4, 0.5, isolated=True),)),
        Case("one user", (_random_R(g, 1, 5, 0.5),)),
        Case("one user, one item", (torch.ones(1, 1, dtype=torch.float64).to_sparse().coalesce(),)),
        Case("more users than items", (_random_R(g, 9, 3, 0.3),)),
    ]


def _adj_guard_cases(seed: int) -> list[Case]:
    g = _gen(seed + 1)
    n_u, n_i, nnz = 1500, 1200, 6000
    idx = torch.stack([torch.randint(0, n_u, (nnz,), generator=g), torch.randint(0, n_i, (nnz,), generator=g)])
    R = torch.sparse_coo_tensor(idx, torch.ones(nnz, dtype=torch.float64), (n_u, n_i), check_invariants=False).coalesce()
    R = torch.sparse_coo_tensor(R.indices(), torch.ones(R._nnz(), dtype=torch.float64), R.shape,
                                check_invariants=False).coalesce()
    return [Case("1,500 users × 1,200 items, 6,000 interactions", (R,))]


def _sparse_limit(case: Case) -> int:
    M = case.args[0]
    return 12 * int(M._nnz()) + 4 * sum(M.shape) + 1000


def _adj_one_block(R: Tensor) -> Tensor:
    n_u, n_i = R.shape
    u, i = R.indices()
    return _sparse(u, i + n_u, R.values(), n_u + n_i)


def _adj_no_offset(R: Tensor) -> Tensor:
    n_u, n_i = R.shape
    u, i = R.indices()
    return _sparse(torch.cat([u, i]), torch.cat([i, u]), torch.cat([R.values(), R.values()]), n_u + n_i)


# ------------------------------------------------------------------ ngcf_2: symmetric L


def sym_laplacian(A: Tensor) -> Tensor:
    """Eq. (8): L = D^{-1/2} A D^{-1/2}, A sparse COO (N, N) → L sparse COO (N, N); isolated → 0."""
    return normalized_laplacian(A, "sym")


def _lap_cases(seed: int) -> list[Case]:
    g = _gen(seed)

    def A(*a, **k) -> Tensor:
        return bipartite_adjacency(_random_R(g, *a, **k))

    return [
        Case("4 users, 6 items", (A(4, 6, 0.35),)),
        Case("an isolated user and an isolated item", (A(5, 4, 0.5, isolated=True),)),
        Case("one user", (A(1, 5, 0.5),)),
        Case("one user, one item", (bipartite_adjacency(torch.ones(1, 1, dtype=torch.float64)),)),
        Case("7 users, 3 items", (A(7, 3, 0.3),)),
    ]


def _lap_guard_cases(seed: int) -> list[Case]:
    return [Case("2,700 nodes, 12,000 edges", (bipartite_adjacency(_adj_guard_cases(seed)[0].args[0]),))]


def _lap_row(A: Tensor) -> Tensor:
    return normalized_laplacian(A, "row")


def _lap_row_self(A: Tensor) -> Tensor:
    return normalized_laplacian(A, "row_self")


def _lap_sym_self(A: Tensor) -> Tensor:
    N = A.shape[0]
    eye = torch.arange(N)
    A = A.coalesce()
    A_I = _sparse(torch.cat([A.indices()[0], eye]), torch.cat([A.indices()[1], eye]),
                  torch.cat([A.values(), torch.ones(N, dtype=A.dtype)]), N)
    return normalized_laplacian(A_I, "sym")


def _lap_col(A: Tensor) -> Tensor:
    return normalized_laplacian(A, "row").t().coalesce()


# ------------------------------------------------------------------ ngcf_3: one node, loops


def _node_cases(seed: int) -> list[Case]:
    g = _gen(seed)

    def randn(*s: int) -> Tensor:
        return torch.randn(*s, generator=g, dtype=torch.float64)

    from ...ngcf import neighbor_lists

    R1 = _random_R(g, 4, 5, 0.5)
    n1 = neighbor_lists(R1)
    t1 = max(range(4), key=lambda t: len(n1[t]))  # a user with several neighbours
    R2 = _random_R(g, 4, 4, 0.5, isolated=True)
    n2 = neighbor_lists(R2)
    R3 = _random_R(g, 3, 6, 0.4)
    n3 = neighbor_lists(R3)
    return [
        Case("a user of a 4×5 graph, d = d' = 3", (t1, randn(9, 3), n1, randn(3, 3), randn(3, 3))),
        Case("an item node", (3 + 6 - 1, randn(9, 2), n3, randn(2, 2), randn(2, 2))),
        Case("an isolated user", (3, randn(8, 3), n2, randn(3, 3), randn(3, 3))),
        Case("d = 3 → d' = 2", (0, randn(9, 3), n3, randn(3, 2), randn(3, 2))),
        Case("d = 1", (1, randn(9, 1), n1, randn(1, 1), randn(1, 1))),
    ]


def _node_variant(t, E, neighbors, W1, W2, *, self_conn=True, bi=True, swapped=False, decay=True,
                  act="leaky"):
    e_t = E[t]
    total = e_t @ W1 if self_conn else torch.zeros(W1.shape[1], dtype=E.dtype)
    for j in neighbors[t]:
        p = 1.0 / math.sqrt(len(neighbors[t]) * len(neighbors[j])) if decay else 1.0
        msg = E[j] @ W1
        if bi:
            msg = msg + (E[j] * (e_t @ W2) if swapped else (E[j] * e_t) @ W2)
        total = total + p * msg
    if act == "leaky":
        return F.leaky_relu(total, NEGATIVE_SLOPE)
    return torch.relu(total) if act == "relu" else total


# ------------------------------------------------------------------ ngcf_4: one layer, matrix form


def _layer_cases(seed: int) -> list[Case]:
    g = _gen(seed)

    def randn(*s: int) -> Tensor:
        return torch.randn(*s, generator=g, dtype=torch.float64)

    def L(*a, **k) -> Tensor:
        return normalized_laplacian(bipartite_adjacency(_random_R(g, *a, **k)), "sym")

    return [
        Case("4 users, 5 items, d = d' = 3", (randn(9, 3), L(4, 5, 0.4), randn(3, 3), randn(3, 3))),
        Case("an isolated user and item", (randn(8, 2), L(4, 4, 0.5, isolated=True), randn(2, 2), randn(2, 2))),
        Case("d = 4 → d' = 2", (randn(7, 4), L(3, 4, 0.5), randn(4, 2), randn(4, 2))),
        Case("one user", (randn(5, 3), L(1, 4, 0.6), randn(3, 3), randn(3, 3))),
        Case("d = 1", (randn(6, 1), L(2, 4, 0.5), randn(1, 1), randn(1, 1))),
    ]


def _layer_guard_cases(seed: int) -> list[Case]:
    g = _gen(seed + 2)
    A = _lap_guard_cases(seed)[0].args[0]
    L = normalized_laplacian(A, "sym")
    N, d = L.shape[0], 8
    return [Case("2,700 nodes, d = 8", (torch.randn(N, d, generator=g, dtype=torch.float64), L,
                                        torch.randn(d, d, generator=g, dtype=torch.float64),
                                        torch.randn(d, d, generator=g, dtype=torch.float64)))]


def _layer_guard_limit(case: Case) -> int:
    E, L = case.args[0], case.args[1]
    return 4 * E.numel() + 12 * int(L._nnz()) + 1000


def _layer_no_self(E, L, W1, W2):
    side = L @ E
    return F.leaky_relu(side @ W1 + (side * E) @ W2, NEGATIVE_SLOPE)


def _layer_no_bi(E, L, W1, W2):
    return F.leaky_relu((L @ E + E) @ W1, NEGATIVE_SLOPE)


def _layer_swapped(E, L, W1, W2):
    side = L @ E
    return F.leaky_relu((side + E) @ W1 + side * (E @ W2), NEGATIVE_SLOPE)


def _layer_bi_self(E, L, W1, W2):
    side = L @ E + E
    return F.leaky_relu(side @ W1 + (side * E) @ W2, NEGATIVE_SLOPE)


def _layer_no_act(E, L, W1, W2):
    side = L @ E
    return (side + E) @ W1 + (side * E) @ W2


def _layer_relu(E, L, W1, W2):
    side = L @ E
    return torch.relu((side + E) @ W1 + (side * E) @ W2)


# ------------------------------------------------------------------ ngcf_5: full forward


def _forward_cases(seed: int) -> list[Case]:
    g = _gen(seed)

    def randn(*s: int) -> Tensor:
        return torch.randn(*s, generator=g, dtype=torch.float64) * 0.5

    def L(*a, **k) -> Tensor:
        return normalized_laplacian(bipartite_adjacency(_random_R(g, *a, **k)), "sym")

    return [
        Case("4 users, 5 items, 2 layers of 3", (randn(9, 3), L(4, 5, 0.4), [randn(3, 3), randn(3, 3)],
                                                 [randn(3, 3), randn(3, 3)], 4)),
        Case("one layer", (randn(7, 2), L(3, 4, 0.5), [randn(2, 2)], [randn(2, 2)], 3)),
        Case("layer sizes 4 → 3 → 2", (randn(8, 4), L(5, 3, 0.5, isolated=True), [randn(4, 3), randn(3, 2)],
                                        [randn(4, 3), randn(3, 2)], 5)),
        Case("one user", (randn(5, 2), L(1, 4, 0.6), [randn(2, 2)], [randn(2, 2)], 1)),
    ]


def _fwd_layers(E0, L, W1s, W2s):
    layers = [E0]
    for W1, W2 in zip(W1s, W2s):
        layers.append(ngcf_layer(layers[-1], L, W1, W2))
    return layers


def _fwd_sum(E0, L, W1s, W2s, n_users):
    E = torch.stack(_fwd_layers(E0, L, W1s, W2s)).sum(0)
    return E[:n_users] @ E[n_users:].T


def _fwd_last(E0, L, W1s, W2s, n_users):
    E = _fwd_layers(E0, L, W1s, W2s)[-1]
    return E[:n_users] @ E[n_users:].T


def _fwd_no_ego(E0, L, W1s, W2s, n_users):
    E = concat_layers(_fwd_layers(E0, L, W1s, W2s)[1:])
    return E[:n_users] @ E[n_users:].T


# ------------------------------------------------------------------ ngcf_6: BPR loss


def _bpr_cases(seed: int) -> list[Case]:
    g = _gen(seed)

    def randn(*s: int) -> Tensor:
        return torch.randn(*s, generator=g, dtype=torch.float64)

    def theta(N: int, d: int) -> list[Tensor]:
        return [randn(N, d) * 0.3, randn(d, d) * 0.3, randn(d, d) * 0.3]

    def batch(B: int, d: int) -> list[Tensor]:
        return [randn(B, d) * 0.3 for _ in range(3)]

    return [
        Case("a batch of 6, λ = 0.01", (randn(6), randn(6), theta(10, 3), 0.01, batch(6, 3))),
        Case("a batch of one", (randn(1), randn(1), theta(5, 2), 0.1, batch(1, 2))),
        Case("λ = 0", (randn(4), randn(4), theta(6, 2), 0.0, batch(4, 2))),
        Case("large margins", (randn(5) * 40, randn(5) * 40, theta(7, 2), 1e-3, batch(5, 2))),
    ]


def _bpr_batch_l2(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return F.softplus(neg_scores - pos_scores).mean() + lam * sum(e.pow(2).sum() for e in batch_emb)


def _bpr_batch_l2_official(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return bpr_loss(pos_scores, neg_scores, theta, lam, batch_emb, l2_on="batch")


def _bpr_sum(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return F.softplus(neg_scores - pos_scores).sum() + lam * sum(t.pow(2).sum() for t in theta)


def _bpr_norm_not_squared(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return F.softplus(neg_scores - pos_scores).mean() + lam * sum(t.norm() for t in theta)


def _bpr_sign(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return F.softplus(pos_scores - neg_scores).mean() + lam * sum(t.pow(2).sum() for t in theta)


def _bpr_no_reg(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return F.softplus(neg_scores - pos_scores).mean()


# ------------------------------------------------------------------ ngcf_7: recall@K, ndcg@K


def _metric_cases(seed: int) -> list[Case]:
    g = _gen(seed)

    def case(U: int, M: int, p_train: float, p_test: float):
        cell = torch.rand(U, M, generator=g)
        train = (cell < p_train).double()
        test = ((cell >= p_train) & (cell < p_train + p_test)).double()
        no_test = test.sum(1) == 0
        free = (train == 0).double() * (1 - test)  # give every user at least one test item
        test[no_test, free[no_test].argmax(1)] = 1.0
        scores = torch.randn(U, M, generator=g, dtype=torch.float64) + 1.5 * train  # trained models rank train items high
        return scores, train, test

    return [
        Case("8 users, 30 items, k = 5", (*case(8, 30, 0.2, 0.2), 5)),
        Case("k = 1", (*case(6, 12, 0.25, 0.25), 1)),
        Case("one user", (*case(1, 15, 0.2, 0.3), 4)),
        Case("k = 10, many test items", (*case(5, 25, 0.2, 0.5), 10)),
        Case("users with a single test item", (*case(6, 20, 0.3, 0.0), 3)),
    ]


def _metric_not_masked(scores, train, test, k):
    return recall_ndcg_at_k(scores, torch.zeros_like(train), test, k)


def _metric_idcg_retrieved(scores, train, test, k):
    top = scores.masked_fill(train != 0, float("-inf")).topk(k, dim=1).indices
    hits = (test != 0).gather(1, top).to(scores.dtype)
    disc = 1.0 / torch.log2(torch.arange(2, k + 2, dtype=scores.dtype))
    n_hits = hits.sum(1).long()
    idcg = torch.cat([torch.zeros(1, dtype=scores.dtype), disc.cumsum(0)])[n_hits]
    recall = hits.sum(1) / (test != 0).sum(1).clamp(min=1)
    ndcg = torch.where(n_hits > 0, (hits * disc).sum(1) / idcg.clamp(min=1e-300), torch.zeros_like(idcg))
    return recall, ndcg


def _metric_recall_over_k(scores, train, test, k):
    recall, ndcg = recall_ndcg_at_k(scores, train, test, k)
    n_test = (test != 0).sum(1).to(scores.dtype)
    return recall * n_test / k, ndcg


# ------------------------------------------------------------------ the specs

EXERCISES = [
    Exercise(
        task_id="ngcf_1", title="bipartite adjacency A from R", notebook=NB10, func_name="build_adjacency",
        reference=build_adjacency, make_cases=_adj_cases, equation="eq. 8, A = [[0, R], [Rᵀ, 0]]",
        output_check=_is_sparse,
        misconceptions=(
            Misconception("one_block", _adj_one_block,
                          "you filled only the user→item block R; eq. 8's A = [[0, R], [Rᵀ, 0]] is "
                          "symmetric, so item rows need Rᵀ too"),
            Misconception("no_offset", _adj_no_offset,
                          "item i must be node n_users + i; you placed items at 0..n_items-1 on top "
                          "of the users (eq. 8 stacks users first, then items)"),
        ),
        guard=ComplexityGuard(_sparse_limit, _adj_guard_cases,
                              "A must stay sparse: a dense N×N tensor was created (eq. 8 needs only the "
                              "2·nnz(R) nonzeros)."),
    ),
    Exercise(
        task_id="ngcf_2", title="symmetric normalised Laplacian", notebook=NB10, func_name="sym_laplacian",
        reference=sym_laplacian, make_cases=_lap_cases, equation="eq. 8, L = D^{-1/2} A D^{-1/2}",
        output_check=_is_sparse,
        misconceptions=(
            Misconception("row_normalised", _lap_row,
                          "you built D⁻¹A (row normalisation, a mean over neighbours); eq. 8 is the "
                          "symmetric D^{-1/2} A D^{-1/2}, entries 1/sqrt(|N_u||N_i|)"),
            Misconception("row_self_loops", _lap_row_self,
                          "you built D̃⁻¹(A+I), the official code's variant; eq. 8 is D^{-1/2} A D^{-1/2} "
                          "without self-loops (eq. 7 adds I separately)"),
            Misconception("self_loops", _lap_sym_self,
                          "you added self-loops (A+I) before normalising; eq. 8 normalises A itself, "
                          "the self-connection is the separate I of eq. 7"),
            Misconception("column_normalised", _lap_col,
                          "you built A D⁻¹ (column normalisation); eq. 8 divides by sqrt(|N_u|) and "
                          "sqrt(|N_i|), one on each side"),
        ),
        guard=ComplexityGuard(_sparse_limit, _lap_guard_cases,
                              "L must stay sparse: a dense N×N tensor was created (compute the degrees "
                              "with torch.sparse.sum or index_add and scale the nonzero values)."),
    ),
    Exercise(
        task_id="ngcf_3", title="per-edge messages and aggregation for one node", notebook=NB11,
        func_name="node_update", reference=node_update, make_cases=_node_cases,
        equation="eq. 3–4, e_u' = LeakyReLU(m_{u←u} + Σ_i m_{u←i})",
        misconceptions=(
            Misconception("no_self_connection", lambda *a: _node_variant(*a, self_conn=False),
                          "the self-connection m_{u←u} = W1 e_u is missing; eq. 4 adds it to the sum of "
                          "the neighbours' messages"),
            Misconception("no_bi_interaction", lambda *a: _node_variant(*a, bi=False),
                          "you dropped the bi-interaction term W2 (e_i ⊙ e_u) of eq. 3; the message "
                          "depends on how similar e_i and e_u are"),
            Misconception("mul_matmul_swapped", lambda *a: _node_variant(*a, swapped=True),
                          "you computed e_i ⊙ (W2 e_u); eq. 3 multiplies element-wise first, "
                          "W2 (e_i ⊙ e_u): torch.mul, then torch.matmul"),
            Misconception("no_decay", lambda *a: _node_variant(*a, decay=False),
                          "the decay p_ui = 1/sqrt(|N_u||N_i|) of eq. 3 is missing; without it "
                          "high-degree nodes dominate"),
            Misconception("no_activation", lambda *a: _node_variant(*a, act=None),
                          "the LeakyReLU of eq. 4 is missing"),
            Misconception("relu", lambda *a: _node_variant(*a, act="relu"),
                          "you used ReLU; eq. 4 uses LeakyReLU (negative slope 0.2 here)"),
        ),
    ),
    Exercise(
        task_id="ngcf_4", title="one propagation layer in matrix form", notebook=NB11, func_name="ngcf_layer",
        reference=ngcf_layer, make_cases=_layer_cases,
        equation="eq. 7, E' = LeakyReLU((L+I) E W1 + (L E ⊙ E) W2)",
        misconceptions=(
            Misconception("no_self_connection", _layer_no_self,
                          "you used L E W1; eq. 7 has (L+I) E W1 — the I is the self-connection m_{u←u}"),
            Misconception("no_bi_interaction", _layer_no_bi,
                          "you dropped the bi-interaction term (L E ⊙ E) W2 of eq. 7"),
            Misconception("mul_matmul_swapped", _layer_swapped,
                          "you computed (L E) ⊙ (E W2); eq. 7 multiplies element-wise first, "
                          "((L E) ⊙ E) W2: torch.mul before torch.matmul"),
            Misconception("bi_with_self_loop", _layer_bi_self,
                          "you used ((L+I) E ⊙ E) W2, as the official code's L̃ does; eq. 7's "
                          "bi-interaction term is (L E ⊙ E) W2, without I"),
            Misconception("no_activation", _layer_no_act, "the LeakyReLU of eq. 7 is missing"),
            Misconception("relu", _layer_relu, "you used ReLU; eq. 7 uses LeakyReLU (negative slope 0.2)"),
        ),
        guard=ComplexityGuard(_layer_guard_limit, _layer_guard_cases,
                              "L must stay sparse: multiply with L @ E (sparse × dense), never L.to_dense()."),
    ),
    Exercise(
        task_id="ngcf_5", title="full forward with concatenation", notebook=NB12, func_name="ngcf_scores",
        reference=ngcf_scores, make_cases=_forward_cases,
        equation="eq. 9–10, e* = e^(0) ‖ … ‖ e^(L), ŷ_ui = e_u*ᵀ e_i*",
        misconceptions=(
            Misconception("sum_of_layers", _fwd_sum,
                          "you summed the layers; eq. 9 concatenates them, e^(0) ‖ e^(1) ‖ … ‖ e^(L) "
                          "(torch.cat along dim 1)"),
            Misconception("last_layer_only", _fwd_last,
                          "you scored with the last layer only; eq. 9 concatenates every layer, "
                          "e^(0) included"),
            Misconception("no_ego_embeddings", _fwd_no_ego,
                          "the ego embeddings e^(0) are missing from the concatenation of eq. 9"),
        ),
    ),
    Exercise(
        task_id="ngcf_6", title="BPR loss with L2 over all parameters", notebook=NB12, func_name="bpr_loss",
        reference=bpr_loss, make_cases=_bpr_cases,
        equation="eq. 11, mean −ln σ(ŷ_ui − ŷ_uj) + λ‖Θ‖²",
        misconceptions=(
            Misconception("l2_on_batch_only", _bpr_batch_l2,
                          "you regularised only the batch's embeddings; eq. 11's λ‖Θ‖² runs over all "
                          "trainable parameters Θ (the list theta)"),
            Misconception("l2_on_batch_official", _bpr_batch_l2_official,
                          "you used the official code's λ(‖e_u‖²+‖e_i‖²+‖e_j‖²)/2/B on the batch; "
                          "eq. 11 regularises all of Θ (the list theta)"),
            Misconception("sum_not_mean", _bpr_sum,
                          "you summed −ln σ over the batch; here it is averaged (mean), so λ does not "
                          "depend on the batch size"),
            Misconception("norm_not_squared", _bpr_norm_not_squared,
                          "you used ‖θ‖; eq. 11's penalty is the squared norm ‖θ‖² (sum of squares)"),
            Misconception("wrong_sign", _bpr_sign,
                          "the sign is flipped: eq. 11 is −ln σ(ŷ_ui − ŷ_uj), positive minus negative"),
            Misconception("no_regulariser", _bpr_no_reg, "the λ‖Θ‖² term of eq. 11 is missing"),
        ),
    ),
    Exercise(
        task_id="ngcf_7", title="recall@K and ndcg@K with train items masked", notebook=NB12,
        func_name="recall_ndcg_at_k", reference=recall_ndcg_at_k, make_cases=_metric_cases,
        equation="§4.1.2: recall@K, ndcg@K over all items the user did not train on",
        misconceptions=(
            Misconception("train_not_masked", _metric_not_masked,
                          "training items were not masked; set their scores to −inf before top-k, "
                          "or known positives crowd out the recommendations"),
            Misconception("idcg_from_retrieved", _metric_idcg_retrieved,
                          "your IDCG comes from the hits in the retrieved list; the ideal DCG puts "
                          "min(|test|, K) test items at the top"),
            Misconception("recall_over_k", _metric_recall_over_k,
                          "you divided the hits by K (that is precision@K); recall@K divides by the "
                          "number of the user's test items"),
        ),
    ),
]

__all__ = ["EXERCISES", "build_adjacency", "sym_laplacian"]
