"""The capstone's own term (task cap_7): ``offset_gate`` and ``OffsetGatedFM``, and the package split.

Each value is checked against an independent computation: numpy.interp per event for the gate,
``GatedFM`` for the offset model at δ = 0.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import recsys_ref.context as context
import recsys_ref.context_fm as context_fm
from recsys_ref.context import (
    CONTEXT_FIELDS,
    ITEM_FIELDS,
    USER_FIELDS,
    GatedFM,
    OffsetGatedFM,
    encode,
    offset_gate,
)
from recsys_ref.data.outfits import make_outfit_data

FIELDS = USER_FIELDS + ITEM_FIELDS + [f for f in CONTEXT_FIELDS if f != "feels_bucket"] + ["feels"]
KNOTS = [-10.0, 0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 32.0]


@pytest.fixture(scope="module")
def encoded():
    data = make_outfit_data(2_000, n_users=30, seed=2)
    train, _ = data.split_days(0.2, seed=2)
    return encode(train, FIELDS)


@pytest.mark.parametrize("seed", range(6))
def test_offset_gate_is_the_curve_through_the_heights_at_the_shifted_temperature(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    U, L, B = 7, 5, 40
    knots = torch.sort(torch.randn(6, generator=g, dtype=torch.float64) * 12).values
    t = torch.randn(B, generator=g, dtype=torch.float64) * 20  # (B,) many outside the knots
    user, level = torch.randint(0, U, (B,), generator=g), torch.randint(0, L, (B,), generator=g)
    delta = torch.randn(U, generator=g, dtype=torch.float64) * 8  # (U,)
    A = torch.randn(L, 6, generator=g, dtype=torch.float64)  # (L, M)
    got = offset_gate(t, user, level, delta, A, knots)  # (B,)
    s = (t + delta[user]).numpy()
    want = [np.interp(s[b], knots.numpy(), A[level[b]].numpy()) for b in range(B)]
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)


def test_offset_model_at_zero_offsets_is_the_gated_fm(encoded) -> None:
    tr, layout = encoded
    gated = GatedFM(layout, 4, knots=KNOTS, seed=3)
    own = OffsetGatedFM(layout, 4, knots=KNOTS, seed=3)
    with torch.no_grad():
        A = torch.randn(gated.A.weight.shape, generator=torch.Generator().manual_seed(0))
        gated.A.weight.copy_(A)
        own.A.weight.copy_(A)
    idx = tr.idx[:64]
    torch.testing.assert_close(own(idx), gated(idx))
    assert (own.offsets() == 0).all() and own.offsets().shape == (layout.dims[0],)


def test_the_offsets_get_a_gradient_and_a_plugged_gate_is_used(encoded) -> None:
    tr, layout = encoded
    calls = []

    def mine(*args):
        calls.append(len(args))
        return offset_gate(*args)

    own = OffsetGatedFM(layout, 4, knots=KNOTS, seed=0, gate_fn=mine)
    with torch.no_grad():
        own.A.weight.copy_(
            torch.arange(own.A.weight.numel(), dtype=torch.float32).view_as(own.A.weight)
        )
    own(tr.idx[:32]).sum().backward()
    assert calls == [6]
    assert own.delta.weight.grad is not None and own.delta.weight.grad.abs().sum() > 0


def test_heights_that_do_not_match_the_knots_are_refused() -> None:
    t = torch.zeros(3, dtype=torch.float64)
    i = torch.zeros(3, dtype=torch.long)
    with pytest.raises(ValueError, match="one column per knot"):
        offset_gate(
            t, i, i, torch.zeros(2, dtype=torch.float64), torch.zeros(4, 3), torch.arange(5.0)
        )


def test_the_old_module_name_is_an_alias_of_the_package() -> None:
    assert context_fm.__all__ == context.__all__
    for name in context.__all__:
        assert getattr(context_fm, name) is getattr(context, name), name
