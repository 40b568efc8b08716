"""Mutation testing of the checks: each task's check must kill every mutant of its reference.

``python -m tests.mutate [task_id ...] [--seeds N]`` (``make mutation``).  A small
AST harness (mutmut and cosmic-ray mutate files and run a test command per mutant;
here the "test" is one task's ``run_check`` on a function rebuilt in memory, which
is ~100× faster than a pytest run per mutant).  Mutations of the reference's own
body (or, for a reference that only delegates, of the function it calls):

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

from recsys_ref.course import all_exercises, run_check

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
    "ngcf_8": {
        "sample_triples line 32: 0 → 1": "the value for an empty `indices`, which no legal "
        "case has (a sampler needs a positive)",
        "sample_triples line 32: 1 → 2": "n only has to exceed every item index for the keys "
        "u·n + i to be unique: max + 2 does as well as max + 1",
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
        node.decorator_list = []
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


def _target(ref: Callable[..., Any]) -> tuple[Callable[..., Any], Callable[[Any], Any]]:
    """The function to mutate and how to make a reference-shaped callable of a mutant:
    the reference itself, or the one function a two-line wrapper delegates to."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(ref)))
    body = [s for s in tree.body[0].body if not _is_validation(s)]
    if (
        len(body) == 1
        and isinstance(body[0], ast.Return)
        and isinstance(body[0].value, ast.Call)
        and isinstance(body[0].value.func, ast.Name)
    ):
        name = body[0].value.func.id
        callee = ref.__globals__.get(name)
        if inspect.isfunction(callee):

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
        g = dict(fn.__globals__)
        try:
            exec(compile(tree, inspect.getsourcefile(fn) or "<mutant>", "exec"), g)  # noqa: S102
        except Exception:  # noqa: BLE001 - a mutant that does not compile is not a mutant
            continue
        out.append(Mutant(f"{fn.__name__} {where}", install(g[fn.__name__]), counter.lines[i]))
    return out


def executed_lines(ex: Any, fn: Callable[..., Any], seeds: int) -> set[int]:
    """Lines of ``fn`` (numbered from its ``def``, as the mutants are) that the reference
    executes on the task's cases: a mutant elsewhere (another option's branch) is
    unreachable from the task, so equivalent."""
    code, first = fn.__code__, fn.__code__.co_firstlineno
    seen: set[int] = set()

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if frame.f_code is code:
            seen.add(frame.f_lineno - first + 1)
            return tracer
        return None

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        for s in range(seeds):
            for case in ex.make_cases(s):
                try:
                    ex.reference(*case.args, **case.kwargs)
                except Exception:  # noqa: BLE001 - the reference's own refusals are not ours
                    pass
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
