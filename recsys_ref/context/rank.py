"""Ranking the catalogue for one context: top-K outfits with the recently worn ones left out.

``top_k_outfits`` (task cap_4) ranks per user; ``context_rows`` encodes every outfit for one
(user, month, hour, feels-like, rain); ``rank_for_context`` and ``rank_for_day`` score them and
return the top K with their idx rows (``recsys_ref.context.explain`` explains them).

Letters: U users, M outfits, F fields, K top.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from .._checks import expect_tensor
from ..data.outfits import OutfitData, Users
from .fields import encode_rows


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
    from ..data.outfits import hour_temperature
    from ..feels_like import feels_like

    w, r = data.weather, int(data.users.region[user])
    t_air = float(hour_temperature(w.t_mean[r, day], w.t_range[r, day], np.asarray(hour)))
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
