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
