"""The FM track's training tasks fm_8 and fm_9 (notebooks 21 and 22).

fm_8: the gradient of eq. 1's pairwise term w.r.t. V for dense x, Rendle's eq. 4,
∂ŷ/∂v_{i,f} = x_i Σ_j v_{j,f} x_j − v_{i,f} x_i², in O(kn) (guarded).
fm_9: one SGD step on the mean logloss with L2 on the touched rows only, for a
label-encoded batch (``recsys_ref.fm_sgd``), checked on fixed weights.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ...data.encoding import field_offsets
from ...fm import fm_pairwise_grad, fm_score
from ...fm_sgd import fm_logloss_grads, fm_sgd_step
from ..engine.spec import Case, ComplexityGuard, Exercise, Misconception

NB21, NB22 = "21_fm_okn_trick", "22_fm_ffm_generalisation"


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(g: torch.Generator, *shape: int) -> Tensor:
    return torch.randn(*shape, generator=g, dtype=torch.float64)


# ---------------------------------------------------------------- fm_8 ∂ŷ/∂V


def _grad_cases(seed: int) -> list[Case]:
    g = _gen(seed)
    sparse_x = _randn(g, 3, 7) * (torch.rand(3, 7, generator=g) < 0.4)
    return [
        Case("B = 4, n = 6, k = 3", (_randn(g, 4, 6), _randn(g, 6, 3))),
        Case("batch of one", (_randn(g, 1, 5), _randn(g, 5, 2))),
        Case("n = 1 (no pair: the gradient is 0)", (_randn(g, 3, 1), _randn(g, 1, 2))),
        Case("k = 1", (_randn(g, 3, 4), _randn(g, 4, 1))),
        Case("x mostly zeros (a sparse row)", (sparse_x, _randn(g, 7, 3))),
        Case("x with large entries (x_i² ≠ x_i)", (3 * _randn(g, 2, 5), _randn(g, 5, 2))),
    ]


def _grad_no_diagonal(x: Tensor, V: Tensor) -> Tensor:  # x_i Σ_j v_j x_j
    return x.unsqueeze(2) * (x @ V).unsqueeze(1)


def _grad_x_not_squared(x: Tensor, V: Tensor) -> Tensor:
    return x.unsqueeze(2) * (x @ V).unsqueeze(1) - V.unsqueeze(0) * x.unsqueeze(2)


def _grad_sum_over_f(x: Tensor, V: Tensor) -> Tensor:  # Σ_f Σ_j v_{j,f} x_j broadcast to every f
    s = (x @ V).sum(dim=1)  # (B,)
    return x.unsqueeze(2) * s.view(-1, 1, 1) - V.unsqueeze(0) * (x * x).unsqueeze(2)


def _grad_times_two(x: Tensor, V: Tensor) -> Tensor:  # the ½ of Lemma 3.1 not cancelled
    return 2 * fm_pairwise_grad(x, V)


def _grad_half(x: Tensor, V: Tensor) -> Tensor:
    return 0.5 * fm_pairwise_grad(x, V)


def _grad_plus_diagonal(x: Tensor, V: Tensor) -> Tensor:  # sign of the diagonal term
    return x.unsqueeze(2) * (x @ V).unsqueeze(1) + V.unsqueeze(0) * (x * x).unsqueeze(2)


def _grad_batch_summed(x: Tensor, V: Tensor) -> Tensor:  # Σ_b over the batch: (n, k), not (B, n, k)
    return fm_pairwise_grad(x, V).sum(dim=0)


def _fm8_guard_cases(seed: int) -> list[Case]:
    g = _gen(seed + 3)
    return [Case("B = 4, n = 1000, k = 4", (_randn(g, 4, 1000), _randn(g, 1000, 4)))]


def _fm8_limit(case: Case) -> int:
    x, V = case.args
    return 4 * x.shape[0] * x.shape[1] * V.shape[1]  # 4·B·n·k: the output itself is B·n·k, no n×n


# ---------------------------------------------------------------- fm_9 one SGD step


def _step_case(
    g: torch.Generator, name: str, B: int, dims: list[int], k: int, lr: float, l2: float
) -> Case:
    codes = torch.stack([torch.randint(0, d, (B,), generator=g) for d in dims], dim=1)  # (B, F)
    idx = codes + field_offsets(dims)  # (B, F)
    n = sum(dims)
    y = (torch.rand(B, generator=g) < 0.4).double()  # (B,)
    y[0] = 1.0  # at least one click and one non-click
    if B > 1:
        y[1] = 0.0
    w0 = _randn(g, 1)[0] * 0.5  # ()
    return Case(name, (idx, y, w0, _randn(g, n) * 0.5, _randn(g, n, k) * 0.5, lr, l2))


def _step_cases(seed: int) -> list[Case]:
    g = _gen(seed)
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
        task_id="fm_8",
        title="the gradient of eq. 1 w.r.t. V (eq. 4)",
        notebook=NB21,
        func_name="fm_grad_V",
        reference=fm_pairwise_grad,
        make_cases=_grad_cases,
        equation="eq. 4, ∂ŷ/∂v_{i,f} = x_i Σ_j v_{j,f} x_j − v_{i,f} x_i²",
        misconceptions=(
            Misconception(
                "no diagonal term",
                _grad_no_diagonal,
                "you left out − v_{i,f} x_i²: x_i Σ_j v_{j,f} x_j includes j = i, a pair eq. 1 "
                "does not have; eq. 4 subtracts it",
            ),
            Misconception(
                "x not squared",
                _grad_x_not_squared,
                "you subtracted v_{i,f} x_i instead of v_{i,f} x_i² (the two agree only for "
                "one-hot x); the term removed is the j = i one, x_i · v_{i,f} x_i",
            ),
            Misconception(
                "sum over f",
                _grad_sum_over_f,
                "you summed Σ_j v_{j,f} x_j over f too: entry (i, f) uses only latent "
                "dimension f, (x V)[:, f], not the row sum of x V",
            ),
            Misconception(
                "factor 2",
                _grad_times_two,
                "your gradient is twice eq. 4: the ½ of Lemma 3.1 cancels the 2 of "
                "∂(Σ_i v_{i,f} x_i)²/∂v_{i,f}",
            ),
            Misconception(
                "factor ½",
                _grad_half,
                "your gradient is half of eq. 4: the ½ of Lemma 3.1 is cancelled by the 2 "
                "from differentiating the square",
            ),
            Misconception(
                "diagonal added",
                _grad_plus_diagonal,
                "you added v_{i,f} x_i² where eq. 4 subtracts it",
            ),
            Misconception(
                "summed over the batch",
                _grad_batch_summed,
                "you summed over the batch: eq. 4 is per example, one ∂ŷ_b/∂v_{i,f} for each "
                "row b of x, shape (B, n, k)",
            ),
        ),
        guard=ComplexityGuard(
            max_numel=_fm8_limit,
            make_cases=_fm8_guard_cases,
            message=(
                "a tensor larger than 4·B·n·k elements was created (an n×n or B×n×n one, the "
                "pairwise double sum): eq. 4 needs only x V (B, k), then one (B, n, k) output."
            ),
        ),
    ),
    Exercise(
        task_id="fm_9",
        title="one SGD step with L2 on the touched rows",
        notebook="23_sgd_step_planted",
        func_name="fm_sgd_step",
        reference=fm_sgd_step,
        make_cases=_step_cases,
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
