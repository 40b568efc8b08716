"""ngcf_8 (triple sampler), ngcf_9 (training step) and the NGCF concept questions: each check fails on
the stub, passes on the reference and on unusual correct variants, and names each misconception."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

from recsys_ref.course.engine.check import run_check
from recsys_ref.course.engine.evaluate import FAILED, NOT_STARTED_STATUS, PASSED
from recsys_ref.course.engine.registry import all_exercises, get
from recsys_ref.data.implicit import make_implicit
from recsys_ref.data.sampler import BPRSampler, DrawSampler, sample_triples
from recsys_ref.train_bpr import bpr_train_step, run_step

SEEDS = (0, 1, 2)


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: one thread is as fast, and the machine is shared
    yield
    torch.set_num_threads(n)


def _stub(*args, **kwargs):
    raise NotImplementedError("Task: stub")


@pytest.mark.parametrize(
    "task_id",
    [
        pytest.param("ngcf_8", marks=pytest.mark.ngcf_8),
        pytest.param("ngcf_9", marks=pytest.mark.ngcf_9),
    ],
)
def test_stub_is_not_started_and_reference_passes(task_id):
    ex = get(task_id)
    assert run_check(task_id, _stub).status == NOT_STARTED_STATUS
    for seed in SEEDS:
        r = run_check(task_id, ex.reference, seed=seed)
        assert r.status == PASSED, r.message


@pytest.mark.parametrize(
    "task_id",
    [
        pytest.param("ngcf_8", marks=pytest.mark.ngcf_8),
        pytest.param("ngcf_9", marks=pytest.mark.ngcf_9),
    ],
)
def test_every_misconception_is_named(task_id):
    ex = get(task_id)
    for m in ex.misconceptions:
        for seed in SEEDS:
            r = run_check(task_id, m.wrong, seed=seed)
            assert r.status == FAILED and r.misconception == m.name, (m.name, r.message)


@pytest.mark.parametrize(
    "task_id",
    [
        pytest.param("ngcf_8", marks=pytest.mark.ngcf_8),
        pytest.param("ngcf_9", marks=pytest.mark.ngcf_9),
    ],
)
def test_catalogue(task_id):
    mod = importlib.import_module(f"tests.catalogue.{task_id}")
    assert len(mod.WRONG) >= 6
    for seed in SEEDS:
        for v in mod.WRONG:
            r = run_check(task_id, v.fn, seed=seed)
            assert r.status == FAILED, (v.name, r.message)
            if v.expect is not None:
                assert r.misconception == v.expect, (v.name, r.misconception, r.message)
        for v in mod.CORRECT:
            r = run_check(task_id, v.fn, seed=seed)
            assert r.status == PASSED, (v.name, r.message)


@pytest.mark.ngcf_8
def test_sample_triples_properties_on_real_sized_data():
    """Two independent computations: the sampler's triples against Python sets of each user's items."""
    data = make_implicit(seed=0)
    R = data.train.tocsr()
    sets = [set(R.indices[R.indptr[u] : R.indptr[u + 1]].tolist()) for u in range(R.shape[0])]
    for per_user in (False, True):
        s = DrawSampler(data.train, seed=3, per_user=per_user)
        seen = []
        for u, i, j in s.epoch(700):
            for a, b, c in zip(u.tolist(), i.tolist(), j.tolist()):
                assert b in sets[a] and c not in sets[a]
            seen += list(zip(u.tolist(), i.tolist()))
        if not per_user:  # the paper's protocol: every interaction exactly once per epoch
            assert sorted(seen) == sorted((u, i) for u in range(R.shape[0]) for i in sets[u])
        else:  # with replacement: some interaction repeats (5,836 draws from 5,836 pairs)
            assert len(set(seen)) < len(seen)


@pytest.mark.ngcf_8
def test_bpr_sampler_per_user_mode():
    data = make_implicit(seed=0)
    s = BPRSampler(data.train, seed=1, per_user=True)
    u, i, j = (torch.cat(t) for t in zip(*s.epoch(1000)))
    assert (
        s.is_positive(u.numpy(), i.numpy()).all() and not s.is_positive(u.numpy(), j.numpy()).any()
    )
    counts = np.bincount(u.numpy(), minlength=data.n_users)
    deg = np.diff(data.train.tocsr().indptr)
    # per user: users are uniform, so heavy users are not drawn in proportion to their degree
    assert np.corrcoef(counts[deg > 0], deg[deg > 0])[0, 1] < 0.3


@pytest.mark.ngcf_8
def test_op_guard_counts_ops_not_time():
    from recsys_ref.course.engine.runner import call
    from recsys_ref.course.tasks.ngcf.sampler import GUARD_OPS, _triple_guard_cases

    case = _triple_guard_cases(0)[0]
    assert call(sample_triples, case, record=True).ops < GUARD_OPS / 4


@pytest.mark.ngcf_9
def test_run_step_matches_a_hand_written_sgd_step():
    """The reference step against autograd on the same loss, written out: θ ← θ − lr (∇ + g_stale·0)."""
    from recsys_ref.course.tasks.ngcf.train_step import _step_cases
    from recsys_ref.losses import bpr_loss
    from recsys_ref.ngcf import NGCF

    state, users, pos, neg, lam = _step_cases(5)[0].args
    out = run_step(bpr_train_step, state, users, pos, neg, lam)
    N, d = state["E"].shape
    m = NGCF(
        state["n_users"],
        N - state["n_users"],
        state["L"],
        dim=d,
        layer_dims=[d, d],
        message_dropout=state["message_dropout"],
        normalize_layers=True,
    )
    with torch.no_grad():
        m.embedding.copy_(state["E"])
        for p, w in zip([*m.W1, *m.W2], [*state["W1"], *state["W2"]]):
            p.copy_(w)
    m.train()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(state["seed"])
        ps, ns = m.bpr_scores(users, pos, neg)
    loss = bpr_loss(ps, ns, list(m.parameters()), lam)
    grads = torch.autograd.grad(loss, [m.embedding, *m.W1])
    assert out["loss"] == pytest.approx(float(loss.detach()), rel=1e-6)
    torch.testing.assert_close(out["E"], state["E"] - state["lr"] * grads[0])
    torch.testing.assert_close(out["W1"][0], state["W1"][0] - state["lr"] * grads[1])
    assert out["training"] is False


def test_train_bpr_with_the_reference_step_and_sampler_is_deterministic():
    from recsys_ref.graph import laplacian_from_interactions
    from recsys_ref.mf import MF

    data = make_implicit(seed=0)
    hist = []
    for _ in range(2):
        torch.manual_seed(0)
        mf = MF(data.n_users, data.n_items, dim=8)
        h = train_bpr_small(mf, data, laplacian_from_interactions)
        hist.append(h["loss"])
    assert hist[0] == hist[1]


def train_bpr_small(model, data, _):
    from recsys_ref.train_bpr import train_bpr

    return train_bpr(
        model,
        data.train,
        None,
        epochs=2,
        progress=False,
        device="cpu",
        step=bpr_train_step,
        sampler=DrawSampler(data.train, seed=0),
    )


# ---------------------------------------------------------------- concept questions

QUESTIONS = [tid for tid, ex in all_exercises().items() if tid.startswith("q_ngcf_")]
MARKED = [pytest.param(tid, marks=getattr(pytest.mark, tid)) for tid in QUESTIONS]


def test_two_questions_per_notebook():
    per_nb = {}
    for tid in QUESTIONS:
        per_nb.setdefault(get(tid).notebook, []).append(tid)
    assert sorted(per_nb) == [
        "10_graph_laplacian",
        "11_embedding_propagation",
        "12_model_bpr_training",
        "13_beyond",
    ]
    assert all(len(v) >= 2 for v in per_nb.values())


@pytest.mark.parametrize("tid", MARKED)
def test_question_stub_answer_and_each_wrong_choice(tid):
    ex = get(tid)
    assert run_check(tid, _stub).status == NOT_STARTED_STATUS
    right = run_check(tid, ex.reference)
    assert right.status == PASSED and ex.explanation in right.message
    assert ex.misconceptions, "every question names its wrong answers"
    for m in ex.misconceptions:
        r = run_check(tid, m.wrong)
        assert r.status == FAILED and r.misconception == m.name and ex.explanation not in r.message
