"""CTR metrics: logloss and ROC AUC, vectorised (AUC tie-aware).

logloss = −(1/N) Σ [y log p + (1 − y) log(1 − p)];
AUC = P(score of a random click > score of a random non-click), ties count ½
(the Mann–Whitney U statistic with average ranks).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch


def _as_numpy(name: str, a: object) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().double().numpy()
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per example), got shape {arr.shape}")
    return arr


def _labels_probs(y: object, p: object, pname: str) -> tuple[np.ndarray, np.ndarray]:
    y_arr, p_arr = _as_numpy("y", y), _as_numpy(pname, p)
    if y_arr.shape != p_arr.shape:
        raise ValueError(f"y has {y_arr.size} values but {pname} has {p_arr.size}")
    if not np.isin(y_arr, (0.0, 1.0)).all():
        raise ValueError("y must hold 0/1 labels (1 = click)")
    return y_arr, p_arr


def logloss(y: object, p: object, eps: float = 1e-15) -> float:
    """Mean binary cross-entropy of click probabilities p (N,) against labels y (N,) in {0, 1}."""
    y_arr, p_arr = _labels_probs(y, p, "p")
    if ((p_arr < 0) | (p_arr > 1)).any():
        raise ValueError("p must be probabilities in [0, 1]; for logits use logloss_logits")
    p_arr = np.clip(p_arr, eps, 1 - eps)
    return float(-np.mean(y_arr * np.log(p_arr) + (1 - y_arr) * np.log1p(-p_arr)))


def logloss_logits(y: object, logits: object) -> float:
    """logloss from logits z (p = σ(z)), computed stably: mean softplus(z) − y z."""
    y_arr, z = _labels_probs(y, logits, "logits")
    return float(np.mean(np.logaddexp(0.0, z) - y_arr * z))


class UndefinedAUCWarning(UserWarning):
    """AUC asked of labels of one class only: it is undefined (reported as NaN)."""


def auc(y: object, score: object, *, one_class: str = "raise") -> float:
    """ROC AUC of scores (N,) for labels y (N,): average ranks, so tied scores count ½.

    AUC is undefined when y holds one class only (no click, or only clicks): ``one_class="raise"``
    raises ``ValueError``; ``"nan"`` returns NaN with an ``UndefinedAUCWarning`` (what the training
    loop uses on a small validation split, so training goes on).
    """
    if one_class not in ("raise", "nan"):
        raise ValueError(f'one_class must be "raise" or "nan", got {one_class!r}')
    y_arr, s = _labels_probs(y, score, "score")
    n_pos = int(y_arr.sum())
    n_neg = y_arr.size - n_pos
    if n_pos == 0 or n_neg == 0:
        what = f"{y_arr.size} labels, all {'clicks' if n_neg == 0 else 'non-clicks'}"
        if one_class == "raise":
            raise ValueError(f"AUC needs at least one click and one non-click, got {what}")
        warnings.warn(
            f"AUC is undefined on {what}: reported as NaN", UndefinedAUCWarning, stacklevel=2
        )
        return float("nan")
    uniq, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    last = np.cumsum(counts)  # 1-based rank of the last copy of each distinct score
    avg_rank = last - (counts - 1) / 2.0  # (U,)  ties share their average rank
    rank_sum = avg_rank[inverse][y_arr == 1].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))
