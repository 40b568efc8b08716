"""Training FM by hand: the logloss gradient of eq. 1 and one SGD step (Rendle, ICDM 2010, §III-C).

Paper → code:  w0, w, V → w0 (), w (n,), V (n, k);  λ → l2;  η → lr;  ŷ(x) → ``fm_score``.

For label-encoded rows every active x_i is 1, so Rendle's eq. 4 becomes

    ∂ŷ/∂w0 = 1,   ∂ŷ/∂w_i = 1,   ∂ŷ/∂v_{i,f} = Σ_j v_{j,f} x_j − v_{i,f}   (i active in the row)

and the logistic loss ℓ = −y log σ(ŷ) − (1 − y) log(1 − σ(ŷ)) has ∂ℓ/∂ŷ = σ(ŷ) − y.  The batch
objective of ``fm_sgd_step`` is

    L = (1/B) Σ_b ℓ_b  +  (λ/2) Σ_{i ∈ touched} (w_i² + ‖v_i‖²),

with L2 on the rows the batch touches only (as libffm regularises: a row no example of the
batch uses is left exactly as it was), and w0 not regularised.  The step is a pure function:
it returns new tensors and never writes into its inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ._checks import expect_same_size, expect_tensor
from .fm import fm_score

# Letters: B batch, F fields, n features, k latent size.

Step = Callable[
    [Tensor, Tensor, Tensor, Tensor, Tensor, float, float], tuple[Tensor, Tensor, Tensor]
]


def _check_step_inputs(idx: Tensor, y: Tensor, w0: Tensor, w: Tensor, V: Tensor) -> None:
    expect_tensor("idx", idx, ndim=2, integer=True)
    expect_tensor("y", y, ndim=1, floating=True)
    expect_same_size("y's length", y.shape[0], "idx's rows (the batch size)", idx.shape[0])
    expect_tensor("w0", w0, ndim=0, floating=True)
    expect_tensor("w", w, ndim=1, floating=True)
    expect_tensor("V", V, ndim=2, floating=True)
    expect_same_size("w's length", w.shape[0], "V's rows", V.shape[0])


def fm_logloss_grads(
    idx: Tensor, y: Tensor, w0: Tensor, w: Tensor, V: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """The gradient of the mean batch logloss (no L2) w.r.t. w0, w, V for label codes.

    idx (B, F) long, y (B,) 0/1 float, w0 (), w (n,), V (n, k) → (g0 (), gw (n,), gV (n, k));
    rows no example uses get exactly 0.  A feature used twice in the batch collects both terms.
    """
    _check_step_inputs(idx, y, w0, w, V)
    B, F = idx.shape
    g = (torch.sigmoid(fm_score(idx, w0, w, V)) - y) / B  # (B,)  ∂L/∂ŷ_b of the mean loss
    e = V[idx]  # (B, F, k)
    s = e.sum(dim=1, keepdim=True)  # (B, 1, k)  Σ_j v_j x_j
    flat = idx.reshape(-1)  # (B·F,)
    gw = torch.zeros_like(w).index_add_(0, flat, g.repeat_interleave(F))  # (n,)
    dV = g.view(B, 1, 1) * (s - e)  # (B, F, k)  eq. 4 with x_i = 1
    gV = torch.zeros_like(V).index_add_(0, flat, dV.reshape(B * F, -1))  # (n, k)
    return g.sum(), gw, gV


def fm_sgd_step(
    idx: Tensor, y: Tensor, w0: Tensor, w: Tensor, V: Tensor, lr: float, l2: float
) -> tuple[Tensor, Tensor, Tensor]:
    """One SGD step on L = mean logloss + (λ/2) Σ_{touched i} (w_i² + ‖v_i‖²): new (w0, w, V).

    idx (B, F) long global indices, y (B,) 0/1 labels (float), w0 () , w (n,), V (n, k), floating;
    lr = η, l2 = λ.  Cost O(B F k) for the gradient plus a copy of w and V (a pure function).
    """
    g0, gw, gV = fm_logloss_grads(idx, y, w0, w, V)
    touched = torch.unique(idx)  # (T,)  the rows the batch uses, each once
    gw = gw.index_add(0, touched, l2 * w[touched])  # (n,)
    gV = gV.index_add(0, touched, l2 * V[touched])  # (n, k)
    return w0 - lr * g0, w - lr * gw, V - lr * gV


def train_fm_sgd(
    step: Step,
    train,
    val,
    n_features: int,
    *,
    k: int = 8,
    epochs: int = 2,
    batch_size: int = 256,
    lr: float = 0.1,
    l2: float = 1e-4,
    init_std: float = 0.01,
    seed: int = 0,
    score: Callable[..., Tensor] = fm_score,
    num_threads: int | None = 1,
) -> dict[str, list[float]]:
    """Train FM with a hand-written ``step`` (e.g. a learner's ``fm_sgd_step``): no autograd, no optimiser.

    ``train``/``val`` have ``.idx`` (N, F) and ``.y`` (N,); ``score(idx, w0, w, V)`` is eq. 1
    (e.g. a learner's ``fm_forward``).  Returns {"train_logloss": [...], "val_logloss": [...]}
    per epoch, float64 weights throughout; w0 starts at the logit of the training click rate.
    ``num_threads``: torch threads while training (restored afterwards), one by default as in
    ``train_ctr``: the steps are small, and a second thread mostly waits on a busy machine.
    """
    saved = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        return _train_fm_sgd(
            step, train, val, n_features, k, epochs, batch_size, lr, l2, init_std, seed, score
        )
    finally:
        torch.set_num_threads(saved)


def _train_fm_sgd(
    step, train, val, n_features, k, epochs, batch_size, lr, l2, init_std, seed, score
) -> dict[str, list[float]]:
    from .ctr_metrics import logloss_logits

    g = torch.Generator().manual_seed(seed)
    rate = float(train.y.double().mean().clamp(1e-6, 1 - 1e-6))
    w0 = torch.tensor(
        rate / (1 - rate), dtype=torch.float64
    ).log()  # start at the click rate's logit
    w = torch.zeros(n_features, dtype=torch.float64)
    V = torch.randn(n_features, k, generator=g, dtype=torch.float64) * init_std
    y_train, y_val = train.y.double(), val.y.double()
    out: dict[str, list[float]] = {"train_logloss": [], "val_logloss": []}
    with torch.no_grad():
        for _ in range(epochs):
            perm = torch.randperm(len(y_train), generator=g)
            for start in range(0, len(perm), batch_size):
                rows = perm[start : start + batch_size]
                w0, w, V = step(train.idx[rows], y_train[rows], w0, w, V, lr, l2)
            out["train_logloss"].append(logloss_logits(y_train, score(train.idx, w0, w, V)))
            out["val_logloss"].append(logloss_logits(y_val, score(val.idx, w0, w, V)))
    return out
