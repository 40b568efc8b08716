"""Edges by rule (issue 21): every task declares the edge rules its cases realise
(``Exercise.edges``, rule names from ``tasks._generators``), and this file checks

- that each declared rule is realised by at least one case on every seed 0..19 (a predicate per
  rule: the largest index unused, a confidently wrong prediction with the opposite label, the last
  bucket empty, two learning rates, two optimizers one with state, a tie, a batch of one, the
  smallest sizes);
- that each predicate fails on cases lacking its edge and passes on the helper's edge;
- a search for undeclared applicability, where it can be found mechanically: an integer index
  tensor beside a size it indexes, labels beside probabilities, a reference that sorts or bins, a
  step that takes a learning rate or builds an optimizer, and any task with a tensor argument (a
  batch of one or the smallest sizes).  A rule that applies but is not drawn is waived below with
  the reason.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import pytest
import torch
from torch import Tensor
from torch.overrides import TorchFunctionMode

from recsys_ref.course import all_exercises
from recsys_ref.course.engine.spec import Case, Exercise
from recsys_ref.course.tasks import _generators as G

SEEDS = range(20)
TASKS = {t: ex for t, ex in all_exercises().items() if ex.kind == "task"}

# (task, rule, argument) → why the rule is not drawn although the search finds it applicable
WAIVED: dict[tuple[str, str, str], str] = {
    ("cap_4", G.TIES, ""): "the statement fixes no order among tied scores, so a tie would "
    "refuse a correct answer that breaks it the other way",
    ("cap_3", G.EMPTY_LAST_BUCKET, ""): "the output is one code per value and no count of "
    "buckets is read off the data: an empty last bucket changes no shape and no code",
    ("cap_7", G.EMPTY_LAST_BUCKET, ""): "the hat basis is taken at t + δ_u, not at t; cap_6 draws "
    "the same basis's empty last segment, and cap_7 its unused last user and level",
}


# ---- resolving a declared argument on a case ---------------------------------------------------


def bound(ex: Exercise, case: Case) -> dict[str, Any]:
    """The case's arguments by the reference's parameter names, defaults applied."""
    b = inspect.signature(ex.reference).bind(*case.args, **case.kwargs)
    b.apply_defaults()
    return dict(b.arguments)


def flat(x: Any) -> Tensor:
    """An index given as a tensor or as (nested) lists of ints, flattened."""
    if isinstance(x, Tensor):
        return x.reshape(-1)
    if isinstance(x, (list, tuple)):
        parts = [flat(e) for e in x]
        return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long)
    return torch.tensor([x])


def resolve(args: dict[str, Any], spec: str) -> Any:
    """``name``, ``name:dim`` (a size), ``name@row`` (a sparse tensor's index row), ``name#i`` (an
    element), ``name.key`` (a dict's entry, None when absent)."""
    for sep in (":", "@", "#", "."):
        if sep in spec:
            name, part = spec.split(sep, 1)
            value = args[name]
            if sep == ":":
                return int(value.shape[int(part)])
            if sep == "@":
                return value.coalesce().indices()[int(part)]
            if sep == "#":
                return float(value[int(part)])
            return value.get(part)
    return args[spec]


# ---- the predicates: is the rule realised by these cases? -------------------------------------


def unused_last_index(values: list[tuple[Any, Any]]) -> bool:
    """Some case has a size ≥ 1 whose largest index, size − 1, the index never takes."""
    return any(int(n) >= 1 and not bool((flat(i) == int(n) - 1).any()) for i, n in values)


def confidently_wrong(values: list[tuple[Tensor, Tensor]]) -> bool:
    """p = 1 with y = 0 in some case, and p = 0 with y = 1 in some case."""
    one_for_zero = any(bool(((p == 1) & (y == 0)).any()) for y, p in values)
    zero_for_one = any(bool(((p == 0) & (y == 1)).any()) for y, p in values)
    return one_for_zero and zero_for_one


def empty_last_bucket(values: list[tuple[Tensor, float]]) -> bool:
    """Some case has every value strictly below the last edge."""
    return any(bool((t < float(bound_)).all()) for t, bound_ in values)


def ties(values: list[tuple[Tensor]]) -> bool:
    """Some case has two equal values in one row (the last dimension)."""
    return any(bool((s.sort(dim=-1).values.diff(dim=-1) == 0).any()) for (s,) in values)


def varied_lr(values: list[tuple[float]]) -> bool:
    return len({float(lr) for (lr,) in values}) >= 2


def two_optimizers(values: list[tuple[str | None]]) -> bool:
    names = {o or "sgd" for (o,) in values}
    return len(names) >= 2 and bool(names & set(G.STATEFUL_OPTIMIZERS))


def batch_of_one(values: list[tuple[int, ...]]) -> bool:
    """Some case has every listed size equal to 1."""
    return any(all(_size(n) == 1 for n in sizes) for sizes in values)


PREDICATES: dict[str, Callable[[list[tuple[Any, ...]]], bool]] = {
    G.UNUSED_LAST_INDEX: unused_last_index,
    G.CONFIDENTLY_WRONG: confidently_wrong,
    G.EMPTY_LAST_BUCKET: empty_last_bucket,
    G.TIES: ties,
    G.VARIED_LR: varied_lr,
    G.TWO_OPTIMIZERS: two_optimizers,
    G.BATCH_OF_ONE: batch_of_one,
}


def smallest_realised(ex: Exercise, cases: Sequence[Case], spec: str) -> bool:
    """``name:dim=min`` or ``name=min``: some case has that size at ``min``."""
    where, low = spec.rsplit("=", 1)
    return any(_size(resolve(bound(ex, c), where)) == int(low) for c in cases)


def _size(v: Any) -> int:
    return len(v) if isinstance(v, (list, tuple)) else int(v)


def realised(ex: Exercise, cases: Sequence[Case], edge: tuple[str, ...]) -> bool:
    rule, *specs = edge
    if rule == G.SMALLEST:
        return all(smallest_realised(ex, cases, s) for s in specs)
    values = [tuple(resolve(bound(ex, c), s) for s in specs) for c in cases]
    return PREDICATES[rule](values)


def base_cases(ex: Exercise, seed: int) -> list[Case]:
    make = getattr(ex.make_cases, "__wrapped__", ex.make_cases)
    return list(make(seed))


# ---- every declared rule is realised, on every seed ---------------------------------------------


@pytest.mark.parametrize("task_id", sorted(TASKS))
def test_declared_edges_are_drawn(task_id: str) -> None:
    ex = TASKS[task_id]
    for rule, *_ in ex.edges:
        assert rule in PREDICATES or rule == G.SMALLEST, f"{task_id}: unknown edge rule {rule!r}"
    missing = [
        f"seed {seed}: {edge}"
        for seed in SEEDS
        for edge in ex.edges
        if not realised(ex, base_cases(ex, seed), edge)
    ]
    assert not missing, f"{task_id}: declared edges no case draws:\n" + "\n".join(missing)


# ---- each predicate fails without its edge and holds with the helper's ----------------------------


def test_unused_last_index_predicate() -> None:
    band = torch.tensor([0, 1, 2, 3, 1])
    assert not unused_last_index([(band, 4)])
    assert unused_last_index([(band, 4), (G.unused_last(band, 4), 4)])
    assert not bool((G.unused_last(band, 4) == 3).any())
    assert unused_last_index([([[0, 1], [1]], 3)])  # a list of neighbour lists
    with pytest.raises(ValueError, match="size ≥ 2"):
        G.unused_last(band, 1)


def test_confidently_wrong_predicate() -> None:
    y = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=torch.float64)
    p = torch.tensor([1.0, 0.0, 0.7, 0.2], dtype=torch.float64)  # certain, but right
    assert not confidently_wrong([(y, p)])
    only_one = (y.clone(), p.clone())
    only_one[1][1] = 1.0  # p = 1 with y = 0, but no p = 0 with y = 1
    assert not confidently_wrong([only_one])
    assert confidently_wrong([(y, p), G.confidently_wrong(y, p)])


def test_empty_last_bucket_predicate() -> None:
    edges = torch.tensor([-5.0, 0.0, 5.0], dtype=torch.float64)
    t = torch.tensor([-7.0, 1.0, 5.0], dtype=torch.float64)  # 5.0 is on the last edge: bucket 3
    assert not empty_last_bucket([(t, 5.0)])
    moved = G.empty_last_bucket(t, edges)
    assert empty_last_bucket([(moved, 5.0)]) and float(moved[2]) == 2.5
    assert float(G.empty_last_bucket(torch.tensor([1.0]), torch.tensor([0.0]))[0]) == -1.0


def test_ties_predicate() -> None:
    s = torch.tensor([[0.3, 0.1, 0.9, 0.5]])
    assert not ties([(s,)])
    tied = G.tie_at(s, 0, 2)
    assert ties([(tied,)]) and float(tied[0, 3]) == 0.5 and float(tied[0, 0]) == 0.5


def test_varied_lr_and_optimizer_predicates() -> None:
    assert not varied_lr([(0.1,), (0.1,)]) and varied_lr([(0.1,), (0.05,)])
    assert not two_optimizers([(None,), ("sgd",)])
    assert not two_optimizers([("sgd",), ("momentum-free",)])  # two, but none with state
    assert two_optimizers([(None,), ("adagrad",)])


def test_batch_and_smallest_predicates() -> None:
    assert not batch_of_one([(2, 1), (1, 3)]) and batch_of_one([(2, 1), (1, 1)])
    ex = TASKS["fm_3"]
    x, V = torch.ones(2, 3), torch.ones(3, 2)
    assert not smallest_realised(ex, [Case("n = 3", (x, V))], "V:0=1")
    assert smallest_realised(ex, [Case("n = 3", (x, V)), Case("n = 1", (x[:, :1], V[:1]))], "V:0=1")


# ---- the search for undeclared applicability ----------------------------------------------------


def _declared(ex: Exercise, rule: str, arg: str) -> bool:
    base = lambda s: s.split(":")[0].split("@")[0].split("#")[0].split(".")[0]  # noqa: E731
    return any(e[0] == rule and any(base(s) == arg for s in e[1:]) for e in ex.edges)


def _sizes(args: dict[str, Any], skip: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, v in args.items():
        if name == skip:
            continue
        if isinstance(v, int) and not isinstance(v, bool):
            out[name] = v
        elif isinstance(v, Tensor):
            out.update({f"{name}:{d}": int(n) for d, n in enumerate(v.shape)})
    return out


def index_applicability(ex: Exercise, cases: list[Case]) -> set[str]:
    """Integer index tensors that index a size given beside them: in every case below it, and
    reaching its last entry in some case (so a size read off the index would agree there)."""
    found = set()
    args0 = bound(ex, cases[0])
    for name, v in args0.items():
        if not (isinstance(v, Tensor) and not v.is_floating_point() and v.dtype != torch.bool):
            continue
        for size in _sizes(args0, name):
            below, tight = True, False
            for c in cases:
                a = bound(ex, c)
                i, n = a[name], _sizes(a, name).get(size)
                if n is None or i.numel() == 0:
                    continue
                below &= int(i.max()) < n
                tight |= int(i.max()) == n - 1
            if below and tight:
                found.add(name)
    return found


def label_probability_pairs(ex: Exercise, cases: list[Case]) -> set[str]:
    """Float tensors of probabilities (in [0, 1], not all 0/1) beside 0/1 labels of their shape."""
    a = bound(ex, cases[0])
    tensors = {
        k: v
        for k, v in a.items()
        if isinstance(v, Tensor) and v.is_floating_point() and v.layout == torch.strided
    }
    binary = {k for k, v in tensors.items() if bool(((v == 0) | (v == 1)).all())}
    return {
        k
        for k, v in tensors.items()
        if k not in binary
        and bool(((v >= 0) & (v <= 1)).all())
        and any(tensors[b].shape == v.shape for b in binary)
    }


class _Ops(TorchFunctionMode):
    """The names of the torch functions and tensor methods called (sparse tensors included)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        self.names.add(getattr(func, "__name__", ""))
        return func(*args, **(kwargs or {}))


def reference_ops(ex: Exercise, case: Case) -> set[str]:
    with _Ops() as mode:
        ex.reference(*case.args, **case.kwargs)
    return mode.names


SORTS = {"topk", "sort", "argsort", "argmax", "argmin", "kthvalue"}  # max/min: input checks too
BINS = {"bucketize", "searchsorted"}


def applicable(ex: Exercise) -> set[tuple[str, str]]:
    """(rule, argument) pairs the search finds for a task ("" where the reference's ops say so)."""
    cases = base_cases(ex, 0)
    a = bound(ex, cases[0])
    found = {(G.UNUSED_LAST_INDEX, n) for n in index_applicability(ex, cases)}
    found |= {  # a sparse matrix: its size could be read off its indices
        (G.UNUSED_LAST_INDEX, n) for n, v in a.items() if isinstance(v, Tensor) and v.is_sparse
    }
    found |= {(G.CONFIDENTLY_WRONG, n) for n in label_probability_pairs(ex, cases)}
    ops = reference_ops(ex, cases[0])
    if ops & BINS:
        found.add((G.EMPTY_LAST_BUCKET, ""))
    if ops & SORTS:
        found.add((G.TIES, ""))
    if "lr" in a:
        found.add((G.VARIED_LR, "lr"))
    for name, v in a.items():
        if isinstance(v, dict) and "lr" in v:
            found |= {(G.VARIED_LR, name), (G.TWO_OPTIMIZERS, name)}
    if any(isinstance(v, Tensor) for v in a.values()):
        found.add((G.BATCH_OF_ONE, ""))
    return found


def undeclared(task_id: str, ex: Exercise) -> list[str]:
    """The rules the search finds for ``ex`` that it neither declares nor has waived."""
    rules = {e[0] for e in ex.edges}
    out = []
    for rule, arg in sorted(applicable(ex)):
        if any(w[0] == task_id and w[1] == rule and w[2] in ("", arg) for w in WAIVED):
            continue
        if rule == G.BATCH_OF_ONE:
            ok = bool(rules & {G.BATCH_OF_ONE, G.SMALLEST})
        elif arg and rule in (G.UNUSED_LAST_INDEX, G.CONFIDENTLY_WRONG):
            ok = _declared(ex, rule, arg)
        else:
            ok = rule in rules
        if not ok:
            out.append(f"{rule} ({arg or 'the reference'})")
    return out


@pytest.mark.parametrize("task_id", sorted(TASKS))
def test_applicable_rules_are_declared(task_id: str) -> None:
    missing = undeclared(task_id, TASKS[task_id])
    assert not missing, (
        f"{task_id}: rules that apply but are neither declared in its spec's edges nor waived "
        f"in tests/test_edges.py: {missing}"
    )


@pytest.mark.parametrize(
    ("task_id", "expected"),
    [
        (
            "cap_5",
            {"unused_last_index (band)", "confidently_wrong (p)", "batch_of_one (the reference)"},
        ),
        ("ngcf_2", {"unused_last_index (A)", "batch_of_one (the reference)"}),
        ("ngcf_7", {"ties (the reference)", "batch_of_one (the reference)"}),
        ("ngcf_9", {"varied_lr (state)", "two_optimizers (state)", "batch_of_one (the reference)"}),
        ("cap_6", {"empty_last_bucket (the reference)", "batch_of_one (the reference)"}),
    ],
)
def test_the_search_flags_a_spec_without_its_edges(task_id: str, expected: set[str]) -> None:
    """The search is not vacuous: the same spec with its declarations removed is flagged."""
    assert set(undeclared(task_id, dataclasses.replace(TASKS[task_id], edges=()))) == expected


def test_waivers_name_real_tasks_and_applicable_rules() -> None:
    for task_id, rule, _arg in WAIVED:
        assert task_id in TASKS and rule in PREDICATES
        assert rule in {r for r, _ in applicable(TASKS[task_id])}, (
            f"{task_id}: {rule} waived needlessly"
        )
