"""fm_8 (eq. 4, ∂ŷ/∂V) and fm_9 (one SGD step with L2 on the touched rows): the maths and the checks."""

from __future__ import annotations

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from recsys_ref.course import run_check
from recsys_ref.course.engine.evaluate import FAILED, NOT_STARTED_STATUS
from recsys_ref.course.engine.registry import get
from recsys_ref.fm import fm_pairwise, fm_pairwise_grad, fm_score
from recsys_ref.fm_sgd import fm_logloss_grads, fm_sgd_step, train_fm_sgd


def _stub(*args):
    raise NotImplementedError("Task: write the function")


# ---------------------------------------------------------------- fm_8


@pytest.mark.fm_8
@settings(max_examples=40, deadline=None)
@given(
    B=st.integers(1, 4), n=st.integers(1, 7), k=st.integers(1, 4), seed=st.integers(0, 2**31 - 1)
)
@example(B=1, n=1, k=1, seed=0)  # no pair at all: the gradient is 0
@example(B=3, n=1, k=3, seed=1)
@example(B=2, n=5, k=1, seed=2)
def test_eq4_equals_autograd_in_float64(B, n, k, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, n, generator=g, dtype=torch.float64)
    V = torch.randn(n, k, generator=g, dtype=torch.float64)
    formula = fm_pairwise_grad(x, V)  # (B, n, k)
    for b in range(B):  # autograd of each row's ŷ on its own
        Vb = V.clone().requires_grad_(True)
        (auto,) = torch.autograd.grad(fm_pairwise(x[b : b + 1], Vb).sum(), Vb)
        torch.testing.assert_close(formula[b], auto, rtol=1e-12, atol=1e-12)


@pytest.mark.fm_8
def test_fm_8_stub_not_started_reference_passes_and_misconceptions_named():
    assert run_check("fm_8", _stub, seed=0).status == NOT_STARTED_STATUS
    assert run_check("fm_8", fm_pairwise_grad, seed=0).passed
    for m in get("fm_8").misconceptions:
        r = run_check("fm_8", m.wrong, seed=0)
        assert r.status == FAILED and r.misconception == m.name, (m.name, r.message)


@pytest.mark.fm_8
def test_fm_8_guard_rejects_an_n_by_n_gradient():
    def via_pairs(x, V):  # right values through a (B, n, n) tensor
        n = x.shape[1]
        xx = x.unsqueeze(2) * x.unsqueeze(1) * (1 - torch.eye(n, dtype=x.dtype))  # (B, n, n)
        return xx @ V

    r = run_check("fm_8", via_pairs, seed=0)
    assert r.misconception == "complexity" and "4×1000×1000" in r.message and "64,000" in r.message


# ---------------------------------------------------------------- fm_9


def _batch(seed=0, B=6, dims=(2, 30, 10), k=3):
    g = torch.Generator().manual_seed(seed)
    offsets = torch.tensor([0, *dims[:-1]]).cumsum(0)
    idx = torch.stack([torch.randint(0, d, (B,), generator=g) for d in dims], 1) + offsets
    n = sum(dims)
    y = (torch.rand(B, generator=g) < 0.5).double()
    return (
        idx,
        y,
        torch.tensor(0.2, dtype=torch.float64),
        torch.randn(n, generator=g, dtype=torch.float64),
        torch.randn(n, k, generator=g, dtype=torch.float64),
    )


@pytest.mark.fm_9
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sgd_step_equals_autograd_on_the_objective(seed):
    idx, y, w0, w, V = _batch(seed)
    lr, l2 = 0.3, 0.07
    params = [t.clone().requires_grad_(True) for t in (w0, w, V)]
    rows = torch.unique(idx)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(
        fm_score(idx, *params), y
    ) + 0.5 * l2 * (params[1][rows].pow(2).sum() + params[2][rows].pow(2).sum())
    grads = torch.autograd.grad(loss, params)
    for new, old, gr in zip(fm_sgd_step(idx, y, w0, w, V, lr, l2), (w0, w, V), grads):
        torch.testing.assert_close(new, old - lr * gr, rtol=1e-12, atol=1e-12)


@pytest.mark.fm_9
def test_sgd_step_leaves_untouched_rows_and_inputs_alone():
    idx, y, w0, w, V = _batch(3)
    before = [t.clone() for t in (w0, w, V)]
    _, w_new, V_new = fm_sgd_step(idx, y, w0, w, V, 0.5, 0.2)
    untouched = torch.ones(len(w), dtype=torch.bool)
    untouched[idx.unique()] = False
    assert untouched.any()
    assert torch.equal(w_new[untouched], w[untouched]) and torch.equal(
        V_new[untouched], V[untouched]
    )
    assert not torch.equal(w_new[~untouched], w[~untouched])
    assert all(torch.equal(a, b) for a, b in zip(before, (w0, w, V)))


@pytest.mark.fm_9
def test_logloss_grads_by_finite_differences():
    idx, y, w0, w, V = _batch(4, B=3, dims=(3, 4), k=2)
    _, _, gV = fm_logloss_grads(idx, y, w0, w, V)

    def loss(Vx):
        return torch.nn.functional.binary_cross_entropy_with_logits(fm_score(idx, w0, w, Vx), y)

    eps = 1e-6
    for i, f in [(int(idx[0, 0]), 0), (int(idx[1, 1]), 1)]:
        d = torch.zeros_like(V)
        d[i, f] = eps
        fd = (loss(V + d) - loss(V - d)) / (2 * eps)
        assert abs(float(fd) - float(gV[i, f])) < 1e-8


@pytest.mark.fm_9
def test_fm_9_stub_not_started_reference_passes_and_misconceptions_named():
    assert run_check("fm_9", _stub, seed=0).status == NOT_STARTED_STATUS
    assert run_check("fm_9", fm_sgd_step, seed=0).passed
    for m in get("fm_9").misconceptions:
        r = run_check("fm_9", m.wrong, seed=0)
        assert r.status == FAILED and r.misconception == m.name, (m.name, r.message)


@pytest.mark.fm_9
def test_hand_training_lowers_the_loss():
    from recsys_ref.data.ctr import make_ctr

    train, val = make_ctr(3_000, seed=0).split(0.2, seed=0)
    h = train_fm_sgd(fm_sgd_step, train, val, train.n_features, k=4, epochs=2, lr=2.0, l2=1e-4)
    base = float(
        torch.nn.functional.binary_cross_entropy(
            torch.full_like(val.y, float(train.y.mean())), val.y
        )
    )
    assert h["val_logloss"][-1] < base  # better than the click rate alone
