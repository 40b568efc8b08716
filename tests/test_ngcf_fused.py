"""NGCF's fused training forward/backward (ngcf_fused) against the layer-by-layer autograd path.

Two independent computations of the same step: ``NGCF.bpr_scores`` with the reference layer (the
fused function, hand-written backward) and the same model with the layer passed in as a plain
function (``propagate`` + autograd).  Same seed → the same dropout masks, so the scores and every
gradient agree to float rounding, with message dropout, node dropout, or none.
"""

from __future__ import annotations

import pytest
import torch

from recsys_ref.graph import laplacian_from_interactions
from recsys_ref.losses import bpr_loss
from recsys_ref.ngcf import NGCF, ngcf_layer


def _autograd_layer(E, L, W1, W2):  # not ``ngcf_layer`` itself: NGCF takes the unfused path
    return ngcf_layer(E, L, W1, W2)


def _models(dtype, message_dropout, node_dropout, seed=0):
    g = torch.Generator().manual_seed(seed)
    n_users, n_items = 9, 13
    R = (torch.rand(n_users, n_items, generator=g) < 0.3).float()
    R[0] = 0  # a user with no interaction: an isolated node
    L = laplacian_from_interactions(R, "sym")
    models = []
    for layer in (None, _autograd_layer):
        torch.manual_seed(seed)  # the same initial weights
        models.append(
            NGCF(n_users, n_items, L, dim=5, layer_dims=(4, 6, 3), layer=layer,
                 message_dropout=message_dropout, node_dropout=node_dropout).to(dtype)
        )  # fmt: skip
    return models[0], models[1], n_users, n_items


@pytest.mark.parametrize(
    "dtype, message_dropout, node_dropout",
    [(torch.float64, 0.0, 0.0), (torch.float64, 0.3, 0.0), (torch.float64, 0.2, 0.25),
     (torch.float32, 0.1, 0.0)],
)  # fmt: skip
def test_fused_step_equals_autograd_step(dtype, message_dropout, node_dropout):
    fused, plain, n_users, n_items = _models(dtype, message_dropout, node_dropout)
    g = torch.Generator().manual_seed(1)
    users = torch.randint(0, n_users, (7,), generator=g)  # repeats: rows added twice
    pos = torch.randint(0, n_items, (7,), generator=g)
    neg = torch.randint(0, n_items, (7,), generator=g)
    tol = dict(rtol=1e-12, atol=1e-13) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-6)
    for model in (fused, plain):
        model.train()
    for step in range(3):  # several steps: the masks of each step come from the same seed
        out = {}
        for name, model in (("fused", fused), ("plain", plain)):
            torch.manual_seed(100 + step)
            pos_s, neg_s = model.bpr_scores(users, pos, neg)
            loss = bpr_loss(pos_s, neg_s, list(model.parameters()), 1e-3)
            grads = torch.autograd.grad(loss, list(model.parameters()))
            out[name] = (pos_s.detach(), neg_s.detach(), grads)
        for a, b in zip(out["fused"][:2], out["plain"][:2]):
            torch.testing.assert_close(a, b, **tol)
        for a, b in zip(out["fused"][2], out["plain"][2], strict=True):
            torch.testing.assert_close(a, b, **tol)
        with torch.no_grad():  # move both models the same way, so the next step differs
            for p, q, gp in zip(fused.parameters(), plain.parameters(), out["fused"][2]):
                p.sub_(0.5 * gp)
                q.sub_(0.5 * gp)


def test_fused_path_draws_the_masks_of_message_dropout():
    """With dropout the fused and unfused scores agree only if the masks are the same draws:
    a different seed for one of them must make them differ (the test above can fail)."""
    fused, plain, n_users, n_items = _models(torch.float64, 0.5, 0.0)
    users, items = torch.arange(5), torch.arange(5)
    torch.manual_seed(7)
    a, _ = fused.bpr_scores(users, items, items)
    torch.manual_seed(8)
    b, _ = plain.bpr_scores(users, items, items)
    assert not torch.allclose(a, b)


def _batch(n_users, n_items, seed=1, size=7):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randint(0, n, (size,), generator=g) for n in (n_users, n_items, n_items))


def _grads(model, batches, seed):
    """Scores and every gradient of the summed eq.-11 losses of several forwards, one backward."""
    torch.manual_seed(seed)
    scores = [model.bpr_scores(*b) for b in batches]
    loss = sum(bpr_loss(p, n, list(model.parameters()), 1e-3) for p, n in scores)
    return [s.detach() for pair in scores for s in pair], torch.autograd.grad(
        loss, list(model.parameters())
    )


def test_workspace_reuse_gives_the_same_steps_as_fresh_buffers():
    """The model's workspace is reused from step to step; the same steps through fresh buffers
    (``workspace=None``) give bit-identical scores and gradients, and the buffers are reused."""
    from recsys_ref.ngcf_fused import Workspace, propagated_rows

    fused, _, n_users, n_items = _models(torch.float64, 0.3, 0.0)
    fused.train()
    users, pos, neg = _batch(n_users, n_items)
    idx = torch.cat([users, n_users + pos, n_users + neg])
    op = fused._operator()
    params = list(fused.parameters())
    pools: list[set[int]] = []
    for step in range(3):
        torch.manual_seed(200 + step)
        pos_s, neg_s = fused.bpr_scores(users, pos, neg)  # through fused._workspace
        ga = torch.autograd.grad(bpr_loss(pos_s, neg_s, params, 1e-3), params)
        torch.manual_seed(200 + step)
        rows = propagated_rows(
            fused.embedding, list(fused.W1), list(fused.W2), op.L, op.Lt, idx, 0.3, True, None
        )
        u, i, j = rows.split(len(users))
        gb = torch.autograd.grad(bpr_loss((u * i).sum(1), (u * j).sum(1), params, 1e-3), params)
        assert torch.equal(pos_s, (u * i).sum(1).detach())
        for a, b in zip(ga, gb, strict=True):
            assert torch.equal(a, b)
        assert isinstance(fused._workspace, Workspace) and len(fused._workspace) > 0
        pools.append({b.data_ptr() for v in fused._workspace._free.values() for b in v})
        if step > 0:  # the same buffers went round again: none new, none lost
            assert pools[-1] == pools[-2]
        with torch.no_grad():
            for p, gp in zip(params, ga):
                p.sub_(0.5 * gp)


def test_workspace_two_forwards_then_one_backward():
    """Buffers still held by one graph are never handed to another: two forwards, then one
    backward, agree with the layer-by-layer autograd path (same masks)."""
    fused, plain, n_users, n_items = _models(torch.float64, 0.2, 0.0)
    batches = [_batch(n_users, n_items, seed) for seed in (1, 2)]
    for model in (fused, plain):
        model.train()
    sf, gf = _grads(fused, batches, seed=5)
    sp, gp = _grads(plain, batches, seed=5)
    for a, b in zip([*sf, *gf], [*sp, *gp], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-13)


def test_workspace_without_backward_gives_every_buffer_back():
    """Under no_grad no backward follows: the forward returns all it took, so repeated
    evaluation-time calls do not grow the workspace; a copy of it starts empty."""
    import copy
    import pickle

    fused, _, n_users, n_items = _models(torch.float64, 0.2, 0.0)
    fused.train()
    b = _batch(n_users, n_items)
    with torch.no_grad():
        torch.manual_seed(3)
        first = fused.bpr_scores(*b)
        size = len(fused._workspace)
        for _ in range(3):
            torch.manual_seed(3)
            again = fused.bpr_scores(*b)
            assert len(fused._workspace) == size
    assert size > 0 and all(torch.equal(x, y) for x, y in zip(first, again))
    assert len(copy.deepcopy(fused._workspace)) == 0
    assert len(pickle.loads(pickle.dumps(fused._workspace))) == 0
