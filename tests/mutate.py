"""Mutation testing of the checks: each task's check must kill every mutant of its reference.

``python -m tests.mutate [task_id ...] [--seeds N]`` (``make mutation``).  A small
AST harness (mutmut and cosmic-ray mutate files and run a test command per mutant;
here the "test" is one task's ``run_check`` on a function rebuilt in memory, which
is ~100× faster than a pytest run per mutant).  Mutations of the reference's own
body (or, for a reference that only delegates, of the function it calls, or of the
``torch.autograd.Function`` that function applies: its forward and backward):

- operator swaps: + ↔ −, * ↔ /, ** → *, < ↔ ≤, > ↔ ≥, == ↔ !=, and ↔ or;
- constants: a number c → c + 1 and → 0; True ↔ False;
- axes: ``dim=``/``axis=``/``keepdim=`` keyword values changed (k → k + 1, k → −1 − k);
- dropped terms: a + b → a and → b; −x → x; ``.sum(...)``/``.mean(...)`` calls dropped.

A mutant is killed when the check fails on any of the seeds.  Input validation
(``if …: raise``, ``expect_*`` calls) is not mutated: the checks draw valid inputs
only.  A surviving mutant is either equivalent (listed in ``EQUIVALENT`` with the
reason) or a missing case; the report prints both, per task, and exits 1 when a
survivor is not listed as equivalent.
"""

from __future__ import annotations

import argparse
import ast
import copy
import inspect
import sys
import textwrap
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from recsys_ref.course import all_exercises, run_check
from recsys_ref.course.engine import runner

_SWAP = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.Pow: ast.Mult,
    ast.MatMult: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.And: ast.Or,
    ast.Or: ast.And,
}
_AXIS_KEYWORDS = {"dim", "axis", "keepdim", "dims", "right", "descending", "largest"}
_REDUCTIONS = {"sum", "mean"}

_CLAMP = "fractions are float64 in [0, 1): (1 − 2⁻⁵³)·|N_u| rounds down for every degree (to nearest: the product lies more than half an ulp below |N_u| unless |N_u| is a power of two, where it is exact), so ⌊f·|N_u|⌋ ≤ |N_u| − 1 and the clamp is never active: it guards a caller's fraction of exactly 1"
# task_id -> {mutant description: why it cannot change any output of the task}
EQUIVALENT: dict[str, dict[str, str]] = {
    "ngcf_2": {
        "normalized_laplacian line 14: Eq → NotEq": "A is sparse COO in the task: "
        "A.to_sparse() of a sparse COO tensor is A",
        "normalized_laplacian line 15: Eq → NotEq": "A is sparse COO in the task: "
        ".to_sparse_coo() of a COO tensor is the tensor itself",
        "normalized_laplacian line 18: 0 → 1": "A is square (validated above): "
        "A.shape[1] == A.shape[0]",
        "normalized_laplacian line 28: Mult → Div": "the task's A is built from a 0/1 R "
        "(ngcf_1), so every value is 1 and x * 1 == x / 1; a weighted A is outside the task",
    },
    "fm_4": {
        "fm_pairwise line 8: NotEq → Eq": "the branch only picks the kernel: torch.sparse.mm "
        "and @ give the same x V and x² V² for dense and sparse x alike (the guard bounds "
        "both paths the same way: no n×n tensor either way)",
    },
    "fm_5": {
        "pairwise_from_embeddings line 3: dim=1 → -2": "e is (B, F, k) in every call: "
        "dim −2 is dim 1",
        "pairwise_from_embeddings line 4: dim=1 → -2": "e * e is (B, F, k): dim −2 is dim 1",
    },
    "fm_6": {
        "fm_score line 7: And swapped": "the task's w0 is a number (the statement: 'w0 a "
        "number'); `or` also converts a tensor w0 with float(), the same value, and a tensor "
        "w0 is outside the task",
    },
    "fm_7": {
        "_FieldPairs line 15: Eq → NotEq": "for F ≥ 2 the extra clone copies equal values; for "
        "F = 1 the backward then writes into E = W[idx], a temporary copy of W's rows that "
        "nothing reads afterwards, and the gradient is all zeros either way (a field has no "
        "pair with itself)",
    },
    "cap_1": {
        "feels_like line 13: 0.0 → 1.0": "the clamp only keeps V^0.16 real where torch.where "
        "takes T (V < 4.8 km/h); a lower bound of 1 km/h changes only values never selected",
    },
    "cap_4": {
        "top_k_outfits line 17: 1 → 0": "M only guards a matrix of 0 outfits, which the "
        "k-check above refuses; U ≥ 1 is as truthy as M ≥ 1",
        "top_k_outfits line 19: True → False": "an unstable sort reorders tied scores only, and "
        "the statement fixes no order for ties (the catalogue's correct argsort and loop "
        "variants order them otherwise): drawn scores are continuous, so no case has a tie",
    },
    "cap_5": {
        "stratified_logloss line 14: 1 → 0": "clamp(min=1) only guards the division in an "
        "empty band, whose value torch.where replaces by NaN; 0/0 there is NaN too",
    },
    "cap_6": {
        "hat_basis line 15: right=True → False": "the two differ only for t on an inner knot: "
        "right=False takes the segment ending there with λ = 1, right=True the one starting "
        "there with λ = 0; both give weight 1 to that knot and 0 elsewhere",
    },
    "ngcf_8": {
        "sample_triples line 32: 0 → 1": "the value for an empty `indices`, which no legal "
        "case has (a sampler needs a positive)",
        "sample_triples line 32: 1 → 2": "n only has to exceed every item index for the keys "
        "u·n + i to be unique: max + 2 does as well as max + 1",
        "sample_triples line 24: 1 → 0": _CLAMP,
        "sample_triples line 24: Sub → Add": _CLAMP,
        "sample_triples line 24: a ± b → a": _CLAMP,
        "sample_triples line 35: 0 → 1": "len(keys) ≥ 1 in every legal case, so "
        "max(len(keys) − 1, 0) never takes the 0",
    },
}


@dataclass(frozen=True)
class Mutant:
    where: str  # "line 12: + → −"
    fn: Callable[..., Any]
    line: int  # from the function's ``def`` (line 1)


def _is_validation(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.If) and any(isinstance(s, ast.Raise) for s in stmt.body):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        f = stmt.value.func
        name = f.id if isinstance(f, ast.Name) else getattr(f, "attr", "")
        return name.startswith("expect") or name.startswith("_check")
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return True  # a docstring
    return isinstance(stmt, ast.Assert)


class _Points(ast.NodeTransformer):
    """Counts mutation points in visiting order; applies point ``target`` (``-1``: none)."""

    def __init__(self, target: int = -1) -> None:
        self.target, self.n = target, 0
        self.names: list[str] = []
        self.lines: list[int] = []

    def _point(self, what: str, node: ast.AST) -> bool:
        i = self.n
        self.n += 1
        self.names.append(f"line {getattr(node, 'lineno', '?')}: {what}")
        self.lines.append(getattr(node, "lineno", 0))
        return i == self.target

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.decorator_list = [  # a method of an autograd Function keeps its @staticmethod
            d for d in node.decorator_list if isinstance(d, ast.Name) and d.id == "staticmethod"
        ]
        node.body = [s if _is_validation(s) else self.visit(s) for s in node.body]
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        new = _SWAP.get(type(node.op))
        if new is not None and self._point(f"{type(node.op).__name__} → {new.__name__}", node):
            node.op = new()
        if isinstance(node.op, (ast.Add, ast.Sub)):
            if self._point("a ± b → a", node):
                return node.left
            if self._point("a ± b → b", node):
                return node.right
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        if self._point(f"{type(node.op).__name__} swapped", node):
            node.op = _SWAP[type(node.op)]()
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        for k, op in enumerate(node.ops):
            new = _SWAP.get(type(op))
            if new is not None and self._point(f"{type(op).__name__} → {new.__name__}", node):
                node.ops[k] = new()
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, (ast.USub, ast.Not)) and self._point(
            f"{type(node.op).__name__} dropped", node
        ):
            return node.operand
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        v = node.value
        if isinstance(v, bool):
            if self._point(f"{v} → {not v}", node):
                return ast.copy_location(ast.Constant(not v), node)
        elif isinstance(v, (int, float)):
            if self._point(f"{v!r} → {v + 1!r}", node):
                return ast.copy_location(ast.Constant(v + 1), node)
            if v != 0 and self._point(f"{v!r} → 0", node):
                return ast.copy_location(ast.Constant(type(v)(0)), node)
        return node

    def visit_keyword(self, node: ast.keyword) -> ast.AST:
        if node.arg == "check_invariants":  # a mutant's bad indices raise, never corrupt memory
            node.value = ast.Constant(True)
            return node
        if node.arg in _AXIS_KEYWORDS:
            v = node.value
            if isinstance(v, ast.Constant) and isinstance(v.value, bool):
                if self._point(f"{node.arg}={v.value} → {not v.value}", node.value):
                    node.value = ast.Constant(not v.value)
                return node
            if isinstance(v, (ast.Constant, ast.UnaryOp)):
                try:
                    k = ast.literal_eval(v)
                except ValueError:
                    k = None
                if isinstance(k, int):
                    for new in (k + 1, -1 - k):
                        if new != k and self._point(f"{node.arg}={k} → {new}", node.value):
                            node.value = ast.Constant(new)
                    return node
        self.generic_visit(node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        f = node.func
        if (
            isinstance(f, ast.Attribute)
            and f.attr in _REDUCTIONS
            and self._point(f".{f.attr}(...) dropped", node)
        ):
            return f.value
        return node


def _delegate(ref: Callable[..., Any]) -> tuple[str, ast.expr] | None:
    """``(name, func)`` when the body of ``ref`` (validation aside) is one ``return name(...)``
    or ``return name.apply(...)``, else None."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(ref)))
    body = [s for s in tree.body[0].body if not _is_validation(s)]
    if len(body) == 1 and isinstance(body[0], ast.Return) and isinstance(body[0].value, ast.Call):
        f = body[0].value.func
        if isinstance(f, ast.Name):
            return f.id, f
        if isinstance(f, ast.Attribute) and f.attr == "apply" and isinstance(f.value, ast.Name):
            return f.value.id, f
    return None


def _target(ref: Callable[..., Any]) -> tuple[Any, Callable[[Any], Any]]:
    """The function (or autograd Function class) to mutate and how to make a
    reference-shaped callable of a mutant: the reference itself, the one function a
    two-line wrapper delegates to, or the ``torch.autograd.Function`` that function
    applies (its forward and backward: fm_7's hand-written gradient)."""
    found = _delegate(ref)
    if found is not None:
        name, _ = found
        callee = ref.__globals__.get(name)
        if inspect.isclass(callee) and issubclass(callee, torch.autograd.Function):
            return callee, lambda mutated: _reinstall(ref, name, mutated)
        if inspect.isfunction(callee):
            inner = _target(callee)
            if inner[0] is not callee:  # the callee applies an autograd Function
                return inner[0], lambda mutated: _reinstall(ref, name, inner[1](mutated))

            def install(mutated: Any) -> Any:
                g = dict(ref.__globals__)
                g[name] = mutated
                w = types.FunctionType(
                    ref.__code__, g, ref.__name__, ref.__defaults__, ref.__closure__
                )
                w.__kwdefaults__ = ref.__kwdefaults__
                return w

            return callee, install
    return ref, lambda mutated: mutated


def _reinstall(fn: Callable[..., Any], name: str, mutated: Any) -> Callable[..., Any]:
    """``fn`` with the global ``name`` it calls replaced by ``mutated``."""
    g = dict(fn.__globals__)
    g[name] = mutated
    w = types.FunctionType(fn.__code__, g, fn.__name__, fn.__defaults__, fn.__closure__)
    w.__kwdefaults__ = fn.__kwdefaults__
    return w


def _globals(fn: Any) -> dict[str, Any]:
    return fn.__globals__ if inspect.isfunction(fn) else vars(sys.modules[fn.__module__])


def _codes(fn: Any) -> list[types.CodeType]:
    """The code objects a mutant of ``fn`` can change: its own, or its class's methods'."""
    if inspect.isfunction(fn):
        return [fn.__code__]
    return [
        m.__code__
        for m in vars(fn).values()
        if isinstance(m, (staticmethod, types.FunctionType))
        for m in [m.__func__ if isinstance(m, staticmethod) else m]
    ]


def mutants(ref: Callable[..., Any]) -> list[Mutant]:
    fn, install = _target(ref)
    source = textwrap.dedent(inspect.getsource(fn))
    base = ast.parse(source)
    counter = _Points()
    counter.visit(copy.deepcopy(base))
    out = []
    for i, where in enumerate(counter.names):
        tree = _Points(i).visit(copy.deepcopy(base))
        ast.fix_missing_locations(tree)
        g = dict(_globals(fn))
        try:
            exec(compile(tree, inspect.getsourcefile(fn) or "<mutant>", "exec"), g)  # noqa: S102
        except Exception:  # noqa: BLE001 - a mutant that does not compile is not a mutant
            continue
        out.append(Mutant(f"{fn.__name__} {where}", install(g[fn.__name__]), counter.lines[i]))
    return out


def executed_lines(ex: Any, fn: Callable[..., Any], seeds: int) -> set[int]:
    """Lines of ``fn`` (numbered from its ``def``, as the mutants are) that the reference
    executes on the task's cases (on a grad case, the backward too): a mutant elsewhere
    (another option's branch) is unreachable from the task, so equivalent."""
    codes = _codes(fn)
    first = inspect.getsourcelines(fn)[1]
    seen: set[int] = set()

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if frame.f_code in codes:
            seen.add(frame.f_lineno - first + 1)
            return tracer
        return None

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        for s in range(seeds):
            for case in ex.make_cases(s):
                runner.call(ex.reference, case)  # on a grad case, the backward too
    finally:
        sys.settrace(old)
    return seen


def run(task_ids: list[str], seeds: int) -> int:
    exercises = all_exercises()
    tasks = task_ids or [t for t, ex in exercises.items() if ex.kind == "task"]
    start = time.perf_counter()
    total = {"mutants": 0, "killed": 0, "equivalent": 0, "survived": 0}
    failed = False
    for t in tasks:
        ex = exercises[t]
        found = mutants(ex.reference)
        reached = executed_lines(ex, _target(ex.reference)[0], seeds)
        killed, equivalent, survived = 0, [], []
        for m in found:
            if m.line not in reached:
                equivalent.append(f"{m.where}: not executed on the task's cases (another option)")
            elif any(not run_check(t, m.fn, seed=s).passed for s in range(seeds)):
                killed += 1
            elif m.where in EQUIVALENT.get(t, {}):
                equivalent.append(f"{m.where}: {EQUIVALENT[t][m.where]}")
            else:
                survived.append(m.where)
        print(
            f"[mutation] {t}: {len(found)} mutants, {killed} killed, {len(equivalent)} "
            f"equivalent, {len(survived)} surviving"
        )
        for line in equivalent:
            print(f"    equivalent  {line}")
        for line in survived:
            print(f"    SURVIVED    {line}")
        total["mutants"] += len(found)
        total["killed"] += killed
        total["equivalent"] += len(equivalent)
        total["survived"] += len(survived)
        failed |= bool(survived)
    print(
        f"[mutation] all: {total['mutants']} mutants, {total['killed']} killed, "
        f"{total['equivalent']} equivalent, {total['survived']} surviving; seeds {seeds}; "
        f"{time.perf_counter() - start:.0f} s"
    )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("tasks", nargs="*", help="task ids (default: every task)")
    p.add_argument("--seeds", type=int, default=2, help="seeds per mutant (default 2)")
    args = p.parse_args(argv)
    tasks = args.tasks or [t for t, ex in all_exercises().items() if ex.kind == "task"]
    if len(tasks) == 1:
        import torch

        torch.sparse.check_sparse_tensor_invariants.enable()
        return run(tasks, args.seeds)
    # one process per task: a mutant that crashes the interpreter takes only its task along
    import subprocess

    start, worst = time.perf_counter(), 0
    for t in tasks:
        rc = subprocess.call([sys.executable, "-m", "tests.mutate", t, "--seeds", str(args.seeds)])
        if rc not in (0, 1):
            print(f"[mutation] {t}: the run ended with status {rc} (a mutant crashed it)")
        worst = max(worst, 1 if rc else 0)
    print(f"[mutation] {len(tasks)} tasks in {time.perf_counter() - start:.0f} s")
    return worst


if __name__ == "__main__":
    sys.exit(main())
