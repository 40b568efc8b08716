"""Statements say every requirement the check enforces (issue 21, class 6).

The requirements are derived from each spec and its reference's output, never
listed by hand:

- **dtype**: the default output contract refuses any dtype but the reference's,
  for every tensor (and Python scalar) of the output — except the parameters a
  given wrapper hands back from an input state (ngcf_9's ``step_on_state``);
- **layout**: a sparse output must be sparse, in the reference's layout;
- **gradients kept**: ``differentiable=True`` adds a case whose inputs require
  grad and compares the gradients;
- **mode**: an output named ``training`` is the mode the model is left in;
- **in place**: an output named like an input parameter (``w`` → the new ``w``)
  is an update, and the runner refuses one made in place on the input;
- **size** and **no loops**: a complexity guard bounds the tensors created
  (``max_numel``) and the ops dispatched (``max_ops``).

Each must appear in the task's statement as the learner sees it: the exercise
cell (signature, docstring, comments) in ``notebooks/`` and the markdown cells
just above it.  ``PENDING`` lists what notebooks owned elsewhere still miss —
a list to shrink: an entry that is met fails until it is removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from recsys_ref.course import all_exercises
from recsys_ref.course.engine.runner import parameter_names
from recsys_ref.course.engine.spec import Case, Exercise
from recsys_ref.course.nbtools.notebook import cell_source, read_notebook, task_ids

ROOT = Path(__file__).resolve().parents[1]
TASKS = {t: ex for t, ex in all_exercises().items() if ex.kind == "task"}

GRADIENTS = (
    r"autograd",
    r"differentiable",
    r"requires[ _]grad",
    r"no_grad",
    r"gradients? (must |should |can )?(flow|reach)",
)
IN_PLACE = (
    r"in[ -]place",
    r"untouched",
    r"unchanged",
    r"new tensors?",
    r"(do not|don't|never) (modify|change|update|overwrite)",
    r"\.clone\(\)",
)
MODE = (r"\.?eval\(\)", r"evaluation mode", r"\bmode\b")
SIZE = (r"dense", r"[nN]\s*[×x]\s*[nN]", r"O\(", r"elements", r"memory")
LOOPS = (r"loop",)
SAME_DTYPE = (r"inputs?'? dtype", r"dtype of the inputs?", r"same dtype")
DTYPES = {
    torch.float64: (r"float64", r"\bdouble\b"),
    torch.float32: (r"float32",),
    torch.int64: (r"int64", r"\blong\b"),
    torch.bool: (r"\bbool",),
}
SCALARS = {
    bool: (r"\bbool", r"True", r"False"),
    int: (r"\bint\b", r"\bints\b", r"integer"),
    float: (r"\bfloat\b", r"a number"),
}

# (task, requirement) → the statement to change, in notebooks this branch does not own.
_DTYPE = "say the output's dtype: '… → (…) float64, the inputs' dtype'"
_GRAD = (
    "say it must stay differentiable: 'stay in torch (no .item(), .detach() or numpy): "
    "the check compares the gradients autograd computes through your output'"
)
PENDING: dict[tuple[str, str], str] = {}


def leaves(x: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(path, value) of every tensor or scalar of an output (tuples, lists and dicts opened)."""
    if isinstance(x, (tuple, list)):
        for i, v in enumerate(x):
            yield from leaves(v, (*path, i))
    elif isinstance(x, dict):
        for k, v in x.items():
            yield from leaves(v, (*path, k))
    else:
        yield path, x


def updates(out: Any, case: Case) -> bool:
    """True when ``out`` is a tuple of new values of inputs: each of its (two or more) tensors
    has the shape and dtype of a different tensor input (fm_9's new ``(w0, w, V)``)."""
    if not isinstance(out, (tuple, list)) or len(out) < 2:
        return False
    free = [a for a in case.args if isinstance(a, torch.Tensor)]
    for x in out:
        same = [
            a
            for a in free
            if isinstance(x, torch.Tensor) and (a.shape, a.dtype) == (x.shape, x.dtype)
        ]
        if not same:
            return False
        free = [a for a in free if a is not same[0]]
    return True


def requirements(ex: Exercise) -> dict[str, tuple[str, ...]]:
    """What the check of ``ex`` enforces beyond values: requirement → patterns that state it."""
    case = ex.make_cases(0)[0]
    out = ex.reference(*case.args, **case.kwargs)
    floating_inputs = {
        a.dtype for a in case.args if isinstance(a, torch.Tensor) and a.is_floating_point()
    }
    state_keys = {k for a in case.args if isinstance(a, dict) for k in a}
    found: dict[str, tuple[str, ...]] = {}
    if ex.contract is True:
        for path, x in leaves(out):
            if path and path[0] in state_keys:
                continue  # handed back from the input state by given code (its mode: below)
            if isinstance(x, torch.Tensor):
                same = SAME_DTYPE if floating_inputs == {x.dtype} else ()
                found[f"dtype {str(x.dtype).removeprefix('torch.')}"] = DTYPES[x.dtype] + same
                if x.layout != torch.strided:
                    name = {torch.sparse_coo: "COO", torch.sparse_csr: "CSR"}[x.layout]
                    found[f"layout sparse {name}"] = (rf"sparse[^.]{{0,40}}{name}",)
            elif type(x) in SCALARS:
                found[f"a Python {type(x).__name__}"] = SCALARS[type(x)]
    if ex.differentiable:
        found["gradients kept"] = GRADIENTS
    if isinstance(out, dict) and "training" in out:
        found["the mode the model is left in"] = MODE
    if set(ex.outputs) & set(parameter_names(ex.reference, len(case.args))) or updates(out, case):
        found["inputs left untouched (no in-place update)"] = IN_PLACE
    if ex.guard is not None:
        found["size bound"] = SIZE
        if ex.guard.max_ops is not None:
            found["no Python loops"] = LOOPS
    return found


def statement(ex: Exercise) -> str:
    """The exercise cell of ``ex`` in its learner notebook and the markdown cells above it."""
    nb = read_notebook(ROOT / "notebooks" / f"{ex.notebook}.ipynb")
    tagged = [
        i for i, c in enumerate(nb.cells) if c.cell_type == "code" and ex.task_id in task_ids(c)
    ]
    assert tagged, f"{ex.notebook} has no cell tagged task:{ex.task_id}"
    i = tagged[-1]
    parts = [cell_source(nb.cells[i])]
    while i > 0 and nb.cells[i - 1].cell_type == "markdown":
        i -= 1
        parts.insert(0, cell_source(nb.cells[i]))
    return "\n".join(parts)


def unstated(ex: Exercise, text: str) -> list[str]:
    return [
        name
        for name, patterns in requirements(ex).items()
        if not any(re.search(p, text, re.IGNORECASE) for p in patterns)
    ]


@pytest.mark.parametrize("task_id", sorted(TASKS))
def test_the_statement_says_what_the_check_enforces(task_id: str) -> None:
    ex = TASKS[task_id]
    missing = unstated(ex, statement(ex))
    pending = sorted(r for (t, r) in PENDING if t == task_id)
    assert sorted(missing) == pending, (
        f"{task_id}: the check enforces {missing} but its statement in notebooks/"
        f"{ex.notebook}.ipynb does not say so"
        if set(missing) - set(pending)
        else f"{task_id}: now stated, remove from PENDING: {sorted(set(pending) - set(missing))}"
    )


def test_every_kind_of_requirement_is_derived_somewhere() -> None:
    """Not vacuous: each rule of ``requirements`` fires on some task."""
    kinds = {name.split(" ")[0] for ex in TASKS.values() for name in requirements(ex)}
    assert {"dtype", "layout", "gradients", "the", "inputs", "size", "no", "a"} <= kinds


def test_a_statement_without_the_words_misses_them() -> None:
    """The matcher can fail: the statements with every pattern's words blanked miss each one."""
    patterns = (
        GRADIENTS + IN_PLACE + MODE + SIZE + LOOPS + SAME_DTYPE
        + tuple(p for ps in (*DTYPES.values(), *SCALARS.values()) for p in ps)
        + (r"sparse", r"COO")
    )  # fmt: skip
    for task_id in ("ngcf_1", "ngcf_9", "fm_4", "fm_9"):
        ex = TASKS[task_id]
        text = statement(ex)
        for p in patterns:
            text = re.sub(p, "…", text, flags=re.IGNORECASE)
        assert sorted(unstated(ex, text)) == sorted(requirements(ex)), task_id
