"""Evaluating and training context models: logloss by band and the own-idea check.

``stratified_logloss`` (task cap_5) is the logloss within each band (e.g. temperature band);
``try_idea`` trains a learner's model with ``recsys_ref.train_ctr`` and reports whether it
trains and its validation logloss, never raising for a broken model.

Letters: N events, B batch.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from .._checks import expect_tensor
from ..data.ctr import CTRData


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
    from ..train_ctr import train_ctr

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
