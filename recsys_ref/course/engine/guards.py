"""The complexity guard's verdict: ``evaluate``'s step 3.

A spec's ``ComplexityGuard`` runs the function on large cases with a torch
dispatch mode recording every op's outputs (``runner.NumelRecorder``): the
largest tensor created, the op that created it and the number of ops.  This
judges those records against the guard's bounds, then the guard cases' values
against the reference.
"""

from __future__ import annotations

from collections.abc import Sequence

from .compare import differs
from .contract import COMPLEXITY, GUARD_VALUE, LOOP
from .judge import Verdict
from .runner import OK, Outcome
from .spec import Case
from .verdict import Kind, Result, text

_FRIENDLY_OPS = {
    "to_dense": "`.to_dense()`",
    "mm": "a matrix product (`@`)",
    "bmm": "a batched matrix product (`@`)",
    "matmul": "a matrix product (`@`)",
    "mul": "an element-wise product (`*`)",
    "add": "an addition (`+`)",
    "sub": "a subtraction (`-`)",
    "expand": "broadcasting (`expand`)",
    "copy": "a copy",
    "index": "indexing",
    "diag_embed": "torch.diag",
    "diag": "torch.diag",
    "unsqueeze": "`unsqueeze`",
    "sparse_coo_tensor_with_dims_and_tensors": "torch.sparse_coo_tensor",
}


def op_name(creator: str) -> str:
    """aten's op name as the learner wrote it: "eye" → "torch.eye", "_to_dense" → "`.to_dense()`"."""
    c = creator.lstrip("_")
    return _FRIENDLY_OPS.get(c, f"torch.{c}" if c else "an op")


def judge_guard(
    v: Verdict,
    guard_cases: Sequence[Case],
    guard_outcomes: Sequence[Outcome],
    guard_values_required: bool,
) -> Result | None:
    """Step 3: the complexity guard's cases: sizes, op counts, then values."""
    ex, guard = v.ex, v.ex.guard
    if guard is None:
        return None
    for case, o in zip(guard_cases, guard_outcomes):
        if o.kind != OK:
            return v.fail(f"on the large case '{case.name}': {o.message or o.kind}", case=case)
        limit = guard.max_numel(case)
        if o.max_numel > limit:
            shape = "×".join(map(str, o.largest)) or "?"
            made = ""
            if o.creator:
                advice = guard.advice(o.creator)
                made = f", created by {op_name(o.creator)}" + (f": {advice}" if advice else "")
            return v.fail(
                f"{guard.message} On the case '{case.name}' it created a tensor of "
                f"shape {shape} ({o.max_numel:,} elements; the limit is {limit:,}){made}.",
                COMPLEXITY,
                Kind.CONTRACT,
                case,
            )
        if guard.max_ops is not None and o.ops is not None and o.ops > guard.max_ops:
            return v.fail(
                f"{guard.loop_message or 'the notebook asks for no Python loops.'} On the "
                f"case '{case.name}' it dispatched at least {o.ops:,} torch ops, over the bound "
                f"of {guard.max_ops:,} (the matrix form needs a few dozen): a Python loop "
                "dispatches ops for every element it visits.",
                LOOP,
                Kind.CONTRACT,
                case,
            )
        if o.value is not None or guard_values_required:
            want = ex.reference(*case.args, **case.kwargs)
            d = differs(ex, o.value, want)
            if d:
                return v.fail(
                    text(
                        f"on the large case '{case.name}', ",
                        d,
                        f": it must compute the same function on every input ({ex.where}).",
                    ),
                    GUARD_VALUE,
                    Kind.CONTRACT,
                    case,
                )
    if len(guard_outcomes) < len(guard_cases):
        return v.fail("did not run on the large cases of the complexity guard.")
    return None
