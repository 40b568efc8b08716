"""Messages by observation (issue 21, class 3): each text states what was measured,
then the cause that pattern points to — never a cause that was not observed."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from recsys_ref.course import run_check
from recsys_ref.course.engine.evaluate import evaluate
from recsys_ref.course.engine.relations import HARD_CODED, NOT_WRITTEN
from recsys_ref.course.engine.runner import run_cases
from recsys_ref.course.engine.spec import Case, Exercise, Misconception
from recsys_ref.course.engine.verdict import Kind, Status
from recsys_ref.losses import bpr_loss


def _masked(scores, worn):
    return scores.masked_fill(worn, float("-inf"))


def test_scores_where_indices_are_asked_say_topk_values():
    def values_not_indices(scores, worn, k):
        return torch.topk(_masked(scores, worn), k, dim=1).values

    r = run_check("cap_4", values_not_indices, seed=0)
    assert r.misconception == "dtype" and "topk(...).values" in r.message
    assert ".float()" not in r.message


def test_whole_numbers_as_floats_say_float_not_topk():
    def float_indices(scores, worn, k):
        return (
            torch.sort(_masked(scores, worn), dim=1, descending=True, stable=True)
            .indices[:, :k]
            .double()
        )

    r = run_check("cap_4", float_indices, seed=0)
    assert r.misconception == "dtype" and "whole numbers stored as floats" in r.message
    assert "topk" not in r.message


def test_a_cached_result_says_not_connected_not_item():
    cache: dict = {}

    def cached(pos_scores, neg_scores, theta, lam, batch_emb=None):
        key = (tuple(pos_scores.shape), float(lam))
        if key not in cache:
            cache[key] = bpr_loss(pos_scores, neg_scores, theta, lam).detach()
        return cache[key]

    r = run_check("ngcf_6", cached, seed=0)
    assert r.misconception == "no_gradient" and "not connected to the inputs" in r.message
    assert "a cache" in r.message


def test_one_constant_term_names_that_input():
    def reg_from_item(pos_scores, neg_scores, theta, lam, batch_emb=None):
        reg = sum(float(t.pow(2).sum()) for t in theta)
        return F.softplus(neg_scores - pos_scores).mean() + lam * reg

    r = run_check("ngcf_6", reg_from_item, seed=0)
    assert r.misconception == "no_gradient" and "though one reaches other inputs" in r.message


def test_a_branch_not_written_is_not_not_started():
    def partly(pos_scores, neg_scores, theta, lam, batch_emb=None):
        if pos_scores.shape[0] == 1:
            raise NotImplementedError("the batch of one")
        return bpr_loss(pos_scores, neg_scores, theta, lam)

    r = run_check("ngcf_6", partly, seed=0)
    assert r.status == Status.FAILED and r.misconception == NOT_WRITTEN
    assert "raised NotImplementedError" in r.message and "'a batch of one'" in r.message
    assert "not started" not in r.message


def test_a_crash_on_a_later_case_names_the_sizes():
    def hard_coded(pos_scores, neg_scores, theta, lam, batch_emb=None):
        losses = [F.softplus(neg_scores[b] - pos_scores[b]) for b in range(6)]
        reg = sum(t.pow(2).sum() for t in theta)
        return torch.stack(losses).mean() + lam * reg

    r = run_check("ngcf_6", hard_coded, seed=0)
    assert r.misconception == HARD_CODED and r.kind == Kind.RELATIONAL
    assert "look for a hard-coded size" in r.message and "(1,)" in r.message


def test_the_loop_guard_names_no_unobserved_loop():
    from recsys_ref.course import get

    assert "per triple" not in get("ngcf_8").guard.loop_message


def _toy(misconceptions) -> Exercise:
    def ref(x):
        return x * 2.0

    def cases(seed):
        return [Case("three", (torch.arange(3.0) + 1,)), Case("five", (torch.arange(5.0) + 1,))]

    return Exercise("toy", "toy", "nb", "double", ref, cases, misconceptions=misconceptions)


def test_a_near_miss_is_hedged_and_a_full_match_is_not():
    def reversed_(x):
        return x.flip(0) * 2.0

    def first_only(x):  # equals reversed_ on 'three' only
        return x.flip(0) * 2.0 if len(x) == 3 else x.roll(1) * 2.0

    ex = _toy((Misconception("reversed", reversed_, "you reversed the order"),))
    cases = ex.make_cases(0)
    full = evaluate(ex, cases, run_cases(reversed_, cases))
    assert full.kind == Kind.NAMED and "may be" not in full.message
    near = evaluate(ex, cases, run_cases(first_only, cases))
    assert near.kind == Kind.NEAR_MISS and near.misconception == "reversed"
    assert "on the case 'three'" in near.message and "not on the case 'five'" in near.message
    assert "may be yours: you reversed the order" in near.message
