"""The context models: ``ContextFM`` (FM over a ``FieldLayout``) and notebook 31's own-idea terms.

``ContextFM`` is Rendle's FM (ICDM 2010, eq. 1) with numeric fields: the maths is
``recsys_ref.fm`` (Lemma 3.1 via ``pairwise_from_embeddings``), no second FM here.
``hat_basis`` (task cap_6) is the piecewise-linear basis of the gate; ``GatedFM`` adds to the
FM's logit a response g_ℓ(t) = Σ_m φ_m(t) A[ℓ, m] of each warmth level ℓ to the feels-like
temperature t.

Letters: B batch, F fields, k latent size, M knots, L warmth levels.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from .._checks import expect_tensor
from ..fm import FM, pairwise_from_embeddings
from .fields import NUMERIC_SCALE, NUMERIC_STEP, NUMERIC_T0, FieldLayout


class ContextFM(nn.Module):
    """FM (eq. 1) over a ``FieldLayout``, numeric fields included: idx (B, F) → logits (B,).

    The weights are a ``recsys_ref.fm.FM``'s (``self.fm``); a numeric field uses the
    first row of its block for every code, scaled by the code's value x.
    """

    numeric_offset: Tensor  # (numeric fields,) buffer: each numeric field's first row

    def __init__(
        self, layout: FieldLayout, k: int = 8, *, seed: int | None = 0, init_std: float = 0.01
    ):
        super().__init__()
        self.layout = layout
        self.fm = FM(layout.n_features, k, init_std=init_std, seed=seed)
        cols = [layout.col(name) for name in layout.numeric]
        self.numeric_cols = cols
        self.register_buffer(
            "numeric_offset", torch.tensor([layout.offsets[c] for c in cols], dtype=torch.long)
        )
        for j, name in enumerate(layout.numeric):
            self.register_buffer(f"numeric_values_{j}", layout.numeric[name].float())

    def rows_and_x(self, idx: Tensor) -> tuple[Tensor, Tensor]:
        """The rows of V each field uses (B, F) and the feature values x (B, F)."""
        rows, x = idx, torch.ones(idx.shape, dtype=self.fm.V.weight.dtype)
        if self.numeric_cols:
            rows, x = idx.clone(), x.clone()
            for j, c in enumerate(self.numeric_cols):
                off = self.numeric_offset[j]
                x[:, c] = getattr(self, f"numeric_values_{j}")[idx[:, c] - off]
                rows[:, c] = off
        return rows, x

    def parts(self, idx: Tensor) -> tuple[Tensor, Tensor]:
        """e = x · V[rows] (B, F, k) and the linear terms x · w[rows] (B, F)."""
        rows, x = self.rows_and_x(idx)
        return self.fm.V(rows) * x.unsqueeze(2), self.fm.w(rows).squeeze(2) * x

    def forward(self, idx: Tensor) -> Tensor:
        e, lin = self.parts(idx)  # (B, F, k), (B, F)
        return self.fm.w0 + lin.sum(dim=1) + pairwise_from_embeddings(e)  # (B,)

    def penalty(self, idx: Tensor) -> Tensor:
        rows, _ = self.rows_and_x(idx)
        return self.fm.penalty(rows)


def hat_basis(t: Tensor, knots: Tensor) -> Tensor:
    """Task cap_6: piecewise-linear interpolation weights, t (B,) → (B, M) for knots (M,) increasing.

    For knots[j] ≤ t ≤ knots[j+1]: λ = (t − knots[j]) / (knots[j+1] − knots[j]), weight 1 − λ on
    knot j and λ on knot j+1, 0 elsewhere; outside the knots t is clamped (constant
    extrapolation).  Each row sums to 1, so basis @ h is the piecewise-linear function
    through the points (knots[j], h[j]).  Knots need not be evenly spaced.
    """
    expect_tensor("t", t, ndim=1, floating=True)
    expect_tensor("knots", knots, ndim=1, floating=True)
    M = knots.shape[0]
    if M < 2 or not bool((knots[1:] > knots[:-1]).all()):
        raise ValueError("knots must hold at least two strictly increasing values")
    tc = t.clamp(float(knots[0]), float(knots[-1]))  # (B,)
    j = (torch.bucketize(tc, knots, right=True) - 1).clamp(0, M - 2)  # (B,)  segment index
    lam = (tc - knots[j]) / (knots[j + 1] - knots[j])  # (B,)
    out = torch.zeros(t.shape[0], M, dtype=t.dtype)  # (B, M)
    out.scatter_(1, j.unsqueeze(1), (1 - lam).unsqueeze(1))
    out.scatter_add_(1, (j + 1).unsqueeze(1), lam.unsqueeze(1))
    return out


class GatedFM(nn.Module):
    """The notebook-31 idea: ŷ = FM(x) + Σ_m φ_m(t) · A[ℓ, m]  (φ = hat_basis at the knots).

    Each warmth level ℓ of an outfit gets its own piecewise-linear response to the
    feels-like temperature t (°C, from the numeric field), M heights A[ℓ] (L, M) learned
    with the FM.  Because it is keyed by a content field, a cold-start outfit gets it too.
    ``basis`` plugs in another hat_basis (a learner's).
    """

    knots: Tensor  # (M,) buffer, °C

    def __init__(
        self,
        layout: FieldLayout,
        k: int = 8,
        *,
        knots: list[float] | None = None,
        group_field: str = "warmth_level",
        seed: int | None = 0,
        basis: Callable[[Tensor, Tensor], Tensor] = hat_basis,
    ):
        super().__init__()
        if "feels" not in layout.numeric:
            raise ValueError("GatedFM needs the numeric 'feels' field in the encoding")
        self.base = ContextFM(layout, k, seed=seed)
        self.t_col, self.g_col = layout.col("feels"), layout.col(group_field)
        self.g_offset = layout.offsets[self.g_col]
        self.register_buffer(
            "knots", torch.tensor(knots or [-10.0, 0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 32.0])
        )
        self.A = nn.Embedding(layout.dims[self.g_col], len(self.knots))  # (L, M)
        nn.init.zeros_(self.A.weight)
        self.basis = basis

    def celsius(self, idx: Tensor) -> Tensor:
        """Feels-like temperature (B,) °C from the numeric field's codes."""
        off = self.base.layout.offsets[self.t_col]
        return NUMERIC_T0 + NUMERIC_STEP * (idx[:, self.t_col] - off).float()

    def gate(self, idx: Tensor) -> Tensor:
        phi = self.basis(self.celsius(idx), self.knots)  # (B, M)
        return (phi * self.A(idx[:, self.g_col] - self.g_offset)).sum(dim=1)  # (B,)

    def forward(self, idx: Tensor) -> Tensor:
        return self.base(idx) + self.gate(idx)  # (B,)

    def penalty(self, idx: Tensor) -> Tensor:
        return self.base.penalty(idx)


# ---------------------------------------------------------------- the capstone's own term (cap_7)


def offset_gate(
    t: Tensor, user: Tensor, level: Tensor, delta: Tensor, A: Tensor, knots: Tensor
) -> Tensor:
    """Task cap_7: the per-user offset gate g_ℓ(t + δ_u) = Σ_m φ_m(t + δ_u) A[ℓ, m], (B,).

    t (B,) feels-like °C, user (B,) long, level (B,) long warmth level of the outfit, delta (U,)
    each user's offset in °C, A (L, M) the heights at the knots, knots (M,) increasing.  Each
    user feels the temperature shifted by δ_u: the shift goes inside the gate, before
    ``hat_basis`` clamps to [κ_0, κ_{M−1}] (a cold day shifted into the knots is inside them).
    """
    for name, x in (("t", t), ("delta", delta), ("knots", knots)):
        expect_tensor(name, x, ndim=1, floating=True)
    expect_tensor("user", user, ndim=1, integer=True)
    expect_tensor("level", level, ndim=1, integer=True)
    expect_tensor("A", A, ndim=2, floating=True)
    if A.shape[1] != knots.shape[0]:
        raise ValueError(
            f"A must have one column per knot, (L, {knots.shape[0]}); got {tuple(A.shape)}"
        )
    phi = hat_basis(t + delta[user], knots)  # (B, M)
    return (phi * A[level]).sum(dim=1)  # (B,)


class OffsetGatedFM(GatedFM):
    """The capstone's own model: ŷ = FM(x) + g_ℓ(t + δ_u), ``GatedFM`` with a learned offset per user.

    δ (U,) starts at 0 (the gate of ``GatedFM``) and is learned with the rest, stored as δ / 10
    like the numeric field's x = t / 10 (Adagrad's steps are then about as large in °C as the
    gate's in heights; stored in °C, δ moves ten times slower); ``gate_fn`` plugs
    in another ``offset_gate`` (a learner's, task cap_7).  A cold-sensitive user's δ_u < 0:
    every temperature feels colder to them.
    """

    def __init__(
        self,
        layout: FieldLayout,
        k: int = 8,
        *,
        knots: list[float] | None = None,
        seed: int | None = 0,
        gate_fn: Callable[..., Tensor] = offset_gate,
    ):
        super().__init__(layout, k, knots=knots, seed=seed)
        self.u_col = layout.col("user")
        self.u_offset = layout.offsets[self.u_col]
        self.delta = nn.Embedding(layout.dims[self.u_col], 1)  # (U, 1) δ_u / 10 (tens of °C)
        nn.init.zeros_(self.delta.weight)
        self.gate_fn = gate_fn

    def gate(self, idx: Tensor) -> Tensor:
        user = idx[:, self.u_col] - self.u_offset  # (B,)
        level = idx[:, self.g_col] - self.g_offset  # (B,)
        delta = NUMERIC_SCALE * self.delta.weight[:, 0]  # (U,) °C
        return self.gate_fn(self.celsius(idx), user, level, delta, self.A.weight, self.knots)

    def offsets(self) -> Tensor:
        """The learned δ_u (U,) in °C."""
        return (NUMERIC_SCALE * self.delta.weight[:, 0]).detach()  # (U,)
