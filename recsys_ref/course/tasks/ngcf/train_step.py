"""NGCF task ngcf_9: one training step, forward, BPR + λ‖Θ‖², backward, step (eq. 11, §2.4.2).

The learner writes ``train_step(model, optimizer, users, pos, neg, lam)``; the exercise cell's
given ``step_on_state`` runs it on an NGCF rebuilt from plain tensors (``train_bpr.run_step``), and
the check compares the returned loss, the parameters after the step and the mode the model is left
in.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor

from ....graph import laplacian_from_interactions
from ....losses import bpr_loss
from ....train_bpr import bpr_train_step, run_step
from ...engine.spec import Case, Exercise, Misconception
from .._generators import BATCH_OF_ONE, TWO_OPTIMIZERS, VARIED_LR, gen, normal
from . import NB14


def step_on_state(state: dict, users: Tensor, pos: Tensor, neg: Tensor, lam: float) -> dict:
    """The reference ``bpr_train_step`` run by ``train_bpr.run_step`` (what ngcf_9 compares with)."""
    return run_step(bpr_train_step, state, users, pos, neg, lam)


def _step_cases(seed: int) -> list[Case]:
    g = gen(seed)

    def state(
        U: int,
        M: int,
        d: int,
        n_layers: int,
        training: bool = False,
        lr: float = 0.1,
        widths: tuple[int, ...] = (),
        optimizer: str = "",
    ) -> dict:
        R = (torch.rand(U, M, generator=g) < 0.4).double()
        R[torch.arange(U), torch.randint(0, M, (U,), generator=g)] = 1.0
        L = (
            laplacian_from_interactions(R.to_sparse(), "sym").to_sparse_coo().coalesce()
        )  # COO: copyable
        N = U + M
        randn = partial(normal, g, scale=0.3, dtype=None)  # torch's default dtype, as the model
        w = (d, *widths) if widths else (d,) * (n_layers + 1)  # layer l maps w[l] → w[l + 1]

        return {
            "E": randn(N, d),
            "W1": [randn(w[k], w[k + 1], scale=0.5) for k in range(n_layers)],
            "W2": [randn(w[k], w[k + 1], scale=0.5) for k in range(n_layers)],
            "grad_E": randn(N, d, scale=1.0),
            "grad_W1": [randn(w[k], w[k + 1], scale=1.0) for k in range(n_layers)],
            "grad_W2": [randn(w[k], w[k + 1], scale=1.0) for k in range(n_layers)],
            "L": L,
            "n_users": U,
            "message_dropout": 0.3,
            "lr": lr,  # varied by case: a step that ignores the optimizer's lr fails
            "seed": int(torch.randint(0, 2**31 - 1, (1,), generator=g)),
            "training": training,
            **({"optimizer": optimizer} if optimizer else {}),  # SGD unless named
        }

    def batch(U: int, M: int, B: int) -> tuple[Tensor, Tensor, Tensor]:
        return (
            torch.randint(0, U, (B,), generator=g),
            torch.randint(0, M, (B,), generator=g),
            torch.randint(0, M, (B,), generator=g),
        )

    return [
        Case(
            "6 users, 8 items, 2 layers, a batch of 5, model in eval mode",
            (state(6, 8, 4, 2), *batch(6, 8, 5), 0.01),
        ),
        Case("a batch of one, lr = 0.05", (state(4, 5, 3, 1, lr=0.05), *batch(4, 5, 1), 0.05)),
        Case(
            "model already in training mode, lr = 0.3",
            (state(5, 6, 3, 2, training=True, lr=0.3), *batch(5, 6, 4), 0.02),
        ),
        Case(
            "layers of widths 4 → 3 → 2, lr = 0.05",
            (state(5, 7, 4, 2, lr=0.05, widths=(3, 2)), *batch(5, 7, 3), 0.01),
        ),
        Case(  # an optimizer with state: an update written by hand instead of step() shows
            "an Adagrad optimizer, lr = 0.1",
            (state(5, 6, 3, 1, lr=0.1, optimizer="adagrad"), *batch(5, 6, 4), 0.01),
        ),
    ]


def _wrap(step):
    def run(state, users, pos, neg, lam):
        return run_step(step, state, users, pos, neg, lam)

    return run


def _step_no_zero_grad(model, optimizer, users, pos, neg, lam):
    model.train()
    pos_s, neg_s = model.bpr_scores(users, pos, neg)
    loss = bpr_loss(pos_s, neg_s, list(model.parameters()), lam)
    loss.backward()
    optimizer.step()
    model.eval()
    return float(loss.detach())


def _step_loss_after_step(model, optimizer, users, pos, neg, lam):
    model.train()
    optimizer.zero_grad()
    pos_s, neg_s = model.bpr_scores(users, pos, neg)
    bpr_loss(pos_s, neg_s, list(model.parameters()), lam).backward()
    optimizer.step()
    model.eval()
    with torch.no_grad():
        pos_s, neg_s = model.bpr_scores(users, pos, neg)
        return float(bpr_loss(pos_s, neg_s, list(model.parameters()), lam))


def _step_by_hand(model, optimizer, users, pos, neg, lam):  # θ ← θ − η g, whatever the optimizer
    model.train()
    optimizer.zero_grad()
    pos_s, neg_s = model.bpr_scores(users, pos, neg)
    loss = bpr_loss(pos_s, neg_s, list(model.parameters()), lam)
    loss.backward()
    with torch.no_grad():
        for group in optimizer.param_groups:
            for p in group["params"]:
                p -= group["lr"] * p.grad
    model.eval()
    return float(loss.detach())


def _step_bpr_sum(model, optimizer, users, pos, neg, lam):
    model.train()
    optimizer.zero_grad()
    pos_s, neg_s = model.bpr_scores(users, pos, neg)
    l2 = sum((w**2).sum() for w in model.parameters())
    loss = F.softplus(neg_s - pos_s).sum() + lam * l2
    loss.backward()
    optimizer.step()
    model.eval()
    return float(loss.detach())


def _step_zero_grad_after_backward(model, optimizer, users, pos, neg, lam):
    model.train()
    pos_s, neg_s = model.bpr_scores(users, pos, neg)
    loss = bpr_loss(pos_s, neg_s, list(model.parameters()), lam)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    model.eval()
    return float(loss.detach())


def _step_eval_mode(model, optimizer, users, pos, neg, lam):
    optimizer.zero_grad()
    pos_s, neg_s = model.bpr_scores(users, pos, neg)
    loss = bpr_loss(pos_s, neg_s, list(model.parameters()), lam)
    loss.backward()
    optimizer.step()
    model.eval()
    return float(loss.detach())


def _step_batch_l2(model, optimizer, users, pos, neg, lam):
    model.train()
    optimizer.zero_grad()
    pos_s, neg_s = model.bpr_scores(users, pos, neg)
    loss = F.softplus(neg_s - pos_s).mean() + lam * sum(
        e.pow(2).sum() for e in model.ego_rows(users, pos, neg)
    )
    loss.backward()
    optimizer.step()
    model.eval()
    return float(loss.detach())


def _step_batch_l2_official(model, optimizer, users, pos, neg, lam):
    return bpr_train_step(model, optimizer, users, pos, neg, lam, l2_on="batch")


def _step_left_training(model, optimizer, users, pos, neg, lam):
    model.train()
    optimizer.zero_grad()
    pos_s, neg_s = model.bpr_scores(users, pos, neg)
    loss = bpr_loss(pos_s, neg_s, list(model.parameters()), lam)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


EXERCISES = [
    Exercise(
        task_id="ngcf_9",
        title="one training step: forward, BPR + λ‖Θ‖², backward, step",
        notebook=NB14,
        func_name="step_on_state",
        reference=step_on_state,
        make_cases=_step_cases,
        edges=(
            (VARIED_LR, "state.lr"),
            (TWO_OPTIMIZERS, "state.optimizer"),
            (BATCH_OF_ONE, "users:0"),
        ),
        equation="eq. 11 and §2.4.2: one SGD step on mean −ln σ(ŷ_ui − ŷ_uj) + λ‖Θ‖²",
        rtol=1e-5,
        atol=1e-6,
        misconceptions=(
            Misconception(
                "no_zero_grad",
                _wrap(_step_no_zero_grad),
                "the gradients of the previous step were still in .grad: backward() adds to them. "
                "Call optimizer.zero_grad() before loss.backward()",
            ),
            Misconception(
                "no_update",
                _wrap(_step_zero_grad_after_backward),
                "the parameters did not move: optimizer.step() is missing, or zero_grad() ran "
                "between backward() and step() and left it no gradient; the order is zero_grad, "
                "forward, backward, step",
            ),
            Misconception(
                "eval_mode_left_on",
                _wrap(_step_eval_mode),
                "the model arrived in evaluation mode and stayed there, so message dropout "
                "(§2.4.2) never acted during the step: call model.train() first",
            ),
            Misconception(
                "l2_on_batch_only",
                _wrap(_step_batch_l2),
                "you regularised only the batch's ego embeddings; eq. 11's λ‖Θ‖² runs over all "
                "parameters, list(model.parameters())",
            ),
            Misconception(
                "l2_on_batch_only",
                _wrap(_step_batch_l2_official),
                "you used the official code's batch term λ(‖e_u‖²+‖e_i‖²+‖e_j‖²)/2/B; eq. 11's "
                "λ‖Θ‖² runs over all parameters, list(model.parameters())",
            ),
            Misconception(
                "dropout_at_evaluation",
                _wrap(_step_left_training),
                "the model is still in training mode after the step, so the evaluation that "
                "follows would apply dropout; end the step with model.eval()",
            ),
            Misconception(
                "loss_after_step",
                _wrap(_step_loss_after_step),
                "you returned the loss recomputed after optimizer.step(); return the loss the "
                "gradient step was taken on (the one you called backward() on)",
            ),
            Misconception(
                "step_by_hand",
                _wrap(_step_by_hand),
                "with an Adagrad optimizer your parameters moved by lr · gradient, plain SGD: the "
                "update was written by hand; call optimizer.step(), so the optimizer you are given "
                "decides the update (Adagrad divides by the root of its summed squared gradients)",
            ),
            Misconception(
                "bpr_sum",
                _wrap(_step_bpr_sum),
                "your BPR term sums −ln σ(ŷ_ui − ŷ_uj) over the batch; the course's loss averages it "
                "(a sum makes the step size grow with the batch size and dwarfs λ‖Θ‖²)",
            ),
        ),
    ),
]

__all__ = ["EXERCISES", "step_on_state"]
