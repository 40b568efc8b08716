"""Eq. (3)–(7), (9)–(10): the per-edge loop equals the matrix form; the model's dropout and variants."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_ref.graph import bipartite_adjacency, laplacian_from_interactions, normalized_laplacian
from recsys_ref.lightgcn import LightGCN
from recsys_ref.mf import MF
from recsys_ref.ngcf import (
    NEGATIVE_SLOPE,
    NGCF,
    concat_layers,
    neighbor_lists,
    ngcf_layer,
    ngcf_layer_loop,
    ngcf_layer_official,
    ngcf_scores,
    node_update,
)
from recsys_ref.testing import assert_close


def random_graph(seed: int, n_users: int, n_items: int, density: float = 0.3) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    R = (torch.rand(n_users, n_items, generator=g) < density).double()
    R[0] = 0.0  # an isolated user
    R[:, -1] = 0.0  # an isolated item
    return R


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_users=st.integers(1, 6),
    n_items=st.integers(1, 6),
    d=st.integers(1, 4),
    d_out=st.integers(1, 4),
)
def test_loop_form_equals_matrix_form(
    seed: int, n_users: int, n_items: int, d: int, d_out: int
) -> None:
    R = random_graph(seed, n_users, n_items)
    g = torch.Generator().manual_seed(seed + 1)
    N = n_users + n_items
    E = torch.randn(N, d, generator=g, dtype=torch.float64)
    W1 = torch.randn(d, d_out, generator=g, dtype=torch.float64)
    W2 = torch.randn(d, d_out, generator=g, dtype=torch.float64)
    L = normalized_laplacian(bipartite_adjacency(R), "sym")
    loop = ngcf_layer_loop(E, neighbor_lists(R), W1, W2)  # eq. 5–6, one node at a time
    assert_close(ngcf_layer(E, L, W1, W2), loop)  # eq. 7
    assert_close(ngcf_layer(E, L.to_sparse_csr(), W1, W2), loop)
    assert_close(ngcf_layer(E, L.to_dense(), W1, W2), loop)


def test_isolated_node_keeps_only_its_self_connection() -> None:
    R = random_graph(3, 4, 5)
    g = torch.Generator().manual_seed(0)
    E, W1, W2 = (
        torch.randn(*s, generator=g, dtype=torch.float64) for s in ((9, 3), (3, 3), (3, 3))
    )
    out = node_update(0, E, neighbor_lists(R), W1, W2)  # user 0 has no neighbour
    assert_close(out, F.leaky_relu(E[0] @ W1, NEGATIVE_SLOPE))


def test_scores_are_inner_products_of_concatenated_loop_layers() -> None:
    R = random_graph(5, 5, 7)
    nbrs = neighbor_lists(R)
    g = torch.Generator().manual_seed(2)
    E0 = torch.randn(12, 4, generator=g, dtype=torch.float64)
    W1s = [
        torch.randn(4, 3, generator=g, dtype=torch.float64),
        torch.randn(3, 2, generator=g, dtype=torch.float64),
    ]
    W2s = [
        torch.randn(4, 3, generator=g, dtype=torch.float64),
        torch.randn(3, 2, generator=g, dtype=torch.float64),
    ]
    layers = [E0]
    for W1, W2 in zip(W1s, W2s):
        layers.append(ngcf_layer_loop(layers[-1], nbrs, W1, W2))
    E_star = torch.cat(layers, 1)  # eq. 9
    want = torch.stack(
        [torch.stack([E_star[u] @ E_star[5 + i] for i in range(7)]) for u in range(5)]
    )
    L = normalized_laplacian(bipartite_adjacency(R))
    assert_close(ngcf_scores(E0, L, W1s, W2s, 5), want)
    assert concat_layers(layers).shape == (12, 4 + 3 + 2)


def small_model(**kw) -> tuple[NGCF, torch.Tensor]:
    torch.manual_seed(0)
    R = random_graph(1, 6, 8, 0.4)
    L = laplacian_from_interactions(R, kw.pop("kind", "sym"))
    return NGCF(6, 8, L, dim=4, layer_dims=(4, 4), **kw), R


def test_dropout_is_off_in_eval() -> None:
    model, _ = small_model(message_dropout=0.5, node_dropout=0.5)
    users, items = torch.tensor([0, 1, 2, 5]), torch.tensor([3, 0, 7, 1])
    model.eval()
    a, b = model(users, items), model(users, items)
    assert torch.equal(a, b)
    model.train()
    torch.manual_seed(1)
    c = model(users, items)
    torch.manual_seed(2)
    d = model(users, items)
    assert not torch.equal(c, d), "dropout should make two training forwards differ"


def test_batch_scores_match_full_embeddings() -> None:
    model, _ = small_model()
    model.eval()
    users, pos, neg = torch.tensor([0, 3, 5]), torch.tensor([1, 2, 7]), torch.tensor([0, 4, 6])
    U, I = model.embeddings()
    s_pos, s_neg = model.bpr_scores(users, pos, neg)
    assert_close(s_pos, (U[users] * I[pos]).sum(1), rtol=1e-5, atol=1e-6)
    assert_close(s_neg, (U[users] * I[neg]).sum(1), rtol=1e-5, atol=1e-6)
    assert U.shape == (6, model.out_dim) and model.out_dim == 12


def test_injected_layer_is_used() -> None:
    a, _ = small_model()
    b, _ = small_model(layer=ngcf_layer)
    calls = []

    def spy(E, L, W1, W2):
        calls.append(E.shape)
        return ngcf_layer(E, L, W1, W2)

    c, _ = small_model(layer=spy)
    for m in (a, b, c):
        m.eval()
    assert_close(a.embeddings()[0], b.embeddings()[0])
    assert_close(a.embeddings()[0], c.embeddings()[0])
    assert len(calls) == 2


def test_official_variant_differs_as_documented() -> None:
    paper, R = small_model()
    official, _ = small_model(kind="row_self", official=True)
    paper.eval(), official.eval()
    # official layers are L2-normalised before concatenation (eq. 9 stays as is for E^(0))
    layers = official.propagate()
    for E in layers[1:]:
        assert_close(E.norm(dim=1), torch.ones(E.shape[0]), rtol=1e-5, atol=1e-5)
    assert not torch.allclose(paper.embeddings()[0], official.embeddings()[0])
    # its layer: L̃ = D̃^-1 (A + I) already holds the self-connection; two activations and biases
    g = torch.Generator().manual_seed(0)
    E, W1, W2 = (
        torch.randn(*s, generator=g, dtype=torch.float64) for s in ((14, 3), (3, 2), (3, 2))
    )
    b1, b2 = (
        torch.randn(2, generator=g, dtype=torch.float64),
        torch.randn(2, generator=g, dtype=torch.float64),
    )
    A = bipartite_adjacency(R).to_dense()
    deg = A.sum(1) + 1
    side = (E + A @ E) / deg[:, None]  # mean over the neighbours and the node itself
    want = F.leaky_relu(side @ W1 + b1, 0.2) + F.leaky_relu((E * side) @ W2 + b2, 0.2)
    L_self = normalized_laplacian(bipartite_adjacency(R), "row_self")
    assert_close(ngcf_layer_official(E, L_self, W1, W2, b1, b2), want)


def test_lightgcn_is_the_mean_of_propagated_layers() -> None:
    R = random_graph(2, 4, 5)
    L = laplacian_from_interactions(R, "sym")
    torch.manual_seed(0)
    m = LightGCN(4, 5, L, dim=3, n_layers=2)
    E0 = m.embedding.detach()
    Ld = L.to_dense()
    want = (E0 + Ld @ E0 + Ld @ (Ld @ E0)) / 3
    U, I = m.embeddings()
    assert_close(torch.cat([U, I]).detach(), want, rtol=1e-5, atol=1e-6)


def test_mf_scores() -> None:
    torch.manual_seed(0)
    m = MF(3, 4, dim=2)
    s_pos, _ = m.bpr_scores(torch.tensor([0, 2]), torch.tensor([1, 3]), torch.tensor([0, 0]))
    assert_close(s_pos, torch.stack([m.user[0] @ m.item[1], m.user[2] @ m.item[3]]))


def test_model_bad_inputs() -> None:
    L = laplacian_from_interactions(random_graph(0, 3, 3))
    with pytest.raises(ValueError, match=r"\(6, 6\)"):
        NGCF(3, 4, L)
    with pytest.raises(ValueError, match="message_dropout"):
        NGCF(3, 3, L, message_dropout=1.0)
    with pytest.raises(ValueError, match="official"):
        NGCF(3, 3, L, official=True, layer=ngcf_layer)
    with pytest.raises(ValueError, match="positive integer"):
        NGCF(0, 3, L)


@pytest.mark.parametrize("kind", ["sym", "row_self"])
def test_sparse_operator_gradient_uses_the_transpose(kind: str) -> None:
    from recsys_ref.graph import SparseOperator

    R = random_graph(4, 5, 6)
    L = normalized_laplacian(bipartite_adjacency(R), kind)
    op = SparseOperator(L)
    g = torch.Generator().manual_seed(0)
    E = torch.randn(11, 3, generator=g, dtype=torch.float64, requires_grad=True)
    G = torch.randn(11, 3, generator=g, dtype=torch.float64)
    (op @ E).backward(G)
    assert_close(E.grad, L.to_dense().T @ G)  # not L @ G: row_self is not symmetric
    keep = (torch.rand(11, generator=g) > 0.5).double() * 2
    dropped = op.drop_nodes(keep)
    assert_close(dropped.L.to_dense(), L.to_dense() * keep[None, :])  # column t scaled by keep[t]
    assert_close(dropped.Lt.to_dense(), (L.to_dense() * keep[None, :]).T)
