"""Context fields for "what to wear today": users × outfits × context as label codes with offsets.

The encoding of notebook 20 on the fields of ``recsys_ref.data.outfits``: user (id, gender,
age band, cold sensitivity, style), item (id and content: warmth level, style, category,
rain-proof, bottom) and context (region, month, hour bucket, feels-like bucket, rain).
``encode`` turns events into label codes ``idx`` (B, F) with per-field offsets and returns a
``CTRData``, so ``recsys_ref.train_ctr`` trains every model of ``recsys_ref.context``.

Numeric fields: feels-like temperature can enter as one feature with value x = t / 10
(Rendle 2010, eq. 1 with a non-binary x_i: its vector is scaled by x); its codes are the
temperature rounded to 0.5 °C.  ``hour_sin`` … ``month_cos`` are the cyclic encoding (task
cap_2).  ``FieldLayout`` keeps each numeric field's code → value table.

Letters: N rows, F fields, E edges, P period.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import Tensor

from .._checks import expect_tensor
from ..data.ctr import CTRData
from ..data.encoding import field_offsets
from ..data.outfits import OutfitData, Outfits, Users

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
    user: ArrayLike,
    item: ArrayLike,
    month: ArrayLike,
    hour: ArrayLike,
    feels: ArrayLike,
    rain: ArrayLike,
    cyclic: Callable[[Tensor, float], Tensor] | None = None,
) -> tuple[Tensor, FieldLayout]:
    """Label codes (N, F) with offsets for arrays of users, items and context (month 1..12, hour 0..23).

    ``hour_sin``, ``hour_cos``, ``month_sin``, ``month_cos`` are numeric fields: their code is the hour
    (0..23) or month − 1 (0..11), their value one column of ``cyclic(code, period)`` (task cap_2;
    ``cyclic_features`` by default).
    """
    user, item = np.asarray(user), np.asarray(item)
    n = max(len(np.atleast_1d(user)), len(np.atleast_1d(item)))

    def full(a: ArrayLike) -> np.ndarray:
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
