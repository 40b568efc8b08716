"""Diagnosis: ``evaluate``'s step 2, why the values on the first wrong case differ.

In order: a named misconception of the spec that explains every case the
learner's function ran on; else a relation between the learner's output and
the reference's (``relations.py``: a transpose, a missing reduction, a
multiple, a hard-coded size); else a near miss (a misconception that matches
the first wrong case only, reported with a hedge); else what differs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from . import relations, runner
from .compare import difference_text, differs
from .judge import Verdict
from .runner import OK, Outcome
from .spec import Case, Exercise, Misconception
from .verdict import Kind, Result, text


def diagnose(v: Verdict) -> Result:
    """Step 2: why the values on ``v.first_bad`` differ."""
    assert v.first_bad is not None
    ex, first = v.ex, v.first_bad
    case = v.cases[first]
    m, near, ruled_out = match_misconception(ex, v.cases, v.outcomes, first, v.want_of)
    if ex.kind == "question":
        if m is not None:
            return v.fail(f"{m.message}.", m.name, Kind.NAMED, case)
        return v.fail(text(v.diff, f"; reread {ex.where}."), None, Kind.GENERIC, case)
    if m is not None:
        return v.fail(f"{m.message} (case '{case.name}')", m.name, Kind.NAMED, case)
    got, want = v.outcomes[first].value, v.want_of(first)
    rel = relation(ex, got, want, case)
    if rel is not None:
        return v.fail(
            f"on the case '{case.name}', {rel[1]}. Compare your code with {ex.where}.",
            rel[0],
            Kind.RELATIONAL,
            case,
        )
    if first > 0:
        tail = relations.hard_coded(v.cases, first, 0)
        if tail is not None and shape_of(got) != shape_of(want):
            return v.fail(
                f"your output has shape {shape_of(got)} where {shape_of(want)} is expected on "
                f"the case '{case.name}'{tail}.",
                relations.HARD_CODED,
                Kind.RELATIONAL,
                case,
            )
    if near is not None:
        other = (
            f" (though not on the case '{v.cases[ruled_out].name}')"
            if ruled_out is not None
            else ""
        )
        return v.fail(
            f"on the case '{case.name}' your output equals what a known mistake gives{other}, "
            f"so it may be yours: {near.message}",
            near.name,
            Kind.NEAR_MISS,
            case,
        )
    return v.fail(
        text(f"on the case '{case.name}', ", v.diff, f". Compare your code with {ex.where}."),
        case=case,
    )


_NO_RUN = object()


def _wrong_output(m: Misconception, case: Case) -> Any:
    try:
        return m.wrong(*case.args, **case.kwargs)
    except Exception:  # noqa: BLE001 - a variant that cannot run on this case cannot match
        return _NO_RUN


def match_misconception(
    ex: Exercise,
    cases: Sequence[Case],
    outcomes: Sequence[Outcome],
    first: int,
    want_of: Callable[[int], Any],
) -> tuple[Misconception | None, Misconception | None, int | None]:
    """The named misconception that explains the learner's outputs, and a near miss.

    Candidates are the variants whose output equals the learner's on the first
    case that differs from the reference; each must then also equal it on every
    other case the learner's function ran on (a variant that cannot run on a
    case is not judged there).  So when two variants agree on one case, a case
    where they differ decides, never the order of the list.  When none is left,
    the first candidate is the near miss, with the case that ruled it out.
    """
    got = outcomes[first].value
    candidates = []
    for m in ex.misconceptions:
        wrong = _wrong_output(m, cases[first])
        if wrong is _NO_RUN:
            continue
        if differs(ex, wrong, want_of(first)) is not None and differs(ex, got, wrong) is None:
            candidates.append(m)
    near: Misconception | None = candidates[0] if candidates else None
    ruled_out: int | None = None
    for j, (case, o) in enumerate(zip(cases, outcomes)):
        if j == first or o.kind != OK or not candidates:
            continue
        kept = []
        for m in candidates:
            wrong = _wrong_output(m, case)
            if wrong is _NO_RUN or differs(ex, o.value, wrong) is None:
                kept.append(m)
            elif m is near and ruled_out is None:
                ruled_out = j
        candidates = kept
    if candidates:
        return candidates[0], None, None
    return None, near, ruled_out


def shape_of(x: Any) -> tuple[int, ...] | None:
    shape = getattr(x, "shape", None)
    try:
        return tuple(int(d) for d in shape) if shape is not None else None
    except TypeError:
        return None


def relation(ex: Exercise, got: Any, want: Any, case: Case) -> tuple[str, str] | None:
    """A relation between the learner's output and the reference's on one case
    (``relations.relate``); for a tuple output, on its first element that differs."""
    try:
        if isinstance(want, (tuple, list)) and isinstance(got, (tuple, list)):
            starts = updated_inputs(ex, want, case)
            wrong = [
                i
                for i, (g, w) in enumerate(zip(got, want))
                if difference_text(g, w, ex.rtol, ex.atol) is not None
            ]
            several = [i for i in wrong if getattr(want[i], "numel", lambda: 1)() > 1]
            for i in several[:1] or wrong[:1]:  # one number is a multiple of any other
                g, w = got[i], want[i]
                what = (
                    f"the `{ex.outputs[i]}` output"
                    if i < len(ex.outputs)
                    else f"element {i} of your output"
                )
                if starts is not None and i in several:  # a step: compare the updates
                    name, before = starts[i]
                    step = relations.relate_step(
                        g, w, before, case, ex.rtol, ex.atol, f"`{name}`", relations.STEP_ADVICE
                    )
                    if step is not None:
                        return step
                return relations.relate(g, w, case, ex.rtol, ex.atol, what)
            return None
        if isinstance(want, dict) and isinstance(got, dict):
            state = case.args[0] if case.args and isinstance(case.args[0], dict) else {}
            for k, w in want.items():
                if k in got and difference_text(got[k], w, ex.rtol, ex.atol) is not None:
                    if k in state:  # a training step: compare the updates
                        step = relations.relate_step(
                            got[k], w, state[k], case, ex.rtol, ex.atol, f"`{k}`"
                        )
                        if step is not None:
                            return step
                    return relations.relate(got[k], w, case, ex.rtol, ex.atol, f"your `{k}`")
            return None
        return relations.relate(got, want, case, ex.rtol, ex.atol)
    except Exception:  # noqa: BLE001 - a relation that cannot be measured is not reported
        return None


def updated_inputs(ex: Exercise, want: Any, case: Case) -> list[tuple[str, Any]] | None:
    """For a step that returns new values of its inputs (fm_9's ``(w0, w, V)``): per element of
    the output, the input it replaces — the first tensor argument of its shape and dtype not
    taken by an earlier element — with its parameter name; None when an element has none."""
    if not isinstance(want, (tuple, list)) or len(want) < 2:
        return None
    names = runner.parameter_names(ex.reference, len(case.args))
    free = [(n, a) for n, a in zip(names, case.args) if isinstance(a, torch.Tensor)]
    found = []
    for w in want:
        match = [
            (n, a)
            for n, a in free
            if isinstance(w, torch.Tensor) and (a.shape, a.dtype) == (w.shape, w.dtype)
        ]
        if not match:
            return None
        found.append(match[0])
        free = [(n, a) for n, a in free if n != match[0][0]]
    return found
