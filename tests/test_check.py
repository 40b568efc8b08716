"""The exercise machinery itself: comparison, diagnosis, stubs, mutation, signature, complexity guard."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recsys_ref.course import check, registry, run_check
from recsys_ref.course.evaluate import difference
from recsys_ref.course.runner import NumelRecorder
from recsys_ref.course.spec import Case, ComplexityGuard, Exercise, Misconception


def t(*values, dtype=torch.float64):
    return torch.tensor(values, dtype=dtype)


@pytest.mark.parametrize(
    ("got", "want", "phrase"),
    [
        (t(1.0, 2.0), t(1.0, 2.0), None),
        (t(1.0, 2.0 + 1e-12), t(1.0, 2.0), None),
        (t(1.0, 2.5), t(1.0, 2.0), "differs from the reference in 1 of 2 entries (largest error 0.5 at index (1,))"),
        (t(1.0, 2.0, 3.0), t(1.0, 2.0), "has shape (3,), expected (2,)"),
        (t(1.0, 2.0, dtype=torch.float32), t(1.0, 2.0), "has dtype float32; the task asks for float64"),
        (t(1.0, float("nan")), t(1.0, 2.0), "contains NaN or inf (first at index (1,))"),
        (t(1.0, float("nan")), t(1.0, float("nan")), None),
        ([1.0, 2.0], t(1.0, 2.0), "your function returned a list of 2; the task asks for a dense torch tensor"),
        (None, t(1.0), "returned None (does your function end with `return ...`?); the task asks for"),
        ((t(1.0), t(2.0)), (t(1.0), t(3.0)), "element 1 of the output differs"),
        ((t(1.0),), (t(1.0), t(3.0)), "has 1 elements; the task asks for 2"),
        ({"a": 1.0}, {"a": 1.0}, None),
        ({"a": 1.0}, {"a": 1.0, "b": 2.0}, "has keys ['a'], expected ['a', 'b']"),
        (0.5, 0.5000000001, None),
        (t(0.5), 0.5, "the task asks for a Python float: convert with float(...)"),
        ("x", 0.5, "your function returned a Python str; the task asks for a Python float"),
        (np.eye(2), sp.eye(2, format="csr"), "returned a numpy array (float64); the task asks for a scipy.sparse"),
        (sp.eye(2, format="csr"), sp.eye(2, format="csr"), None),
        (torch.eye(3).to_sparse(), torch.eye(3), "the task asks for a dense torch tensor"),
        (torch.eye(3, dtype=torch.float64).to_sparse(), torch.eye(3, dtype=torch.float64).to_sparse(), None),
        # the kind is checked, not truthiness: bool only where the reference is bool
        (torch.ones(2, dtype=torch.bool), t(1.0, 2.0), "has dtype bool; the task asks for float64"),
        (np.ones(2, dtype=bool), t(1.0, 2.0), "returned a numpy array (bool); the task asks for a dense torch"),
        (torch.ones(2, dtype=torch.bool), torch.tensor([True, False]), "differs from the reference in 1 of 2"),
        (True, 1.0, "returned a Python bool; the task asks for a Python float"),
        (1, 1.0, None),
        (np.float32(1.0), t(1.0), "return a tensor; `.item()` and `float()` cut the autograd graph"),
        (0.5, t(0.5), "return a tensor; `.item()` and `float()` cut the autograd graph"),
        (t(1.0, 2.0).numpy(), t(1.0, 2.0), "returned a numpy array (float64); the task asks for a dense torch"),
        (t(1.0, 2.0).float().numpy(), t(1.0, 2.0), "returned a numpy array (float32)"),
        (np.array(["a", "b"]), t(1.0, 2.0), "returned a numpy array (<U1)"),
        (object(), t(1.0), "your function returned a object; the task asks for a dense torch tensor"),
        ([t(1.0), "x"], [t(1.0), t(2.0)], "element 1 of the output is a Python str"),
        (torch.eye(2, dtype=torch.float64).to_sparse_csr(), torch.eye(2, dtype=torch.float64).to_sparse(),
         "is a sparse CSR torch tensor (float64); the task asks for a sparse COO torch tensor"),
        (torch.sparse_coo_tensor(torch.tensor([[0, 5]]), torch.ones(2, dtype=torch.float64), (3,),
                                 check_invariants=False), torch.zeros(3, dtype=torch.float64).to_sparse(),
         "indices outside its shape (3,)"),
    ],
)
def test_difference(got, want, phrase) -> None:
    d = difference(got, want, rtol=1e-7, atol=1e-9)
    if phrase is None:
        assert d is None
    else:
        assert d is not None and phrase in d


# A toy task registered for these tests only: cumulative sum with two misconceptions and a guard.


def ref_cumsum(x: torch.Tensor) -> torch.Tensor:
    return x.cumsum(0)


def cases(seed: int) -> list[Case]:
    g = torch.Generator().manual_seed(seed)
    return [Case("random 6", (torch.randn(6, generator=g, dtype=torch.float64),)),
            Case("one element", (torch.randn(1, generator=g, dtype=torch.float64),))]


def big_cases(seed: int) -> list[Case]:
    return [Case("n = 2000", (torch.ones(2000, dtype=torch.float64),))]


def quadratic_cumsum(x: torch.Tensor) -> torch.Tensor:  # builds an n×n mask: O(n²) memory
    n = x.shape[0]
    return (torch.ones(n, n, dtype=x.dtype).tril() @ x)


TOY = Exercise(
    task_id="toy_1", title="cumulative sum", notebook="99_toy", func_name="cumsum",
    reference=ref_cumsum, make_cases=cases, equation="eq. 0",
    misconceptions=(
        Misconception("reversed", lambda x: x.flip(0).cumsum(0).flip(0), "you summed from the end"),
        Misconception("exclusive", lambda x: x.cumsum(0) - x, "you left out the element itself"),
    ),
    guard=ComplexityGuard(lambda case: 4 * case.args[0].numel(), big_cases,
                          "an n×n tensor was created; a running sum needs O(n)."),
)


@pytest.fixture(autouse=True)
def toy_registered(monkeypatch: pytest.MonkeyPatch):
    check_module = sys.modules["recsys_ref.course.check"]  # the module, not the function
    monkeypatch.setattr(check_module, "get", lambda tid: registry.get(tid) if tid != "toy_1" else TOY)


def test_reference_passes_and_prints_one_line(capsys) -> None:
    check("toy_1", ref_cumsum)
    out = capsys.readouterr().out
    assert out.startswith("✓ toy_1 cumsum:") and out.count("\n") == 1


def test_stub_is_not_started_and_does_not_raise(capsys) -> None:
    def stub(x):
        raise NotImplementedError("Task toy_1")

    check("toy_1", stub)
    assert "not started" in capsys.readouterr().out
    assert run_check("toy_1", stub).points == 0


def test_misconceptions_are_named_in_order() -> None:
    r = run_check("toy_1", lambda x: x.flip(0).cumsum(0).flip(0))
    assert (r.status, r.misconception) == ("failed", "reversed")
    assert "you summed from the end" in r.message and "random 6" in r.message
    r = run_check("toy_1", lambda x: x.cumsum(0) - x)
    assert r.misconception == "exclusive"


def test_unknown_wrong_answer_gets_the_difference_and_the_equation() -> None:
    r = run_check("toy_1", lambda x: x.cumsum(0) * 2)
    assert r.status == "failed" and r.misconception is None
    assert "differs from the reference" in r.message and "eq. 0" in r.message
    with pytest.raises(AssertionError, match="✗ toy_1 cumsum"):
        check("toy_1", lambda x: x.cumsum(0) * 2)


def test_learner_exception_is_reported_in_one_line() -> None:
    def broken(x):
        return x.cumsum(dim=5)

    r = run_check("toy_1", broken)
    assert r.status == "failed"
    assert "raised IndexError" in r.message and "return x.cumsum(dim=5)" in r.message


def test_wrong_signature_is_named() -> None:
    r = run_check("toy_1", lambda x, y: x)
    assert "cumsum(x, y) cannot be called as cumsum(x)" in r.message


def test_in_place_change_of_an_input_is_caught() -> None:
    r = run_check("toy_1", lambda x: x.cumsum_(0))
    assert r.status == "failed" and "changed `x` in place" in r.message


def test_complexity_guard_fails_quadratic_memory_however_fast() -> None:
    r = run_check("toy_1", quadratic_cumsum)
    assert r.status == "failed" and r.misconception == "complexity"
    assert "an n×n tensor was created" in r.message and "2000×2000" in r.message


def test_numel_recorder_sees_factory_functions_and_sparse_values() -> None:
    with NumelRecorder() as rec:
        torch.zeros(30, 40)
    assert rec.max_numel == 1200 and rec.largest == (30, 40)
    with NumelRecorder() as rec:
        torch.sparse_coo_tensor(torch.tensor([[0, 999]]), torch.tensor([1.0, 2.0]), (1000,)).coalesce()
    assert rec.max_numel < 1000


def test_unknown_task_id_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="no task 'nope'; the course has: warmup"):
        registry.get("nope")
