"""The corrected sentences of notebooks 10–13 backed by tests (each compares two independent computations)."""

from __future__ import annotations

import torch

from recsys_ref.data.implicit import make_implicit
from recsys_ref.graph import (
    bipartite_adjacency,
    degrees,
    laplacian_from_interactions,
    normalized_laplacian,
)
from recsys_ref.ngcf import NGCF


def _R(seed=0, U=12, M=9):
    g = torch.Generator().manual_seed(seed)
    R = (torch.rand(U, M, generator=g) < 0.35).double()
    R[torch.arange(U), torch.randint(0, M, (U,), generator=g)] = 1.0
    R[torch.randint(0, U, (M,), generator=g), torch.arange(M)] = 1.0
    return R


def test_official_l2_on_e_star_reduces_to_ego_rows_only_with_per_layer_normalisation():
    """Correction 2: ‖e*‖² = ‖e⁰‖² + L with normalised layers, so the term never reaches W; without, it does."""
    R = _R()
    L = laplacian_from_interactions(R.to_sparse(), "sym")
    grads = {}
    for norm in (True, False):
        torch.manual_seed(0)
        m = NGCF(12, 9, L, dim=4, layer_dims=(4, 4, 4), message_dropout=0.0, normalize_layers=norm)
        rows = torch.cat([x[:5] for x in m.propagate()], dim=1)  # e* of 5 nodes
        if norm:
            torch.testing.assert_close(rows.pow(2).sum(1), m.embedding[:5].pow(2).sum(1) + 3)
        rows.pow(2).sum().backward()
        grads[norm] = float(sum(W.grad.abs().max() for W in [*m.W1, *m.W2]))
    assert grads[True] < 1e-5 and grads[False] > 1e-3


def test_bipartite_laplacian_has_eigenvalue_minus_one():
    """Correction 5: v = (+sqrt(d) on users, −sqrt(d) on items) satisfies L v = −v (the odd/even oscillation)."""
    data = make_implicit(seed=0)
    L = laplacian_from_interactions(data.train, "sym", dtype=torch.float64)
    v = degrees(bipartite_adjacency(data.train)).double().sqrt()
    v[data.n_users :] *= -1
    torch.testing.assert_close((L @ v[:, None])[:, 0], -v)


def test_row_self_laplacian_already_holds_the_self_loop():
    """Correction 9: D̃⁻¹(A+I) has the diagonal 1/(d+1), so eq. 7's + I counts the self-connection twice."""
    R = _R(1)
    A = bipartite_adjacency(R)
    Lt = normalized_laplacian(A, "row_self").to_dense()
    d = degrees(A).double()
    torch.testing.assert_close(torch.diagonal(Lt), 1 / (d + 1))
    assert torch.diagonal(normalized_laplacian(A, "sym").to_dense()).abs().max() == 0


def test_ngcf_with_one_sided_decay_is_svdpp():
    """Eq. 12: one layer, no W, no activation, p_ui' = 1/sqrt(|N_u|), p_iu' = 0 gives SVD++'s score."""
    R = _R(2, 5, 7)
    n_u, n_i = R.shape
    E = torch.randn(n_u + n_i, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    P = torch.zeros(n_u + n_i, n_u + n_i, dtype=torch.float64)
    P[:n_u, n_u:] = R / R.sum(1, keepdim=True).sqrt()
    E1 = E + P @ E
    matrix = E1[:n_u] @ E1[n_u:].T
    loops = torch.tensor(
        [
            [
                float(
                    (E[u] + sum(E[n_u + j] for j in range(n_i) if R[u, j]) / R[u].sum().sqrt())
                    @ E[n_u + i]
                )
                for i in range(n_i)
            ]
            for u in range(n_u)
        ],
        dtype=torch.float64,
    )
    torch.testing.assert_close(matrix, loops)


def test_models_default_regularisers_follow_their_papers():
    """Item 5: NGCF eq. 11 over Θ; MF-BPR and LightGCN on the batch's ego rows."""
    from recsys_ref.lightgcn import LightGCN
    from recsys_ref.mf import MF

    assert NGCF.DEFAULT_L2 == (1e-5, "theta")
    assert MF.DEFAULT_L2[1] == "batch" and LightGCN.DEFAULT_L2[1] == "batch"


def test_train_bpr_uses_the_models_default_only_when_nothing_is_given(monkeypatch):
    import recsys_ref.train_bpr as tb
    from recsys_ref.mf import MF

    seen = []
    real = tb.bpr_train_step

    def spy(model, opt, users, pos, neg, lam, l2_on="theta"):
        seen.append((lam, l2_on))
        return real(model, opt, users, pos, neg, lam, l2_on)

    monkeypatch.setattr(tb, "bpr_train_step", spy)
    data = make_implicit(seed=0)
    for kw, want in (({}, MF.DEFAULT_L2), ({"lam": 1e-5}, (1e-5, "theta"))):
        seen.clear()
        tb.train_bpr(
            MF(data.n_users, data.n_items, 4),
            data.train,
            epochs=1,
            progress=False,
            device="cpu",
            max_batches=1,
            **kw,
        )
        assert seen == [want]
