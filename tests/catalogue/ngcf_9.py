"""ngcf_9, one training step (run through the cell's given step_on_state): wrong and unusual correct variants."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from recsys_ref.train_bpr import run_step
from tests.catalogue import Variant


def _on_state(step):
    def step_on_state(state, users, pos, neg, lam):
        return run_step(step, state, users, pos, neg, lam)

    step_on_state.__name__ = step.__name__
    return step_on_state


def _loss(model, users, pos, neg, lam):
    p, n = model.bpr_scores(users, pos, neg)
    return -F.logsigmoid(p - n).mean() + lam * sum((w**2).sum() for w in model.parameters())


def correct_logsigmoid_set_to_none(model, optimizer, users, pos, neg, lam):
    model.train()
    optimizer.zero_grad(set_to_none=True)
    loss = _loss(model, users, pos, neg, lam)
    loss.backward()
    optimizer.step()
    model.eval()
    return loss.item()


def correct_model_zero_grad_tensor_loss(model, optimizer, users, pos, neg, lam):
    model.train(True)
    model.zero_grad()
    loss = _loss(model, users, pos, neg, lam)
    loss.backward()
    optimizer.step()
    model.train(False)
    return loss.detach()


def wrong_no_zero_grad(model, optimizer, users, pos, neg, lam):
    model.train()
    loss = _loss(model, users, pos, neg, lam)
    loss.backward()
    optimizer.step()
    model.eval()
    return loss.item()


def wrong_zero_grad_after_backward(model, optimizer, users, pos, neg, lam):
    model.train()
    loss = _loss(model, users, pos, neg, lam)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    model.eval()
    return loss.item()


def wrong_no_train_mode(model, optimizer, users, pos, neg, lam):
    optimizer.zero_grad()
    loss = _loss(model, users, pos, neg, lam)
    loss.backward()
    optimizer.step()
    model.eval()
    return loss.item()


def wrong_batch_l2(model, optimizer, users, pos, neg, lam):
    model.train()
    optimizer.zero_grad()
    p, n = model.bpr_scores(users, pos, neg)
    reg = sum((e**2).sum() for e in model.ego_rows(users, pos, neg))
    loss = F.softplus(n - p).mean() + lam * reg
    loss.backward()
    optimizer.step()
    model.eval()
    return loss.item()


def wrong_left_in_train(model, optimizer, users, pos, neg, lam):
    model.train()
    optimizer.zero_grad()
    loss = _loss(model, users, pos, neg, lam)
    loss.backward()
    optimizer.step()
    return loss.item()


def wrong_loss_after_step(model, optimizer, users, pos, neg, lam):
    model.train()
    optimizer.zero_grad()
    loss = _loss(model, users, pos, neg, lam)
    loss.backward()
    optimizer.step()
    model.eval()
    with torch.no_grad():
        return _loss(model, users, pos, neg, lam).item()


def wrong_no_step(model, optimizer, users, pos, neg, lam):
    model.train()
    optimizer.zero_grad()
    loss = _loss(model, users, pos, neg, lam)
    loss.backward()
    model.eval()
    return loss.item()


def wrong_sum_not_mean(model, optimizer, users, pos, neg, lam):
    model.train()
    optimizer.zero_grad()
    p, n = model.bpr_scores(users, pos, neg)
    loss = F.softplus(n - p).sum() + lam * sum((w**2).sum() for w in model.parameters())
    loss.backward()
    optimizer.step()
    model.eval()
    return loss.item()


WRONG = [
    Variant("no optimizer.zero_grad()", _on_state(wrong_no_zero_grad), "no_zero_grad"),
    Variant(
        "zero_grad between backward and step",
        _on_state(wrong_zero_grad_after_backward),
        "no_update",
    ),
    Variant("model.train() never called", _on_state(wrong_no_train_mode), "eval_mode_left_on"),
    Variant("L2 on the batch's ego rows", _on_state(wrong_batch_l2), "l2_on_batch_only"),
    Variant("model left in training mode", _on_state(wrong_left_in_train), "dropout_at_evaluation"),
    Variant("loss recomputed after the step", _on_state(wrong_loss_after_step), "loss_after_step"),
    Variant("no optimizer.step()", _on_state(wrong_no_step), "no_update"),
    Variant("BPR summed, not averaged", _on_state(wrong_sum_not_mean), "bpr_sum"),
]

CORRECT = [
    Variant("logsigmoid, set_to_none, .item()", _on_state(correct_logsigmoid_set_to_none)),
    Variant(
        "model.zero_grad(), train(True/False), a 0-d tensor returned",
        _on_state(correct_model_zero_grad_tensor_loss),
    ),
]


def wrong_own_sgd_fixed_lr(model, optimizer, users, pos, neg, lam):
    """Ignores the optimizer: a hand-written SGD update with the notebook's lr = 0.1."""
    model.train()
    model.zero_grad()
    loss = _loss(model, users, pos, neg, lam)
    loss.backward()
    with torch.no_grad():
        for w in model.parameters():
            w -= 0.1 * w.grad
    model.eval()
    return loss.item()


WRONG.append(Variant("own SGD update, lr = 0.1", _on_state(wrong_own_sgd_fixed_lr), "step_scaled"))


def wrong_own_sgd_group_lr(model, optimizer, users, pos, neg, lam):
    """Ignores the optimizer's rule: a hand-written SGD update with the optimizer's own lr."""
    model.train()
    optimizer.zero_grad()
    loss = _loss(model, users, pos, neg, lam)
    loss.backward()
    lr = optimizer.param_groups[0]["lr"]
    with torch.no_grad():
        for w in model.parameters():
            w.sub_(lr * w.grad)
    model.eval()
    return loss.item()


WRONG.append(
    Variant("own SGD update, the optimizer's lr", _on_state(wrong_own_sgd_group_lr), "step_by_hand")
)
