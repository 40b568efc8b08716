"""ngcf_8, the vectorised BPR triple sampler: wrong variants as learners write them, and unusual correct ones."""

from __future__ import annotations

import torch

from tests.catalogue import Variant


def _rows(indptr):
    return torch.repeat_interleave(torch.arange(len(indptr) - 1), indptr[1:] - indptr[:-1])


def _positives(indptr, indices, picks, fractions, per_user):
    if per_user:
        deg = indptr[1:] - indptr[:-1]
        off = torch.minimum((fractions * deg[picks]).long(), deg[picks] - 1)
        return picks, indices[indptr[picks] + off]
    return _rows(indptr)[picks], indices[picks]


def _in_train_dense(indptr, indices, users, candidates):
    n = int(max(indices.max(), candidates.max())) + 1
    R = torch.zeros(len(indptr) - 1, n, dtype=torch.bool)
    R[_rows(indptr), indices] = True
    return R[users[:, None], candidates]  # (B, T)


def correct_dense_mask(indptr, indices, picks, fractions, candidates, per_user):
    """A dense (U, M) boolean train mask instead of searchsorted."""
    users, pos = _positives(indptr, indices, picks, fractions, per_user)
    bad = _in_train_dense(indptr, indices, users, candidates)
    first = torch.where(~bad, torch.arange(bad.shape[1]), bad.shape[1]).min(1).values
    return users, pos, candidates[torch.arange(len(users)), first]


def correct_isin(indptr, indices, picks, fractions, candidates, per_user):
    """Membership by torch.isin on (user, item) keys, first valid by cumsum."""
    users, pos = _positives(indptr, indices, picks, fractions, per_user)
    n = int(max(indices.max(), candidates.max())) + 1
    keys = _rows(indptr) * n + indices
    bad = torch.isin(users[:, None] * n + candidates, keys)
    first = ((~bad).long().cumsum(1) == 0).sum(1)
    return users.long(), pos.long(), candidates.gather(1, first[:, None]).squeeze(1)


def wrong_first_candidate(indptr, indices, picks, fractions, candidates, per_user):
    users, pos = _positives(indptr, indices, picks, fractions, per_user)
    return users, pos, candidates[:, 0]


def wrong_random_candidate_column(indptr, indices, picks, fractions, candidates, per_user):
    users, pos = _positives(indptr, indices, picks, fractions, per_user)
    return users, pos, candidates[:, 0].clone()


def wrong_only_not_pos(indptr, indices, picks, fractions, candidates, per_user):
    users, pos = _positives(indptr, indices, picks, fractions, per_user)
    ok = candidates != pos[:, None]
    return users, pos, candidates.gather(1, ok.long().argmax(1, keepdim=True)).squeeze(1)


def wrong_with_replacement(indptr, indices, picks, fractions, candidates, per_user):
    users, _ = _positives(indptr, indices, picks, fractions, per_user)
    _, pos = _positives(
        indptr, indices, users, fractions, True
    )  # a positive per user, with replacement
    bad = _in_train_dense(indptr, indices, users, candidates)
    return users, pos, candidates.gather(1, (~bad).long().argmax(1, keepdim=True)).squeeze(1)


def wrong_loop_per_triple(indptr, indices, picks, fractions, candidates, per_user):
    us, ps, ns = [], [], []
    for b in range(len(picks)):
        u, p = _positives(indptr, indices, picks[b : b + 1], fractions[b : b + 1], per_user)
        items = indices[indptr[u[0]] : indptr[u[0] + 1]]
        j = next(c for c in candidates[b] if not bool((items == c).any()))
        us.append(u[0]), ps.append(p[0]), ns.append(j)
    return torch.stack(us), torch.stack(ps), torch.stack(ns)


def wrong_last_candidate(indptr, indices, picks, fractions, candidates, per_user):
    users, pos = _positives(indptr, indices, picks, fractions, per_user)
    return users, pos, candidates[:, -1]


def wrong_float_output(indptr, indices, picks, fractions, candidates, per_user):
    u, p, n = correct_isin(indptr, indices, picks, fractions, candidates, per_user)
    return u.float(), p.float(), n.float()


def wrong_picks_as_users(indptr, indices, picks, fractions, candidates, per_user):
    """Per interaction, takes the picks as user ids (crashes or returns other users)."""
    users = picks.clamp(max=len(indptr) - 2)
    deg = indptr[1:] - indptr[:-1]
    pos = indices[
        indptr[users]
        + torch.minimum((fractions * deg[users]).long(), (deg[users] - 1).clamp(min=0))
    ]
    bad = _in_train_dense(indptr, indices, users, candidates)
    return users, pos, candidates.gather(1, (~bad).long().argmax(1, keepdim=True)).squeeze(1)


def wrong_any_users_item(indptr, indices, picks, fractions, candidates, per_user):
    """Membership in every user's items (torch.isin over all of indices), not in u's own."""
    users, pos = _positives(indptr, indices, picks, fractions, per_user)
    taken = torch.isin(candidates, indices)
    return users, pos, candidates.gather(1, (~taken).long().argmax(1, keepdim=True)).squeeze(1)


def wrong_four_candidates(indptr, indices, picks, fractions, candidates, per_user):
    """Written for the example's four candidates per row."""
    users, pos = _positives(indptr, indices, picks, fractions, per_user)
    bad = _in_train_dense(indptr, indices, users, candidates)
    first = torch.where(~bad, torch.arange(4), 4).min(1).values  # T = 4, as in the example
    return users, pos, candidates[torch.arange(len(users)), first]


def wrong_per_user_not_written(indptr, indices, picks, fractions, candidates, per_user):
    if per_user:
        raise NotImplementedError("the official protocol: later")
    return correct_isin(indptr, indices, picks, fractions, candidates, per_user)


def wrong_negatives_from_one(indptr, indices, picks, fractions, candidates, per_user):
    """Item ids counted from 1 in the negatives (an R-style 1-based lookup)."""
    users, pos, neg = correct_isin(indptr, indices, picks, fractions, candidates, per_user)
    return users, pos, neg + 1


# learner-written mistakes outside the spec's list, each named by a relation (issue 21, class 4)
RELATIONAL = [
    Variant("four candidates hard-coded", wrong_four_candidates, "hard_coded_size"),
    Variant("the per-user branch not written", wrong_per_user_not_written, "branch_not_written"),
    Variant("negatives counted from 1", wrong_negatives_from_one, "offset"),
]


WRONG = [
    Variant(
        "negative = the first candidate, even a training item",
        wrong_first_candidate,
        "negatives_from_all_items",
    ),
    Variant(
        "negative = candidates[:, 0], copied",
        wrong_random_candidate_column,
        "negatives_from_all_items",
    ),
    Variant(
        "negative only ≠ this triple's positive", wrong_only_not_pos, "negative_not_positive_only"
    ),
    Variant(
        "a positive per user drawn with replacement",
        wrong_with_replacement,
        "positives_with_replacement",
    ),
    Variant("a Python loop per triple", wrong_loop_per_triple, "loop"),
    Variant("always the last candidate", wrong_last_candidate, "last_candidate"),
    Variant("float tensors returned", wrong_float_output, "dtype"),
    Variant("picks taken as user ids", wrong_picks_as_users, "picks_as_users"),
    Variant("membership in any user's items", wrong_any_users_item, "any_users_item"),
]

CORRECT = [
    Variant("a dense train mask", correct_dense_mask),
    Variant("torch.isin on keys, first valid by cumsum", correct_isin),
]
