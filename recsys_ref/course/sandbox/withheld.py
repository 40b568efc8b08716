"""What a grading worker must not reach, and how it is taken away (runs in the fork server and the worker).

The parent alone needs the expected values (``sandbox.run_tasks``).  In a worker,
every function listed here is replaced by a stub that raises ``NotAvailable``
("... is not available while grading"), by swapping the *code* of the function
object itself (``withhold``): every reference to it (module attributes, a
notebook's ``from recsys_ref.x import f as g``, the registry, closures, the
garbage collector's list of objects) then reaches the stub, and the original
code object is freed.  Withheld in a worker grading notebook N:

- every task's reference (``Exercise.reference``) and every package function
  whose output equals a task's reference on that task's cases
  (``EQUIVALENTS``, found and kept complete by ``search_equivalents`` in
  ``tests/test_grade_withheld.py``);
- every function of the task spec modules (``recsys_ref.course.tasks``: cases,
  wrong variants, oracles), including lambdas and closures;
- except a reference that a released exercise cell of N imports as a given
  helper from an earlier notebook (``GIVEN``: ``ngcf_5`` builds on the
  course's ``ngcf_layer``); when the helper is a task of N itself, the
  learner's own function from that task's cell is used (``ngcf_9`` calls the
  learner's ``bpr_loss``).

A call of a withheld function is thus a refusal the parent sees in the outcome
(the stub's exception), not a record the worker writes.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["EQUIVALENTS", "GIVEN", "NotAvailable", "NOT_AVAILABLE", "withhold", "withheld_keys"]

NOT_AVAILABLE = "is not available while grading"
SPEC_PACKAGE = "recsys_ref.course.tasks"

# task id -> package functions ("module:qualname") equal to the task's reference on its
# cases, other than the reference itself.  tests/test_grade_withheld.py recomputes this.
EQUIVALENTS: dict[str, tuple[str, ...]] = {
    "fm_3": ("recsys_ref.fm:fm_pairwise", "recsys_ref.fm:fm_pairwise_loops"),
    "fm_4": ("recsys_ref.fm:fm_pairwise_naive", "recsys_ref.fm:fm_pairwise_loops"),
    "fm_7": ("recsys_ref.ffm:ffm_pairwise_loops",),
    "ngcf_1": ("recsys_ref.graph:bipartite_adjacency",),
    "ngcf_2": ("recsys_ref.graph:normalized_laplacian",),
}

# task id -> tasks whose reference the released exercise cell imports and calls (checked
# against notebooks/ by tests/test_grade_withheld.py).
GIVEN: dict[str, tuple[str, ...]] = {"ngcf_5": ("ngcf_4",), "ngcf_9": ("ngcf_6",)}

# task id -> tasks whose reference a course helper of the released cell (not itself a task's
# reference) calls inside: ngcf_9's ``run_step`` rebuilds the course's NGCF, whose layer is
# ngcf_4's reference.  Exempt like ``GIVEN``, never replaced by the learner's own.
CALLED_BY_HELPERS: dict[str, tuple[str, ...]] = {"ngcf_9": ("ngcf_4",)}

# The learner's own functions standing in for a withheld helper (filled per request).
OWN: dict[str, Callable[..., Any]] = {}


class NotAvailable(RuntimeError):
    """A withheld function was called while grading."""


def key_of(fn: Any) -> str:
    """ "module:qualname" of a function (its identity in the tables above)."""
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', '?')}"


def resolve(key: str) -> Any:
    """The object named by "module:qualname" (its module must be imported)."""
    module, _, qualname = key.partition(":")
    obj: Any = sys.modules[module]
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def withheld_keys(notebook_tasks: Iterable[str], exercises: dict[str, Any]) -> set[str]:
    """The references and equivalents withheld from a worker grading ``notebook_tasks``."""
    graded = set(notebook_tasks)
    keys: set[str] = set()
    for tid, ex in exercises.items():
        keys.add(key_of(ex.reference))
        keys.update(EQUIVALENTS.get(tid, ()))
        keys.update(key_of(m.wrong) for m in ex.misconceptions)  # a wrong variant, inverted
    exempt = {
        key_of(exercises[g].reference)
        for t in graded
        for g in GIVEN.get(t, ()) + CALLED_BY_HELPERS.get(t, ())
        if g in exercises and g not in graded
    }
    forbidden_here = {key_of(exercises[t].reference) for t in graded if t in exercises}
    for t in graded:
        forbidden_here.update(EQUIVALENTS.get(t, ()))
    return keys - (exempt - forbidden_here)


_TEMPLATES: dict[int, types.CodeType] = {}


def _template(n: int) -> types.CodeType:
    """The stub's code with ``n`` free variables, its key and message left as placeholders
    (compiled once per closure size; ``__code__`` can only be swapped for one of the same)."""
    if n not in _TEMPLATES:
        cells = "".join(f"    v{i} = None\n" for i in range(n))
        touch = f"        ({', '.join(f'v{i}' for i in range(n))},)\n" if n else ""
        src = (
            "def outer():\n"
            f"{cells}"
            "    def withheld(*args, **kwargs):\n"
            f"{touch}"
            "        import sys\n"
            "        own = sys.modules['recsys_ref.course.sandbox.withheld'].OWN.get('@KEY@')\n"
            "        if own is not None:\n"
            "            return own(*args, **kwargs)\n"
            "        raise sys.modules['recsys_ref.course.sandbox.withheld'].NotAvailable('@MESSAGE@')\n"
            "    return withheld\n"
        )
        ns: dict[str, Any] = {}
        exec(compile(src, "<withheld>", "exec"), ns)  # noqa: S102 - a fixed template
        _TEMPLATES[n] = ns["outer"]().__code__
    return _TEMPLATES[n]


def _stub_code(fn: types.FunctionType) -> types.CodeType:
    """A code object raising ``NotAvailable`` (or calling the learner's own stand-in) with
    as many free variables as ``fn``'s."""
    code = _template(len(fn.__code__.co_freevars))
    message = (
        f"{fn.__qualname__} (from {fn.__module__}) {NOT_AVAILABLE}: the course's "
        "reference and the package functions that compute the same result are withheld "
        "from the grader's worker; write it yourself"
    )
    swap = {"@KEY@": key_of(fn), "@MESSAGE@": message}
    return code.replace(co_consts=tuple(swap.get(c, c) for c in code.co_consts))


def _swap(fn: types.FunctionType) -> None:
    code = _stub_code(fn)
    if fn.__closure__:
        for cell in fn.__closure__:  # what the original closed over (a wrapped original, ...)
            try:
                cell.cell_contents = None
            except (ValueError, AttributeError):
                pass
    fn.__code__ = code
    fn.__defaults__ = None
    fn.__kwdefaults__ = None
    if hasattr(fn, "__wrapped__"):
        delattr(fn, "__wrapped__")


def withhold(keys: Iterable[str], *, spec_functions: bool = True) -> list[str]:
    """Replace the functions named by ``keys`` (and, with ``spec_functions``, every
    function defined in the task spec modules) by stubs, in place; returns what could
    not be withheld (not a Python function), for the run's record."""
    import gc

    problems: list[str] = []
    targets: dict[int, types.FunctionType] = {}
    for key in keys:
        try:
            obj = resolve(key)
        except (KeyError, AttributeError):
            continue  # a module not imported here: nothing to reach
        obj = getattr(obj, "__func__", obj)
        while isinstance(getattr(obj, "__wrapped__", None), types.FunctionType):
            if isinstance(obj, types.FunctionType):
                targets[id(obj)] = obj
            obj = obj.__wrapped__
        if isinstance(obj, types.FunctionType):
            targets[id(obj)] = obj
        else:
            problems.append(key)
    if spec_functions:
        from ..engine.questions import withhold_answers

        withhold_answers()  # the questions' explanations and messages: the parent shows them
        for obj in gc.get_objects():
            if isinstance(obj, types.FunctionType) and str(obj.__module__).startswith(SPEC_PACKAGE):
                targets[id(obj)] = obj
    for fn in targets.values():
        _swap(fn)
    return problems


def search_equivalents(
    exercises: dict[str, Any], seed: int = 0, per_call_seconds: float = 5.0
) -> dict[str, set[str]]:
    """Every public function of the core package (``recsys_ref`` outside ``course``) whose
    output equals a task's reference on all of that task's cases: task id -> keys.

    Each function is called on each task's cases when its signature accepts them;
    a call that raises, or runs over ``per_call_seconds``, is not an equivalent.
    Runs in the test process (the main thread: it uses SIGALRM).
    """
    import copy
    import importlib
    import inspect
    import pkgutil
    import signal

    import recsys_ref

    from ..engine.evaluate import difference

    functions: dict[str, Callable[..., Any]] = {}
    for info in pkgutil.walk_packages(recsys_ref.__path__, "recsys_ref."):
        if info.name.startswith("recsys_ref.course"):
            continue
        try:
            module = importlib.import_module(info.name)
        except Exception:  # noqa: BLE001, S112 - an optional dependency missing
            continue
        for name, obj in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(obj):
                continue
            if not str(obj.__module__).startswith("recsys_ref"):
                continue
            functions.setdefault(key_of(obj), obj)

    class _Slow(Exception):
        pass

    def alarm(signum: int, frame: Any) -> None:
        raise _Slow

    old = signal.signal(signal.SIGALRM, alarm)
    found: dict[str, set[str]] = {}
    try:
        for tid, ex in exercises.items():
            if ex.kind != "task":
                continue
            cases = [c for c in ex.make_cases(seed) if not c.grad]
            want = [ex.reference(*copy.deepcopy(c.args), **copy.deepcopy(c.kwargs)) for c in cases]
            ref_key = key_of(ex.reference)
            for key, fn in functions.items():
                if key == ref_key:
                    continue
                try:
                    sig = inspect.signature(fn)
                    for c in cases:
                        sig.bind(*c.args, **c.kwargs)
                except (TypeError, ValueError):
                    continue
                same = True
                for c, w in zip(cases, want):
                    signal.setitimer(signal.ITIMER_REAL, per_call_seconds)
                    try:
                        got = fn(*copy.deepcopy(c.args), **copy.deepcopy(c.kwargs))
                        same = difference(got, w, ex.rtol, ex.atol) is None
                    except BaseException:  # noqa: BLE001 - a failed call is no equivalent
                        same = False
                    finally:
                        signal.setitimer(signal.ITIMER_REAL, 0)
                    if not same:
                        break
                if same:
                    found.setdefault(tid, set()).add(key)
    finally:
        signal.signal(signal.SIGALRM, old)
    return found


# ---------------------------------------------------------------- pasted reference code (parent)


def _shape_of(fn_node: Any) -> str:
    """A function's syntax tree with its docstring dropped and every name it binds or reads
    (arguments, locals, globals) renamed by order of first appearance: equal for two
    functions that differ only in names and formatting."""
    import ast

    from ..engine import syntax

    node: Any = syntax.reparse(fn_node)  # a copy of the function's node
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:] or [ast.Pass()]
    node.body = body
    node.name = "f"
    node.returns = None
    names: dict[str, str] = {}

    def canon(name: str) -> str:
        return names.setdefault(name, f"v{len(names)}")

    for sub in ast.walk(node):
        if isinstance(sub, ast.arg):
            sub.arg, sub.annotation = canon(sub.arg), None
        elif isinstance(sub, ast.Name):
            sub.id = canon(sub.id)
    return ast.dump(node, annotate_fields=False, include_attributes=False)


def _function_in(source: str, name: str) -> Any:
    import ast

    from ..engine import syntax

    try:
        tree = syntax.parse(source)
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    return None


def pasted_from(code: str, func_name: str, ex: Any) -> str:
    """The course function whose code the learner's ``func_name`` in ``code`` repeats up to
    names and formatting ("recsys_ref.fm:fm_pairwise"), or '' (runs in the parent)."""
    import inspect

    mine = _function_in(code, func_name)
    if mine is None:
        return ""
    shape = _shape_of(mine)
    for key in (key_of(ex.reference), *EQUIVALENTS.get(ex.task_id, ())):
        try:
            fn = ex.reference if key == key_of(ex.reference) else resolve(key)
            theirs = _function_in(inspect.getsource(fn), fn.__name__)
        except (OSError, TypeError, KeyError, AttributeError):
            continue
        if theirs is not None and _shape_of(theirs) == shape:
            return key
    return ""
