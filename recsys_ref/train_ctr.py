"""Training LR, FM and FFM on CTR logs: logistic loss, sparse-aware optimiser, train/val history.

loss = logloss(y, σ(ŷ)) + λ · ½ Σ (the parameters the batch touches)²  (L2 as libffm applies it).
The models' embedding tables give sparse gradients (``nn.Embedding(sparse=True)``),
so the optimiser only updates the rows a batch uses: Adagrad (libffm's choice)
by default (``optim.RowAdagrad``, the same update as ``torch.optim.Adagrad``), or SparseAdam
for the sparse tables with Adam for the rest.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from ._threads import torch_threads
from .ctr_metrics import UndefinedAUCWarning, auc, logloss_logits
from .history import History
from .optim import RowAdagrad


def _xy(data) -> tuple[Tensor, Tensor]:
    """(idx (N, F) long, y (N,) float32) from a CTRData or a pair; numpy arrays are accepted."""
    if isinstance(data, (tuple, list)) and len(data) == 2:
        idx, y = data
    elif hasattr(data, "idx") and hasattr(data, "y"):
        idx, y = data.idx, data.y
    else:
        raise TypeError("data must be a CTRData (with .idx and .y) or a tuple (idx (N, F), y (N,))")
    if isinstance(idx, np.ndarray):
        idx = torch.from_numpy(np.ascontiguousarray(idx))
    if isinstance(y, np.ndarray):
        y = torch.from_numpy(np.ascontiguousarray(y))
    if not isinstance(idx, Tensor) or idx.dim() != 2 or idx.is_floating_point():
        raise TypeError("idx must be an integer tensor or array (N, F) of global feature indices")
    if not isinstance(y, Tensor) or y.shape != (idx.shape[0],):
        raise ValueError(
            f"y must be a tensor or array ({idx.shape[0]},) of 0/1 labels, got "
            f"{type(y).__name__} of shape {tuple(getattr(y, 'shape', ()))}"
        )
    if idx.shape[0] == 0:
        raise ValueError("the data hold no row: nothing to train on or to evaluate")
    return idx.long(), y.float()


def make_optimizers(
    model: nn.Module, name: str = "adagrad", lr: float = 0.05
) -> list[torch.optim.Optimizer]:
    """Adagrad over all parameters (``optim.RowAdagrad``: torch's Adagrad, sparse gradients
    updated row by row without a coalesce), or SparseAdam + Adam."""
    if name == "adagrad":
        return [RowAdagrad(model.parameters(), lr=lr)]
    if name == "adam":
        sparse = [m.weight for m in model.modules() if isinstance(m, nn.Embedding) and m.sparse]
        ids = {id(p) for p in sparse}
        dense = [p for p in model.parameters() if id(p) not in ids]
        opts: list[torch.optim.Optimizer] = []
        if sparse:
            opts.append(torch.optim.SparseAdam(sparse, lr=lr))
        if dense:
            opts.append(torch.optim.Adam(dense, lr=lr))
        return opts
    raise ValueError(f"optimizer must be 'adagrad' or 'adam', got {name!r}")


@torch.no_grad()
def predict_logits(model: nn.Module, idx: Tensor, batch_size: int = 16384) -> Tensor:
    """Logits (N,) in evaluation mode (dropout off), batch by batch."""
    was = model.training
    model.eval()
    out = torch.cat([model(idx[i : i + batch_size]) for i in range(0, idx.shape[0], batch_size)])
    model.train(was)
    return out


def evaluate_ctr(model: nn.Module, data) -> dict[str, float]:
    """{'logloss': …, 'auc': …} of ``model`` on ``data``; AUC is NaN, with an
    ``UndefinedAUCWarning``, when the labels hold one class only."""
    idx, y = _xy(data)
    z = predict_logits(model, idx)
    return {"logloss": logloss_logits(y, z), "auc": auc(y, z, one_class="nan")}


def train_ctr(
    model: nn.Module,
    train,
    val=None,
    *,
    epochs: int = 5,
    batch_size: int = 1024,
    lr: float = 0.05,
    l2: float = 0.0,
    optimizer: str = "adagrad",
    seed: int = 0,
    eval_train_rows: int | None = 20_000,
    progress: bool = True,
    num_threads: int | None = 1,
) -> History:
    """Train ``model`` (logits from idx (B, F)) with the logistic loss; returns a ``History``.

    Each epoch logs ``loss`` (mean batch loss) and ``train_logloss``/``val_logloss``,
    ``train_auc``/``val_auc`` measured in evaluation mode (train on its first
    ``eval_train_rows`` rows), so ``history.plot()`` shows the generalisation gap.
    ``history.best_epoch`` is the epoch with the lowest validation logloss.
    ``num_threads``: torch threads while training (restored afterwards; None keeps the
    current setting).  One by default: CTR batches are small, and on a busy machine a
    second thread mostly waits for the first (measured 5× slower wall time under load).
    """
    with torch_threads(num_threads):
        return _train(
            model,
            train,
            val,
            epochs,
            batch_size,
            lr,
            l2,
            optimizer,
            seed,
            eval_train_rows,
            progress,
        )


def _train(
    model, train, val, epochs, batch_size, lr, l2, optimizer, seed, eval_train_rows, progress
) -> History:
    idx, y = _xy(train)
    val_xy = _xy(val) if val is not None else None
    train_eval = (idx[:eval_train_rows], y[:eval_train_rows]) if eval_train_rows else (idx, y)
    opts = make_optimizers(model, optimizer, lr)
    g = torch.Generator().manual_seed(seed)
    history = History()
    best = float("inf")
    bar = tqdm(range(1, epochs + 1), desc=type(model).__name__, disable=not progress)
    with warnings.catch_warnings():
        warnings.simplefilter(
            "once", UndefinedAUCWarning
        )  # an undefined AUC is said once, not every epoch
        return _epochs(
            model, bar, idx, y, train_eval, val_xy, opts, g, history, best, batch_size, l2
        )


def _epochs(
    model, bar, idx, y, train_eval, val_xy, opts, g, history, best, batch_size, l2
) -> History:
    for epoch in bar:
        model.train()
        perm = torch.randperm(idx.shape[0], generator=g)  # (N,)
        total, n_seen = 0.0, 0
        for start in range(0, idx.shape[0], batch_size):
            rows = perm[start : start + batch_size]
            xb, yb = idx[rows], y[rows]  # (B, F), (B,)
            loss = F.binary_cross_entropy_with_logits(model(xb), yb)
            if l2 > 0:
                loss = loss + l2 * model.penalty(xb) / xb.shape[0]
            for o in opts:
                o.zero_grad(set_to_none=True)
            loss.backward()
            with torch.sparse.check_sparse_tensor_invariants(enable=False):
                for o in opts:
                    o.step()
            total += float(loss.detach()) * xb.shape[0]
            n_seen += xb.shape[0]
        row = {"epoch": epoch, "loss": total / n_seen}
        tr = evaluate_ctr(model, train_eval)
        row.update(train_logloss=tr["logloss"], train_auc=tr["auc"])
        if val_xy is not None:
            va = evaluate_ctr(model, val_xy)
            row.update(val_logloss=va["logloss"], val_auc=va["auc"])
            if va["logloss"] < best:  # by logloss: defined even when the AUC is not
                best, history.best_epoch = va["logloss"], epoch
        history.log(**row)
        bar.set_postfix({k: round(v, 4) for k, v in row.items() if k != "epoch"})
    return history
