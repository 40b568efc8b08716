"""The capstone track's tasks cap_1 … cap_6 and concept questions (notebooks 30–31).

Feels-like temperature with its validity range (cap_1), context encodings — cyclic
(cap_2) and buckets (cap_3) —, top-K outfits per context with recently worn ones left
out (cap_4), the logloss stratified by band (cap_5), and the own-idea model's
piecewise-linear basis (cap_6).  Misconceptions named: wind in m/s, the formula above
10 °C or in calm air, the wind term's sign, degrees for radians, period P − 1, sine
alone, boundary on the wrong side, bucket collisions (ends merged, modulo wrap), evenly
spaced edges assumed, worn items masked to 0 or −1, ascending or index order, the
overall mean or sums instead of per-band means, the band's mean prediction scored, no
clamping, nearest knot, swapped weights, λ not divided by the segment width, evenly
spaced knots assumed.  (Float codes are the output contract's: ``dtype``.)
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ...context_fm import bucketize, cyclic_features, hat_basis, stratified_logloss, top_k_outfits
from ...feels_like import feels_like, wind_chill
from ..engine.questions import question
from ..engine.spec import Case, Exercise, Misconception

NB30, NB31 = "30_what_to_wear", "31_your_own_model"


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _uniform(g: torch.Generator, n: int, lo: float, hi: float) -> Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g, dtype=torch.float64)


def _f64(*values: float) -> Tensor:
    return torch.tensor(values, dtype=torch.float64)


# ---------------------------------------------------------------- cap_1 feels-like


def _feels_cases(seed: int) -> list[Case]:
    g = _gen(seed)
    # first case: every rule of the range shows (warm and windy, calm and cold, exactly 10 °C, 1.3–2.5 m/s)
    year = (
        torch.cat([_uniform(g, 8, -15, 30), _f64(15.0, -5.0, 10.0, -5.0, 0.0)]),
        torch.cat([_uniform(g, 8, 0, 10), _f64(5.0, 0.5, 5.0, 2.0, 1.4)]),
    )
    return [
        Case("a year of days", year),
        Case("winter days (T ≤ 10 °C, windy)", (_uniform(g, 8, -20, 10), _uniform(g, 8, 1.5, 12))),
        Case("mixed seasons", (_uniform(g, 12, -15, 35), _uniform(g, 12, 0, 10))),
        Case("warm, windy days (T > 10 °C)", (_uniform(g, 6, 10.5, 30), _uniform(g, 6, 3, 12))),
        Case("calm cold air (V < 4.8 km/h)", (_uniform(g, 5, -15, 5), _uniform(g, 5, 0, 1.2))),
        Case(
            "light wind 1.3–2.5 m/s (≥ 4.8 km/h, but < 4.8 in m/s)",
            (_uniform(g, 6, -15, 5), _uniform(g, 6, 1.4, 2.5)),
        ),
        Case(
            "on the boundaries (10 °C; 4.8 km/h)",
            (_f64(10.0, 10.0, -5.0, 10.0), _f64(5.0, 1.0, 4.8 / 3.6, 4.8 / 3.6)),
        ),
        Case("one day", (_f64(-8.0), _f64(3.0))),
    ]


def _feels_ms(T: Tensor, wind_ms: Tensor) -> Tensor:  # V in m/s in the formula and the threshold
    valid = (T <= 10) & (wind_ms >= 4.8)
    return torch.where(valid, wind_chill(T, wind_ms), T)


def _feels_ms_formula(
    T: Tensor, wind_ms: Tensor
) -> Tensor:  # converted for the test, not the formula
    valid = (T <= 10) & (wind_ms * 3.6 >= 4.8)
    return torch.where(valid, wind_chill(T, wind_ms), T)


def _feels_above_10(T: Tensor, wind_ms: Tensor) -> Tensor:
    V = wind_ms * 3.6
    return torch.where(V >= 4.8, wind_chill(T, V), T)


def _feels_calm(T: Tensor, wind_ms: Tensor) -> Tensor:
    return torch.where(T <= 10, wind_chill(T, wind_ms * 3.6), T)


def _feels_everywhere(T: Tensor, wind_ms: Tensor) -> Tensor:
    return wind_chill(T, wind_ms * 3.6)


def _feels_strict(T: Tensor, wind_ms: Tensor) -> Tensor:  # T < 10 instead of T ≤ 10
    V = wind_ms * 3.6
    return torch.where((T < 10) & (V >= 4.8), wind_chill(T, V), T)


def _feels_plus_wind(T: Tensor, wind_ms: Tensor) -> Tensor:  # + 11.37 V^0.16: the wind warms
    V = wind_ms * 3.6
    v = V.pow(0.16)
    return torch.where((T <= 10) & (V >= 4.8), 13.12 + 0.6215 * T + 11.37 * v + 0.3965 * T * v, T)


# ---------------------------------------------------------------- cap_2 cyclic


def _cyclic_cases(seed: int) -> list[Case]:
    g = _gen(seed)
    return [
        Case("hours 0..23", (torch.randint(0, 24, (10,), generator=g).double(), 24.0)),
        Case("23 h and 0 h", (_f64(23.0, 0.0, 12.0), 24.0)),
        Case("months 1..12", (torch.randint(1, 13, (8,), generator=g).double(), 12.0)),
        Case("fractional hours", (_uniform(g, 6, 0, 24), 24.0)),
        Case("one value", (_f64(6.0), 24.0)),
    ]


def _cyclic_degrees(value: Tensor, period: float) -> Tensor:
    a = 360.0 * value / period
    return torch.stack([torch.sin(a), torch.cos(a)], dim=-1)


def _cyclic_p_minus_1(value: Tensor, period: float) -> Tensor:
    a = 2 * math.pi * value / (period - 1)
    return torch.stack([torch.sin(a), torch.cos(a)], dim=-1)


def _cyclic_swapped(value: Tensor, period: float) -> Tensor:
    return cyclic_features(value, period).flip(-1)


def _cyclic_plain(value: Tensor, period: float) -> Tensor:
    return torch.stack([value / period, value / period], dim=-1)


def _cyclic_half(value: Tensor, period: float) -> Tensor:
    a = math.pi * value / period
    return torch.stack([torch.sin(a), torch.cos(a)], dim=-1)


def _cyclic_sin_only(value: Tensor, period: float) -> Tensor:  # one column, (N, 1)
    return torch.sin(2 * math.pi * value / period).unsqueeze(-1)


# ---------------------------------------------------------------- cap_3 buckets

EDGES = [-5.0, 0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0]


def _bucket_cases(seed: int) -> list[Case]:
    g = _gen(seed)
    e = _f64(*EDGES)
    return [
        Case("feels-like temperatures", (_uniform(g, 12, -12, 34), e)),
        Case("exactly on the edges", (_f64(*EDGES), e)),
        Case("below the first edge, above the last", (_f64(-20.0, -5.5, 30.0, 38.0), e)),
        Case("uneven edges", (_uniform(g, 10, -5, 25), _f64(-2.0, 3.0, 11.0, 23.0))),
        Case("one edge", (_f64(-1.0, 0.0, 1.0), _f64(0.0))),
    ]


def _bucket_left(t: Tensor, edges: Tensor) -> Tensor:
    return torch.bucketize(t, edges, right=False)


def _bucket_merged_ends(t: Tensor, edges: Tensor) -> Tensor:
    return bucketize(t, edges).clamp(1, len(edges) - 1) - 1


def _bucket_modulo(t: Tensor, edges: Tensor) -> Tensor:  # fixed width, wrapped into n buckets
    n = len(edges) + 1
    width = float(edges[1] - edges[0]) if len(edges) > 1 else 1.0
    return (torch.floor((t - edges[0]) / width).long() + 1) % n


def _bucket_no_lowest(t: Tensor, edges: Tensor) -> Tensor:  # codes 1..E, no code 0
    return bucketize(t, edges).clamp(min=1)


def _bucket_even_width(t: Tensor, edges: Tensor) -> Tensor:  # every bucket as wide as the first
    E = len(edges)
    width = float(edges[1] - edges[0]) if E > 1 else 1.0
    return (torch.floor((t - edges[0]) / width).long() + 1).clamp(0, E)


# ---------------------------------------------------------------- cap_4 top-K


def _topk_cases(seed: int) -> list[Case]:
    g = _gen(seed)

    def case(U: int, M: int, k: int, frac: float, shift: float = 0.0):
        scores = torch.randn(U, M, generator=g, dtype=torch.float64) + shift
        worn = torch.rand(U, M, generator=g) < frac
        for u in range(U):  # a worn best item in every row, so leaving it out matters
            best = int(scores[u].argmax())
            worn[u, best] = True
            extra = [i for i in torch.nonzero(worn[u]).flatten().tolist() if i != best]
            while int((~worn[u]).sum()) < k:  # leave at least k outfits to recommend
                worn[u, extra.pop()] = False
        return scores, worn, k

    s, w, _ = case(2, 6, 3, 0.0, shift=-3.0)
    s = -0.5 + 0.4 * torch.tanh(
        s + 3.0
    )  # scores in (−1, 0): a mask of 0 is chosen, a mask of −1 is not
    w[:] = False
    w[:, :2] = True
    return [
        Case("8 users, 20 outfits, k = 5", case(8, 20, 5, 0.2)),
        Case("all scores negative (logits)", case(4, 10, 4, 0.3, shift=-4.0)),
        Case("one user", case(1, 12, 3, 0.25)),
        Case("k = 1", case(5, 8, 1, 0.3)),
        Case("nothing worn but the best", case(3, 9, 4, 0.0)),
        Case("k = every unworn outfit", (s, w, 4)),
    ]


def _topk_no_exclusion(scores: Tensor, worn: Tensor, k: int) -> Tensor:
    return torch.topk(scores, k, dim=1).indices


def _topk_mask_zero(scores: Tensor, worn: Tensor, k: int) -> Tensor:
    return torch.topk(scores.masked_fill(worn, 0.0), k, dim=1).indices


def _topk_ascending(scores: Tensor, worn: Tensor, k: int) -> Tensor:
    return torch.topk(scores.masked_fill(worn, float("inf")), k, dim=1, largest=False).indices


def _topk_index_order(scores: Tensor, worn: Tensor, k: int) -> Tensor:
    return top_k_outfits(scores, worn, k).sort(dim=1).values


def _topk_keep_only_worn(scores: Tensor, worn: Tensor, k: int) -> Tensor:  # mask inverted
    return torch.topk(scores.masked_fill(~worn, float("-inf")), k, dim=1).indices


def _topk_mask_minus_one(
    scores: Tensor, worn: Tensor, k: int
) -> Tensor:  # a "small enough" constant
    return torch.topk(scores.masked_fill(worn, -1.0), k, dim=1).indices


# ---------------------------------------------------------------- cap_5 stratified logloss


def _strat_cases(seed: int) -> list[Case]:
    g = _gen(seed)

    def case(N: int, n_bands: int, skip: int | None = None):
        band = torch.randint(0, n_bands, (N,), generator=g)
        if skip is not None:
            band[band == skip] = (skip + 1) % n_bands
        p = torch.rand(N, generator=g, dtype=torch.float64) * 0.98 + 0.01
        y = (torch.rand(N, generator=g, dtype=torch.float64) < p).double()
        return y, p, band, n_bands

    y, p, band, _ = case(6, 2)
    p[0], y[0], p[1], y[1] = 1.0, 1.0, 0.0, 0.0  # certain and right: loss 0, not NaN
    return [
        Case("200 events, 5 temperature bands", case(200, 5)),
        Case("a band with no event", case(40, 4, skip=2)),
        Case("unequal bands", case(30, 3)),
        Case("p = 0 and p = 1 on the right labels", (y, p, band, 2)),
        Case("one band", case(12, 1)),
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


def _strat_no_clip(y, p, band, n_bands):
    loss = -(y * p.log() + (1 - y) * (1 - p).log())
    out = torch.zeros(n_bands, dtype=p.dtype).index_add_(0, band, loss)
    count = torch.bincount(band, minlength=n_bands).to(p.dtype)
    return torch.where(count > 0, out / count, torch.full_like(out, float("nan")))


# ---------------------------------------------------------------- cap_6 hat basis


def _hat_cases(seed: int) -> list[Case]:
    g = _gen(seed)
    even = _f64(-10.0, 0.0, 10.0, 20.0, 30.0)
    uneven = _f64(-10.0, 0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 32.0)
    return [
        Case("uneven knots, temperatures inside", (_uniform(g, 10, -9, 31), uneven)),
        Case("evenly spaced knots", (_uniform(g, 8, -10, 30), even)),
        Case("outside the knots (clamped)", (_f64(-25.0, -10.0, 32.0, 40.0), uneven)),
        Case("exactly on knots", (_f64(-10.0, 0.0, 5.0, 25.0), uneven)),
        Case("two knots", (_uniform(g, 5, -5, 15), _f64(0.0, 10.0))),
    ]


def _hat_no_clamp(t: Tensor, knots: Tensor) -> Tensor:  # linear extrapolation of the end segments
    M = knots.shape[0]
    j = (torch.bucketize(t, knots, right=True) - 1).clamp(0, M - 2)
    lam = (t - knots[j]) / (knots[j + 1] - knots[j])
    out = torch.zeros(t.shape[0], M, dtype=t.dtype)
    out.scatter_(1, j.unsqueeze(1), (1 - lam).unsqueeze(1))
    return out.scatter_add_(1, (j + 1).unsqueeze(1), lam.unsqueeze(1))


def _hat_nearest(t: Tensor, knots: Tensor) -> Tensor:
    j = (t.unsqueeze(1) - knots).abs().argmin(dim=1)
    return torch.nn.functional.one_hot(j, knots.shape[0]).to(t.dtype)


def _hat_swapped(t: Tensor, knots: Tensor) -> Tensor:
    B = hat_basis(t, knots)
    M = knots.shape[0]
    tc = t.clamp(float(knots[0]), float(knots[-1]))
    j = (torch.bucketize(tc, knots, right=True) - 1).clamp(0, M - 2)
    lam = (tc - knots[j]) / (knots[j + 1] - knots[j])
    out = torch.zeros_like(B)
    out.scatter_(1, j.unsqueeze(1), lam.unsqueeze(1))
    return out.scatter_add_(1, (j + 1).unsqueeze(1), (1 - lam).unsqueeze(1))


def _hat_even(t: Tensor, knots: Tensor) -> Tensor:  # assumes knots[j] = knots[0] + j·h
    M = knots.shape[0]
    h = float(knots[1] - knots[0])
    pos = ((t - knots[0]) / h).clamp(0, M - 1)
    j = pos.floor().long().clamp(0, M - 2)
    lam = pos - j
    out = torch.zeros(t.shape[0], M, dtype=t.dtype)
    out.scatter_(1, j.unsqueeze(1), (1 - lam).unsqueeze(1))
    return out.scatter_add_(1, (j + 1).unsqueeze(1), lam.unsqueeze(1))


def _hat_unnormalised(t: Tensor, knots: Tensor) -> Tensor:  # λ = t − κ_j, not divided by the width
    M = knots.shape[0]
    tc = t.clamp(float(knots[0]), float(knots[-1]))
    j = (torch.bucketize(tc, knots, right=True) - 1).clamp(0, M - 2)
    lam = tc - knots[j]
    out = torch.zeros(t.shape[0], M, dtype=t.dtype)
    out.scatter_(1, j.unsqueeze(1), (1 - lam).unsqueeze(1))
    return out.scatter_add_(1, (j + 1).unsqueeze(1), lam.unsqueeze(1))


def _hat_left_only(t: Tensor, knots: Tensor) -> Tensor:  # weight 1 on the knot at or below (a step)
    M = knots.shape[0]
    tc = t.clamp(float(knots[0]), float(knots[-1]))
    j = (torch.bucketize(tc, knots, right=True) - 1).clamp(0, M - 1)
    return torch.nn.functional.one_hot(j, M).to(t.dtype)


# ---------------------------------------------------------------- the specs

EXERCISES = [
    Exercise(
        task_id="cap_1",
        title="feels-like temperature (KMA wind chill) and its validity range",
        notebook=NB30,
        func_name="feels_like",
        reference=feels_like,
        make_cases=_feels_cases,
        equation="T_wc = 13.12 + 0.6215 T − 11.37 V^0.16 + 0.3965 T V^0.16, V km/h, T ≤ 10 °C, V ≥ 4.8 km/h",
        misconceptions=(
            Misconception(
                "V in m/s",
                _feels_ms,
                "you used the wind in m/s: the formula and its 4.8 threshold are in km/h at "
                "10 m; convert first, V = 3.6 · wind_ms",
            ),
            Misconception(
                "V in m/s in the formula",
                _feels_ms_formula,
                "your validity test converts the wind but the formula gets m/s; V^0.16 needs "
                "km/h too: V = 3.6 · wind_ms",
            ),
            Misconception(
                "applied above 10 °C",
                _feels_above_10,
                "you applied the wind chill above 10 °C; it is defined for T ≤ 10 °C only, "
                "elsewhere the feels-like temperature is the air temperature",
            ),
            Misconception(
                "applied in calm air",
                _feels_calm,
                "you applied the wind chill in calm air; it is defined for V ≥ 4.8 km/h "
                "(1.3 m/s) only, below that the air temperature is returned",
            ),
            Misconception(
                "applied everywhere",
                _feels_everywhere,
                "you applied the formula everywhere; it holds only for T ≤ 10 °C and "
                "V ≥ 4.8 km/h, elsewhere return the air temperature",
            ),
            Misconception(
                "T < 10 strict",
                _feels_strict,
                "at exactly 10 °C the formula still applies: the range is T ≤ 10 °C",
            ),
            Misconception(
                "+ 11.37 V^0.16",
                _feels_plus_wind,
                "your wind term has the wrong sign: the formula subtracts 11.37 V^0.16 (wind "
                "makes it feel colder), T_wc = 13.12 + 0.6215 T − 11.37 V^0.16 + 0.3965 T V^0.16",
            ),
        ),
    ),
    Exercise(
        task_id="cap_2",
        title="cyclic encoding of hour and month",
        notebook=NB30,
        func_name="cyclic_features",
        reference=cyclic_features,
        make_cases=_cyclic_cases,
        equation="(sin 2πv/P, cos 2πv/P)",
        misconceptions=(
            Misconception(
                "degrees",
                _cyclic_degrees,
                "torch.sin takes radians: the angle is 2π·v/P, not 360·v/P",
            ),
            Misconception(
                "period P − 1",
                _cyclic_p_minus_1,
                "you divided by P − 1: then 23 h lands on 0 h (a collision); one full turn "
                "is the period P (24 hours, 12 months)",
            ),
            Misconception(
                "sin and cos swapped",
                _cyclic_swapped,
                "the columns are swapped: column 0 is sin(2πv/P), column 1 is cos(2πv/P)",
            ),
            Misconception(
                "plain number",
                _cyclic_plain,
                "you returned the value itself (scaled): 23 h and 0 h are then as far apart "
                "as possible; put it on the circle: (sin 2πv/P, cos 2πv/P)",
            ),
            Misconception(
                "half a turn",
                _cyclic_half,
                "you used π·v/P, half a turn per period: 0 h and 24 h must coincide, angle 2π·v/P",
            ),
            Misconception(
                "sin only",
                _cyclic_sin_only,
                "you returned sin(2πv/P) alone: sine takes each value twice a turn (3 h and 9 h "
                "collide); the encoding is the pair (sin 2πv/P, cos 2πv/P), shape (N, 2)",
            ),
        ),
    ),
    Exercise(
        task_id="cap_3",
        title="temperature buckets without collisions",
        notebook=NB30,
        func_name="bucketize",
        reference=bucketize,
        make_cases=_bucket_cases,
        equation="code b = #{edges ≤ t} ∈ [0, E]; bucket b = [edges[b−1], edges[b])",
        misconceptions=(
            Misconception(
                "boundary on the wrong side",
                _bucket_left,
                "a value exactly on an edge belongs to the bucket above it, [edges[b−1], "
                "edges[b]): count the edges ≤ t (torch.bucketize(..., right=True))",
            ),
            Misconception(
                "ends merged",
                _bucket_merged_ends,
                "your first and last buckets collide with their neighbours: E edges make "
                "E + 1 buckets, codes 0 … E (below the first edge is 0, above the last is E)",
            ),
            Misconception(
                "modulo wrap",
                _bucket_modulo,
                "you wrapped fixed-width buckets with % n: very cold and very hot days share "
                "a code (a collision); count the edges ≤ t instead",
            ),
            Misconception(
                "no bucket 0",
                _bucket_no_lowest,
                "values below the first edge need their own code 0; yours share the second "
                "bucket's code",
            ),
            Misconception(
                "even width assumed",
                _bucket_even_width,
                "you assumed every bucket as wide as the first (a fixed step from edges[0]); "
                "edges need not be evenly spaced: the code is the number of edges ≤ t",
            ),
        ),
    ),
    Exercise(
        task_id="cap_4",
        title="top-K outfits per context, recently worn ones left out",
        notebook=NB30,
        func_name="top_k_outfits",
        reference=top_k_outfits,
        make_cases=_topk_cases,
        equation="top-K of s(u, i, c) over i ∉ worn(u), highest first",
        misconceptions=(
            Misconception(
                "worn not excluded",
                _topk_no_exclusion,
                "outfits worn in the last days are still recommended; set their scores to "
                "−∞ before taking the top K",
            ),
            Misconception(
                "masked to 0",
                _topk_mask_zero,
                "you set worn outfits to 0: scores are logits and can be negative, so a worn "
                "outfit still beats them; mask with −∞",
            ),
            Misconception(
                "ascending",
                _topk_ascending,
                "you returned the lowest scores; the top K are the largest, highest first",
            ),
            Misconception(
                "index order",
                _topk_index_order,
                "you returned the right K outfits in index order; a ranking lists the "
                "highest score first",
            ),
            Misconception(
                "mask inverted",
                _topk_keep_only_worn,
                "your mask is inverted: you kept only the worn outfits",
            ),
            Misconception(
                "masked to −1",
                _topk_mask_minus_one,
                "you set worn outfits to −1: logits go below any finite constant, so a worn "
                "outfit still beats them; mask with −∞ (float('-inf'))",
            ),
        ),
    ),
    Exercise(
        task_id="cap_5",
        title="logloss stratified by temperature band",
        notebook=NB30,
        func_name="stratified_logloss",
        reference=stratified_logloss,
        make_cases=_strat_cases,
        equation="LL_b = −(1/N_b) Σ_{n: band_n = b} [y log p + (1 − y) log(1 − p)]",
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
                "mean p per band",
                _strat_mean_p,
                "you scored the band's mean prediction on every row; the logloss averages each "
                "row's own loss, −(1/N_b) Σ [y_n log p_n + (1 − y_n) log(1 − p_n)]",
            ),
        ),
    ),
    Exercise(
        task_id="cap_6",
        title="piecewise-linear basis of feels-like temperature (the own-idea gate)",
        notebook=NB31,
        func_name="hat_basis",
        reference=hat_basis,
        make_cases=_hat_cases,
        equation="φ_j(t) = 1 − λ, φ_{j+1}(t) = λ, λ = (t − κ_j)/(κ_{j+1} − κ_j), t clamped to [κ_0, κ_{M−1}]",
        misconceptions=(
            Misconception(
                "no clamping",
                _hat_no_clamp,
                "outside the knots your weights extrapolate (negative or above 1); clamp t "
                "to [knots[0], knots[-1]] first, so the function stays flat there",
            ),
            Misconception(
                "nearest knot",
                _hat_nearest,
                "you put all the weight on the nearest knot (a step function); interpolate: "
                "1 − λ on the knot below, λ on the knot above",
            ),
            Misconception(
                "weights swapped",
                _hat_swapped,
                "your weights are swapped: the knot below gets 1 − λ and the knot above λ, "
                "λ = (t − κ_j)/(κ_{j+1} − κ_j)",
            ),
            Misconception(
                "even spacing assumed",
                _hat_even,
                "you assumed evenly spaced knots (one step h = κ_1 − κ_0); find t's segment "
                "and use its own width κ_{j+1} − κ_j",
            ),
            Misconception(
                "knot below only",
                _hat_left_only,
                "you put all the weight on the knot below t (a step function); the knot "
                "above gets λ",
            ),
            Misconception(
                "λ not normalised",
                _hat_unnormalised,
                "your λ is t − κ_j in degrees; it is the fraction of the segment, "
                "λ = (t − κ_j)/(κ_{j+1} − κ_j) ∈ [0, 1]",
            ),
        ),
    ),
    question(
        "q_cap_30a",
        NB30,
        "hour as a plain number",
        "B",
        "On a line 23 h and 0 h are 23 apart, the farthest pair of the day although they are one hour "
        "apart; on the circle (sin, cos) they are neighbours, as close as 12 h and 13 h.",
        choices="ABC",
        wrong={
            "A": "on the circle 23 h and 0 h are one hour apart, like 12 h and 13 h; the plain number "
            "puts them 23 apart",
            "C": "23 h and 0 h are one hour apart in time, but the plain number puts them 23 apart",
        },
    ),
    question(
        "q_cap_30b",
        NB30,
        "numeric temperature in an FM",
        "C",
        "A numeric field enters eq. 1 as x·v: its interaction with an outfit is ⟨v_i, v_t⟩·t, linear in t, "
        "so it cannot express 'warm outfits are liked at 0 °C and disliked at 25 °C and again at −15 °C' "
        "— buckets give every band its own vector.",
        choices="ABC",
        wrong={
            "A": "the numeric field has one vector v_t for every temperature; its interaction "
            "⟨v_i, v_t⟩·t is linear in t, not any function of it",
            "B": "it is not about the size of V: one row or eight, the interaction ⟨v_i, v_t⟩·t stays "
            "linear in t",
        },
    ),
    question(
        "q_cap_31a",
        NB31,
        "shapes of the gate",
        16,
        "A has one row per warmth level and one column per knot, (L, M): with L = 8 levels and the two "
        "knots (0 °C, 20 °C), 8 × 2 = 16 numbers.",
        rtol=0.0,
        atol=0.5,
        wrong={
            8: "that is one number per level; each level has one height per knot (M = 2 here)",
            2: "that is one level's heights; there are L = 8 levels",
        },
    ),
    question(
        "q_cap_31b",
        NB31,
        "warm start within a recency window",
        "A",
        "Warm start keeps what the old months taught (user and outfit vectors) and only needs to adapt to "
        "the new month; the recency window keeps enough old rows that it does not forget them.",
        choices="ABC",
        wrong={
            "B": "a warm start begins from the trained weights, so it needs fewer epochs than a model "
            "from scratch, not more",
            "C": "training only on the new month forgets the other seasons; the recency window keeps "
            "recent old months in the training set",
        },
    ),
]
