"""What to wear today: a seeded outfit dataset with planted weather effects and true probabilities.

The capstone's embedded default (notebooks 30–31), shipped as code, no download.

**Regions and climate.**  Six ASOS stations with their monthly mean temperature (°C,
January … December) and mean wind speed.  The numbers are *rounded approximations* of
the KMA 1991–2020 climatological normals (기상청 기후평년값 1991–2020, 월평균기온 and
평균풍속, data.kma.go.kr → 기후통계분석 → 평년값), written down to one decimal from the
published tables as we remember them and not re-verified digit by digit; they are good
to about ±0.5 °C, which is all a synthetic generator needs.  For real numbers load the
portal's daily files with ``recsys_ref.data.kma.read_asos_daily``.

**Weather.**  For every region and day of ``years`` the daily mean temperature is the
normal of the day (interpolated between mid-months) plus an AR(1) anomaly (σ ≈ 3 °C,
a few days' memory); the diurnal cycle peaks at 15 h with half-range ``DIURNAL / 2``;
wind is gamma-distributed around the regional mean; rain falls with the month's
probability (monsoon in July).  Feels-like temperature at hour h is the KMA wind chill
(``recsys_ref.feels_like``) of that hour's temperature.

**Users** have a gender, an age band, a region, a cold sensitivity s ∈ {−1, 0, 1}
(feels the cold less / average / more) and a style.  **Outfits** are layers of
garments (base top, mid layer, outer, bottom, accessory) with a warmth (the sum of
the garments' warmths, in "clo-like" units 0 … 15), a warmth level (0 … 7), a style,
a category and a colour; ``n_cold`` of them never appear in the training events
(cold-start items, known by their content only).

**Planted model.**  An event is one (user, day, hour, outfit) impression; y = 1 when
the user would wear (like) it.  With t = feels-like at that hour, the user's effective
temperature t_u = t − 3 s, and w*(t) the comfortable warmth — piecewise linear in t,
after the familiar Korean "clothes by temperature" chart (padded coat ≤ 4 °C …
sleeveless ≥ 28 °C) —

    z = b + 1.0·[style_u = style_i] − 0.10·(warmth_i − w*(t_u))²
          + gender × bottom (skirts) + region bias + 0.8·rain·rain_ok_i
          + 0.5·[evening hour]·[sporty_i] ,                y ~ Bernoulli(σ(z)).

The warmth × temperature interaction is not linear in t (w* bends at the chart's
knots): the point of notebook 31.  ``OutfitData.p_true`` keeps σ(z), so the best
achievable logloss can be printed beside every model's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..feels_like import feels_like

# region: (ASOS station, monthly mean temperature °C Jan..Dec, mean wind m/s) — rounded, see above
REGIONS: dict[str, tuple[int, list[float], float]] = {
    "Seoul": (108, [-2.0, 0.7, 6.1, 12.6, 18.2, 22.7, 25.3, 26.1, 21.6, 14.9, 7.5, 0.2], 2.3),
    "Chuncheon": (101, [-4.0, -0.9, 5.2, 11.9, 17.8, 22.3, 25.1, 25.4, 20.0, 12.8, 5.6, -1.6], 1.4),
    "Gangneung": (105, [1.0, 2.8, 7.0, 12.9, 17.7, 21.0, 24.4, 25.0, 20.7, 15.4, 9.4, 3.3], 2.8),
    "Daegu": (143, [0.6, 3.2, 8.4, 14.4, 19.7, 23.6, 26.3, 26.7, 22.0, 15.9, 8.8, 2.3], 2.4),
    "Busan": (159, [3.6, 5.4, 9.2, 13.9, 18.0, 21.2, 24.6, 26.3, 22.8, 18.1, 11.9, 5.9], 3.3),
    "Jeju": (184, [6.1, 7.1, 10.0, 14.3, 18.4, 21.9, 26.3, 27.3, 23.8, 19.0, 13.5, 8.5], 3.1),
}
DIURNAL = 8.0  # °C, max − min of a typical day
RAIN_PROB = [0.15, 0.18, 0.25, 0.28, 0.30, 0.35, 0.55, 0.45, 0.30, 0.18, 0.22, 0.18]  # per month

# The comfortable warmth by perceived temperature (knots of the "clothes by temperature" chart).
COMFORT_T = [-10.0, 4.0, 8.0, 11.0, 16.0, 19.0, 22.0, 27.0, 32.0]
COMFORT_W = [14.0, 12.0, 10.0, 8.0, 6.5, 5.0, 3.5, 2.0, 1.0]

# garment: (layer, warmth, colour, style)
GARMENTS: dict[str, tuple[str, float, str, str]] = {
    "sleeveless": ("top", 0.0, "#f4d35e", "casual"),
    "t-shirt": ("top", 0.5, "#ffffff", "casual"),
    "shirt": ("top", 1.0, "#a8dadc", "formal"),
    "knit": ("top", 2.0, "#e07a5f", "casual"),
    "hoodie": ("top", 2.0, "#6c757d", "sporty"),
    "cardigan": ("mid", 1.5, "#81b29a", "casual"),
    "sweater": ("mid", 2.5, "#9d4edd", "formal"),
    "fleece": ("mid", 3.0, "#f2cc8f", "sporty"),
    "windbreaker": ("outer", 1.5, "#4ea8de", "sporty"),
    "jacket": ("outer", 2.5, "#3d405b", "casual"),
    "trench coat": ("outer", 3.0, "#c9a66b", "formal"),
    "wool coat": ("outer", 4.5, "#5e3023", "formal"),
    "padded coat": ("outer", 6.5, "#1d3557", "sporty"),
    "shorts": ("bottom", 0.0, "#e9c46a", "sporty"),
    "skirt": ("bottom", 0.5, "#e76f51", "formal"),
    "jeans": ("bottom", 1.5, "#264653", "casual"),
    "slacks": ("bottom", 1.2, "#495057", "formal"),
    "lined trousers": ("bottom", 2.5, "#343a40", "sporty"),
    "scarf": ("accessory", 1.0, "#d62828", "casual"),
    "beanie & gloves": ("accessory", 1.5, "#adb5bd", "sporty"),
}
LAYERS = ["top", "mid", "outer", "bottom", "accessory"]
STYLES = ["casual", "formal", "sporty"]
GENDERS = ["F", "M"]
AGE_BANDS = ["10s", "20s", "30s", "40s+"]
CATEGORIES = ["summer", "spring/autumn", "winter"]
RAIN_OK = {"windbreaker", "trench coat", "padded coat"}
EVENING = (18, 19, 20, 21, 22, 23)


def comfort_warmth(t: np.ndarray) -> np.ndarray:
    """w*(t): the comfortable outfit warmth at perceived temperature t (°C), piecewise linear."""
    return np.interp(t, COMFORT_T, COMFORT_W)


def hour_temperature(t_mean: np.ndarray, t_range: np.ndarray, hour: np.ndarray) -> np.ndarray:
    """Air temperature at ``hour``: a cosine diurnal cycle peaking at 15 h."""
    return t_mean + 0.5 * t_range * np.cos(2 * np.pi * (hour - 15) / 24)


def daily_normal(temps: list[float], day_of_year: np.ndarray) -> np.ndarray:
    """The monthly normals interpolated to each day (month m's value at its 15th), periodic."""
    mid = (np.arange(12) + 0.5) * 365 / 12
    return np.interp(day_of_year, np.r_[mid - 365, mid, mid + 365], np.r_[temps, temps, temps])


@dataclass
class Weather:
    """Daily weather per (region, day): arrays (R, D) — t_mean, t_range (°C), wind_ms, rain (0/1)."""

    regions: list[str]
    days: np.ndarray  # (D,) datetime64[D]
    t_mean: np.ndarray
    t_range: np.ndarray
    wind_ms: np.ndarray
    rain: np.ndarray

    @property
    def month(self) -> np.ndarray:
        """(D,) month 1..12."""
        return self.days.astype("datetime64[M]").astype(int) % 12 + 1


@dataclass
class Outfits:
    """The catalogue: ``layers[i]`` maps layer → garment name (or absent); arrays (M,)."""

    layers: list[dict[str, str]]
    warmth: np.ndarray
    warmth_level: np.ndarray
    style: np.ndarray
    category: np.ndarray
    colour: np.ndarray
    rain_ok: np.ndarray
    bottom: np.ndarray  # index into BOTTOMS
    cold: np.ndarray  # bool: cold-start item (no training events)

    def __len__(self) -> int:
        return len(self.layers)

    def describe(self, i: int) -> str:
        return " + ".join(self.layers[i][lay] for lay in LAYERS if lay in self.layers[i])


BOTTOMS = [g for g, v in GARMENTS.items() if v[0] == "bottom"]


@dataclass
class Users:
    """Arrays (U,): gender, age_band, region, cold (−1, 0, 1), style (codes into the lists above)."""

    gender: np.ndarray
    age_band: np.ndarray
    region: np.ndarray
    cold: np.ndarray
    style: np.ndarray

    def __len__(self) -> int:
        return len(self.gender)


@dataclass
class OutfitData:
    """The events (N,) with their context, labels and true probabilities, plus the tables."""

    user: np.ndarray
    item: np.ndarray
    day: np.ndarray  # index into weather.days
    hour: np.ndarray
    t_air: np.ndarray
    feels: np.ndarray
    rain: np.ndarray
    y: np.ndarray  # float32 0/1
    p_true: np.ndarray  # float64
    users: Users
    outfits: Outfits
    weather: Weather

    def __len__(self) -> int:
        return len(self.user)

    @property
    def region(self) -> np.ndarray:
        return self.users.region[self.user]

    @property
    def month(self) -> np.ndarray:
        return self.weather.month[self.day]

    def subset(self, rows: np.ndarray) -> OutfitData:
        keep = {
            k: getattr(self, k)[rows]
            for k in ("user", "item", "day", "hour", "t_air", "feels", "rain", "y", "p_true")
        }
        return OutfitData(**keep, users=self.users, outfits=self.outfits, weather=self.weather)

    def best_logloss(self) -> float:
        """Logloss of the true probabilities on these labels: no model does better on average."""
        p = np.clip(self.p_true, 1e-15, 1 - 1e-15)
        return float(-np.mean(self.y * np.log(p) + (1 - self.y) * np.log1p(-p)))

    def split_days(self, val_frac: float = 0.2, seed: int = 0) -> tuple[OutfitData, OutfitData]:
        """Train / validation by held-out *days* (no day in both), cold-start items left out of both."""
        rng = np.random.default_rng(seed)
        n_days = len(self.weather.days)
        val_days = rng.random(n_days) < val_frac
        warm = ~self.outfits.cold[self.item]
        return self.subset(np.flatnonzero(warm & ~val_days[self.day])), self.subset(
            np.flatnonzero(warm & val_days[self.day])
        )

    def cold_items(self) -> OutfitData:
        """The events of the cold-start outfits (never in a training split)."""
        return self.subset(np.flatnonzero(self.outfits.cold[self.item]))


def make_weather(years: tuple[int, ...] = (2023, 2024), seed: int = 0) -> Weather:
    rng = np.random.default_rng(seed)
    days = np.arange(np.datetime64(f"{years[0]}-01-01"), np.datetime64(f"{years[-1] + 1}-01-01"))
    doy = (days - days.astype("datetime64[Y]")).astype(int)
    month = days.astype("datetime64[M]").astype(int) % 12
    names = list(REGIONS)
    R, D = len(names), len(days)
    t_mean, t_range, wind = np.zeros((R, D)), np.zeros((R, D)), np.zeros((R, D))
    for r, name in enumerate(names):
        _, temps, w = REGIONS[name]
        anomaly = np.zeros(D)
        eps = rng.normal(0, 3.0 * np.sqrt(1 - 0.7**2), D)
        for d in range(1, D):  # AR(1), φ = 0.7: a cold spell lasts a few days
            anomaly[d] = 0.7 * anomaly[d - 1] + eps[d]
        t_mean[r] = daily_normal(temps, doy) + anomaly
        t_range[r] = np.clip(rng.normal(DIURNAL, 2.0, D), 2.0, 16.0)
        wind[r] = rng.gamma(4.0, w / 4.0, D)
    rain = (rng.random((R, D)) < np.asarray(RAIN_PROB)[month]).astype(np.int64)
    return Weather(names, days, t_mean, t_range, wind, rain)


def make_outfits(n_outfits: int = 72, n_cold: int = 8, seed: int = 0) -> Outfits:
    """Outfits spread over the warmth range: summer, spring/autumn and winter combinations."""
    rng = np.random.default_rng(seed + 1)
    by_layer = {lay: [g for g, v in GARMENTS.items() if v[0] == lay] for lay in LAYERS}
    layers: list[dict[str, str]] = []
    while len(layers) < n_outfits:
        target = rng.uniform(0, 15)  # aim at a warmth, then pick garments that fit it
        o = {"top": str(rng.choice(by_layer["top"][:3] if target < 4 else by_layer["top"][1:]))}
        if target > 4 and rng.random() < 0.7:
            o["mid"] = str(rng.choice(by_layer["mid"]))
        if target > 3:
            outer = [g for g in by_layer["outer"] if GARMENTS[g][1] <= target / 1.8 + 1.5]
            o["outer"] = str(rng.choice(outer[-3:]))
        o["bottom"] = str(
            rng.choice(by_layer["bottom"][:3] if target < 4 else by_layer["bottom"][1:])
        )
        if target > 9 and rng.random() < 0.6:
            o["accessory"] = str(rng.choice(by_layer["accessory"]))
        if o not in layers:
            layers.append(o)
    warmth = np.array([sum(GARMENTS[g][1] for g in o.values()) for o in layers])
    main = [o.get("outer", o["top"]) for o in layers]
    styles = [
        max(
            STYLES,
            key=lambda s, o=o: (  # type: ignore[misc]  # o=o: bound per outfit
                sum(GARMENTS[g][3] == s for g in o.values())
                + 0.5 * (GARMENTS[o.get("outer", o["top"])][3] == s)
            ),
        )
        for o in layers
    ]
    cold = np.zeros(n_outfits, dtype=bool)
    cold[rng.choice(n_outfits, n_cold, replace=False)] = True
    return Outfits(
        layers=layers,
        warmth=warmth,
        warmth_level=np.clip(np.floor(warmth / 2), 0, 7).astype(np.int64),
        style=np.array([STYLES.index(s) for s in styles]),
        category=np.digitize(warmth, [3.5, 8.0]).astype(np.int64),
        colour=np.array([GARMENTS[g][2] for g in main]),
        rain_ok=np.array([int(any(g in RAIN_OK for g in o.values())) for o in layers]),
        bottom=np.array([BOTTOMS.index(o["bottom"]) for o in layers]),
        cold=cold,
    )


def make_users(n_users: int = 400, n_regions: int = len(REGIONS), seed: int = 0) -> Users:
    rng = np.random.default_rng(seed + 2)
    return Users(
        gender=rng.integers(0, 2, n_users),
        age_band=rng.choice(4, n_users, p=[0.15, 0.35, 0.3, 0.2]),
        region=rng.choice(n_regions, n_users, p=[0.35, 0.08, 0.1, 0.15, 0.2, 0.12]),
        cold=rng.choice([-1, 0, 1], n_users, p=[0.25, 0.45, 0.3]),
        style=rng.integers(0, 3, n_users),
    )


REGION_BIAS = np.array([0.1, -0.1, 0.0, 0.0, 0.05, -0.05])
SKIRT = BOTTOMS.index("skirt")
SHORTS = BOTTOMS.index("shorts")


def true_logit(
    users: Users,
    outfits: Outfits,
    user: np.ndarray,
    item: np.ndarray,
    feels: np.ndarray,
    hour: np.ndarray,
    rain: np.ndarray,
) -> np.ndarray:
    """The planted model's logit z (N,) — the equation of the module docstring."""
    t_u = feels - 3.0 * users.cold[user]
    gap = outfits.warmth[item] - comfort_warmth(t_u)
    female = users.gender[user] == 0
    bottom = outfits.bottom[item]
    gender_bottom = np.where(bottom == SKIRT, np.where(female, 0.6, -2.0), 0.0) + np.where(
        bottom == SHORTS, np.where(female, -0.3, 0.3), 0.0
    )
    sporty_evening = np.isin(hour, EVENING) & (outfits.style[item] == STYLES.index("sporty"))
    return (
        0.2
        + 1.0 * (users.style[user] == outfits.style[item])
        - 0.10 * gap**2
        + gender_bottom
        + REGION_BIAS[users.region[user]]
        + 0.8 * rain * outfits.rain_ok[item]
        + 0.5 * sporty_evening
    )


def make_outfit_data(
    n_events: int = 60_000,
    *,
    n_users: int = 400,
    n_outfits: int = 72,
    n_cold: int = 8,
    seed: int = 0,
) -> OutfitData:
    """The whole dataset: weather (2 years × 6 regions), users, outfits, events with p_true."""
    weather = make_weather(seed=seed)
    outfits = make_outfits(n_outfits, n_cold, seed)
    users = make_users(n_users, seed=seed)
    rng = np.random.default_rng(seed + 3)
    user = rng.integers(0, n_users, n_events)
    item = rng.integers(0, n_outfits, n_events)
    day = rng.integers(0, len(weather.days), n_events)
    hour = rng.integers(6, 24, n_events)
    r = users.region[user]
    t_air = hour_temperature(weather.t_mean[r, day], weather.t_range[r, day], hour)
    feels = feels_like(torch.from_numpy(t_air), torch.from_numpy(weather.wind_ms[r, day])).numpy()
    rain = weather.rain[r, day]
    p = 1 / (1 + np.exp(-true_logit(users, outfits, user, item, feels, hour, rain)))
    y = (rng.random(n_events) < p).astype(np.float32)
    return OutfitData(user, item, day, hour, t_air, feels, rain, y, p, users, outfits, weather)
