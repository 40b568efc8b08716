"""FM task fm_8: the gradient of eq. 1's pairwise term w.r.t. V for dense x, Rendle's eq. 4,
∂ŷ/∂v_{i,f} = x_i Σ_j v_{j,f} x_j − v_{i,f} x_i², in O(kn) (guarded).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ....fm import fm_pairwise_grad
from ...engine.spec import Case, ComplexityGuard, Exercise, Misconception
from .._generators import BATCH_OF_ONE, SMALLEST, gen, normal
from . import NB21


def _grad_cases(seed: int) -> list[Case]:
    g = gen(seed)
    sparse_x = normal(g, 3, 7) * (torch.rand(3, 7, generator=g) < 0.4)
    return [
        Case("B = 4, n = 6, k = 3", (normal(g, 4, 6), normal(g, 6, 3))),
        Case("batch of one", (normal(g, 1, 5), normal(g, 5, 2))),
        Case("n = 1 (no pair: the gradient is 0)", (normal(g, 3, 1), normal(g, 1, 2))),
        Case("k = 1", (normal(g, 3, 4), normal(g, 4, 1))),
        Case("x mostly zeros (a sparse row)", (sparse_x, normal(g, 7, 3))),
        Case("x with large entries (x_i² ≠ x_i)", (3 * normal(g, 2, 5), normal(g, 5, 2))),
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
    g = gen(seed + 3)
    return [Case("B = 4, n = 1000, k = 4", (normal(g, 4, 1000), normal(g, 1000, 4)))]


def _fm8_limit(case: Case) -> int:
    x, V = case.args
    return 4 * x.shape[0] * x.shape[1] * V.shape[1]  # 4·B·n·k: the output itself is B·n·k, no n×n


EXERCISES = [
    Exercise(
        task_id="fm_8",
        title="the gradient of eq. 1 w.r.t. V (eq. 4)",
        notebook=NB21,
        func_name="fm_grad_V",
        reference=fm_pairwise_grad,
        make_cases=_grad_cases,
        edges=(
            (BATCH_OF_ONE, "x:0"),
            (SMALLEST, "V:0=1", "V:1=1"),
        ),
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
]
