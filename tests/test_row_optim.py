"""The FM table backward and the row-wise optimisers against torch's own, in float64.

Each test runs two independent computations side by side: ``FM``'s hand-written backward
(``fm._FMTable``, coalesced rows) with ``optim.RowAdagrad`` / ``RowSGD``, and the look-up form
through ``nn.Embedding(sparse=True)`` and autograd with ``torch.optim.Adagrad`` / ``SGD``.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from recsys_ref.ffm import FFM
from recsys_ref.fm import FM, fm_table_terms, pairwise_from_embeddings
from recsys_ref.optim import RowAdagrad, RowSGD
from recsys_ref.row_grad import RowIndex


def _lookup_logits(m: FM, idx: torch.Tensor) -> torch.Tensor:
    """Eq. 1 the way FM computed it before the table form: nn.Embedding look-ups + autograd."""
    return m.w0 + m.w(idx).squeeze(2).sum(dim=1) + pairwise_from_embeddings(m.V(idx))


def _batches(n: int, B: int, n_fields: int, steps: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):  # few features, so a batch repeats rows (what coalescing sums)
        yield (
            torch.randint(0, n, (B, n_fields), generator=g),
            torch.randint(0, 2, (B,), generator=g),
        )


@pytest.mark.parametrize("sparse", [True, False])
def test_fm_table_gradient_equals_autograd_one_row_per_feature(sparse):
    m = FM(30, 5, sparse=sparse, seed=0).double()
    with torch.no_grad():
        m.w.weight.normal_()
    idx = torch.randint(0, 30, (12, 6), generator=torch.Generator().manual_seed(1))
    lin, pairs = fm_table_terms(idx, m.w.weight, m.V.weight, sparse_w=sparse, sparse_V=sparse)
    weights = torch.linspace(-1, 2, 12, dtype=torch.float64)
    gw, gV = torch.autograd.grad((weights * (lin + 2 * pairs)).sum(), [m.w.weight, m.V.weight])
    z_lin = m.w(idx).squeeze(2).sum(dim=1)
    z_pairs = pairwise_from_embeddings(m.V(idx))
    rw, rV = torch.autograd.grad((weights * (z_lin + 2 * z_pairs)).sum(), [m.w.weight, m.V.weight])
    torch.testing.assert_close(lin, z_lin, rtol=0, atol=0)  # the same forward operations
    torch.testing.assert_close(pairs, z_pairs, rtol=0, atol=0)
    for mine, ref in ((gw, rw), (gV, rV)):
        assert mine.is_sparse == sparse
        if sparse:
            rows = mine._indices()[0]
            assert rows.tolist() == sorted(set(idx.reshape(-1).tolist()))  # one row per feature
            mine, ref = mine.to_dense(), ref.to_dense()
        torch.testing.assert_close(mine, ref, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("normalize", [False, True])
def test_fm_with_row_adagrad_equals_lookup_form_with_torch_adagrad(normalize):
    ours = FM(40, 4, normalize=normalize, seed=2).double()
    ref = copy.deepcopy(ours)
    opt_ours = RowAdagrad(ours.parameters(), lr=0.1, lr_decay=0.01, initial_accumulator_value=0.05)
    opt_ref = torch.optim.Adagrad(
        ref.parameters(), lr=0.1, lr_decay=0.01, initial_accumulator_value=0.05
    )
    scale = 1 / 5**0.5 if normalize else 1.0
    for idx, y in _batches(40, 16, 5, steps=6, seed=3):
        loss = F.binary_cross_entropy_with_logits(ours(idx), y.double())
        e = ref.V(idx) * scale
        z = ref.w0 + ref.w(idx).squeeze(2).sum(dim=1) * scale + pairwise_from_embeddings(e)
        loss_ref = F.binary_cross_entropy_with_logits(z, y.double())
        for o in (opt_ours, opt_ref):
            o.zero_grad(set_to_none=True)
        loss.backward()
        loss_ref.backward()
        opt_ours.step()
        with torch.sparse.check_sparse_tensor_invariants(enable=False):
            opt_ref.step()
        torch.testing.assert_close(loss, loss_ref, rtol=1e-13, atol=1e-15)
        for a, b in zip(ours.parameters(), ref.parameters(), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-13, atol=1e-15)


def test_row_adagrad_coalesces_a_gradient_with_repeated_rows():
    """nn.Embedding(sparse=True)'s gradient (one row per look-up, some twice) and the L2 penalty's:
    RowAdagrad sums the repeats as torch's Adagrad does."""
    ours = FM(25, 3, seed=4).double()
    ref = copy.deepcopy(ours)
    opt_ours, opt_ref = (
        RowAdagrad(ours.parameters(), lr=0.2),
        torch.optim.Adagrad(ref.parameters(), lr=0.2),
    )
    for idx, y in _batches(25, 10, 4, steps=5, seed=5):
        for m, o in ((ours, opt_ours), (ref, opt_ref)):
            loss = F.binary_cross_entropy_with_logits(_lookup_logits(m, idx), y.double())
            loss = loss + 0.1 * m.penalty(idx)
            o.zero_grad(set_to_none=True)
            loss.backward()
            assert not m.V.weight.grad.is_coalesced()
            with torch.sparse.check_sparse_tensor_invariants(enable=False):
                o.step()
        for a, b in zip(ours.parameters(), ref.parameters(), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("lookup", [False, True])
def test_row_sgd_equals_torch_sgd(lookup):
    ours = FM(30, 4, seed=6).double()
    ref = copy.deepcopy(ours)
    opt_ours, opt_ref = RowSGD(ours.parameters(), lr=0.3), torch.optim.SGD(ref.parameters(), lr=0.3)
    for idx, y in _batches(30, 12, 5, steps=5, seed=7):
        z = _lookup_logits(ours, idx) if lookup else ours(idx)  # uncoalesced / coalesced rows
        loss = F.binary_cross_entropy_with_logits(z, y.double())
        loss_ref = F.binary_cross_entropy_with_logits(_lookup_logits(ref, idx), y.double())
        for o in (opt_ours, opt_ref):
            o.zero_grad(set_to_none=True)
        loss.backward()
        loss_ref.backward()
        opt_ours.step()
        opt_ref.step()
        for a, b in zip(ours.parameters(), ref.parameters(), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-13, atol=1e-15)


def test_row_adagrad_dense_gradients_and_weight_decay_equal_torch():
    ours = FFM(20, 3, 2, sparse=False, seed=8).double()
    ref = copy.deepcopy(ours)
    opt_ours = RowAdagrad(ours.parameters(), lr=0.1, weight_decay=0.01)
    opt_ref = torch.optim.Adagrad(ref.parameters(), lr=0.1, weight_decay=0.01)
    for idx, y in _batches(20, 8, 3, steps=4, seed=9):
        for m, o in ((ours, opt_ours), (ref, opt_ref)):
            o.zero_grad(set_to_none=True)
            F.binary_cross_entropy_with_logits(m(idx), y.double()).backward()
            o.step()
        for a, b in zip(ours.parameters(), ref.parameters(), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-13, atol=1e-15)


def test_row_index_sums_in_look_up_order_and_inverts_like_unique():
    idx = torch.randint(0, 50, (33, 7), generator=torch.Generator().manual_seed(10))
    index = RowIndex(idx, 50)
    rows, where = torch.unique(idx, return_inverse=True)
    assert torch.equal(index.rows, rows) and torch.equal(index.where(), where.reshape(-1))
    values = torch.randn(idx.numel(), 3, generator=torch.Generator().manual_seed(11))
    added = torch.zeros(rows.shape[0], 3).index_add_(0, where.reshape(-1), values)
    torch.testing.assert_close(index.sum(values), added, rtol=0, atol=0)  # the same order


def test_row_optimisers_reject_bad_settings():
    p = [torch.nn.Parameter(torch.zeros(3))]
    with pytest.raises(ValueError, match="lr must be ≥ 0"):
        RowAdagrad(p, lr=-1.0)
    with pytest.raises(ValueError, match="lr must be ≥ 0"):
        RowSGD(p, lr=-1.0)
    m = FM(10, 2)
    opt = RowAdagrad(m.parameters(), weight_decay=0.1)
    m(torch.zeros(2, 3, dtype=torch.long)).sum().backward()
    with pytest.raises(RuntimeError, match="weight_decay does not work with sparse"):
        opt.step()


def test_fm_table_backward_twice_with_retain_graph_gives_the_same_gradient():
    """The first backward writes ∂/∂e into the look-up's buffer; a second one looks it up again."""
    m = FM(20, 3, seed=12).double()
    idx = torch.randint(0, 20, (6, 4), generator=torch.Generator().manual_seed(13))
    lin, pairs = fm_table_terms(idx, m.w.weight, m.V.weight, sparse_w=True, sparse_V=True)
    out = (lin + pairs * torch.arange(6.0, dtype=torch.float64)).sum()
    first = [
        g.to_dense() for g in torch.autograd.grad(out, [m.w.weight, m.V.weight], retain_graph=True)
    ]
    second = [g.to_dense() for g in torch.autograd.grad(out, [m.w.weight, m.V.weight])]
    for a, b in zip(first, second, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
