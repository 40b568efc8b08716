"""Every tree planted back (notebook 12): the learner's pieces from solutions/ drive a full NGCF training and
evaluation that reaches the reference pipeline's recall@20 within the notebook's stated tolerance (0.01)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from recsys_ref.course.planted import NOTEBOOK_OF, collect, plant_back

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 0.01  # notebook 12's stated tolerance


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # as the notebooks run
    yield
    torch.set_num_threads(n)


def test_solutions_pieces_train_to_the_reference_recall():
    report = plant_back(ROOT / "solutions", epochs=30)
    assert report.stood_in == [], report.used
    assert set(report.used) == set(NOTEBOOK_OF)
    assert (
        report.reference["recall"] > 0.3
    )  # a trained model, not chance (≈ 0.03 for random scores)
    assert abs(report.mine["recall"] - report.reference["recall"]) < TOLERANCE


def test_missing_notebooks_are_replaced_by_the_reference_and_named(tmp_path):
    report = plant_back(tmp_path, epochs=2)
    assert report.stood_in == list(NOTEBOOK_OF)
    assert all("no " in how for how in report.used.values())
    assert report.mine == report.reference  # the same pipeline: the same numbers


def test_a_wrong_piece_is_not_used_and_the_report_says_why(tmp_path):
    def bpr_loss(pos_scores, neg_scores, theta, lam, batch_emb=None):  # sign flipped
        return torch.nn.functional.softplus(pos_scores - neg_scores).mean()

    pieces, used = collect(tmp_path, own={"ngcf_6": bpr_loss})
    assert used["ngcf_6"] == "reference stood in (does not pass its check yet)"
    assert pieces["ngcf_6"] is not bpr_loss


def test_the_learners_namespace_is_not_changed():
    from recsys_ref.course.planted import _rebound

    namespace = {"bpr_loss": "the learner's"}
    exec("def train_step(m, o, u, p, n, lam):\n    return bpr_loss\n", namespace)
    fn = _rebound(namespace["train_step"], "bpr_loss", "the reference")
    assert fn(None, None, None, None, None, 0) == "the reference"
    assert namespace["bpr_loss"] == "the learner's"
