"""NGCF task ngcf_8: the BPR triple sampler, vectorised (eq. 11's O = {(u, i, j) | i ∈ N_u, j ∉ N_u}).

The random draws are arguments (a permutation slice or uniform users and fractions, candidate
negatives), so the triples are a function of them and can be checked on fixed inputs.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ....data.sampler import sample_triples
from ...engine.spec import Case, ComplexityGuard, Exercise, Misconception
from .._generators import BATCH_OF_ONE, EMPTY_LAST_BUCKET, TIES, UNUSED_LAST_INDEX, gen
from . import NB14


def _csr(
    g: torch.Generator,
    n_users: int,
    n_items: int,
    density: float,
    empty_user: bool = False,
    unused: int = 1,
):
    R = torch.rand(n_users, n_items, generator=g) < density  # (U, M)
    R[torch.arange(n_users), torch.randint(0, n_items, (n_users,), generator=g)] = True
    R[0, :2] = True  # user 0 has at least two items, so the choice of positive matters
    R[:, -unused:] = False  # the last item(s) nobody's: a sure negative
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
    spare: bool = False,
) -> Case:
    """``spare``: item M − 2 is nobody's too, and stands one column before the last in every
    other row (a membership test over every user's items then differs from "the last one")."""
    R, indptr, indices = _csr(g, U, M, density, empty_user, unused=2 if spare else 1)
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
    candidates = _candidates(g, R, users, T)
    if spare:
        candidates[::2, -2] = M - 2
    return Case(name, (indptr, indices, picks, fractions, candidates, per_user))


def _triple_cases(seed: int) -> list[Case]:
    g = gen(seed)
    return [
        _triple_case(g, "one epoch per interaction, 6 users, 9 items", 6, 9, 0.3, False),
        _triple_case(
            g, "half an epoch, a user with no items", 7, 6, 0.35, False, B=6, empty_user=True
        ),
        _triple_case(g, "per user (official code), 5 users, 8 items", 5, 8, 0.35, True, B=10),
        _triple_case(g, "a batch of one", 4, 5, 0.4, False, B=1),
        _triple_case(g, "per user, 8 candidates", 6, 12, 0.4, True, B=12, T=8),
        _triple_case(
            g, "two items nobody trained on, 7 users, 10 items", 7, 10, 0.5, False, B=8, spare=True
        ),
    ]


def _triple_guard_cases(seed: int) -> list[Case]:
    g = gen(seed + 3)
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


def _triples_any_users_item(indptr, indices, picks, fractions, candidates, per_user):
    users, pos, _ = sample_triples(indptr, indices, picks, fractions, candidates, per_user)
    anyones = torch.isin(candidates, indices)  # (B, T)  j ∈ N_v for some user v, not only u
    return users, pos, candidates.gather(1, (~anyones).long().argmax(1, keepdim=True)).squeeze(1)


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


EXERCISES = [
    Exercise(
        task_id="ngcf_8",
        title="BPR triple sampler, vectorised",
        notebook=NB14,
        func_name="sample_triples",
        reference=sample_triples,
        make_cases=_triple_cases,
        edges=(
            (UNUSED_LAST_INDEX, "picks", "indices:0"),
            (EMPTY_LAST_BUCKET, "picks", "indptr#-2"),
            (TIES, "candidates"),
            (BATCH_OF_ONE, "picks:0"),
        ),
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
                "any_users_item",
                _triples_any_users_item,
                "your negative skips every item that any user trained on: a candidate that u "
                "never trained on was rejected because another user did. j ∉ N_u is about u's "
                "own items: test membership in u's row, indices[indptr[u]:indptr[u+1]], not in "
                "all of indices",
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
]
