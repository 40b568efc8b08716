"""Context-aware FM/FFM for "what to wear today": fields user × item × context, a ranker, explanations.

Rendle, *Factorization Machines*, ICDM 2010, eq. (1), on the fields of
``recsys_ref.data.outfits``; the maths is ``recsys_ref.fm`` (Lemma 3.1 via
``pairwise_from_embeddings``) and ``recsys_ref.ffm`` — no second FM here.  What this
module adds:

- **Fields.**  User (id, gender, age band, cold sensitivity, style), item (id and
  content: warmth level, style, category, rain-proof, bottom) and context (region,
  month, hour bucket, feels-like bucket, rain).  ``encode`` turns events into label
  codes ``idx`` (B, F) with per-field offsets (notebook 20) and returns a ``CTRData``,
  so ``recsys_ref.train_ctr`` trains every model here.
- **A numeric field.**  Feels-like temperature can also enter as one feature with
  value x = t / 10 (eq. 1 with a non-binary x_i: its vector is scaled by x).  Its
  codes are the temperature rounded to 0.5 °C; ``ContextFM`` maps a code to its value
  and to the field's single row of V.  Buckets and the numeric form can be compared.
- **Explanation.**  ``pair_contributions`` splits the logit into w0, the linear terms
  (B, F) and the field-pair terms ⟨v_a x_a, v_b x_b⟩ (B, F, F); they sum to the logit.
- **Ranking.**  ``top_k_outfits`` (task cap_4) ranks the catalogue for one context and
  leaves out what the user wore in the last days (the notebook's rule);
  ``rank_for_context`` / ``rank_for_day`` score the catalogue for one (user, context) or
  (user, day, hour) of the data's weather and return the top K with their idx rows
  (``top_pairs`` explains them).
- **The own-idea model** of notebook 31: ``hat_basis`` (task cap_6) and ``GatedFM``,
  a piecewise-linear response of each warmth level to the feels-like temperature,
  added to the FM's logit.

Letters: B batch, F fields, k latent size, n features, M knots, L warmth levels.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from ._checks import expect_tensor
from .data.ctr import CTRData
from .data.encoding import field_offsets
from .data.outfits import OutfitData, Outfits, Users
from .fm import FM, pairwise_from_embeddings

FEELS_EDGES = [
    -5.0,
    0.0,
    5.0,
    10.0,
    15.0,
    20.0,
    25.0,
    30.0,
]  # °C, bucket b holds edges[b-1] ≤ t < edges[b]
HOUR_EDGES = [9, 12, 15, 18, 21]  # 6–8 commute, 9–11, 12–14, 15–17, 18–20, 21–23
USER_FIELDS = ["user", "gender", "age_band", "cold", "user_style"]
ITEM_FIELDS = ["item", "warmth_level", "item_style", "category", "rain_ok", "bottom"]
CONTEXT_FIELDS = ["region", "month", "hour", "feels_bucket", "rain"]
NUMERIC_T0, NUMERIC_STEP, NUMERIC_CODES = -30.0, 0.5, 151  # codes cover −30 … 45 °C
NUMERIC_SCALE = 10.0  # x = t / 10: values of order one, like the binary features


def bucketize(t: Tensor, edges: Tensor) -> Tensor:
    """Bucket codes (task cap_3): code b = number of edges ≤ t, so t < edges[0] → 0 and t ≥ edges[-1] → len(edges).

    t (N,) float, edges (E,) increasing float → (N,) long in [0, E].  A value exactly on an
    edge belongs to the bucket above it ([edges[b-1], edges[b])), every bucket its own code.
    """
    expect_tensor("t", t, floating=True)
    expect_tensor("edges", edges, ndim=1, floating=True)
    if edges.numel() > 1 and not bool((edges[1:] > edges[:-1]).all()):
        raise ValueError("edges must be strictly increasing")
    return torch.bucketize(t.contiguous(), edges, right=True)


def cyclic_features(value: Tensor, period: float) -> Tensor:
    """Cyclic encoding (task cap_2): value (N,) → (N, 2) [sin 2πv/P, cos 2πv/P].

    23 h and 0 h (period 24) are neighbours on the circle, as are December and January
    (period 12, months 1..12).  Radians, and the full period P (not P − 1).
    """
    expect_tensor("value", value, floating=True)
    angle = 2 * torch.pi * value / period  # (N,)
    return torch.stack([torch.sin(angle), torch.cos(angle)], dim=-1)  # (N, 2)


@dataclass
class FieldLayout:
    """Field names, sizes and offsets of an encoding; numeric fields with their code → value table."""

    names: list[str]
    dims: list[int]
    numeric: dict[str, Tensor] = field(default_factory=dict)  # name → (codes,) value x of each code

    @property
    def offsets(self) -> list[int]:
        return field_offsets(self.dims).tolist()

    @property
    def n_features(self) -> int:
        return int(sum(self.dims))

    def col(self, name: str) -> int:
        if name not in self.names:
            raise KeyError(f"no field {name!r}; the encoding has {', '.join(self.names)}")
        return self.names.index(name)


def _dims(users: Users, outfits: Outfits, n_regions: int) -> dict[str, int]:
    return {
        "user": len(users),
        "gender": 2,
        "age_band": 4,
        "cold": 3,
        "user_style": 3,
        "item": len(outfits),
        "warmth_level": 8,
        "item_style": 3,
        "category": 3,
        "rain_ok": 2,
        "bottom": 5,
        "region": n_regions,
        "month": 12,
        "hour": len(HOUR_EDGES) + 1,
        "feels_bucket": len(FEELS_EDGES) + 1,
        "rain": 2,
        "feels": NUMERIC_CODES,
        "hour_sin": 24,
        "hour_cos": 24,
        "month_sin": 12,
        "month_cos": 12,
    }


def feels_codes(feels: np.ndarray) -> np.ndarray:
    """The numeric field's codes: temperature rounded to 0.5 °C, clipped to −30 … 45 °C."""
    return np.clip(np.round((feels - NUMERIC_T0) / NUMERIC_STEP), 0, NUMERIC_CODES - 1).astype(
        np.int64
    )


def numeric_values() -> Tensor:
    """(codes,) x = t / 10 of every code of the numeric feels-like field."""
    return (
        NUMERIC_T0 + NUMERIC_STEP * torch.arange(NUMERIC_CODES, dtype=torch.float32)
    ) / NUMERIC_SCALE


def encode_rows(
    fields: list[str],
    users: Users,
    outfits: Outfits,
    n_regions: int,
    *,
    user,
    item,
    month,
    hour,
    feels,
    rain,
    cyclic: Callable[[Tensor, float], Tensor] | None = None,
) -> tuple[Tensor, FieldLayout]:
    """Label codes (N, F) with offsets for arrays of users, items and context (month 1..12, hour 0..23).

    ``hour_sin``, ``hour_cos``, ``month_sin``, ``month_cos`` are numeric fields: their code is the hour
    (0..23) or month − 1 (0..11), their value one column of ``cyclic(code, period)`` (task cap_2;
    ``cyclic_features`` by default).
    """
    user, item = np.asarray(user), np.asarray(item)
    n = max(len(np.atleast_1d(user)), len(np.atleast_1d(item)))

    def full(a):
        return np.array(np.broadcast_to(np.asarray(a), (n,)))  # a writable copy

    user, item = full(user), full(item)
    feels = full(np.asarray(feels, dtype=np.float64))
    columns = {
        "user": user,
        "gender": users.gender[user],
        "age_band": users.age_band[user],
        "cold": users.cold[user] + 1,
        "user_style": users.style[user],
        "item": item,
        "warmth_level": outfits.warmth_level[item],
        "item_style": outfits.style[item],
        "category": outfits.category[item],
        "rain_ok": outfits.rain_ok[item],
        "bottom": outfits.bottom[item],
        "region": users.region[user],
        "month": full(month) - 1,
        "hour": np.digitize(full(hour), HOUR_EDGES),
        "feels_bucket": bucketize(
            torch.from_numpy(feels), torch.tensor(FEELS_EDGES, dtype=torch.float64)
        ).numpy(),
        "rain": full(rain),
        "feels": feels_codes(feels),
        "hour_sin": full(hour),
        "hour_cos": full(hour),
        "month_sin": full(month) - 1,
        "month_cos": full(month) - 1,
    }
    unknown = [f for f in fields if f not in columns]
    if unknown:
        raise KeyError(f"unknown fields {unknown}; choose from {', '.join(columns)}")
    all_dims = _dims(users, outfits, n_regions)
    dims = [all_dims[f] for f in fields]
    codes = torch.from_numpy(
        np.stack([np.asarray(columns[f], dtype=np.int64) for f in fields], axis=1)
    )  # (N, F)
    tables = {"feels": numeric_values()} if "feels" in fields else {}
    for name, period in (("hour", 24), ("month", 12)):
        if f"{name}_sin" in fields or f"{name}_cos" in fields:
            code = torch.arange(period, dtype=torch.float64)  # (P,)
            v = (cyclic or cyclic_features)(code, float(period)).float()  # (P, 2) sin, cos
            tables[f"{name}_sin"], tables[f"{name}_cos"] = v[:, 0], v[:, 1]
    numeric = {f: tables[f] for f in fields if f in tables}
    layout = FieldLayout(list(fields), dims, numeric)
    return codes + field_offsets(dims), layout


def encode(
    data: OutfitData,
    fields: list[str],
    cyclic: Callable[[Tensor, float], Tensor] | None = None,
) -> tuple[CTRData, FieldLayout]:
    """Events → ``CTRData`` (idx (N, F), y, p_true) for ``train_ctr``, and the layout."""
    idx, layout = encode_rows(
        fields,
        data.users,
        data.outfits,
        len(data.weather.regions),
        user=data.user,
        item=data.item,
        month=data.month,
        hour=data.hour,
        feels=data.feels,
        rain=data.rain,
        cyclic=cyclic,
    )
    return CTRData(
        idx,
        torch.from_numpy(data.y.astype(np.float32)),
        torch.from_numpy(data.p_true),
        layout.names,
        layout.dims,
    ), layout


class ContextFM(nn.Module):
    """FM (eq. 1) over a ``FieldLayout``, numeric fields included: idx (B, F) → logits (B,).

    The weights are a ``recsys_ref.fm.FM``'s (``self.fm``); a numeric field uses the
    first row of its block for every code, scaled by the code's value x.
    """

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


def pair_contributions(model: nn.Module, idx: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The logit split into w0 (), linear terms (B, F) and field-pair terms (B, F, F) (upper triangle).

    For ``ContextFM``: pair (a, b) is ⟨x_a v_a, x_b v_b⟩; for ``recsys_ref.ffm.FFM``:
    ⟨w_{j_a, b}, w_{j_b, a}⟩.  w0 + lin.sum(1) + pairs.sum((1, 2)) equals the logit.
    """
    with torch.no_grad():
        if isinstance(model, ContextFM):
            e, lin = model.parts(idx)  # (B, F, k), (B, F)
            P = e @ e.transpose(1, 2)  # (B, F, F)
            return model.fm.w0.detach(), lin, torch.triu(P, diagonal=1)
        if hasattr(model, "weight_table"):  # FFM
            E = model.weight_table[idx]  # (B, F, F, k)  E[b, a, c] = w_{j_a, c}
            P = (E * E.transpose(1, 2)).sum(dim=3)  # (B, F, F)
            return model.w0.detach(), model.w(idx).squeeze(2), torch.triu(P, diagonal=1)
    raise TypeError(
        f"pair_contributions explains ContextFM or FFM models, got {type(model).__name__}"
    )


def top_pairs(
    model: nn.Module, idx: Tensor, names: list[str], n: int = 3
) -> list[list[tuple[str, float]]]:
    """For each row of idx (B, F): the ``n`` field pairs with the largest |contribution|, as ("a × b", value)."""
    _, _, P = pair_contributions(model, idx)
    F_ = P.shape[1]
    a, b = torch.triu_indices(F_, F_, offset=1)
    flat = P[:, a, b]  # (B, F(F-1)/2)
    order = flat.abs().argsort(dim=1, descending=True)[:, :n]
    return [
        [(f"{names[a[j]]} × {names[b[j]]}", float(flat[r, j])) for j in order[r]]
        for r in range(idx.shape[0])
    ]


def top_k_outfits(scores: Tensor, worn: Tensor, k: int) -> Tensor:
    """Task cap_4: the k best outfits per user, leaving out those worn within the window.

    scores (U, M) float, worn (U, M) bool (True = worn in the last days), k ≤ the number
    of unworn items of every row → (U, k) long item indices, highest score first; ties go
    to the lower index.  Worn items are set to −∞, not to 0: scores are logits and may be
    negative.  Re-wearing an older outfit is fine; only the recent ones are left out.
    """
    expect_tensor("scores", scores, ndim=2, floating=True)
    expect_tensor("worn", worn, ndim=2)
    if worn.shape != scores.shape or worn.dtype != torch.bool:
        raise ValueError(f"worn must be a bool tensor of the scores' shape {tuple(scores.shape)}")
    free = (~worn).sum(dim=1)
    if k > int(free.min()):
        raise ValueError(f"k = {k} but a user has only {int(free.min())} outfits not worn recently")
    masked = scores.masked_fill(worn, float("-inf"))  # (U, M)
    M = scores.shape[1]
    # stable descending sort: ties keep the lower index first
    order = torch.sort(masked, dim=1, descending=True, stable=True).indices  # (U, M)
    return order[:, :k] if M else order


def stratified_logloss(y: Tensor, p: Tensor, band: Tensor, n_bands: int) -> Tensor:
    """Task cap_5: the logloss within each band (e.g. temperature band): (n_bands,), NaN for an empty band.

    y (N,) 0/1 float, p (N,) probabilities, band (N,) long in [0, n_bands).  p is clipped to
    [1e-15, 1 − 1e-15] as in ``recsys_ref.ctr_metrics.logloss``; each band's mean is over its own rows.
    """
    expect_tensor("y", y, ndim=1, floating=True)
    expect_tensor("p", p, ndim=1, floating=True)
    expect_tensor("band", band, ndim=1, integer=True)
    q = p.clamp(1e-15, 1 - 1e-15)
    loss = -(y * q.log() + (1 - y) * (-q).log1p())  # (N,)
    total = torch.zeros(n_bands, dtype=loss.dtype).index_add_(0, band, loss)  # (n_bands,)
    count = torch.zeros(n_bands, dtype=loss.dtype).index_add_(0, band, torch.ones_like(loss))
    return torch.where(count > 0, total / count.clamp(min=1), torch.full_like(total, float("nan")))


# ---------------------------------------------------------------- the own-idea model (notebook 31)


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

    def __init__(
        self,
        layout: FieldLayout,
        k: int = 8,
        *,
        knots: list[float] | None = None,
        group_field: str = "warmth_level",
        seed: int | None = 0,
        basis=hat_basis,
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


def context_rows(
    data: OutfitData,
    fields: list[str],
    *,
    user: int,
    month: int,
    hour: int,
    feels: float,
    rain: int = 0,
    region: int | None = None,
) -> Tensor:
    """The encoded rows (M, F) of every outfit for one (user, month, hour, feels-like, rain).

    ``region`` overrides the user's region (the "same person in Busan" question).
    """
    M = len(data.outfits)
    users = data.users
    if region is not None:
        users = Users(
            users.gender.copy(),
            users.age_band.copy(),
            users.region.copy(),
            users.cold.copy(),
            users.style.copy(),
        )
        users.region[user] = region
    idx, _ = encode_rows(
        fields,
        users,
        data.outfits,
        len(data.weather.regions),
        user=np.full(M, user),
        item=np.arange(M),
        month=month,
        hour=hour,
        feels=feels,
        rain=rain,
    )
    return idx


def rank_for_context(
    model: nn.Module,
    data: OutfitData,
    fields: list[str],
    *,
    user: int,
    month: int,
    hour: int,
    feels: float,
    rain: int = 0,
    worn: Tensor | None = None,
    k: int = 3,
    region: int | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Score every outfit for one (user, month, hour, feels-like, rain): (top-k items, their scores, idx rows).

    ``region`` overrides the user's region (the "same person in Busan" question); ``worn``
    (M,) bool leaves out recently worn outfits (``top_k_outfits``).
    """
    M = len(data.outfits)
    idx = context_rows(
        data, fields, user=user, month=month, hour=hour, feels=feels, rain=rain, region=region
    )
    was = model.training
    model.eval()
    with torch.no_grad():
        scores = model(idx)  # (M,)
    model.train(was)
    worn = torch.zeros(M, dtype=torch.bool) if worn is None else worn
    top = top_k_outfits(scores.unsqueeze(0), worn.unsqueeze(0), k)[0]
    return top, scores[top], idx[top]


def contrastive_pairs(
    model: nn.Module,
    candidates: Tensor,
    row: int,
    names: list[str],
    n: int = 3,
    sides: tuple[list[str], list[str]] | None = None,
) -> list[tuple[str, float]]:
    """Why candidate ``row`` rather than the others in the same context.

    ``candidates`` (M, F) are the rows of every outfit in one context (``context_rows``).  Each field
    pair's term of eq. 1 is taken against its mean over the candidates: a pair that is the same for
    every candidate (user × context, user × user) contrasts to exactly 0, so what remains is what
    sets this outfit apart today.  ``sides = (A, B)`` keeps only the pairs with one field in A and
    the other in B (e.g. outfit fields × context fields).  Returns the ``n`` pairs with the largest
    |contrast|, as ("a × b", value); the contrasts of all pairs sum to the logit minus the mean
    logit of the candidates, less the linear terms' share.
    """
    _, _, P = pair_contributions(model, candidates)  # (M, F, F) upper triangle
    diff = P[row] - P.mean(dim=0)  # (F, F)
    F_ = diff.shape[0]
    a, b = torch.triu_indices(F_, F_, offset=1)
    keep = torch.ones(a.shape[0], dtype=torch.bool)
    if sides is not None:
        A, B = set(sides[0]), set(sides[1])
        keep = torch.tensor(
            [
                (names[i] in A and names[j] in B) or (names[i] in B and names[j] in A)
                for i, j in zip(a.tolist(), b.tolist())
            ]
        )
    a, b = a[keep], b[keep]
    flat = diff[a, b]  # (pairs,)
    order = flat.abs().argsort(descending=True)[:n]
    return [(f"{names[a[j]]} × {names[b[j]]}", float(flat[j])) for j in order]


def draw_outfit(ax, outfit_layers: dict[str, str], title: str = "") -> None:
    """An outfit as a picture: one matplotlib patch per layer, coloured by garment."""
    from matplotlib.patches import Circle, FancyBboxPatch, Polygon, Rectangle

    from .data.outfits import GARMENTS

    def colour(layer):
        return GARMENTS[outfit_layers[layer]][2]

    ax.set_xlim(0, 10)
    ax.set_ylim(0, 14)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.add_patch(Circle((5, 12.3), 1.0, fc="#f1d3b3", ec="#555"))  # head
    bottom = outfit_layers["bottom"]
    if bottom == "skirt":
        ax.add_patch(
            Polygon(
                [(3.6, 6.5), (6.4, 6.5), (7.2, 3.5), (2.8, 3.5)], fc=colour("bottom"), ec="#333"
            )
        )
    else:
        length = 2.2 if bottom == "shorts" else 5.0
        for x0 in (3.6, 5.1):
            ax.add_patch(Rectangle((x0, 6.5 - length), 1.3, length, fc=colour("bottom"), ec="#333"))
    outer = "outer" in outfit_layers
    long_outer = outer and outfit_layers["outer"] in ("trench coat", "wool coat", "padded coat")
    if outer:
        y0 = 4.2 if long_outer else 6.2
        ax.add_patch(
            FancyBboxPatch(
                (2.6, y0), 4.8, 11.0 - y0, boxstyle="round,pad=0.1", fc=colour("outer"), ec="#222"
            )
        )
    if "mid" in outfit_layers:
        ax.add_patch(Rectangle((3.3, 6.5), 3.4, 4.4, fc=colour("mid"), ec="#333"))
    top_w = 2.0 if ("mid" in outfit_layers) else 3.2
    ax.add_patch(Rectangle((5 - top_w / 2, 6.6), top_w, 4.2, fc=colour("top"), ec="#333"))
    if "accessory" in outfit_layers:
        if outfit_layers["accessory"] == "scarf":
            ax.add_patch(Rectangle((3.8, 10.6), 2.4, 0.7, fc=colour("accessory"), ec="#333"))
        else:
            ax.add_patch(
                FancyBboxPatch(
                    (4.0, 12.9),
                    2.0,
                    0.6,
                    boxstyle="round,pad=0.1",
                    fc=colour("accessory"),
                    ec="#333",
                )
            )
    if title:  # long garment lists wrap, so neighbouring titles do not overlap
        lines = [w for line in title.split("\n") for w in textwrap.wrap(line, 26)]
        ax.set_title("\n".join(lines), fontsize=7)


def try_idea(
    model: nn.Module,
    train: CTRData,
    val: CTRData,
    *,
    epochs: int = 4,
    lr: float = 0.05,
    seed: int = 0,
) -> dict[str, float | bool | str]:
    """The ungraded challenge's check: does ``model`` train, and what is its validation logloss?

    Returns {"trains": bool, "val_logloss": float, "message": str}; never raises for a
    broken model (the message says what went wrong).
    """
    from .train_ctr import train_ctr

    try:
        out = model(train.idx[:4])
        if not isinstance(out, Tensor) or out.shape != (4,):
            shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            return {
                "trains": False,
                "val_logloss": float("nan"),
                "message": f"forward must return logits (B,) for idx (B, F); got {shape} for B = 4",
            }
        if not any(p.requires_grad for p in model.parameters()):
            return {
                "trains": False,
                "val_logloss": float("nan"),
                "message": "the model has no trainable parameters",
            }
        h = train_ctr(model, train, val, epochs=epochs, lr=lr, seed=seed, progress=False)
    except Exception as err:  # the learner's model: report, do not crash the notebook
        return {
            "trains": False,
            "val_logloss": float("nan"),
            "message": f"training failed: {type(err).__name__}: {err}",
        }
    losses = h["loss"]
    ok = all(np.isfinite(losses)) and losses[-1] < losses[0]
    best = min(h["val_logloss"])
    msg = (
        f"trains: {'yes' if ok else 'no'} (training loss {losses[0]:.4f} → {losses[-1]:.4f}); "
        f"best validation logloss {best:.4f} (epoch {h.best_epoch})"
    )
    return {"trains": bool(ok), "val_logloss": float(best), "message": msg}


def rank_for_day(
    model: nn.Module,
    data: OutfitData,
    fields: list[str],
    *,
    user: int,
    day: int,
    hour: int,
    worn: Tensor | None = None,
    k: int = 3,
) -> tuple[Tensor, Tensor, Tensor]:
    """``rank_for_context`` for a (user, day, hour) of the data's weather: the context is looked up.

    day indexes ``data.weather.days``; the feels-like temperature is that hour's (the diurnal
    cycle and the KMA wind chill, as the events were made), in the user's region.
    """
    from .data.outfits import hour_temperature
    from .feels_like import feels_like

    w, r = data.weather, int(data.users.region[user])
    t_air = hour_temperature(w.t_mean[r, day], w.t_range[r, day], hour)
    feels = float(
        feels_like(
            torch.tensor([t_air], dtype=torch.float64),
            torch.tensor([w.wind_ms[r, day]], dtype=torch.float64),
        )[0]
    )
    return rank_for_context(
        model,
        data,
        fields,
        user=user,
        month=int(w.month[day]),
        hour=hour,
        feels=feels,
        rain=int(w.rain[r, day]),
        worn=worn,
        k=k,
    )
