"""FM task fm_9: one SGD step on the mean logloss with L2 on the touched rows only, for a
label-encoded batch (``recsys_ref.fm_sgd``), checked on fixed weights.
"""

from __future__ import annotations

import torch

from ....fm import fm_score
from ....fm_sgd import fm_logloss_grads, fm_sgd_step
from ...engine.spec import Case, Exercise, Misconception
from .._generators import (
    BATCH_OF_ONE,
    SMALLEST,
    UNUSED_LAST_INDEX,
    VARIED_LR,
    gen,
    global_idx,
    normal,
)
from . import NB23


def _step_case(
    g: torch.Generator, name: str, B: int, dims: list[int], k: int, lr: float, l2: float
) -> Case:
    idx = global_idx(g, B, dims)  # (B, F)
    n = sum(dims)
    y = (torch.rand(B, generator=g) < 0.4).double()  # (B,)
    y[0] = 1.0  # at least one click and one non-click
    if B > 1:
        y[1] = 0.0
    w0 = normal(g, 1)[0] * 0.5  # ()
    return Case(name, (idx, y, w0, normal(g, n) * 0.5, normal(g, n, k) * 0.5, lr, l2))


def _step_cases(seed: int) -> list[Case]:
    g = gen(seed)
    return [
        # wide fields: most rows untouched, so L2 on every row shows; a 2-value field repeats rows
        _step_case(
            g,
            "B = 6, 3 fields (one of 2 values: rows repeat), n = 42, λ = 0.1",
            6,
            [2, 30, 10],
            3,
            0.5,
            0.1,
        ),
        _step_case(g, "batch of one", 1, [5, 5, 4], 2, 0.3, 0.05),
        _step_case(g, "λ = 0 (no regularisation)", 5, [4, 6, 3, 8], 2, 0.2, 0.0),
        _step_case(g, "one field (no pair)", 4, [12], 3, 0.5, 0.2),
        _step_case(g, "k = 1, large λ", 8, [3, 20, 20], 1, 0.1, 1.0),
    ]


def _step_all_rows(idx, y, w0, w, V, lr, l2):  # L2 on the whole table
    g0, gw, gV = fm_logloss_grads(idx, y, w0, w, V)
    return w0 - lr * g0, w - lr * (gw + l2 * w), V - lr * (gV + l2 * V)


def _step_no_linear(idx, y, w0, w, V, lr, l2):  # w left as it was
    w0n, _, Vn = fm_sgd_step(idx, y, w0, w, V, lr, l2)
    return w0n, w, Vn


def _step_wrong_sign(idx, y, w0, w, V, lr, l2):  # ∂ℓ/∂ŷ = y − σ(ŷ): gradient ascent on the loss
    g0, gw, gV = fm_logloss_grads(idx, y, w0, w, V)
    t = torch.unique(idx)
    return (
        w0 + lr * g0,
        w + lr * gw - lr * l2 * torch.zeros_like(w).index_add(0, t, w[t]),
        V + lr * gV - lr * l2 * torch.zeros_like(V).index_add(0, t, V[t]),
    )


def _step_no_own_vector(idx, y, w0, w, V, lr, l2):  # ∂ŷ/∂v_i = Σ_j v_j x_j, forgetting − v_i
    B, F = idx.shape
    g = (torch.sigmoid(fm_score(idx, w0, w, V)) - y) / B  # (B,)
    s = V[idx].sum(dim=1, keepdim=True).expand(B, F, -1)  # (B, F, k)
    gV = torch.zeros_like(V).index_add(0, idx.reshape(-1), (g.view(B, 1, 1) * s).reshape(B * F, -1))
    t = torch.unique(idx)
    w0n, wn, _ = fm_sgd_step(idx, y, w0, w, V, lr, l2)
    return w0n, wn, V - lr * gV.index_add(0, t, l2 * V[t])


def _step_sum_not_mean(idx, y, w0, w, V, lr, l2):  # the batch loss summed, not averaged
    B = idx.shape[0]
    g0, gw, gV = fm_logloss_grads(idx, y, w0, w, V)
    t = torch.unique(idx)
    return (
        w0 - lr * B * g0,
        w - lr * (B * gw).index_add(0, t, l2 * w[t]),
        V - lr * (B * gV).index_add(0, t, l2 * V[t]),
    )


def _step_l2_per_occurrence(idx, y, w0, w, V, lr, l2):  # λ once per use of a row, not once per row
    g0, gw, gV = fm_logloss_grads(idx, y, w0, w, V)
    flat = idx.reshape(-1)
    return (
        w0 - lr * g0,
        w - lr * gw.index_add(0, flat, l2 * w[flat]),
        V - lr * gV.index_add(0, flat, l2 * V[flat]),
    )


def _step_l2_on_bias(idx, y, w0, w, V, lr, l2):
    w0n, wn, Vn = fm_sgd_step(idx, y, w0, w, V, lr, l2)
    return w0n - lr * l2 * w0, wn, Vn


def _step_no_sigmoid(idx, y, w0, w, V, lr, l2):  # ∂ℓ/∂ŷ taken as ŷ − y (the squared loss's)
    B, F = idx.shape
    z = fm_score(idx, w0, w, V)
    g = (z - y) / B
    e = V[idx]
    s = e.sum(dim=1, keepdim=True)
    flat = idx.reshape(-1)
    gw = torch.zeros_like(w).index_add(0, flat, g.repeat_interleave(F))
    gV = torch.zeros_like(V).index_add(0, flat, (g.view(B, 1, 1) * (s - e)).reshape(B * F, -1))
    t = torch.unique(idx)
    return (
        w0 - lr * g.sum(),
        w - lr * gw.index_add(0, t, l2 * w[t]),
        V - lr * gV.index_add(0, t, l2 * V[t]),
    )


def _step_check(got, case: Case) -> str | None:
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        return "fm_sgd_step must return the three new tensors (w0, w, V) as a tuple"
    return None


EXERCISES = [
    Exercise(
        task_id="fm_9",
        title="one SGD step with L2 on the touched rows",
        notebook=NB23,
        func_name="fm_sgd_step",
        reference=fm_sgd_step,
        make_cases=_step_cases,
        edges=(
            (UNUSED_LAST_INDEX, "idx", "w:0"),
            (VARIED_LR, "lr"),
            (BATCH_OF_ONE, "idx:0"),
            (SMALLEST, "idx:1=1", "V:1=1"),
        ),
        equation=(
            "θ ← θ − η (∂/∂θ mean logloss + λ θ on the rows the batch uses), "
            "∂ℓ/∂ŷ = σ(ŷ) − y, ∂ŷ/∂v_i = Σ_j v_j − v_i"
        ),
        output_check=_step_check,
        misconceptions=(
            Misconception(
                "L2 on all rows",
                _step_all_rows,
                "you applied the L2 term λθ to every row of w and V; only the rows the batch "
                "uses (torch.unique(idx)) are regularised — the rest must stay exactly as they "
                "were (a dense update also costs O(nk) per step)",
            ),
            Misconception(
                "no linear term",
                _step_no_linear,
                "w did not change: eq. 1's linear term Σ_f w[idx_f] has ∂ŷ/∂w_i = 1 for each "
                "active feature, so w[idx] moves by −η ((σ(ŷ) − y)/B + λ w)",
            ),
            Misconception(
                "wrong sign",
                _step_wrong_sign,
                "the step goes uphill: ∂ℓ/∂ŷ = σ(ŷ) − y (not y − σ(ŷ)), and SGD subtracts "
                "η times the gradient",
            ),
            Misconception(
                "no − v_i",
                _step_no_own_vector,
                "∂ŷ/∂v_i for a label-encoded row is Σ_j v_j − v_i (eq. 4 with x = 1): you left "
                "out − v_i, the pair of i with itself",
            ),
            Misconception(
                "sum, not mean",
                _step_sum_not_mean,
                "your data gradient is B times too large: the loss is the mean over the batch, "
                "so ∂L/∂ŷ_b = (σ(ŷ_b) − y_b)/B",
            ),
            Misconception(
                "L2 per occurrence",
                _step_l2_per_occurrence,
                "you applied λθ once per use of a row; a row used by several examples of the "
                "batch is regularised once (λ/2 Σ over the touched rows)",
            ),
            Misconception(
                "L2 on w0",
                _step_l2_on_bias,
                "you regularised the global bias w0; the L2 term covers w and V only",
            ),
            Misconception(
                "no sigmoid",
                _step_no_sigmoid,
                "you used ŷ − y (the squared loss's gradient); for the logloss on the logit, "
                "∂ℓ/∂ŷ = σ(ŷ) − y",
            ),
        ),
    ),
]
