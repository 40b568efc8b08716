"""Training with the BPR loss (NGCF eq. 11) for NGCF, MF and LightGCN, with periodic evaluation.

Mini-batches of triples (u, i, j) from ``data.sampler.BPRSampler``; Adam; every ``eval_every``
epochs recall@K / ndcg@K on the validation interactions (``metrics.evaluate_model``); early
stopping when the validation recall has not improved for ``patience`` evaluations, restoring the
best parameters.  Everything random is seeded by ``seed``: the same seed gives the same history.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from ._threads import torch_threads
from .history import History
from .losses import bpr_loss
from .metrics import evaluate_model
from .optim import RowAdagrad, RowSGD


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA): call before building a model."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def bpr_train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    users: torch.Tensor,
    pos: torch.Tensor,
    neg: torch.Tensor,
    lam: float,
    l2_on: str = "theta",
) -> float:
    """One training step of eq. (11) on a batch of triples → the batch's loss (a float).

    Training mode on (dropout, §2.4.2), gradients of the previous step cleared, one forward
    (``model.bpr_scores``), BPR + λ‖Θ‖² (``losses.bpr_loss``; ``l2_on="batch"`` for the official
    code's term), backward, one optimizer step; the model is left in evaluation mode, so whatever
    scores it next (an evaluation) sees no dropout.  Task ngcf_9.
    """
    model.train()
    optimizer.zero_grad(set_to_none=True)
    pos_s, neg_s = model.bpr_scores(users, pos, neg)  # type: ignore[operator]  # (B,), (B,)
    if l2_on == "theta":  # eq. 11 (the call a learner's bpr_loss of ngcf_6 also accepts)
        loss = bpr_loss(pos_s, neg_s, list(model.parameters()), lam)
    else:
        ego = model.ego_rows(users, pos, neg)  # type: ignore[operator]
        loss = bpr_loss(pos_s, neg_s, list(model.parameters()), lam, ego, l2_on)
    loss.backward()
    optimizer.step()
    model.eval()
    return float(loss.detach())


def run_step(
    step: Callable[..., Any],
    state: dict[str, Any],
    users: torch.Tensor,
    pos: torch.Tensor,
    neg: torch.Tensor,
    lam: float,
) -> dict[str, Any]:
    """Run ``step(model, optimizer, users, pos, neg, lam)`` on an NGCF rebuilt from plain tensors.

    state: {"E": (N, d), "W1", "W2": lists of (d, d), "grad_E", "grad_W1", "grad_W2": the gradients
    a previous step left behind, "L": sparse (N, N), "n_users", "message_dropout", "lr", "seed",
    "training": the mode the model is in, optionally "optimizer": "adagrad"}.  The optimizer is
    SGD(lr), or Adagrad(lr) where "optimizer" says so (``optim.RowSGD``, ``optim.RowAdagrad``: the
    updates of torch's optimizers, tested equal, without torch's compiler import); dropout is seeded by
    "seed" (in a forked RNG, the caller's stream is untouched).  → {"loss", "E", "W1", "W2", "training"}:
    the returned loss and the parameters and mode after the step — what ngcf_9's check compares.
    """
    from .ngcf import NGCF

    E = state["E"]
    N, d = E.shape
    dims = [W.shape[1] for W in state["W1"]]
    model = NGCF(
        int(state["n_users"]),
        N - int(state["n_users"]),
        state["L"],
        dim=d,
        layer_dims=dims,
        message_dropout=float(state["message_dropout"]),
        normalize_layers=True,
    )
    with torch.no_grad():
        model.embedding.copy_(E)
        for mine, theirs in ((model.W1, state["W1"]), (model.W2, state["W2"])):
            for p, w in zip(mine, theirs):
                p.copy_(w)
    model.embedding.grad = state["grad_E"].clone()
    for mine, grads in ((model.W1, state["grad_W1"]), (model.W2, state["grad_W2"])):
        for p, g in zip(mine, grads):
            p.grad = g.clone()
    model.train(bool(state["training"]))
    optimizer = (RowAdagrad if state.get("optimizer") == "adagrad" else RowSGD)(
        model.parameters(), lr=float(state["lr"])
    )  # torch's SGD (or Adagrad, with state) maths, no compiler
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(state["seed"]))
        loss = step(model, optimizer, users, pos, neg, lam)
    if isinstance(loss, torch.Tensor):
        loss = float(loss.detach()) if loss.numel() == 1 else loss
    return {
        "loss": loss,
        "E": model.embedding.detach().clone(),
        "W1": [p.detach().clone() for p in model.W1],
        "W2": [p.detach().clone() for p in model.W2],
        "training": bool(model.training),
    }


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train_bpr(
    model: nn.Module,
    train: sp.spmatrix,
    val: sp.spmatrix | None = None,
    *,
    epochs: int = 30,
    batch_size: int = 1024,
    lr: float = 1e-3,
    lam: float | None = None,
    l2_on: str | None = None,
    k: int = 20,
    eval_every: int = 5,
    patience: int | None = 3,
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = True,
    max_batches: int | None = None,
    step: Callable[..., Any] | None = None,
    sampler: Any = None,
    num_threads: int | None = 1,
) -> History:
    """Train ``model`` in place with BPR; returns the ``History`` (loss per epoch, val metrics).

    model: has ``bpr_scores(users, pos, neg)``, ``ego_rows(...)`` and ``embeddings()``
    (``NGCF``, ``MF``, ``LightGCN``).  train/val: scipy.sparse (n_users, n_items).
    lam, l2_on: see ``losses.bpr_loss`` (eq. 11 regularises all parameters Θ).  Both None: the
    model's own paper's choice, ``model.DEFAULT_L2`` (NGCF: eq. 11, λ = 1e-5 over Θ; MF-BPR and
    LightGCN: λ = 1e-4 on the batch's ego rows, as BPR's per-triple term and LightGCN's code);
    lam given without l2_on: eq. 11's "theta", as before.
    patience: evaluations without a better val recall before stopping (None: never stop).
    device: default CUDA when available.  max_batches: cap per epoch (for timing).
    step: ``step(model, optimizer, users, pos, neg, lam) -> loss`` replacing ``bpr_train_step``
    (a learner's ngcf_9; then ``l2_on`` is the step's business).  sampler: an object with
    ``epoch(batch_size, max_batches)`` replacing ``BPRSampler(train, seed)`` (a learner's ngcf_8).
    num_threads: torch threads while training (restored afterwards; None keeps the current
    setting).  One by default, as ``train_ctr``: on a shared 2-core machine a second thread
    mostly waits for the first (``benchmarks/bench_ngcf.py --threads``).
    """
    if epochs <= 0:
        raise ValueError(f"epochs must be a positive integer, got {epochs}")
    lam, l2_on = _l2_setting(model, lam, l2_on)
    with torch_threads(num_threads):
        device = torch.device(device) if device is not None else default_device()
        model.to(device)
        torch.manual_seed(seed)
        if sampler is None:
            from .data.sampler import BPRSampler

            sampler = BPRSampler(train, seed=seed)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        history, best = History(), _BestSoFar()
        bar = _epoch_bar(epochs, progress, type(model).__name__)
        for epoch in bar:
            batches = partial(sampler.epoch, batch_size, max_batches)
            row = {"epoch": epoch, **_train_epoch(model, opt, batches, lam, l2_on, device, step)}
            if val is not None and (epoch % eval_every == 0 or epoch == epochs):
                m = evaluate_model(model, train, val, k=k)
                row.update({f"val_recall@{k}": m["recall"], f"val_ndcg@{k}": m["ndcg"]})
                best.update(model, m["recall"], epoch, history)
                bar.set_postfix(loss=f"{row['loss']:.4f}", recall=f"{m['recall']:.4f}")
            history.log(**row)
            if patience is not None and best.bad_evals >= patience:
                history.stopped_early = True
                break
        bar.close()
        best.restore(model)
        model.eval()
        return history


def _l2_setting(model: nn.Module, lam: float | None, l2_on: str | None) -> tuple[float, str]:
    """(λ, what it regularises): the model's own paper's choice when both are None."""
    if lam is None and l2_on is None:
        return getattr(model, "DEFAULT_L2", (1e-5, "theta"))
    if lam is None:
        return (1e-5 if l2_on == "theta" else 1e-4), str(l2_on)
    return lam, "theta" if l2_on is None else l2_on


def _epoch_bar(epochs: int, progress: bool, name: str) -> Any:
    """tqdm over the epochs (the text bar where ipywidgets is missing, without its warning)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm

    return tqdm(range(1, epochs + 1), disable=not progress, desc=name, unit="epoch")


def _train_epoch(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    batches: Callable[[], Any],
    lam: float,
    l2_on: str,
    device: torch.device,
    step: Callable[..., Any] | None,
) -> dict[str, float]:
    """One pass over ``batches()`` (the sampler's epoch) → {"loss": mean per triple, "seconds"}."""
    model.train()
    t0, total, n = time.perf_counter(), 0.0, 0
    for users, pos, neg in batches():
        users, pos, neg = users.to(device), pos.to(device), neg.to(device)
        if step is None:
            loss = bpr_train_step(model, opt, users, pos, neg, lam, l2_on)
        else:
            loss = float(step(model, opt, users, pos, neg, lam))
        total += loss * len(users)
        n += len(users)
    return {"loss": total / max(n, 1), "seconds": time.perf_counter() - t0}


class _BestSoFar:
    """Early stopping's memory: the best validation recall, its parameters, evaluations since."""

    def __init__(self) -> None:
        self.recall, self.bad_evals = -1.0, 0
        self.state: dict[str, Any] | None = None

    def update(self, model: nn.Module, recall: float, epoch: int, history: History) -> None:
        if recall > self.recall:
            self.recall, self.bad_evals, history.best_epoch = recall, 0, epoch
            self.state = copy.deepcopy(model.state_dict())
        else:
            self.bad_evals += 1

    def restore(self, model: nn.Module) -> None:
        if self.state is not None:
            model.load_state_dict(self.state)
