"""cap_5 stratified_logloss: learner-written per-band loglosses."""

import torch

from tests.catalogue import Variant


def _loss(y, p):
    q = p.clamp(1e-15, 1 - 1e-15)
    return -(y * q.log() + (1 - y) * (1 - q).log())


def overall(y, p, band, n_bands):
    return _loss(y, p).mean().repeat(n_bands)


def summed(y, p, band, n_bands):
    return torch.stack([_loss(y, p)[band == b].sum() for b in range(n_bands)])


def all_rows_denominator(y, p, band, n_bands):
    return torch.stack([_loss(y, p)[band == b].sum() / len(y) for b in range(n_bands)])


def empty_zero(y, p, band, n_bands):
    out = []
    for b in range(n_bands):
        m = band == b
        out.append(_loss(y, p)[m].mean() if m.any() else torch.tensor(0.0, dtype=p.dtype))
    return torch.stack(out)


def unclipped(y, p, band, n_bands):
    loss = -(y * p.log() + (1 - y) * (1 - p).log())
    return torch.stack([loss[band == b].mean() for b in range(n_bands)])


def bce_per_band(y, p, band, n_bands):  # F.binary_cross_entropy clamps log at −100, not at 1e-15
    loss = torch.nn.functional.binary_cross_entropy(p, y, reduction="none")
    return torch.stack([loss[band == b].mean() for b in range(n_bands)])


def keras_epsilon(y, p, band, n_bands):  # Keras's default epsilon, 1e-7
    q = p.clamp(1e-7, 1 - 1e-7)
    loss = -(y * q.log() + (1 - y) * (1 - q).log())
    return torch.stack([loss[band == b].mean() for b in range(n_bands)])


def mean_of_p_per_band(y, p, band, n_bands):  # logloss of the band's mean p
    out = []
    for b in range(n_bands):
        m = band == b
        pm = p[m].mean().clamp(1e-15, 1 - 1e-15)
        out.append(-(y[m] * pm.log() + (1 - y[m]) * (1 - pm).log()).mean())
    return torch.stack(out)


def masked_means(y, p, band, n_bands):
    loss = _loss(y, p)
    out = torch.full((n_bands,), float("nan"), dtype=p.dtype)
    for b in range(n_bands):
        if (band == b).any():
            out[b] = loss[band == b].mean()
    return out


def one_hot_matmul(y, p, band, n_bands):
    H = torch.nn.functional.one_hot(band, n_bands).to(p.dtype)  # (N, n_bands)
    return (_loss(y, p) @ H) / H.sum(0)  # 0/0 = NaN for an empty band


WRONG = [
    Variant("overall mean", overall, "overall mean"),
    Variant("sums", summed, "sum, not mean"),
    Variant("divided by N", all_rows_denominator, "global denominator"),
    Variant("empty band 0", empty_zero, "empty band as 0"),
    Variant("no clipping", unclipped, "no clipping"),
    Variant("mean p per band", mean_of_p_per_band, "mean p per band"),
    Variant("clip at Keras's 1e-7", keras_epsilon, "clip at 1e-7"),
    Variant("F.binary_cross_entropy (log clamped at −100)", bce_per_band, "log clamped at −100"),
]
CORRECT = [
    Variant("loop with NaN init", masked_means),
    Variant("one-hot matmul", one_hot_matmul),
]
