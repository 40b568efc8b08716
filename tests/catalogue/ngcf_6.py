"""Mistake catalogue of ngcf_6 (bpr_loss, eq. 11)."""

import torch
import torch.nn.functional as F

from tests.catalogue import Variant


def _l2(theta):
    return sum(t.pow(2).sum() for t in theta)


def item(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return (F.softplus(neg_scores - pos_scores).mean() + lam * _l2(theta)).item()


def l2_from_item(pos_scores, neg_scores, theta, lam, batch_emb=None):
    reg = sum(float((t**2).sum()) for t in theta)
    return F.softplus(neg_scores - pos_scores).mean() + lam * reg


def half_lambda(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return F.softplus(neg_scores - pos_scores).mean() + lam / 2 * _l2(theta)


def mean_of_squares(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return F.softplus(neg_scores - pos_scores).mean() + lam * sum((t**2).mean() for t in theta)


def wrong_sign(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return -F.logsigmoid(neg_scores - pos_scores).mean() + lam * _l2(theta)


def summed(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return -F.logsigmoid(pos_scores - neg_scores).sum() + lam * _l2(theta)


def no_regulariser(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return -F.logsigmoid(pos_scores - neg_scores).mean()


def batch_only(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return -F.logsigmoid(pos_scores - neg_scores).mean() + lam * _l2(batch_emb)


def norm_not_squared(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return -F.logsigmoid(pos_scores - neg_scores).mean() + lam * sum(torch.norm(t) for t in theta)


def log_of_sigmoid(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return -torch.log(torch.sigmoid(pos_scores - neg_scores)).mean() + lam * _l2(theta)


def log_one_plus_exp(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return torch.log(1 + torch.exp(neg_scores - pos_scores)).mean() + lam * _l2(theta)


WRONG = [
    Variant("loss.item()", item, "container"),
    Variant("L2 from .item()", l2_from_item, "no_gradient"),
    Variant("λ/2", half_lambda, "half_lambda"),
    Variant("mean of squares", mean_of_squares, "mean_of_squares"),
    Variant("sign flipped", wrong_sign, "wrong_sign"),
    Variant("sum over the batch", summed, "sum_not_mean"),
    Variant("no regulariser", no_regulariser, "no_regulariser"),
    Variant("L2 on the batch only", batch_only, "l2_on_batch_only"),
    Variant("‖θ‖ not squared", norm_not_squared, "norm_not_squared"),
    Variant("-torch.log(torch.sigmoid(x))", log_of_sigmoid, "log_sigmoid_underflow"),
    Variant("log(1 + exp(-x))", log_one_plus_exp, "log_sigmoid_underflow"),
]


def logaddexp(pos_scores, neg_scores, theta, lam, batch_emb=None):
    x = pos_scores - neg_scores
    return (
        torch.logaddexp(torch.zeros_like(x), -x).mean()
        + lam * torch.stack([(t * t).sum() for t in theta]).sum()
    )


def stable_by_hand(pos_scores, neg_scores, theta, lam, batch_emb=None):
    x = pos_scores - neg_scores
    loss = torch.where(
        x > 0, torch.log1p(torch.exp(-x.abs())), -x + torch.log1p(torch.exp(-x.abs()))
    )
    reg = 0.0
    for t in theta:
        reg = reg + torch.sum(t**2)
    return loss.mean() + lam * reg


def flattened(pos_scores, neg_scores, theta, lam, batch_emb=None):
    flat = torch.cat([t.reshape(-1) for t in theta])
    return F.softplus(-(pos_scores - neg_scores)).mean() + lam * flat.dot(flat)


CORRECT = [
    Variant("torch.logaddexp, stacked L2", logaddexp),
    Variant("stable formula by hand, loop over Θ", stable_by_hand),
    Variant("softplus, one flattened dot product", flattened),
]


def per_pair_losses(pos_scores, neg_scores, theta, lam, batch_emb=None):
    """Forgot the mean of eq. 11: one loss per triple."""
    return F.softplus(neg_scores - pos_scores) + lam * _l2(theta)


RELATIONAL = [
    Variant("per-pair losses, no mean", per_pair_losses, "missing_reduction"),
]
