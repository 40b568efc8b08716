"""The NGCF track's tasks ngcf_1 … ngcf_7 (docs/design.md §4), with the misconceptions of §5.

Each task's function is a pure function of tensors, lists and scalars; the references live in the
core package (graph, ngcf, losses, metrics).  Every misconception is a wrong variant with the
reference's signature; the cases are drawn so that each differs from the reference and from the
other variants on at least one case (an isolated last node, margins beyond ±745, users with
1 ≤ |T_u| < K test items and a hit, tied scores, square but non-symmetric weights).
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
from ..engine.spec import Case, ComplexityGuard, Exercise, Misconception

NB10, NB11, NB12 = "10_graph_laplacian", "11_embedding_propagation", "12_model_bpr_training"


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _random_R(
    g: torch.Generator,
    n_users: int,
    n_items: int,
    density: float,
    isolated: bool = False,
    last_isolated: bool = False,
) -> Tensor:
    """Binary interactions (n_users, n_items) as a coalesced float64 sparse COO tensor.

    ``isolated``: the last user and the first item have no interaction;
    ``last_isolated``: the last item (node N−1) has none, so a shape inferred
    from the indices is one short; every other user and item has one.
    """
    R = (torch.rand(n_users, n_items, generator=g) < density).double()  # (U, M)
    if last_isolated:
        R[torch.arange(n_users), torch.randint(0, n_items - 1, (n_users,), generator=g)] = 1.0
        R[torch.randint(0, n_users, (n_items,), generator=g), torch.arange(n_items)] = 1.0
        R[:, -1] = 0.0  # the last item, node N−1, is isolated
    elif isolated:
        R[-1] = 0.0  # an isolated user
        R[:, 0] = 0.0  # an isolated item
    else:  # every user and item has at least one neighbour
        R[torch.arange(n_users), torch.randint(0, n_items, (n_users,), generator=g)] = 1.0
        R[torch.randint(0, n_users, (n_items,), generator=g), torch.arange(n_items)] = 1.0
    return R.to_sparse().coalesce()


def _sparse(idx_rows: Tensor, idx_cols: Tensor, vals: Tensor, n: int) -> Tensor:
    return torch.sparse_coo_tensor(
        torch.stack([idx_rows, idx_cols]), vals, (n, n), check_invariants=False
    ).coalesce()


# ------------------------------------------------------------------ ngcf_1: A from R


def build_adjacency(R: Tensor) -> Tensor:
    """Eq. (8)'s A = [[0, R], [Rᵀ, 0]]: R sparse COO (n_users, n_items) → A sparse COO (N, N)."""
    return bipartite_adjacency(R)


def _adj_cases(seed: int) -> list[Case]:
    g = _gen(seed)
    return [
        Case("4 users, 6 items", (_random_R(g, 4, 6, 0.35),)),
        Case("an isolated user and an isolated item", (_random_R(g, 5, 4, 0.5, isolated=True),)),
        Case("the last item (node N−1) isolated", (_random_R(g, 3, 5, 0.4, last_isolated=True),)),
        Case("one user", (_random_R(g, 1, 5, 0.5),)),
        Case("one user, one item", (torch.ones(1, 1, dtype=torch.float64).to_sparse().coalesce(),)),
        Case("more users than items", (_random_R(g, 9, 3, 0.3),)),
    ]


def _adj_guard_cases(seed: int) -> list[Case]:
    g = _gen(seed + 1)
    n_u, n_i, nnz = 1500, 1200, 6000
    idx = torch.stack(
        [torch.randint(0, n_u, (nnz,), generator=g), torch.randint(0, n_i, (nnz,), generator=g)]
    )
    R = torch.sparse_coo_tensor(
        idx, torch.ones(nnz, dtype=torch.float64), (n_u, n_i), check_invariants=False
    ).coalesce()
    R = torch.sparse_coo_tensor(
        R.indices(), torch.ones(R._nnz(), dtype=torch.float64), R.shape, check_invariants=False
    ).coalesce()
    return [Case("1,500 users × 1,200 items, 6,000 interactions", (R,))]


def _sparse_limit(case: Case) -> int:
    M = case.args[0]
    return 12 * int(M._nnz()) + 4 * sum(M.shape) + 1000


def _adj_one_block(R: Tensor) -> Tensor:
    n_u, n_i = R.shape
    u, i = R.indices()
    return _sparse(u, i + n_u, R.values(), n_u + n_i)


def _adj_no_size(R: Tensor) -> Tensor:
    n_u, _ = R.shape
    u, i = R.indices()
    idx = torch.stack([torch.cat([u, i + n_u]), torch.cat([i + n_u, u])])
    return torch.sparse_coo_tensor(
        idx, torch.cat([R.values(), R.values()])
    ).coalesce()  # shape inferred


def _adj_doubled(R: Tensor) -> Tensor:
    A = bipartite_adjacency(R)
    return (A + A.t()).coalesce()


def _adj_no_offset(R: Tensor) -> Tensor:
    n_u, n_i = R.shape
    u, i = R.indices()
    return _sparse(
        torch.cat([u, i]), torch.cat([i, u]), torch.cat([R.values(), R.values()]), n_u + n_i
    )


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
    return [
        Case("2,700 nodes, 12,000 edges", (bipartite_adjacency(_adj_guard_cases(seed)[0].args[0]),))
    ]


def _lap_row(A: Tensor) -> Tensor:
    return normalized_laplacian(A, "row")


def _lap_row_self(A: Tensor) -> Tensor:
    return normalized_laplacian(A, "row_self")


def _lap_sym_self(A: Tensor) -> Tensor:
    N = A.shape[0]
    eye = torch.arange(N)
    A = A.coalesce()
    A_I = _sparse(
        torch.cat([A.indices()[0], eye]),
        torch.cat([A.indices()[1], eye]),
        torch.cat([A.values(), torch.ones(N, dtype=A.dtype)]),
        N,
    )
    return normalized_laplacian(A_I, "sym")


def _lap_col(A: Tensor) -> Tensor:
    return normalized_laplacian(A, "row").t().coalesce()


def _lap_scaled(A: Tensor, p_row: float, p_col: float, plus: float = 0.0) -> Tensor:
    A = A.coalesce()
    deg = torch.zeros(A.shape[0], dtype=A.dtype).index_add_(0, A.indices()[0], A.values()) + plus
    r, c = A.indices()

    def inv(p: float) -> Tensor:
        return (
            torch.where(deg > 0, deg.clamp(min=1e-300) ** -p, torch.zeros_like(deg))
            if p
            else torch.ones_like(deg)
        )

    vals = inv(p_row)[r] * A.values() * inv(p_col)[c]
    return torch.sparse_coo_tensor(A.indices(), vals, A.shape, check_invariants=False).coalesce()


def _lap_one_sided(A: Tensor) -> Tensor:
    return _lap_scaled(A, 0.5, 0.0)


def _lap_no_sqrt(A: Tensor) -> Tensor:
    return _lap_scaled(A, 1.0, 1.0)


def _lap_degree_plus_one(A: Tensor) -> Tensor:
    return _lap_scaled(A, 0.5, 0.5, plus=1.0)


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


def _node_variant(
    t,
    E,
    neighbors,
    W1,
    W2,
    *,
    self_conn=True,
    bi=True,
    swapped=False,
    decay="sym",
    act="leaky",
    columns=False,
):
    if columns:  # the paper's column orientation W e, which is Wᵀ e here
        W1, W2 = W1.T, W2.T
    e_t = E[t]
    total = e_t @ W1 if self_conn else torch.zeros(W1.shape[1], dtype=E.dtype)
    for j in neighbors[t]:
        n_t, n_j = len(neighbors[t]), len(neighbors[j])
        if decay == "sym":
            p = 1.0 / math.sqrt(n_t * n_j)
        elif decay == "mean":
            p = 1.0 / n_t
        elif decay == "plus_one":
            p = 1.0 / math.sqrt((n_t + 1) * (n_j + 1))
        else:
            p = 1.0
        msg = E[j] @ W1
        if bi:
            msg = msg + (E[j] * (e_t @ W2) if swapped else (E[j] * e_t) @ W2)
        total = total + p * msg
    if act == "leaky":
        return F.leaky_relu(total, NEGATIVE_SLOPE)
    if act == "leaky_default":
        return F.leaky_relu(total)  # torch's default slope 0.01
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
        Case(
            "an isolated user and item",
            (randn(8, 2), L(4, 4, 0.5, isolated=True), randn(2, 2), randn(2, 2)),
        ),
        Case("d = 4 → d' = 2", (randn(7, 4), L(3, 4, 0.5), randn(4, 2), randn(4, 2))),
        Case("one user", (randn(5, 3), L(1, 4, 0.6), randn(3, 3), randn(3, 3))),
        Case("d = 1", (randn(6, 1), L(2, 4, 0.5), randn(1, 1), randn(1, 1))),
    ]


def _layer_guard_cases(seed: int) -> list[Case]:
    g = _gen(seed + 2)
    A = _lap_guard_cases(seed)[0].args[0]
    L = normalized_laplacian(A, "sym")
    N, d = L.shape[0], 8
    return [
        Case(
            "2,700 nodes, d = 8",
            (
                torch.randn(N, d, generator=g, dtype=torch.float64),
                L,
                torch.randn(d, d, generator=g, dtype=torch.float64),
                torch.randn(d, d, generator=g, dtype=torch.float64),
            ),
        )
    ]


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


def _layer_default_slope(E, L, W1, W2):
    side = L @ E
    return F.leaky_relu((side + E) @ W1 + (side * E) @ W2)  # torch's default slope 0.01


# ------------------------------------------------------------------ ngcf_5: full forward


def _forward_cases(seed: int) -> list[Case]:
    g = _gen(seed)

    def randn(*s: int) -> Tensor:
        return torch.randn(*s, generator=g, dtype=torch.float64) * 0.5

    def L(*a, **k) -> Tensor:
        return normalized_laplacian(bipartite_adjacency(_random_R(g, *a, **k)), "sym")

    return [
        Case(
            "4 users, 5 items, 2 layers of 3",
            (randn(9, 3), L(4, 5, 0.4), [randn(3, 3), randn(3, 3)], [randn(3, 3), randn(3, 3)], 4),
        ),
        Case("one layer", (randn(7, 2), L(3, 4, 0.5), [randn(2, 2)], [randn(2, 2)], 3)),
        Case(
            "layer sizes 4 → 3 → 2",
            (
                randn(8, 4),
                L(5, 3, 0.5, isolated=True),
                [randn(4, 3), randn(3, 2)],
                [randn(4, 3), randn(3, 2)],
                5,
            ),
        ),
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


def _fwd_mean(E0, L, W1s, W2s, n_users):
    E = torch.stack(_fwd_layers(E0, L, W1s, W2s)).mean(0)
    return E[:n_users] @ E[n_users:].T


def _fwd_normalized(E0, L, W1s, W2s, n_users):  # the official code's F.normalize of each new layer
    layers = [E0]
    for W1, W2 in zip(W1s, W2s):
        layers.append(ngcf_layer(layers[-1], L, W1, W2))
    E = concat_layers([E0] + [F.normalize(E_l, dim=1) for E_l in layers[1:]])
    return E[:n_users] @ E[n_users:].T


def _fwd_normalized_propagated(E0, L, W1s, W2s, n_users):  # normalised before the next layer too
    layers = [E0]
    for W1, W2 in zip(W1s, W2s):
        layers.append(F.normalize(ngcf_layer(layers[-1], L, W1, W2), dim=1))
    E = concat_layers(layers)
    return E[:n_users] @ E[n_users:].T


def _fwd_split(shift: int):
    def wrong(E0, L, W1s, W2s, n_users):
        E = concat_layers(_fwd_layers(E0, L, W1s, W2s))
        return E[: n_users + shift] @ E[n_users + shift :].T

    return wrong


def _fwd_transposed(E0, L, W1s, W2s, n_users):
    return ngcf_scores(E0, L, W1s, W2s, n_users).T


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
        Case(
            "extreme margins (|ŷ_ui − ŷ_uj| > 745: float64 σ under/overflows)",
            (
                torch.tensor([-500.0, 400.0, 0.3, 2.0], dtype=torch.float64),
                torch.tensor([400.0, -500.0, 0.1, -1.0], dtype=torch.float64),
                theta(6, 2),
                0.01,
                batch(4, 2),
            ),
        ),
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


def _bpr_half_lambda(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return F.softplus(neg_scores - pos_scores).mean() + lam / 2 * sum(t.pow(2).sum() for t in theta)


def _bpr_mean_squares(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return F.softplus(neg_scores - pos_scores).mean() + lam * sum(t.pow(2).mean() for t in theta)


def _bpr_log_sigmoid(pos_scores, neg_scores, theta, lam, batch_emb=None):
    x = pos_scores - neg_scores
    return -torch.log(torch.sigmoid(x)).mean() + lam * sum(t.pow(2).sum() for t in theta)


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
        scores = (
            torch.randn(U, M, generator=g, dtype=torch.float64) + 1.5 * train
        )  # trained models rank train items high
        return scores, train, test

    def few_test_items_with_a_hit(U: int, M: int, k: int):
        """Every user has 1 ≤ |T_u| < K test items, one of them ranked first; scores ≤ 0
        elsewhere so that masking with 0 instead of −inf shows."""
        scores, train, test = case(U, M, 0.25, 0.0)
        scores = scores - scores.max() - 1.0  # all scores negative
        for u in range(U):
            free = ((train[u] == 0) & (test[u] == 0)).nonzero().flatten()
            n = 2 + int(torch.randint(0, k - 2, (1,), generator=g))
            chosen = free[torch.randperm(len(free), generator=g)[:n]]
            test[u] = 0.0
            test[u, chosen] = 1.0
            if train[u].sum() == 0:
                train[u, free[torch.randperm(len(free), generator=g)[n : n + 1]]] = 1.0
            scores[u, chosen[0]] = 1.0  # a hit at rank 1
            scores[u, chosen[1]] = -0.5  # rank 2 among the items not trained on
        return scores, train, test, k

    def ties(U: int, M: int, k: int):
        """Tied scores straddle the K-th rank, every tied item a test item (any order of ties
        gives the same hits)."""
        scores, train, test = case(U, M, 0.2, 0.0)
        for u in range(U):
            free = (train[u] == 0).nonzero().flatten()
            tied = free[torch.randperm(len(free), generator=g)[: k + 2]]
            test[u] = 0.0
            test[u, tied] = 1.0
            scores[u] = scores[u].clamp(max=0.5)
            scores[u, tied] = 1.0
        return scores, train, test, k

    return [
        Case("8 users, 30 items, k = 5", (*case(8, 30, 0.2, 0.2), 5)),
        Case("k = 1", (*case(6, 12, 0.25, 0.25), 1)),
        Case("one user", (*case(1, 15, 0.2, 0.3), 4)),
        Case("k = 10, many test items", (*case(5, 25, 0.2, 0.5), 10)),
        Case("users with a single test item", (*case(6, 20, 0.3, 0.0), 3)),
        Case(
            "1 ≤ |T_u| < K test items, one of them ranked first",
            few_test_items_with_a_hit(5, 20, 6),
        ),
        Case("tied scores at the K-th rank", ties(4, 16, 3)),
    ]


def _metric_guard_cases(seed: int) -> list[Case]:
    g = _gen(seed + 3)
    U, M = 1000, 30  # a per-user loop dispatches > 1,000 ops here, the matrix form < 20
    cell = torch.rand(U, M, generator=g)
    train, test = (cell < 0.2).double(), ((cell >= 0.2) & (cell < 0.4)).double()
    empty = test.sum(1) == 0  # every user gets a test item (as in the cases above): the last
    test[empty, -1], train[empty, -1] = 1.0, 0.0  # item, taken out of train where it was there
    return [
        Case(
            "1,000 users, 30 items, k = 10",
            (torch.randn(U, M, generator=g, dtype=torch.float64), train, test, 10),
        )
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
    ndcg = torch.where(
        n_hits > 0, (hits * disc).sum(1) / idcg.clamp(min=1e-300), torch.zeros_like(idcg)
    )
    return recall, ndcg


def _metric_recall_over_k(scores, train, test, k):
    recall, ndcg = recall_ndcg_at_k(scores, train, test, k)
    n_test = (test != 0).sum(1).to(scores.dtype)
    return recall * n_test / k, ndcg


def _metric_recall_over_min(scores, train, test, k):
    recall, ndcg = recall_ndcg_at_k(scores, train, test, k)
    n_test = (test != 0).sum(1).to(scores.dtype)
    return recall * n_test.clamp(min=1) / n_test.clamp(min=1, max=k), ndcg


def _metric_parts(scores, train, test, k, *, fill=float("-inf"), ideal="min", first_rank=1):
    masked = scores.masked_fill(train != 0, fill)
    top = masked.topk(k, dim=1).indices
    hits = (test != 0).gather(1, top).to(scores.dtype)
    n_test = (test != 0).sum(1)
    ranks = torch.arange(first_rank, first_rank + k, dtype=scores.dtype)
    disc = 1.0 / torch.log2(ranks + 1)  # rank r (1-based) is discounted by log2(r + 1)
    n_ideal = n_test.clamp(max=k) if ideal == "min" else n_test
    big = torch.arange(first_rank, first_rank + max(int(n_test.max()), k), dtype=scores.dtype)
    ideal_disc = torch.cat(
        [torch.zeros(1, dtype=scores.dtype), (1.0 / torch.log2(big + 1)).cumsum(0)]
    )
    idcg = ideal_disc[n_ideal]
    recall = hits.sum(1) / n_test.clamp(min=1).to(scores.dtype)
    ndcg = (hits * disc).sum(1) / idcg.clamp(min=torch.finfo(scores.dtype).tiny)
    return recall, ndcg


def _metric_mask_zero(scores, train, test, k):
    return _metric_parts(scores, train, test, k, fill=0.0)


def _metric_idcg_all(scores, train, test, k):
    return _metric_parts(scores, train, test, k, ideal="all")


def _metric_zero_based(scores, train, test, k):
    return _metric_parts(scores, train, test, k, first_rank=0)


# ------------------------------------------------------------------ the specs

EXERCISES = [
    Exercise(
        task_id="ngcf_1",
        title="bipartite adjacency A from R",
        notebook=NB10,
        func_name="build_adjacency",
        reference=build_adjacency,
        make_cases=_adj_cases,
        equation="eq. 8, A = [[0, R], [Rᵀ, 0]]",
        misconceptions=(
            Misconception(
                "no_size",
                _adj_no_size,
                "you let torch infer A's shape from the indices: when the last item (node "
                "N−1) has no interaction A comes out one row short; pass the size "
                "(n_users + n_items, n_users + n_items) to torch.sparse_coo_tensor",
            ),
            Misconception(
                "doubled",
                _adj_doubled,
                "every edge is in A twice (values 2): you placed R and Rᵀ and then "
                "symmetrised again with A + Aᵀ; eq. 8's A holds each interaction once per block",
            ),
            Misconception(
                "one_block",
                _adj_one_block,
                "you filled only the user→item block R; eq. 8's A = [[0, R], [Rᵀ, 0]] is "
                "symmetric, so item rows need Rᵀ too",
            ),
            Misconception(
                "no_offset",
                _adj_no_offset,
                "item i must be node n_users + i; you placed items at 0..n_items-1 on top "
                "of the users (eq. 8 stacks users first, then items)",
            ),
        ),
        guard=ComplexityGuard(
            _sparse_limit,
            _adj_guard_cases,
            "A must stay sparse: a dense N×N tensor was created (eq. 8 needs only the "
            "2·nnz(R) nonzeros).",
            creators={
                "to_dense": "take R.indices() and R.values() instead of a dense R",
                "zeros": "do not fill a dense matrix: concatenate the indices of "
                "both blocks and build A with torch.sparse_coo_tensor",
            },
        ),
    ),
    Exercise(
        task_id="ngcf_2",
        title="symmetric normalised Laplacian",
        notebook=NB10,
        func_name="sym_laplacian",
        reference=sym_laplacian,
        make_cases=_lap_cases,
        equation="eq. 8, L = D^{-1/2} A D^{-1/2}",
        misconceptions=(
            Misconception(
                "one_sided",
                _lap_one_sided,
                "you scaled only one side, D^{-1/2} A; eq. 8 divides by sqrt(|N_u|) on the "
                "left and by sqrt(|N_i|) on the right: D^{-1/2} A D^{-1/2}",
            ),
            Misconception(
                "no_square_root",
                _lap_no_sqrt,
                "you built D⁻¹ A D⁻¹ (no square root); eq. 8's entries are "
                "1/sqrt(|N_u||N_i|): D^{-1/2} on each side",
            ),
            Misconception(
                "degree_plus_one",
                _lap_degree_plus_one,
                "you used the degree + 1 (as if A had self-loops); eq. 8's D is A's own "
                "row sums, D_tt = |N_t|",
            ),
            Misconception(
                "row_normalised",
                _lap_row,
                "you built D⁻¹A (row normalisation, a mean over neighbours); eq. 8 is the "
                "symmetric D^{-1/2} A D^{-1/2}, entries 1/sqrt(|N_u||N_i|)",
            ),
            Misconception(
                "row_self_loops",
                _lap_row_self,
                "you built D̃⁻¹(A+I), the official code's variant; eq. 8 is D^{-1/2} A D^{-1/2} "
                "without self-loops (eq. 7 adds I separately)",
            ),
            Misconception(
                "self_loops",
                _lap_sym_self,
                "you added self-loops (A+I) before normalising; eq. 8 normalises A itself, "
                "the self-connection is the separate I of eq. 7",
            ),
            Misconception(
                "column_normalised",
                _lap_col,
                "you built A D⁻¹ (column normalisation); eq. 8 divides by sqrt(|N_u|) and "
                "sqrt(|N_i|), one on each side",
            ),
        ),
        guard=ComplexityGuard(
            _sparse_limit,
            _lap_guard_cases,
            "L must stay sparse: a dense N×N tensor was created (compute the degrees "
            "with torch.sparse.sum or index_add and scale the nonzero values).",
            creators={
                "eye": "scale A.values() by the degrees of their row and column "
                "instead of building a diagonal matrix",
                "diag_embed": "scale A.values() by the degrees of their row and "
                "column instead of torch.diag",
            },
        ),
    ),
    Exercise(
        task_id="ngcf_3",
        title="per-edge messages and aggregation for one node",
        notebook=NB11,
        func_name="node_update",
        reference=node_update,
        make_cases=_node_cases,
        equation="eq. 3–4, e_u' = LeakyReLU(m_{u←u} + Σ_i m_{u←i})",
        differentiable=True,
        misconceptions=(
            Misconception(
                "no_self_connection",
                lambda *a: _node_variant(*a, self_conn=False),
                "the self-connection m_{u←u} = W1 e_u is missing; eq. 4 adds it to the sum of "
                "the neighbours' messages",
            ),
            Misconception(
                "no_bi_interaction",
                lambda *a: _node_variant(*a, bi=False),
                "you dropped the bi-interaction term W2 (e_i ⊙ e_u) of eq. 3; the message "
                "depends on how similar e_i and e_u are",
            ),
            Misconception(
                "mul_matmul_swapped",
                lambda *a: _node_variant(*a, swapped=True),
                "you computed e_i ⊙ (W2 e_u); eq. 3 multiplies element-wise first, "
                "W2 (e_i ⊙ e_u): torch.mul, then torch.matmul",
            ),
            Misconception(
                "mean_decay",
                lambda *a: _node_variant(*a, decay="mean"),
                "you used the mean decay 1/|N_u|; eq. 3's p_ui = 1/sqrt(|N_u||N_i|) uses both "
                "ends' degrees",
            ),
            Misconception(
                "degree_plus_one",
                lambda *a: _node_variant(*a, decay="plus_one"),
                "you used the degrees + 1; eq. 3's p_ui = 1/sqrt(|N_u||N_i|) counts only the "
                "neighbours (the self-connection is a separate term)",
            ),
            Misconception(
                "column_orientation",
                lambda *a: _node_variant(*a, columns=True),
                "you wrote W1 @ e (the paper's column vectors), which is W1ᵀ e here: the "
                "weights are (d, d') and embeddings are rows, so write e @ W1 and "
                "(e_i * e_u) @ W2",
            ),
            Misconception(
                "default_slope",
                lambda *a: _node_variant(*a, act="leaky_default"),
                "you used F.leaky_relu's default negative slope 0.01; NGCF uses 0.2 "
                "(F.leaky_relu(x, 0.2), NEGATIVE_SLOPE in the notebook)",
            ),
            Misconception(
                "no_decay",
                lambda *a: _node_variant(*a, decay=None),
                "the decay p_ui = 1/sqrt(|N_u||N_i|) of eq. 3 is missing; without it "
                "high-degree nodes dominate",
            ),
            Misconception(
                "no_activation",
                lambda *a: _node_variant(*a, act=None),
                "the LeakyReLU of eq. 4 is missing",
            ),
            Misconception(
                "relu",
                lambda *a: _node_variant(*a, act="relu"),
                "you used ReLU; eq. 4 uses LeakyReLU (negative slope 0.2 here)",
            ),
        ),
    ),
    Exercise(
        task_id="ngcf_4",
        title="one propagation layer in matrix form",
        notebook=NB11,
        func_name="ngcf_layer",
        reference=ngcf_layer,
        make_cases=_layer_cases,
        equation="eq. 7, E' = LeakyReLU((L+I) E W1 + (L E ⊙ E) W2)",
        differentiable=True,
        misconceptions=(
            Misconception(
                "no_self_connection",
                _layer_no_self,
                "you used L E W1; eq. 7 has (L+I) E W1 — the I is the self-connection m_{u←u}",
            ),
            Misconception(
                "no_bi_interaction",
                _layer_no_bi,
                "you dropped the bi-interaction term (L E ⊙ E) W2 of eq. 7",
            ),
            Misconception(
                "mul_matmul_swapped",
                _layer_swapped,
                "you computed (L E) ⊙ (E W2); eq. 7 multiplies element-wise first, "
                "((L E) ⊙ E) W2: torch.mul before torch.matmul",
            ),
            Misconception(
                "bi_with_self_loop",
                _layer_bi_self,
                "you used ((L+I) E ⊙ E) W2, as the official code's L̃ does; eq. 7's "
                "bi-interaction term is (L E ⊙ E) W2, without I",
            ),
            Misconception("no_activation", _layer_no_act, "the LeakyReLU of eq. 7 is missing"),
            Misconception(
                "relu", _layer_relu, "you used ReLU; eq. 7 uses LeakyReLU (negative slope 0.2)"
            ),
            Misconception(
                "default_slope",
                _layer_default_slope,
                "you used F.leaky_relu's default negative slope 0.01; NGCF uses 0.2 "
                "(F.leaky_relu(x, 0.2), NEGATIVE_SLOPE in the notebook)",
            ),
        ),
        guard=ComplexityGuard(
            _layer_guard_limit,
            _layer_guard_cases,
            "a dense N×N tensor was created: eq. 7 needs only sparse products L @ E.",
            creators={
                "eye": "write the I of (L+I) as + E, since (L+I) E = L E + E",
                "to_dense": "multiply with L @ E (sparse × dense), never L.to_dense()",
                "zeros": "do not fill an N×N matrix: multiply with L @ E",
            },
            max_ops=200,
            loop_message="the notebook asks for no loops: one layer is a few matrix "
            "products, E' = LeakyReLU((L E + E) W1 + (L E ⊙ E) W2).",
        ),
    ),
    Exercise(
        task_id="ngcf_5",
        title="full forward with concatenation",
        notebook=NB12,
        func_name="ngcf_scores",
        reference=ngcf_scores,
        make_cases=_forward_cases,
        equation="eq. 9–10, e* = e^(0) ‖ … ‖ e^(L), ŷ_ui = e_u*ᵀ e_i*",
        differentiable=True,
        misconceptions=(
            Misconception(
                "sum_of_layers",
                _fwd_sum,
                "you summed the layers; eq. 9 concatenates them, e^(0) ‖ e^(1) ‖ … ‖ e^(L) "
                "(torch.cat along dim 1)",
            ),
            Misconception(
                "last_layer_only",
                _fwd_last,
                "you scored with the last layer only; eq. 9 concatenates every layer, "
                "e^(0) included",
            ),
            Misconception(
                "no_ego_embeddings",
                _fwd_no_ego,
                "the ego embeddings e^(0) are missing from the concatenation of eq. 9",
            ),
            Misconception(
                "mean_of_layers",
                _fwd_mean,
                "you averaged the layers (LightGCN's choice); eq. 9 concatenates them, "
                "e^(0) ‖ e^(1) ‖ … ‖ e^(L) (torch.cat along dim 1)",
            ),
            Misconception(
                "normalized_layers",
                _fwd_normalized,
                "you L2-normalised each layer's output (F.normalize, as the official code "
                "does); eq. 9 concatenates the layers as they are",
            ),
            Misconception(
                "normalized_propagated",
                _fwd_normalized_propagated,
                "you L2-normalised each layer (F.normalize) and propagated the normalised "
                "embeddings; eq. 7 and 9 use the layers as they are",
            ),
            Misconception(
                "split_plus_one",
                _fwd_split(1),
                "users are rows 0..n_users−1 of E*, items the rows from n_users on: you "
                "split at n_users + 1 (use E[:n_users] and E[n_users:])",
            ),
            Misconception(
                "split_minus_one",
                _fwd_split(-1),
                "users are rows 0..n_users−1 of E*, items the rows from n_users on: you "
                "split at n_users − 1 (use E[:n_users] and E[n_users:])",
            ),
            Misconception(
                "transposed",
                _fwd_transposed,
                "you returned items × users; rows must be users: E_users @ E_itemsᵀ",
            ),
        ),
    ),
    Exercise(
        task_id="ngcf_6",
        title="BPR loss with L2 over all parameters",
        notebook=NB12,
        func_name="bpr_loss",
        reference=bpr_loss,
        make_cases=_bpr_cases,
        equation="eq. 11, mean −ln σ(ŷ_ui − ŷ_uj) + λ‖Θ‖²",
        differentiable=True,
        misconceptions=(
            Misconception(
                "l2_on_batch_only",
                _bpr_batch_l2,
                "you regularised only the batch's embeddings; eq. 11's λ‖Θ‖² runs over all "
                "trainable parameters Θ (the list theta)",
            ),
            Misconception(
                "l2_on_batch_official",
                _bpr_batch_l2_official,
                "you used the official code's λ(‖e_u‖²+‖e_i‖²+‖e_j‖²)/2/B on the batch; "
                "eq. 11 regularises all of Θ (the list theta)",
            ),
            Misconception(
                "sum_not_mean",
                _bpr_sum,
                "you summed −ln σ over the batch; here it is averaged (mean), so λ does not "
                "depend on the batch size",
            ),
            Misconception(
                "norm_not_squared",
                _bpr_norm_not_squared,
                "you used ‖θ‖; eq. 11's penalty is the squared norm ‖θ‖² (sum of squares)",
            ),
            Misconception(
                "wrong_sign",
                _bpr_sign,
                "the sign is flipped: eq. 11 is −ln σ(ŷ_ui − ŷ_uj), positive minus negative",
            ),
            Misconception("no_regulariser", _bpr_no_reg, "the λ‖Θ‖² term of eq. 11 is missing"),
            Misconception(
                "half_lambda",
                _bpr_half_lambda,
                "you used λ/2 ‖Θ‖²; eq. 11's penalty is λ‖Θ‖² (no ½ here)",
            ),
            Misconception(
                "mean_of_squares",
                _bpr_mean_squares,
                "you averaged the squares (t.pow(2).mean()); ‖θ‖² is their sum, t.pow(2).sum()",
            ),
            Misconception(
                "log_sigmoid_underflow",
                _bpr_log_sigmoid,
                "−ln σ(x) written as torch.log(torch.sigmoid(x)) (or log(1 + exp(−x))) "
                "becomes inf once σ underflows (x < −745 in float64); write it as "
                "F.softplus(−x) or −F.logsigmoid(x)",
            ),
        ),
    ),
    Exercise(
        task_id="ngcf_7",
        title="recall@K and ndcg@K with train items masked",
        notebook=NB12,
        func_name="recall_ndcg_at_k",
        reference=recall_ndcg_at_k,
        make_cases=_metric_cases,
        equation="§4.2.1: recall@K, ndcg@K over all items the user did not train on",
        outputs=("recall", "ndcg"),
        misconceptions=(
            Misconception(
                "masked_with_zero",
                _metric_mask_zero,
                "you masked training items with 0; a score can be negative, so a masked item "
                "still outranks others: use masked_fill(train != 0, float('-inf'))",
            ),
            Misconception(
                "idcg_over_all_test_items",
                _metric_idcg_all,
                "your IDCG places all |T_u| test items; only K fit in the list, so the ideal "
                "DCG sums the first min(|T_u|, K) discounts",
            ),
            Misconception(
                "zero_based_rank",
                _metric_zero_based,
                "ranks start at 1: the item at rank r is discounted by 1/log2(r + 1), so "
                "the first by 1/log2(2) = 1 (with 0-based positions use log2(pos + 2))",
            ),
            Misconception(
                "recall_over_min",
                _metric_recall_over_min,
                "your recall divides by min(|T_u|, K); §4.2.1's recall@K divides the hits "
                "by all |T_u| of the user's test items",
            ),
            Misconception(
                "train_not_masked",
                _metric_not_masked,
                "training items were not masked; set their scores to −inf before top-k, "
                "or known positives crowd out the recommendations",
            ),
            Misconception(
                "idcg_from_retrieved",
                _metric_idcg_retrieved,
                "your IDCG comes from the hits in the retrieved list; the ideal DCG puts "
                "min(|test|, K) test items at the top",
            ),
            Misconception(
                "recall_over_k",
                _metric_recall_over_k,
                "you divided the hits by K (that is precision@K); recall@K divides by the "
                "number of the user's test items",
            ),
        ),
        guard=ComplexityGuard(
            lambda case: 10 * case.args[0].numel() + 1000,
            _metric_guard_cases,
            "the metrics need only (U, M) and (U, K) tensors.",
            max_ops=200,
            loop_message="the notebook asks for no per-user Python loop: masked_fill, "
            "topk and gather work on all users at once.",
        ),
    ),
]

__all__ = ["EXERCISES", "build_adjacency", "sym_laplacian"]
