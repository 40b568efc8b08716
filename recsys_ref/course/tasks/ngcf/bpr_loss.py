"""NGCF task ngcf_6: the BPR loss with L2 over all parameters, eq. 11.

Cases include margins beyond ±745, where float64 σ under/overflows.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor

from ....losses import bpr_loss
from ...engine.spec import Case, Exercise, Misconception
from .._generators import BATCH_OF_ONE, gen, normal
from . import NB12


def _bpr_cases(seed: int) -> list[Case]:
    g = gen(seed)
    randn = partial(normal, g)

    def theta(N: int, d: int) -> list[Tensor]:
        return [randn(N, d) * 0.3, randn(d, d) * 0.3, randn(d, d) * 0.3]

    def batch(B: int, d: int) -> list[Tensor]:
        return [randn(B, d) * 0.3 for _ in range(3)]

    return [
        Case("a batch of 6, λ = 0.01", (randn(6), randn(6), theta(10, 3), 0.01, batch(6, 3))),
        Case("a batch of one", (randn(1), randn(1), theta(5, 2), 0.1, batch(1, 2))),
        Case("λ = 0", (randn(4), randn(4), theta(6, 2), 0.0, batch(4, 2))),
        Case("large margins", (randn(5) * 40, randn(5) * 40, theta(7, 2), 1e-3, batch(5, 2))),
        Case(
            "extreme margins (|ŷ_ui − ŷ_uj| > 745: float64 σ under/overflows)",
            (
                torch.tensor([-500.0, 400.0, 0.3, 2.0], dtype=torch.float64),
                torch.tensor([400.0, -500.0, 0.1, -1.0], dtype=torch.float64),
                theta(6, 2),
                0.01,
                batch(4, 2),
            ),
        ),
    ]


def _bpr_batch_l2(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return F.softplus(neg_scores - pos_scores).mean() + lam * sum(e.pow(2).sum() for e in batch_emb)


def _bpr_batch_l2_official(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return bpr_loss(pos_scores, neg_scores, theta, lam, batch_emb, l2_on="batch")


def _bpr_sum(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return F.softplus(neg_scores - pos_scores).sum() + lam * sum(t.pow(2).sum() for t in theta)


def _bpr_norm_not_squared(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return F.softplus(neg_scores - pos_scores).mean() + lam * sum(t.norm() for t in theta)


def _bpr_sign(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return F.softplus(pos_scores - neg_scores).mean() + lam * sum(t.pow(2).sum() for t in theta)


def _bpr_no_reg(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return F.softplus(neg_scores - pos_scores).mean()


def _bpr_half_lambda(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return F.softplus(neg_scores - pos_scores).mean() + lam / 2 * sum(t.pow(2).sum() for t in theta)


def _bpr_mean_squares(pos_scores, neg_scores, theta, lam, batch_emb=None):
    return F.softplus(neg_scores - pos_scores).mean() + lam * sum(t.pow(2).mean() for t in theta)


def _bpr_log_sigmoid(pos_scores, neg_scores, theta, lam, batch_emb=None):
    x = pos_scores - neg_scores
    return -torch.log(torch.sigmoid(x)).mean() + lam * sum(t.pow(2).sum() for t in theta)


EXERCISES = [
    Exercise(
        task_id="ngcf_6",
        title="BPR loss with L2 over all parameters",
        notebook=NB12,
        func_name="bpr_loss",
        reference=bpr_loss,
        make_cases=_bpr_cases,
        edges=((BATCH_OF_ONE, "pos_scores:0"),),
        equation="eq. 11, mean −ln σ(ŷ_ui − ŷ_uj) + λ‖Θ‖²",
        differentiable=True,
        misconceptions=(
            Misconception(
                "l2_on_batch_only",
                _bpr_batch_l2,
                "you regularised only the batch's embeddings; eq. 11's λ‖Θ‖² runs over all "
                "trainable parameters Θ (the list theta)",
            ),
            Misconception(
                "l2_on_batch_official",
                _bpr_batch_l2_official,
                "you used the official code's λ(‖e_u‖²+‖e_i‖²+‖e_j‖²)/2/B on the batch; "
                "eq. 11 regularises all of Θ (the list theta)",
            ),
            Misconception(
                "sum_not_mean",
                _bpr_sum,
                "you summed −ln σ over the batch; here it is averaged (mean), so λ does not "
                "depend on the batch size",
            ),
            Misconception(
                "norm_not_squared",
                _bpr_norm_not_squared,
                "you used ‖θ‖; eq. 11's penalty is the squared norm ‖θ‖² (sum of squares)",
            ),
            Misconception(
                "wrong_sign",
                _bpr_sign,
                "the sign is flipped: eq. 11 is −ln σ(ŷ_ui − ŷ_uj), positive minus negative",
            ),
            Misconception("no_regulariser", _bpr_no_reg, "the λ‖Θ‖² term of eq. 11 is missing"),
            Misconception(
                "half_lambda",
                _bpr_half_lambda,
                "you used λ/2 ‖Θ‖²; eq. 11's penalty is λ‖Θ‖² (no ½ here)",
            ),
            Misconception(
                "mean_of_squares",
                _bpr_mean_squares,
                "you averaged the squares (t.pow(2).mean()); ‖θ‖² is their sum, t.pow(2).sum()",
            ),
            Misconception(
                "log_sigmoid_underflow",
                _bpr_log_sigmoid,
                "−ln σ(x) written as torch.log(torch.sigmoid(x)) (or log(1 + exp(−x))) "
                "becomes inf once σ underflows (x < −745 in float64); write it as "
                "F.softplus(−x) or −F.logsigmoid(x)",
            ),
        ),
    ),
]
