"""The exercise machinery itself: comparison, diagnosis, stubs, mutation, signature, complexity guard."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recsys_ref.course import check, run_check
from recsys_ref.course.engine import registry, runner
from recsys_ref.course.engine.evaluate import difference
from recsys_ref.course.engine.runner import NumelRecorder
from recsys_ref.course.engine.spec import Case, ComplexityGuard, Exercise, Misconception


def t(*values, dtype=torch.float64):
    return torch.tensor(values, dtype=dtype)


@pytest.mark.parametrize(
    ("got", "want", "phrase"),
    [
        (t(1.0, 2.0), t(1.0, 2.0), None),
        (t(1.0, 2.0 + 1e-12), t(1.0, 2.0), None),
        (
            t(1.0, 2.5),
            t(1.0, 2.0),
            "differs from the reference in 1 of 2 entries (largest error 0.5 at index (1,))",
        ),
        (t(1.0, 2.0, 3.0), t(1.0, 2.0), "has shape (3,), expected (2,)"),
        (
            t(1.0, 2.0, dtype=torch.float32),
            t(1.0, 2.0),
            "has dtype float32; the task asks for float64",
        ),
        (t(1.0, float("nan")), t(1.0, 2.0), "contains NaN or inf (first at index (1,))"),
        (t(1.0, float("nan")), t(1.0, float("nan")), None),
        (
            [1.0, 2.0],
            t(1.0, 2.0),
            "your function returned a list of 2; the task asks for a dense torch tensor",
        ),
        (
            None,
            t(1.0),
            "returned None (does your function end with `return ...`?); the task asks for",
        ),
        ((t(1.0), t(2.0)), (t(1.0), t(3.0)), "element 1 of the output differs"),
        ((t(1.0),), (t(1.0), t(3.0)), "has 1 elements; the task asks for 2"),
        ({"a": 1.0}, {"a": 1.0}, None),
        ({"a": 1.0}, {"a": 1.0, "b": 2.0}, "has keys ['a'], expected ['a', 'b']"),
        (0.5, 0.5000000001, None),
        (t(0.5), 0.5, "the task asks for a Python float: convert with float(...)"),
        ("x", 0.5, "your function returned a Python str; the task asks for a Python float"),
        (
            np.eye(2),
            sp.eye(2, format="csr"),
            "returned a numpy array (float64); the task asks for a scipy.sparse",
        ),
        (sp.eye(2, format="csr"), sp.eye(2, format="csr"), None),
        (torch.eye(3).to_sparse(), torch.eye(3), "the task asks for a dense torch tensor"),
        (
            torch.eye(3, dtype=torch.float64).to_sparse(),
            torch.eye(3, dtype=torch.float64).to_sparse(),
            None,
        ),
        # the kind is checked, not truthiness: bool only where the reference is bool
        (torch.ones(2, dtype=torch.bool), t(1.0, 2.0), "has dtype bool; the task asks for float64"),
        (
            np.ones(2, dtype=bool),
            t(1.0, 2.0),
            "returned a numpy array (bool); the task asks for a dense torch",
        ),
        (
            torch.ones(2, dtype=torch.bool),
            torch.tensor([True, False]),
            "differs from the reference in 1 of 2",
        ),
        (True, 1.0, "returned a Python bool; the task asks for a Python float"),
        (1, 1.0, None),
        (
            np.float32(1.0),
            t(1.0),
            "return a tensor; `.item()` and `float()` cut the autograd graph",
        ),
        (0.5, t(0.5), "return a tensor; `.item()` and `float()` cut the autograd graph"),
        (
            t(1.0, 2.0).numpy(),
            t(1.0, 2.0),
            "returned a numpy array (float64); the task asks for a dense torch",
        ),
        (t(1.0, 2.0).float().numpy(), t(1.0, 2.0), "returned a numpy array (float32)"),
        (np.array(["a", "b"]), t(1.0, 2.0), "returned a numpy array (<U1)"),
        (
            object(),
            t(1.0),
            "your function returned a object; the task asks for a dense torch tensor",
        ),
        ([t(1.0), "x"], [t(1.0), t(2.0)], "element 1 of the output is a Python str"),
        (
            torch.eye(2, dtype=torch.float64).to_sparse_csr(),
            torch.eye(2, dtype=torch.float64).to_sparse(),
            "is a sparse CSR torch tensor (float64); the task asks for a sparse COO torch tensor",
        ),
        (
            torch.sparse_coo_tensor(
                torch.tensor([[0, 5]]),
                torch.ones(2, dtype=torch.float64),
                (3,),
                check_invariants=False,
            ),
            torch.zeros(3, dtype=torch.float64).to_sparse(),
            "indices outside its shape (3,)",
        ),
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
    return [
        Case("random 6", (torch.randn(6, generator=g, dtype=torch.float64),)),
        Case("one element", (torch.randn(1, generator=g, dtype=torch.float64),)),
    ]


def big_cases(seed: int) -> list[Case]:
    return [Case("n = 2000", (torch.ones(2000, dtype=torch.float64),))]


def quadratic_cumsum(x: torch.Tensor) -> torch.Tensor:  # builds an n×n mask: O(n²) memory
    n = x.shape[0]
    return torch.ones(n, n, dtype=x.dtype).tril() @ x


TOY = Exercise(
    task_id="toy_1",
    title="cumulative sum",
    notebook="99_toy",
    func_name="cumsum",
    reference=ref_cumsum,
    make_cases=cases,
    equation="eq. 0",
    misconceptions=(
        Misconception("reversed", lambda x: x.flip(0).cumsum(0).flip(0), "you summed from the end"),
        Misconception("exclusive", lambda x: x.cumsum(0) - x, "you left out the element itself"),
    ),
    guard=ComplexityGuard(
        lambda case: 4 * case.args[0].numel(),
        big_cases,
        "an n×n tensor was created; a running sum needs O(n).",
    ),
)


@pytest.fixture(autouse=True)
def toy_registered(monkeypatch: pytest.MonkeyPatch):
    check_module = sys.modules["recsys_ref.course.engine.check"]  # the module, not the function
    monkeypatch.setattr(
        check_module, "get", lambda tid: registry.get(tid) if tid != "toy_1" else TOY
    )


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
    r = run_check("toy_1", lambda x: x.cumsum(0) + x**2)  # no relation to the reference
    assert r.status == "failed" and r.misconception is None
    assert "differs from the reference" in r.message and "eq. 0" in r.message
    with pytest.raises(AssertionError, match="✗ toy_1 cumsum"):
        check("toy_1", lambda x: x.cumsum(0) + x**2)
    doubled = run_check("toy_1", lambda x: x.cumsum(0) * 2)  # the relational layer names it
    assert doubled.misconception == "scaled" and "exactly 2 × the expected" in doubled.message


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
    assert r.misconception == "in_place"


def test_complexity_guard_fails_quadratic_memory_however_fast() -> None:
    r = run_check("toy_1", quadratic_cumsum)
    assert r.status == "failed" and r.misconception == "complexity"
    assert "an n×n tensor was created" in r.message and "2000×2000" in r.message


def test_numel_recorder_sees_factory_functions_and_sparse_values() -> None:
    with NumelRecorder() as rec:
        torch.zeros(30, 40)
    assert rec.max_numel == 1200 and rec.largest == (30, 40)
    with NumelRecorder() as rec:
        torch.sparse_coo_tensor(
            torch.tensor([[0, 999]]), torch.tensor([1.0, 2.0]), (1000,)
        ).coalesce()
    assert rec.max_numel < 1000


def test_unknown_task_id_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="no task 'nope'; the course has: warmup"):
        registry.get("nope")


# ---------------------------------------------------------------- one test per fault class (issue 10)
# Each builds the wrong answer a learner writes and asserts the named diagnosis and its sentence.


def ref_output(task_id: str, seed: int = 0):
    ex = registry.get(task_id)
    case = ex.make_cases(seed)[0]
    return ex.reference(*case.args, **case.kwargs)


def test_type_a_number_where_a_tensor_is_asked_is_told_why() -> None:
    ref = registry.get("ngcf_6").reference
    r = run_check("ngcf_6", lambda *a: ref(*a).item(), seed=0)
    assert (r.status, r.misconception) == ("failed", "container")
    assert "return a tensor; `.item()` and `float()` cut the autograd graph" in r.message


@pytest.mark.parametrize(
    "task_id",
    [
        "warmup",
        "ngcf_2",
        "ngcf_3",
        "ngcf_4",
        "ngcf_5",
        "ngcf_6",
        "fm_3",
        "fm_4",
        "fm_5",
        "fm_6",
        "fm_7",
    ],
)
@pytest.mark.parametrize("kind", ["torch bool", "numpy bool", "numpy float32", "numpy strings"])
def test_type_bool_numpy_and_strings_get_no_points(task_id: str, kind: str) -> None:
    ex = registry.get(task_id)

    def answer(*args, **kwargs):
        out = ex.reference(*args, **kwargs)
        out = out.detach().to_dense() if out.layout != torch.strided else out.detach()
        return {
            "torch bool": lambda: torch.ones_like(out, dtype=torch.bool),
            "numpy bool": lambda: np.ones(tuple(out.shape), dtype=bool),
            "numpy float32": lambda: out.numpy().astype(np.float32),
            "numpy strings": lambda: np.full(tuple(out.shape), "x"),
        }[kind]()

    r = run_check(task_id, answer, seed=0)
    assert r.status == "failed" and r.misconception in ("container", "dtype", "layout"), r.message
    assert "the task asks for" in r.message


def test_dtype_float32_one_hot_is_named() -> None:
    from recsys_ref.data.encoding import one_hot

    r = run_check("fm_2", lambda idx, n: one_hot(idx, n).float(), seed=0)
    assert (r.status, r.misconception) == ("failed", "dtype")
    assert "has dtype float32; the task asks for float64" in r.message


def test_gradient_an_l2_term_from_item_is_no_gradient_to_theta() -> None:
    import torch.nn.functional as F

    def bpr(pos, neg, theta, lam, batch_emb=None):
        return F.softplus(neg - pos).mean() + lam * sum(float((t**2).sum()) for t in theta)

    r = run_check("ngcf_6", bpr, seed=0)
    assert (r.status, r.misconception) == ("failed", "no_gradient"), r.message
    assert "no gradient reaches `theta[0]`" in r.message and "inputs requiring grad" in r.message


def test_gradient_a_wrong_backward_is_caught_although_the_values_match() -> None:
    class Scores(torch.autograd.Function):
        @staticmethod
        def forward(ctx, U, I):
            ctx.save_for_backward(U, I)
            return U @ I.T

        @staticmethod
        def backward(ctx, g):
            U, I = ctx.saved_tensors
            return 2 * g @ I, g.T @ U  # ∂/∂U doubled

    r = run_check("warmup", Scores.apply, seed=0)
    assert (r.status, r.misconception) == ("failed", "gradient"), r.message
    assert "∂/∂`U`" in r.message


def test_gradient_of_the_reference_passes_and_is_compared_in_the_grad_case() -> None:
    ex = registry.get("ngcf_4")
    cases = ex.make_cases(0)
    assert cases[-1].grad and not any(c.grad for c in cases[:-1])
    o = runner.call(ex.reference, cases[-1])
    _, _, names = runner.grad_leaves(ex.reference, cases[-1])
    assert names == ["E", "W1", "W2"] and all(g is not None for g in o.grads)
    assert not o.value.requires_grad  # detached: what the grader's worker sends back


@pytest.mark.parametrize("seed", range(8))
def test_edge_inputs_separate_the_variants_on_every_seed(seed: int) -> None:
    import tests.catalogue.ngcf_1 as adj
    import tests.catalogue.ngcf_6 as bpr
    import tests.catalogue.ngcf_7 as metrics

    assert run_check("ngcf_1", adj.no_size, seed=seed).misconception == "no_size"
    assert (
        run_check("ngcf_6", bpr.log_of_sigmoid, seed=seed).misconception == "log_sigmoid_underflow"
    )
    recall_min = next(v for v in metrics.WRONG if v.expect == "recall_over_min")
    assert run_check("ngcf_7", recall_min.fn, seed=seed).misconception == "recall_over_min"


def test_edge_cases_exist_by_design() -> None:
    names = {
        t: [c.name for c in registry.get(t).make_cases(0)]
        for t in ("ngcf_1", "ngcf_6", "ngcf_7", "fm_2")
    }
    assert "the last item (node N−1) isolated" in names["ngcf_1"]
    assert any("> 745" in n for n in names["ngcf_6"])
    assert any("1 ≤ |T_u| < K" in n for n in names["ngcf_7"]) and any(
        "tied" in n for n in names["ngcf_7"]
    )
    assert "batch of one" in names["fm_2"]
    case = next(c for c in registry.get("ngcf_1").make_cases(0) if "N−1" in c.name)
    R = case.args[0]
    assert R.to_dense()[:, -1].sum() == 0 and (R.to_dense().sum(1) > 0).all()
    case = next(c for c in registry.get("ngcf_6").make_cases(0) if "745" in c.name)
    assert (case.args[0] - case.args[1]).min() < -745


def test_rules_coo_is_asked_so_csr_fails() -> None:
    from recsys_ref.graph import bipartite_adjacency

    r = run_check("ngcf_1", lambda R: bipartite_adjacency(R).to_sparse_csr(), seed=0)
    assert (r.status, r.misconception) == ("failed", "layout")
    assert (
        "sparse CSR torch tensor (float64); the task asks for a sparse COO torch tensor"
        in r.message
    )


def test_rules_a_per_user_loop_fails_the_op_count_bound() -> None:
    import tests.catalogue.ngcf_7 as metrics

    r = run_check("ngcf_7", metrics.per_user_loop, seed=0)
    assert (r.status, r.misconception) == ("failed", "loop"), r.message
    assert "no per-user Python loop" in r.message and "torch ops" in r.message


def test_guard_provenance_names_the_op_that_created_the_dense_tensor() -> None:
    import tests.catalogue.ngcf_4 as layer

    r = run_check("ngcf_4", layer.with_eye, seed=0)
    assert r.misconception == "complexity"
    assert "created by torch.eye: write the I of (L+I) as + E" in r.message
    assert "to_dense" not in r.message
    r = run_check("ngcf_4", layer.dense_L, seed=0)
    assert (
        r.misconception == "complexity"
        and "created by `.to_dense()`: multiply with L @ E" in r.message
    )


def test_guard_outputs_are_compared_with_the_reference() -> None:
    from recsys_ref.fm import fm_pairwise

    def zeros_on_large_inputs(x, V):
        return torch.zeros(x.shape[0], dtype=x.dtype) if x.shape[1] >= 1000 else fm_pairwise(x, V)

    r = run_check("fm_4", zeros_on_large_inputs, seed=0)
    assert (r.status, r.misconception) == ("failed", "guard_value"), r.message


def test_op_count_loop_against_matrix_form() -> None:
    x = torch.randn(2000, dtype=torch.float64)
    with NumelRecorder() as rec:
        total = torch.zeros((), dtype=torch.float64)
        for v in x:
            total = total + v
    loop_ops = rec.ops
    with NumelRecorder() as rec:
        x.sum()
    assert loop_ops > 2000 and rec.ops < 5
    o = runner.call(lambda x: sum(x), Case("n = 2000", (x,)), record=True, ops_limit=200)
    assert o.kind == "ok" and o.value is None and 200 < o.ops <= 201  # stopped at the bound


def test_op_count_bound_on_the_loop_tasks() -> None:
    import tests.catalogue.fm_4 as fast
    import tests.catalogue.ngcf_4 as layer

    assert {t: registry.get(t).guard.max_ops for t in ("ngcf_4", "ngcf_7", "fm_4")} == {
        "ngcf_4": 200,
        "ngcf_7": 200,
        "fm_4": 200,
    }
    for task_id, fn in [("ngcf_4", layer.loop_over_nodes), ("fm_4", fast.loop_over_features)]:
        r = run_check(task_id, fn, seed=0)
        assert r.misconception == "loop" and "no loops" in r.message, r.message
    assert run_check(
        "fm_4", fast.loop_over_k, seed=0
    ).passed  # a loop over the k dimensions is allowed


def test_when_two_misconceptions_agree_a_case_where_they_differ_decides() -> None:
    from recsys_ref.course.engine.evaluate import evaluate

    tricky = Exercise(
        task_id="toy_3",
        title="scale",
        notebook="99_toy",
        func_name="scale",
        reference=lambda x: 2 * x,
        make_cases=lambda seed: [
            Case("zero", (torch.zeros(2, dtype=torch.float64),)),
            Case("ones", (torch.ones(2, dtype=torch.float64),)),
        ],
        misconceptions=(
            Misconception("first", lambda x: x - 1, "minus one"),
            Misconception("second", lambda x: 3 * x - 1, "three x minus one"),
        ),
    )
    cases = tricky.make_cases(0)
    # on the first failing case (zero) both variants give −1; the ones case decides
    r = evaluate(tricky, cases, runner.run_cases(lambda x: 3 * x - 1, cases))
    assert r.misconception == "second", r.message
    # a learner who agrees with "first" only where it differs from the reference is not named
    r = evaluate(tricky, cases, runner.run_cases(lambda x: x - 1 + 2 * x.sum(), cases))
    assert r.misconception not in ("first", "second"), r.message
    assert r.kind != "named misconception", r.message


def test_the_parameter_is_named_when_a_list_element_is_changed_in_place() -> None:
    ref = registry.get("ngcf_6").reference

    def bpr(pos, neg, theta, lam, batch_emb=None):
        theta[1].data.mul_(0.5)
        return ref(pos, neg, theta, lam, batch_emb)

    r = run_check("ngcf_6", bpr, seed=0)
    assert "changed `theta[1]` in place" in r.message


def test_the_output_element_is_named() -> None:
    from recsys_ref.metrics import recall_ndcg_at_k

    r = run_check(
        "ngcf_7", lambda *a: (recall_ndcg_at_k(*a)[0], recall_ndcg_at_k(*a)[1] * 0.9), seed=0
    )
    assert r.misconception == "scaled" and "the `ndcg` output is the expected" in r.message
    assert registry.get("fm_1").outputs == ("idx", "field_dims")
    from recsys_ref.course.engine.spec import output_names

    def two(a, b):
        if a:
            return a, b
        return b, a

    def mixed(a):
        return a + 1, a

    assert output_names(two) == () and output_names(mixed) == ()
    assert output_names(lambda a: a) == ()

    def named(x):
        recall, ndcg = x, x
        return recall, ndcg

    assert output_names(named) == ("recall", "ndcg")


def test_evaluate_never_raises_on_objects_that_cannot_be_compared() -> None:
    class Weird:
        def __eq__(self, other):
            raise RuntimeError("no")

        def __array__(self, *a, **k):
            raise RuntimeError("no")

    for value in (Weird(), "text", {"a": Weird()}, [Weird()], np.array([object()])):
        r = run_check("warmup", lambda U, I, v=value: v, seed=0)
        assert r.status == "failed" and "the task asks for" in r.message


def test_what_the_worker_sends_back_is_codec_encodable() -> None:
    from recsys_ref.course.sandbox import codec

    ex = registry.get("ngcf_6")
    case = ex.make_cases(0)[-1]
    o = runner.call(ex.reference, case, record=True)
    assert o.grads is not None and o.ops and o.creator
    codec.encode(o.to_plain(), "the outcome")
    assert Case.from_plain(case.to_plain()).grad and not Case.from_plain(["x", (1,), {}]).grad


def test_gradient_numpy_on_inputs_that_require_grad_is_named() -> None:
    r = run_check("warmup", lambda U, I: torch.from_numpy(U.numpy() @ I.numpy().T), seed=0)
    assert (r.status, r.misconception) == ("failed", "no_gradient"), r.message
    assert "inputs requiring grad" in r.message and "stay in torch" in r.message
