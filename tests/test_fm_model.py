"""FM (eq. 1, Lemma 3.1, the gradient) and FFM: every fast form against a slow, literal one."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.testing import assert_close

from recsys_ref.data.encoding import one_hot
from recsys_ref.ffm import FFM, ffm_pairwise, ffm_pairwise_loops
from recsys_ref.fm import (
    FM,
    FMOneHot,
    fm_pairwise,
    fm_pairwise_fields,
    fm_pairwise_grad,
    fm_pairwise_loops,
    fm_pairwise_naive,
    fm_score,
)


def _g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@settings(max_examples=40, deadline=None)
@given(B=st.integers(1, 5), n=st.integers(1, 9), k=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_fm_lemma_3_1_equals_double_sum(B, n, k, seed):
    g = _g(seed)
    x = torch.randn(B, n, generator=g, dtype=torch.float64)
    V = torch.randn(n, k, generator=g, dtype=torch.float64)
    want = fm_pairwise_loops(x, V)
    assert_close(fm_pairwise_naive(x, V), want)
    assert_close(fm_pairwise(x, V), want)


def test_fm_pairwise_by_hand():
    # n = 2: only the pair (0, 1): ⟨v0, v1⟩ x0 x1 = (1·3 + 2·4) · 2 · 5 = 110
    x = torch.tensor([[2.0, 5.0]], dtype=torch.float64)
    V = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    assert fm_pairwise(x, V).item() == pytest.approx(110.0)
    assert fm_pairwise(x[:, :1], V[:1]).item() == 0.0  # n = 1: no pair at all


@settings(max_examples=30, deadline=None)
@given(
    B=st.integers(1, 6),
    dims=st.lists(st.integers(1, 5), min_size=1, max_size=5),
    k=st.integers(1, 4),
    seed=st.integers(0, 10_000),
)
def test_fm_dense_sparse_and_label_encoded_paths_agree(B, dims, k, seed):
    g = _g(seed)
    n = sum(dims)
    offsets = torch.tensor([0, *dims[:-1]]).cumsum(0)
    codes = torch.stack([torch.randint(0, d, (B,), generator=g) for d in dims], dim=1)  # (B, F)
    idx = codes + offsets
    V = torch.randn(n, k, generator=g, dtype=torch.float64)
    x_sparse = one_hot(idx, n)
    x_dense = x_sparse.to_dense()
    want = fm_pairwise_loops(x_dense, V)
    assert_close(fm_pairwise(x_dense, V), want)
    assert_close(fm_pairwise(x_sparse, V), want)
    assert_close(fm_pairwise(x_sparse.to_sparse_csr(), V), want)
    assert_close(fm_pairwise_fields(idx, V), want)


def test_fm_gradient_formula_matches_autograd():
    g = _g(0)
    x = torch.randn(3, 6, generator=g, dtype=torch.float64)
    V = torch.randn(6, 4, generator=g, dtype=torch.float64, requires_grad=True)
    formula = fm_pairwise_grad(x, V.detach())  # (B, n, k)
    for b in range(3):
        (auto,) = torch.autograd.grad(fm_pairwise(x[b : b + 1], V).sum(), V)
        assert_close(formula[b], auto)
    # and the O(kn) form's own autograd gradient is sound (finite differences)
    assert torch.autograd.gradcheck(lambda V_: fm_pairwise(x, V_), (V,))
    assert torch.autograd.gradcheck(
        lambda V_: ffm_pairwise(torch.tensor([[0, 3], [1, 2]]), V_),
        (torch.randn(4, 2, 3, generator=g, dtype=torch.float64, requires_grad=True),),
    )


def test_fm_one_hot_parameter_model_equals_embedding_model():
    g = _g(1)
    dims = [3, 5, 2, 4]
    n = sum(dims)
    onehot = FMOneHot(n, k=3, seed=7).double()
    with torch.no_grad():  # non-trivial w0 and w so every term is exercised
        onehot.w0.fill_(0.3)
        onehot.w.copy_(torch.randn(n, generator=g))
    emb = FM.from_one_hot(onehot).double()
    offsets = torch.tensor([0, *dims[:-1]]).cumsum(0)
    idx = torch.stack([torch.randint(0, d, (6,), generator=g) for d in dims], 1) + offsets
    x = one_hot(idx, n)
    assert_close(emb(idx), onehot(x))
    assert_close(emb(idx), onehot(x.to_dense()))
    assert_close(emb(idx), fm_score(idx, onehot.w0.detach(), onehot.w.detach(), onehot.V.detach()))
    # gradients agree too: the one-hot x selects the same rows the embedding updates
    onehot(x.to_dense()).sum().backward()
    emb(idx).sum().backward()
    assert_close(emb.V.weight.grad.to_dense(), onehot.V.grad)


@settings(max_examples=30, deadline=None)
@given(B=st.integers(1, 5), F=st.integers(1, 6), k=st.integers(1, 3), seed=st.integers(0, 10_000))
def test_ffm_vectorised_equals_per_pair_loop(B, F, k, seed):
    g = _g(seed)
    n = 3 * F
    idx = torch.randint(0, 3, (B, F), generator=g) + 3 * torch.arange(F)
    W = torch.randn(n, F, k, generator=g, dtype=torch.float64)
    assert_close(ffm_pairwise(idx, W), ffm_pairwise_loops(idx, W))


def test_ffm_by_hand_and_reduces_to_fm():
    # two fields: φ = ⟨w_{j1, f2}, w_{j2, f1}⟩ = ⟨W[0, 1], W[1, 0]⟩
    W = torch.arange(2 * 2 * 2, dtype=torch.float64).reshape(2, 2, 2)
    idx = torch.tensor([[0, 1]])
    assert ffm_pairwise(idx, W).item() == pytest.approx(float((W[0, 1] * W[1, 0]).sum()))
    # when every field gets the same vector, FFM is FM
    V = torch.randn(6, 3, generator=_g(2), dtype=torch.float64)
    W_same = V.unsqueeze(1).expand(6, 3, 3).contiguous()
    idx3 = torch.tensor([[0, 2, 4], [1, 3, 5]])
    assert_close(ffm_pairwise(idx3, W_same), fm_pairwise_fields(idx3, V))


def test_ffm_module_matches_functional_form():
    torch.manual_seed(0)
    model = FFM(12, 4, k=3, seed=0).double()
    with torch.no_grad():
        model.w.weight.normal_()
        model.w0.fill_(-0.5)
    idx = torch.tensor([[0, 3, 6, 9], [2, 5, 8, 11]])
    want = model.w0 + model.w(idx).squeeze(2).sum(1) + ffm_pairwise_loops(idx, model.weight_table)
    assert_close(model(idx), want)
    normed = FFM(12, 4, k=3, seed=0, normalize=True).double()
    normed.load_state_dict(model.state_dict())
    lin = model.w(idx).squeeze(2).sum(1)
    assert_close(normed(idx) - normed.w0, lin / 2 + ffm_pairwise_loops(idx, model.weight_table) / 4)


def test_fm_dropout_only_in_training():
    model = FM(10, k=4, dropout=0.5, seed=0)
    idx = torch.tensor([[0, 5], [1, 6]])
    model.eval()
    assert torch.equal(model(idx), model(idx))
    assert_close(model(idx), fm_pairwise_fields(idx, model.V.weight) + model.w0)


def test_fm_bad_inputs_get_clear_errors():
    V = torch.randn(4, 2)
    with pytest.raises(ValueError, match="number of features"):
        fm_pairwise(torch.randn(3, 5), V)
    with pytest.raises(ValueError, match="offsets"):
        fm_pairwise_fields(torch.tensor([[0, 7]]), V)
    with pytest.raises(TypeError, match="integer"):
        fm_pairwise_fields(torch.tensor([[0.0, 1.0]]), V)
    with pytest.raises(ValueError, match="fields"):
        ffm_pairwise(torch.tensor([[0, 1, 2]]), torch.randn(4, 2, 3))


def test_plugged_in_functions_give_the_same_models():
    idx = torch.tensor([[0, 3, 6], [2, 4, 7]])
    fm = FM(9, k=3, seed=0).double()
    plugged = FM(9, k=3, seed=0, score=fm_score).double()
    plugged.load_state_dict(fm.state_dict())
    assert_close(plugged(idx), fm(idx))
    ffm = FFM(9, 3, k=2, seed=0).double()
    plugged_ffm = FFM(9, 3, k=2, seed=0, interaction=ffm_pairwise_loops).double()
    plugged_ffm.load_state_dict(ffm.state_dict())
    assert_close(plugged_ffm(idx), ffm(idx))


def test_ffm_hand_written_backward_matches_autograd():
    from recsys_ref.ffm import (
        pairwise_from_field_embeddings,
        pairwise_from_field_embeddings_autograd,
    )

    E = torch.randn(3, 4, 4, 2, generator=_g(5), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(pairwise_from_field_embeddings, (E,))
    g = torch.randn(3, generator=_g(6), dtype=torch.float64)
    (a,) = torch.autograd.grad(pairwise_from_field_embeddings(E), E, g)
    (b,) = torch.autograd.grad(pairwise_from_field_embeddings_autograd(E), E, g)
    assert_close(a, b)
    assert_close(pairwise_from_field_embeddings(E), pairwise_from_field_embeddings_autograd(E))


def test_ffm_backward_reuses_its_buffer_safely():
    """The gradient is written into the forward's Eᵀ buffer: a second backward through the same
    graph, and F = 1 (where Eᵀ would be E itself), must still give autograd's gradient and leave
    E untouched."""
    from recsys_ref.ffm import (
        pairwise_from_field_embeddings,
        pairwise_from_field_embeddings_autograd,
    )

    for n_fields in (1, 4):
        E = torch.randn(
            3, n_fields, n_fields, 2, generator=_g(7), dtype=torch.float64, requires_grad=True
        )
        before = E.detach().clone()
        g = torch.randn(3, generator=_g(8), dtype=torch.float64)
        out = pairwise_from_field_embeddings(E)
        (first,) = torch.autograd.grad(out, E, g, retain_graph=True)
        (second,) = torch.autograd.grad(out, E, g)
        (ref,) = torch.autograd.grad(pairwise_from_field_embeddings_autograd(E), E, g)
        assert_close(first, ref)
        assert_close(second, ref)
        assert torch.equal(E.detach(), before)


@settings(max_examples=30, deadline=None)
@given(
    B=st.integers(1, 40),
    n_fields=st.integers(1, 6),
    k=st.integers(1, 5),
    seed=st.integers(0, 10_000),
    dtype=st.sampled_from([torch.float32, torch.float64]),
)
def test_swapped_fields_are_the_transpose_bit_for_bit(B, n_fields, k, seed, dtype):
    from recsys_ref.ffm import _swap_fields

    E = torch.randn(B, n_fields, n_fields, k, generator=_g(seed), dtype=dtype)
    assert torch.equal(_swap_fields(E), E.transpose(1, 2).contiguous())


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("n_fields,k,B", [(1, 2, 3), (3, 3, 7), (5, 4, 200), (4, 8, 1)])
def test_ffm_from_the_table_matches_the_pair_loop(monkeypatch, sparse, n_fields, k, B):
    """The chunked table form against the literal loop over field pairs (float64), values and
    the gradient of W; chunks of 16 rows so that B = 200 spans several, repeated features so
    that the coalesced sparse gradient has to add rows up; a second backward looks rows up again."""
    from recsys_ref import ffm as ffm_mod

    monkeypatch.setattr(ffm_mod, "_CHUNK_BYTES", 16 * n_fields * n_fields * k * 8)
    n = 6 * n_fields
    W = torch.randn(n, n_fields * k, generator=_g(B + k), dtype=torch.float64, requires_grad=True)
    idx = torch.randint(0, n, (B, n_fields), generator=_g(3))
    g = torch.randn(B, generator=_g(4), dtype=torch.float64)
    out = ffm_mod.ffm_pairwise_table(idx, W, sparse=sparse)
    want = ffm_pairwise_loops(idx, W.view(n, n_fields, k))
    assert_close(out, want)
    (first,) = torch.autograd.grad(out, W, g, retain_graph=True)
    (second,) = torch.autograd.grad(out, W, g)
    # one field has no pairs: the loop's zeros do not depend on W, the gradient is 0
    ref = torch.autograd.grad(want, W, g)[0] if want.requires_grad else torch.zeros_like(W)
    for got in (first, second):
        assert got.is_sparse == sparse
        assert_close(got.to_dense() if sparse else got, ref)
    if sparse:
        assert first.is_coalesced() and first._nnz() == len(torch.unique(idx))


def test_ffm_model_trains_the_same_through_the_table_and_the_look_up():
    """FFM.forward (table form) against the look-up form it replaced, for sparse Adagrad steps:
    the same losses and the same weights after three steps (float64)."""
    from recsys_ref.ffm import pairwise_from_field_embeddings

    idx = torch.randint(0, 30, (64, 5), generator=_g(11))
    y = torch.rand(64, generator=_g(12)).round().double()
    models = [FFM(30, 5, k=3, seed=1, normalize=True).double() for _ in range(2)]
    opts = [torch.optim.Adagrad(m.parameters(), lr=0.1) for m in models]

    def look_up(m: FFM, idx: torch.Tensor) -> torch.Tensor:
        s = 5**-0.5
        E = m.W(idx).view(64, 5, 5, 3) * s
        return m.w0 + m.w(idx).squeeze(2).sum(1) * s + pairwise_from_field_embeddings(E)

    for _ in range(3):
        losses = []
        for m, opt, fwd in zip(models, opts, (lambda m, x: m(x), look_up)):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(fwd(m, idx), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert losses[0] == pytest.approx(losses[1], rel=1e-12)
    assert_close(models[0].W.weight, models[1].W.weight)
