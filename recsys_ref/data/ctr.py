"""A seeded synthetic CTR log with planted interactions and known click probabilities.

The embedded default of the FM track (docs/design.md §7).  Each row has F fields,
one value each: categorical fields with realistic, long-tailed cardinalities
(site and app ids with 10⁴+ values, most seen once or twice) and three numeric
ones (age, visit count, price), encoded the way notebook 20 teaches (age
bucketed by decade, counts by ⌊ln(v)²⌋, missing as its own token).

The true logit is

    z = b + Σ_f u_f[x_f]                                   main effects (LR can learn)
          + Σ_{f<g ∈ S} ⟨a_{x_f}, a_{x_g}⟩                  one vector per value, shared by
                                                           every partner field (FM can learn)
          + Σ_{(f,g) ∈ P} ⟨c^{(g)}_{x_f}, c^{(f)}_{x_g}⟩     a vector per (value, partner field)
                                                           (FFM can learn, FM only in part)

and y ~ Bernoulli(σ(z)); b is set so the click rate is ``positive_rate``.  The
generator keeps p = σ(z), so the best achievable logloss (that of p itself) can
be printed beside every model's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from .encoding import field_offsets

# (name, cardinality, Zipf exponent of the value frequencies)
CATEGORICAL = [
    ("site_id", 20_000, 1.05),
    ("app_id", 12_000, 1.1),
    ("device_model", 2_000, 1.2),
    ("ad_id", 500, 1.0),
    ("advertiser", 60, 0.8),
    ("ad_category", 20, 0.6),
    ("site_category", 15, 0.6),
    ("hour", 24, 0.2),
    ("weekday", 7, 0.1),
    ("device_type", 4, 1.5),
]
NUMERIC = ["age", "visits", "price"]
FIELDS = [c[0] for c in CATEGORICAL] + NUMERIC
SHARED = ["advertiser", "ad_category", "site_category", "hour", "device_type", "age", "visits"]
PAIRS = [
    ("ad_category", "hour"),
    ("advertiser", "age"),
    ("site_category", "device_type"),
    ("ad_category", "weekday"),
    ("advertiser", "site_category"),
    ("hour", "age"),
    ("ad_category", "price"),
    ("device_type", "visits"),
]
AGE_BUCKETS = ["rare", "NA", "<20", "20s", "30s", "40s", "50s", "60s", "70+"]
RARE = 0  # code 0 of every field: the shared index of rare and unseen values (never drawn)
N_LOG_BUCKETS = 64  # ⌊ln(v)²⌋ < 64 for v < e⁸ ≈ 2981; larger counts share the last bucket


@dataclass
class CTRData:
    """A CTR log: ``idx`` (N, F) global feature indices, ``y`` (N,) 0/1 float32 labels,
    ``p_true`` (N,) float64 true click probabilities, ``field_dims`` per field.

    ``raw`` keeps the numeric fields before encoding (age in years, visits, price;
    NaN = missing) for notebook 20.
    """

    idx: Tensor
    y: Tensor
    p_true: Tensor
    field_names: list[str]
    field_dims: list[int]
    raw: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.idx.shape[0]

    @property
    def n_features(self) -> int:
        return int(sum(self.field_dims))

    @property
    def n_fields(self) -> int:
        return len(self.field_dims)

    def subset(self, rows: Tensor) -> CTRData:
        r = rows.numpy()
        return CTRData(
            self.idx[rows],
            self.y[rows],
            self.p_true[rows],
            self.field_names,
            self.field_dims,
            {k: v[r] for k, v in self.raw.items()},
        )

    def split(self, val_frac: float = 0.2, seed: int = 0) -> tuple[CTRData, CTRData]:
        """A random train/validation split (seeded)."""
        if not 0 < val_frac < 1:
            raise ValueError(f"val_frac must be in (0, 1), got {val_frac}")
        perm = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))
        n_val = int(round(val_frac * len(self)))
        return self.subset(perm[n_val:]), self.subset(perm[:n_val])

    def split_by_time(self, val_frac: float = 0.2) -> tuple[CTRData, CTRData]:
        """Train on the past, validate on the future: the last ``val_frac`` of the rows by
        ``raw["time"]`` (a log made with ``make_ctr(..., drift > 0)``)."""
        if "time" not in self.raw:
            raise ValueError(
                "this log has no timestamps: make it with make_ctr(..., drift=...) > 0"
            )
        if not 0 < val_frac < 1:
            raise ValueError(f"val_frac must be in (0, 1), got {val_frac}")
        order = torch.from_numpy(np.argsort(self.raw["time"], kind="stable"))
        n_val = int(round(val_frac * len(self)))
        return self.subset(order[: len(self) - n_val]), self.subset(order[len(self) - n_val :])

    def best_logloss(self) -> float:
        """The logloss of the true probabilities on these labels: no model does better on average."""
        p = self.p_true.clamp(1e-15, 1 - 1e-15)
        y = self.y.double()
        return float(-(y * p.log() + (1 - y) * (-p).log1p()).mean())


def log_bucket_codes(v: np.ndarray) -> np.ndarray:
    """Codes of ⌊ln(v)²⌋ discretisation, vectorised: NaN → 1 ("NA"), v ≤ 2 → 2 + v ("SP0".."SP2"),
    v > 2 → 5 + ⌊ln(v)²⌋ (capped); 0 is left for rare values.  Integer v ≥ 0 expected."""
    codes = np.ones(v.shape, dtype=np.int64)
    ok = ~np.isnan(v)
    small = ok & (v <= 2)
    big = ok & (v > 2)
    codes[small] = 2 + v[small].astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        b = np.floor(np.log(np.where(big, v, 3.0)) ** 2).astype(np.int64)
    codes[big] = 5 + np.minimum(b[big], N_LOG_BUCKETS - 1)
    return codes


def age_bucket_codes(age: np.ndarray) -> np.ndarray:
    """Age in years → decade bucket codes (AGE_BUCKETS); NaN → 1 ("NA")."""
    codes = np.ones(age.shape, dtype=np.int64)
    ok = ~np.isnan(age)
    codes[ok] = 1 + np.clip(np.floor(age[ok] / 10).astype(np.int64), 1, 7)
    return codes


def _zipf(rng: np.random.Generator, n_values: int, a: float, size: int) -> np.ndarray:
    p = (np.arange(1, n_values + 1, dtype=np.float64)) ** (-a)
    perm = rng.permutation(n_values)  # which code is popular is random
    return 1 + perm[rng.choice(n_values, size=size, p=p / p.sum())]  # codes 1..n_values


def make_ctr(
    n_samples: int = 100_000,
    *,
    seed: int = 0,
    positive_rate: float = 0.12,
    k_shared: int = 3,
    k_pair: int = 2,
    shared_scale: float = 0.45,
    pair_scale: float = 0.6,
    main_scale: float = 0.35,
    drift: float = 0.0,
) -> CTRData:
    """Draw ``n_samples`` rows of the synthetic CTR log (deterministic in ``seed``).

    ``shared_scale`` and ``pair_scale`` set the strength of the interactions FM
    can learn and of those only FFM represents compactly; set one to 0 to switch
    that kind off.

    ``drift`` > 0 makes the log a time series: row r is logged at time ``raw["time"][r]`` ∈ [0, 1),
    increasing with r, and the effect of each ``ad_category`` and ``site_category`` value swings
    linearly over time, by ``drift`` · (2t − 1) · (a value's N(0, 1) swing) in the logit.  Only then
    are extra random numbers drawn: ``drift = 0`` (the default) leaves every output unchanged.
    """
    if not 0.0 < positive_rate < 1.0:
        raise ValueError(f"positive_rate must be in (0, 1), got {positive_rate}")
    rng = np.random.default_rng(seed)
    codes: dict[str, np.ndarray] = {}
    dims: dict[str, int] = {}
    for name, card, a in CATEGORICAL:
        codes[name], dims[name] = _zipf(rng, card, a, n_samples), card + 1
    age = rng.normal(38, 13, n_samples).clip(14, 85).round()
    age[rng.random(n_samples) < 0.08] = np.nan
    visits = np.floor(rng.lognormal(1.5, 1.3, n_samples))
    visits[rng.random(n_samples) < 0.15] = np.nan
    price = np.floor(rng.lognormal(3.0, 1.2, n_samples))
    codes["age"], dims["age"] = age_bucket_codes(age), len(AGE_BUCKETS)
    codes["visits"], dims["visits"] = log_bucket_codes(visits), 5 + N_LOG_BUCKETS
    codes["price"], dims["price"] = log_bucket_codes(price), 5 + N_LOG_BUCKETS

    z = np.zeros(n_samples)
    for name in FIELDS:  # main effects
        z += main_scale * rng.normal(0, 1, dims[name])[codes[name]]
    # a rank-k_shared FM: one latent vector per value, whatever the partner field
    a_vec = {f: rng.normal(0, 1, (dims[f], k_shared)) for f in SHARED}
    s = sum(a_vec[f][codes[f]] for f in SHARED)  # (N, k)
    sq = sum(a_vec[f][codes[f]] ** 2 for f in SHARED)
    fm_part = 0.5 * (s**2 - sq).sum(1)
    z += shared_scale * fm_part / math.sqrt(k_shared * len(SHARED))
    # field-pair specific interactions: a fresh pair of tables for each (f, g)
    for f, g in PAIRS:
        cf = rng.normal(0, 1, (dims[f], k_pair))
        cg = rng.normal(0, 1, (dims[g], k_pair))
        z += pair_scale * (cf[codes[f]] * cg[codes[g]]).sum(1) / math.sqrt(k_pair)

    time = None
    if (
        drift > 0
    ):  # tastes move: the past does not predict the future as well as a random split suggests
        time = np.sort(rng.random(n_samples))  # (N,)  row order is time order
        for name in ("ad_category", "site_category"):
            z += drift * (2 * time - 1) * rng.normal(0, 1, dims[name])[codes[name]]

    z -= z.mean()
    lo, hi = -15.0, 15.0  # the intercept that gives the requested click rate
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if (1 / (1 + np.exp(-(z + mid)))).mean() < positive_rate:
            lo = mid
        else:
            hi = mid
    p = 1 / (1 + np.exp(-(z + 0.5 * (lo + hi))))
    y = (rng.random(n_samples) < p).astype(np.float32)

    field_dims = [dims[f] for f in FIELDS]
    per_field = torch.from_numpy(np.stack([codes[f] for f in FIELDS], axis=1))  # (N, F)
    idx = per_field + field_offsets(field_dims)  # (N, F)
    raw = {"age": age, "visits": visits, "price": price}
    if time is not None:
        raw["time"] = time
    return CTRData(idx, torch.from_numpy(y), torch.from_numpy(p), list(FIELDS), field_dims, raw)


def collapse_rare(train: CTRData, *others: CTRData, min_count: int = 5) -> tuple[CTRData, ...]:
    """Map values seen fewer than ``min_count`` times in ``train`` to their field's shared index
    (code 0), in ``train`` and in ``others`` (where unseen values land there too)."""
    if min_count < 1:
        raise ValueError(f"min_count must be ≥ 1, got {min_count}")
    n = train.n_features
    counts = torch.bincount(train.idx.reshape(-1), minlength=n)  # (n,)
    dims = torch.as_tensor(train.field_dims)
    shared = torch.repeat_interleave(
        field_offsets(train.field_dims), dims
    )  # (n,) code 0 of each field
    mapping = torch.where(counts >= min_count, torch.arange(n), shared)  # (n,)
    return tuple(
        CTRData(mapping[d.idx], d.y, d.p_true, d.field_names, d.field_dims, d.raw)
        for d in (train, *others)
    )
