"""Capstone task cap_5: the logloss stratified by temperature band.

Misconceptions: the overall mean or sums instead of per-band means, a global denominator, an
empty band as 0, no clipping, the band's mean prediction scored.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ....context_fm import stratified_logloss
from ...engine.spec import Case, Exercise, Misconception
from .._generators import (
    BATCH_OF_ONE,
    CONFIDENTLY_WRONG,
    SMALLEST,
    UNUSED_LAST_INDEX,
    confidently_wrong,
    gen,
)
from . import NB30


def _strat_cases(seed: int) -> list[Case]:
    g = gen(seed)

    def case(N: int, n_bands: int, skip: int | None = None):
        band = torch.randint(0, n_bands, (N,), generator=g)
        if skip is not None:
            band[band == skip] = (skip + 1) % n_bands
        p = torch.rand(N, generator=g, dtype=torch.float64) * 0.98 + 0.01
        y = (torch.rand(N, generator=g, dtype=torch.float64) < p).double()
        return y, p, band, n_bands

    y, p, band, _ = case(6, 2)
    p[0], y[0], p[1], y[1] = 1.0, 1.0, 0.0, 0.0  # certain and right: loss 0, not NaN
    y1, p1, _, _ = case(9, 4)
    band1 = torch.tensor([0, 1, 0, 1, 2, 0, 1, 0, 1])  # band 2: one event; band 3, the last: none
    y2, p2, band2, _ = case(10, 3)
    y2, p2 = confidently_wrong(y2, p2)  # p = 1 for a 0, p = 0 for a 1: only the stated clip fits
    y3, p3, _, _ = case(1, 1)
    return [
        Case("200 events, 5 temperature bands", case(200, 5)),
        Case("a band with no event", case(40, 4, skip=2)),
        Case("unequal bands", case(30, 3)),
        Case("p = 0 and p = 1 on the right labels", (y, p, band, 2)),
        Case("one band", case(12, 1)),
        Case("a band of one event, the last band empty", (y1, p1, band1, 4)),
        Case("p = 1 for a non-click, p = 0 for a click", (y2, p2, band2, 3)),
        Case("one event", (y3, p3, torch.zeros(1, dtype=torch.long), 1)),
    ]


def _strat_loss(y: Tensor, p: Tensor) -> Tensor:
    q = p.clamp(1e-15, 1 - 1e-15)
    return -(y * q.log() + (1 - y) * (-q).log1p())


def _strat_overall(y, p, band, n_bands):
    return _strat_loss(y, p).mean().expand(n_bands).clone()


def _strat_sum(y, p, band, n_bands):
    return torch.zeros(n_bands, dtype=p.dtype).index_add_(0, band, _strat_loss(y, p))


def _strat_empty_zero(y, p, band, n_bands):
    return torch.nan_to_num(stratified_logloss(y, p, band, n_bands), nan=0.0)


def _strat_global_denominator(y, p, band, n_bands):
    return _strat_sum(y, p, band, n_bands) / len(y)


def _strat_mean_p(y, p, band, n_bands):  # the band's mean prediction scored on every row
    count = torch.bincount(band, minlength=n_bands).to(p.dtype)
    p_bar = (torch.zeros(n_bands, dtype=p.dtype).index_add_(0, band, p) / count)[band]  # (N,)
    out = torch.zeros(n_bands, dtype=p.dtype).index_add_(0, band, _strat_loss(y, p_bar))
    return torch.where(count > 0, out / count, torch.full_like(out, float("nan")))


def _strat_clipped_at(eps: float):
    def clipped(y, p, band, n_bands):
        q = p.clamp(eps, 1 - eps)
        loss = -(y * q.log() + (1 - y) * (1 - q).log())
        out = torch.zeros(n_bands, dtype=p.dtype).index_add_(0, band, loss)
        count = torch.bincount(band, minlength=n_bands).to(p.dtype)
        return torch.where(count > 0, out / count, torch.full_like(out, float("nan")))

    return clipped


def _strat_bce(y, p, band, n_bands):  # F.binary_cross_entropy: each log clamped at −100
    loss = -(y * p.log().clamp(min=-100) + (1 - y) * (1 - p).log().clamp(min=-100))
    out = torch.zeros(n_bands, dtype=p.dtype).index_add_(0, band, loss)
    count = torch.bincount(band, minlength=n_bands).to(p.dtype)
    return torch.where(count > 0, out / count, torch.full_like(out, float("nan")))


def _strat_no_clip(y, p, band, n_bands):
    loss = -(y * p.log() + (1 - y) * (1 - p).log())
    out = torch.zeros(n_bands, dtype=p.dtype).index_add_(0, band, loss)
    count = torch.bincount(band, minlength=n_bands).to(p.dtype)
    return torch.where(count > 0, out / count, torch.full_like(out, float("nan")))


EXERCISES = [
    Exercise(
        task_id="cap_5",
        title="logloss stratified by temperature band",
        notebook=NB30,
        func_name="stratified_logloss",
        reference=stratified_logloss,
        make_cases=_strat_cases,
        equation="LL_b = −(1/N_b) Σ_{n: band_n = b} [y log p + (1 − y) log(1 − p)]",
        edges=(
            (UNUSED_LAST_INDEX, "band", "n_bands"),
            (CONFIDENTLY_WRONG, "y", "p"),
            (BATCH_OF_ONE, "y:0"),
            (SMALLEST, "n_bands=1"),
        ),
        misconceptions=(
            Misconception(
                "overall mean",
                _strat_overall,
                "you returned the overall logloss for every band; each band's mean is over "
                "its own rows only",
            ),
            Misconception(
                "sum, not mean",
                _strat_sum,
                "you summed the losses of each band; divide by the band's number of rows, "
                "N_b, so bands of different sizes compare",
            ),
            Misconception(
                "global denominator",
                _strat_global_denominator,
                "you divided each band's sum by all N rows; the mean is over the band's own "
                "N_b rows",
            ),
            Misconception(
                "empty band as 0",
                _strat_empty_zero,
                "an empty band has no logloss: return NaN, not 0 (a 0 reads as a perfect model)",
            ),
            Misconception(
                "no clipping",
                _strat_no_clip,
                "p = 0 or 1 gives 0 · log 0 = NaN; clip p to [1e-15, 1 − 1e-15] as "
                "ctr_metrics.logloss does",
            ),
            Misconception(
                "clip at 1e-7",
                _strat_clipped_at(1e-7),
                "a certain and wrong prediction (p = 1 for a 0) scores −log 1e-7 = 16.1 in your "
                "result: you clipped p at 1e-7; the statement clips to [1e-15, 1 − 1e-15] "
                "(a loss of 34.5)",
            ),
            Misconception(
                "log clamped at −100",
                _strat_bce,
                "a certain and wrong prediction (p = 1 for a 0) scores 100 in your result: "
                "F.binary_cross_entropy clamps each log at −100 instead of clipping p; clip p to "
                "[1e-15, 1 − 1e-15] as the statement says (a loss of 34.5)",
            ),
            Misconception(
                "mean p per band",
                _strat_mean_p,
                "you scored the band's mean prediction on every row; the logloss averages each "
                "row's own loss, −(1/N_b) Σ [y_n log p_n + (1 − y_n) log(1 − p_n)]",
            ),
        ),
    ),
]
