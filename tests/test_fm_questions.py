"""The FM track's concept questions: fail on the stub, pass on the answer, name each wrong choice."""

from __future__ import annotations

import pytest

from recsys_ref.course import run_check
from recsys_ref.course.engine.evaluate import FAILED, NOT_STARTED_STATUS
from recsys_ref.course.engine.registry import all_exercises
from recsys_ref.course.tasks.fm import questions as questions_fm

IDS = [ex.task_id for ex in questions_fm.EXERCISES]


def _stub():
    raise NotImplementedError("Task: your answer")


@pytest.mark.parametrize("task_id", IDS)
def test_question_stub_right_and_named_wrong_answers(task_id, request):
    request.applymarker(getattr(pytest.mark, task_id))
    ex = all_exercises()[task_id]
    assert ex.kind == "question"
    stub = run_check(task_id, _stub)
    assert stub.status == NOT_STARTED_STATUS and ex.explanation not in stub.message
    right = ex.reference()
    assert run_check(task_id, lambda: right).passed
    assert len(ex.misconceptions) >= 2
    for m in ex.misconceptions:
        r = run_check(task_id, m.wrong)
        assert r.status == FAILED and r.misconception == m.name, (task_id, m.name, r.message)
        assert ex.explanation not in r.message


@pytest.mark.parametrize("nb", ["20", "21", "22"])
def test_at_least_two_questions_per_notebook(nb):
    assert sum(t.startswith(f"q_fm_{nb}") for t in IDS) >= 2


@pytest.mark.q_fm_22a
def test_q_fm_22a_counts_the_parameters_of_the_models_built_in_notebook_22():
    from recsys_ref.data.ctr import make_ctr
    from recsys_ref.ffm import FFM
    from recsys_ref.fm import FM

    data = make_ctr(50, seed=0)
    assert (
        data.n_features == questions_fm.N_FEATURES_22 and data.n_fields == questions_fm.N_FIELDS_22
    )
    ffm = FFM(data.n_features, data.n_fields, k=questions_fm.K_FFM_22)
    fm = FM(data.n_features, k=questions_fm.K_FM_22)
    count = sum(p.numel() for p in ffm.parameters())
    assert run_check("q_fm_22a", lambda: count).passed
    latent = ffm.W.weight.numel() / fm.V.weight.numel()
    assert latent == 6.5  # the explanation's "6.5× more latent parameters here"


@pytest.mark.q_fm_21a
def test_q_fm_21a_counts_the_parameters_of_fm():
    from recsys_ref.fm import FMOneHot

    count = sum(p.numel() for p in FMOneHot(1000, k=8).parameters())
    assert run_check("q_fm_21a", lambda: count).passed
