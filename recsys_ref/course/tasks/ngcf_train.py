"""The NGCF track's training tasks: ngcf_8 (the BPR triple sampler) and ngcf_9 (one training step).

Both are pure enough to check on fixed inputs.  ngcf_8 gets its random draws as arguments (a
permutation slice or uniform users and fractions, candidate negatives), so the triples are a
function of them.  ngcf_9's learner writes ``train_step(model, optimizer, users, pos, neg, lam)``;
the exercise cell's given ``step_on_state`` runs it on an NGCF rebuilt from plain tensors
(``train_bpr.run_step``), and the check compares the returned loss, the parameters after the step
and the mode the model is left in.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ...data.sampler import sample_triples
from ...graph import laplacian_from_interactions
from ...losses import bpr_loss
from ...train_bpr import bpr_train_step, run_step
from ..engine.spec import Case, ComplexityGuard, Exercise, Misconception

NB12 = "14_sampler_step_planted"  # ngcf_8, ngcf_9: the sampler, the step, every tree planted back


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------ ngcf_8: triples


def _csr(g: torch.Generator, n_users: int, n_items: int, density: float, empty_user: bool = False):
    R = torch.rand(n_users, n_items, generator=g) < density  # (U, M)
    R[torch.arange(n_users), torch.randint(0, n_items, (n_users,), generator=g)] = True
    R[0, :2] = True  # user 0 has at least two items, so the choice of positive matters
    R[:, -1] = False  # the last item is nobody's: a sure negative
    if empty_user:
        R[-1] = False
    deg = R.sum(1)
    indptr = torch.cat([torch.zeros(1, dtype=torch.long), deg.cumsum(0)])  # (U + 1,)
    indices = R.nonzero()[:, 1].contiguous()  # (nnz,)  row-major: each row's items sorted
    return R, indptr, indices


def _candidates(g: torch.Generator, R: Tensor, users: Tensor, T: int) -> Tensor:
    """(B, T) uniform candidates, the first ones often training items of u, the last a sure negative."""
    n_items = R.shape[1]
    cand = torch.randint(0, n_items, (len(users), T), generator=g)  # (B, T)
    for b, u in enumerate(users.tolist()):  # case construction only: collisions on purpose
        items = R[u].nonzero()[:, 0]
        k = int(torch.randint(0, min(T - 1, len(items)) + 1, (1,), generator=g))
        if b == 0:
            k = max(k, 1)
        cand[b, :k] = items[torch.randint(0, len(items), (k,), generator=g)]
    cand[:, -1] = n_items - 1
    return cand


def _triple_case(
    g: torch.Generator,
    name: str,
    U: int,
    M: int,
    density: float,
    per_user: bool,
    B: int | None = None,
    T: int = 4,
    empty_user: bool = False,
) -> Case:
    R, indptr, indices = _csr(g, U, M, density, empty_user)
    nnz = len(indices)
    if per_user:
        active = (R.sum(1) > 0).nonzero()[:, 0]
        picks = active[torch.randint(0, len(active), (B or nnz,), generator=g)]
        picks[0] = 0
        users = picks
    else:
        picks = torch.randperm(nnz, generator=g)[: B or nnz]
        picks = torch.cat([torch.tensor([1]), picks[picks != 1]])[
            : B or nnz
        ]  # user 0's 2nd item first
        rows = torch.repeat_interleave(torch.arange(U), indptr[1:] - indptr[:-1])
        users = rows[picks]
    fractions = torch.rand(len(picks), generator=g, dtype=torch.float64)
    if per_user:
        fractions[0] = 0.99  # user 0's last item
    else:
        fractions[0] = 0.0  # user 0's first item (≠ interaction 1)
    return Case(name, (indptr, indices, picks, fractions, _candidates(g, R, users, T), per_user))


def _triple_cases(seed: int) -> list[Case]:
    g = _gen(seed)
    return [
        _triple_case(g, "one epoch per interaction, 6 users, 9 items", 6, 9, 0.3, False),
        _triple_case(
            g, "half an epoch, a user with no items", 7, 6, 0.35, False, B=6, empty_user=True
        ),
        _triple_case(g, "per user (official code), 5 users, 8 items", 5, 8, 0.35, True, B=10),
        _triple_case(g, "a batch of one", 4, 5, 0.4, False, B=1),
        _triple_case(g, "per user, 8 candidates", 6, 12, 0.4, True, B=12, T=8),
    ]


def _triple_guard_cases(seed: int) -> list[Case]:
    g = _gen(seed + 3)
    U, M, nnz_per = 800, 500, 6
    users = torch.arange(U).repeat_interleave(nnz_per)
    items = torch.randint(0, M - 1, (U * nnz_per,), generator=g)
    keys = torch.unique(users * M + items)  # sorted: rows, then columns
    u, i = keys // M, keys % M
    indptr = torch.cat([torch.zeros(1, dtype=torch.long), torch.bincount(u, minlength=U).cumsum(0)])
    picks = torch.randperm(len(i), generator=g)[:3000]
    cand = torch.randint(0, M, (3000, 4), generator=g)
    cand[:, -1] = M - 1
    return [
        Case(
            "3,000 triples from 800 users × 500 items",
            (indptr, i, picks, torch.rand(3000, generator=g, dtype=torch.float64), cand, False),
        )
    ]


def _guard_numel(case: Case) -> int:
    indptr, indices, picks, _, cand, _ = case.args
    return 40 * (cand.numel() + len(indices) + len(indptr)) + 1000


GUARD_OPS = 400  # the reference dispatches about 40; a loop over 3,000 triples, thousands


def _triples_last_candidate(indptr, indices, picks, fractions, candidates, per_user):
    users, pos, _ = sample_triples(indptr, indices, picks, fractions, candidates, per_user)
    return users, pos, candidates[:, -1]


def _triples_picks_as_users(indptr, indices, picks, fractions, candidates, per_user):
    users = picks.clamp(max=len(indptr) - 2)  # interaction ids read as user ids
    deg = indptr[1:] - indptr[:-1]
    pos = indices[
        indptr[users]
        + torch.minimum((fractions * deg[users]).long(), (deg[users] - 1).clamp(min=0))
    ]
    _, _, neg = sample_triples(indptr, indices, users, fractions, candidates, True)
    return users, pos, neg


def _triples_all_negatives(indptr, indices, picks, fractions, candidates, per_user):
    users, pos, _ = sample_triples(indptr, indices, picks, fractions, candidates, per_user)
    return users, pos, candidates[:, 0]


def _triples_not_positive_only(indptr, indices, picks, fractions, candidates, per_user):
    users, pos, _ = sample_triples(indptr, indices, picks, fractions, candidates, per_user)
    ok = candidates != pos[:, None]  # only j ≠ i, not j ∉ N_u
    return users, pos, candidates.gather(1, ok.to(torch.int8).argmax(1, keepdim=True)).squeeze(1)


def _triples_with_replacement(indptr, indices, picks, fractions, candidates, per_user):
    users, _, neg = sample_triples(indptr, indices, picks, fractions, candidates, per_user)
    deg = indptr[1:] - indptr[:-1]
    off = (fractions * deg[users].to(fractions.dtype)).long().clamp(max=deg[users] - 1)
    return users, indices[indptr[users] + off], neg


def _triples_contract(out: object, case: Case) -> str | None:
    if not (isinstance(out, (tuple, list)) and len(out) == 3):
        return "return the tuple (users, pos, neg) of three tensors"
    for name, t in zip(("users", "pos", "neg"), out):
        if not isinstance(t, Tensor) or t.dtype != torch.long or t.ndim != 1:
            return f"{name} must be a 1-d int64 tensor (torch.long), got " + (
                f"{t.dtype} of shape {tuple(t.shape)}"
                if isinstance(t, Tensor)
                else type(t).__name__
            )
    return None


# ------------------------------------------------------------------ ngcf_9: one training step


def step_on_state(state: dict, users: Tensor, pos: Tensor, neg: Tensor, lam: float) -> dict:
    """The reference ``bpr_train_step`` run by ``train_bpr.run_step`` (what ngcf_9 compares with)."""
    return run_step(bpr_train_step, state, users, pos, neg, lam)


def _step_cases(seed: int) -> list[Case]:
    g = _gen(seed)

    def state(
        U: int, M: int, d: int, n_layers: int, training: bool = False, lr: float = 0.1
    ) -> dict:
        R = (torch.rand(U, M, generator=g) < 0.4).double()
        R[torch.arange(U), torch.randint(0, M, (U,), generator=g)] = 1.0
        L = (
            laplacian_from_interactions(R.to_sparse(), "sym").to_sparse_coo().coalesce()
        )  # COO: copyable
        N = U + M

        def randn(*s: int, scale: float = 0.3) -> Tensor:
            return torch.randn(*s, generator=g) * scale

        return {
            "E": randn(N, d),
            "W1": [randn(d, d, scale=0.5) for _ in range(n_layers)],
            "W2": [randn(d, d, scale=0.5) for _ in range(n_layers)],
            "grad_E": randn(N, d, scale=1.0),
            "grad_W1": [randn(d, d, scale=1.0) for _ in range(n_layers)],
            "grad_W2": [randn(d, d, scale=1.0) for _ in range(n_layers)],
            "L": L,
            "n_users": U,
            "message_dropout": 0.3,
            "lr": lr,  # varied by case: a step that ignores the optimizer's lr fails
            "seed": int(torch.randint(0, 2**31 - 1, (1,), generator=g)),
            "training": training,
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


# ------------------------------------------------------------------ the specs

EXERCISES = [
    Exercise(
        task_id="ngcf_8",
        title="BPR triple sampler, vectorised",
        notebook=NB12,
        func_name="sample_triples",
        reference=sample_triples,
        make_cases=_triple_cases,
        equation="eq. 11's triples O = {(u, i, j) | i ∈ N_u, j ∉ N_u}",
        output_check=_triples_contract,
        misconceptions=(
            Misconception(
                "negatives_from_all_items",
                _triples_all_negatives,
                "your negative j is the first candidate even when u has interacted with it; eq. 11 "
                "needs j ∉ N_u: skip the candidates that are training items of u",
            ),
            Misconception(
                "negative_not_positive_only",
                _triples_not_positive_only,
                "you only avoided j = i; j must avoid every training item of u (j ∉ N_u), "
                "not just this triple's positive",
            ),
            Misconception(
                "positives_with_replacement",
                _triples_with_replacement,
                "in the per-interaction protocol (per_user=False) the positive is the picked "
                "interaction itself, indices[picks]; you drew a positive per user with the "
                "fractions, with replacement (the official code's protocol)",
            ),
            Misconception(
                "last_candidate",
                _triples_last_candidate,
                "your negative is the last candidate whether or not u trained on it; j is the "
                "first candidate of the row that is not a training item of u (rejection sampling)",
            ),
            Misconception(
                "picks_as_users",
                _triples_picks_as_users,
                "with per_user=False the picks are interaction ids, not user ids: u is the row of "
                "interaction picks[b] (repeat_interleave(arange(n_users), degrees)[picks])",
            ),
        ),
        guard=ComplexityGuard(
            _guard_numel,
            _triple_guard_cases,
            "the sampler must stay linear in the batch: a tensor far larger than B×T or nnz was created.",
            max_ops=GUARD_OPS,
            loop_message="the notebook asks for no Python loop (over triples or over users): the "
            "sampler must work on the whole batch at once (repeat_interleave, searchsorted, argmax "
            "over the candidates).",
        ),
    ),
    Exercise(
        task_id="ngcf_9",
        title="one training step: forward, BPR + λ‖Θ‖², backward, step",
        notebook=NB12,
        func_name="step_on_state",
        reference=step_on_state,
        make_cases=_step_cases,
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
                "bpr_sum",
                _wrap(_step_bpr_sum),
                "your BPR term sums −ln σ(ŷ_ui − ŷ_uj) over the batch; the course's loss averages it "
                "(a sum makes the step size grow with the batch size and dwarfs λ‖Θ‖²)",
            ),
        ),
    ),
]

__all__ = ["EXERCISES", "step_on_state"]
