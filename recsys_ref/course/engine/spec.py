"""Exercise specs: one spec per task id, three uses (check, pytest, grader).

docs/design.md §5.  A spec names the reference callable, draws seeded inputs
(random ones plus edge cases), says how outputs are compared, lists the named
misconceptions (wrong variants that a learner's output is matched against),
and optionally guards complexity by the size of the tensors a function creates
and the number of ops it dispatches.

Everything else applies to a spec by default, derived from the reference: the
output contract (container, dtype, layout, shape of the reference's output on
each case), the names of a tuple output's elements (from ``return a, b``), and,
with ``differentiable=True``, a gradient case.  Edge cases are the spec's to
draw by design: the inputs on which the known wrong variants differ from the
reference and from each other (an isolated last node, margins beyond float64
σ's range, non-square shapes, ties, a batch of one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Case:
    """One call of the function under test: ``fn(*args, **kwargs)``.

    ``name`` is shown to the learner ("isolated node", "batch of one"); the
    values themselves never appear in the grader's feedback.
    """

    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    grad: bool = False  # call with the floating inputs requiring grad and compare the gradients

    def to_plain(self) -> list[Any]:
        """``[name, args, kwargs, grad]``: what a grader's request carries (codec-encodable)."""
        return [self.name, tuple(self.args), dict(self.kwargs), bool(self.grad)]

    @classmethod
    def from_plain(cls, entry: Any) -> Case:
        """The inverse of ``to_plain`` (a 3-element entry is a case without ``grad``)."""
        return cls(
            str(entry[0]),
            tuple(entry[1]),
            dict(entry[2]),
            bool(entry[3]) if len(entry) > 3 else False,
        )


@dataclass(frozen=True)
class Misconception:
    """A named wrong variant: when the learner's output equals ``wrong(...)``
    (and not the reference), ``message`` is the diagnosis, one sentence that
    points to the equation."""

    name: str
    wrong: Callable[..., Any]
    message: str


@dataclass(frozen=True)
class ComplexityGuard:
    """Fail when the function creates a tensor larger than ``max_numel(case)``.

    Sizes are recorded with a torch dispatch mode (every op's outputs), never
    wall-clock time, so the verdict is the same on any machine.  ``make_cases``
    draws the (large) inputs the guard runs on; ``message`` explains the
    failure, e.g. "an n×n tensor was created; Lemma 3.1 needs only O(kn)".
    The guard's outputs are compared with the reference like any case.

    - ``creators``: advice by the op that created the offending tensor, keyed
      by aten's name without leading underscore ("eye": "write the I of (L+I)
      as + E"); the message names the op in any case ("created by torch.eye").
    - ``max_ops``: a bound on the torch ops one guard case may dispatch (the
      "no loops" rule: a Python loop over nodes or users dispatches thousands);
      ``loop_message`` says what to write instead.
    """

    max_numel: Callable[[Case], int]
    make_cases: Callable[[int], list[Case]]
    message: str
    creators: Mapping[str, str] = field(default_factory=dict)
    max_ops: int | None = None
    loop_message: str = ""

    def advice(self, creator: str) -> str:
        """What to do about a too-large tensor created by the aten op ``creator``
        (``creators`` maps op names such as "eye" or "to_dense" to one sentence)."""
        return self.creators.get(creator) or self.creators.get(creator.lstrip("_")) or ""


@dataclass(frozen=True)
class Exercise:
    """The spec of one task.

    - ``task_id``: "ngcf_2" — the notebook heading, stub message, pytest marker.
    - ``func_name``: the function the learner writes (the notebook's name).
    - ``reference``: the recsys_ref callable with the same signature.
    - ``make_cases(seed)``: deterministic in ``seed``; include edge cases.
    - ``rtol``/``atol``: tolerance of the float comparison (float64 inputs).
    - ``compare``: optional ``(got, want) -> str | None`` replacing the default
      comparison; returns None when equal, else what differs (one phrase).
    - ``output_check``: optional ``(got, case) -> str | None``, a structural
      requirement beyond equality (e.g. "must return a sparse tensor").
    - ``misconceptions``: tried in order on the first case that differs.
    - ``guard``: optional complexity guard.
    - ``kind``: "task" (a function to write) or "question" (a concept
      question, ``recsys_ref.course.engine.questions``: a zero-argument function that
      returns the answer).
    - ``explanation``: for questions, why the right answer is right; shown
      only once the learner has answered.
    - ``differentiable``: add a case (a copy of case ``grad_case``) on which
      the floating inputs require grad; the gradients of the learner's output
      are compared with the reference's ("no gradient reaches `theta`").
    - ``outputs``: names of the elements of a tuple output, used in messages
      ("the `ndcg` output"); derived from the reference's ``return a, b``.
    - ``contract``: the output contract, checked before values.  ``True``
      (default): inferred from the reference's output on each case —
      container (torch tensor / numpy / Python scalar / scipy.sparse), dtype,
      layout, shape; ``False``: none; a callable ``(got, want) -> str | None``
      replaces it.  Questions have none.
    - ``edges``: the edge rules its cases realise, ``(rule, *arguments)`` with the rule names of
      ``tasks._generators`` (``("unused_last_index", "band", "n_bands")``); an argument is a
      parameter's name, ``name:dim`` (a size), ``name@row`` (a sparse tensor's index row),
      ``name#i`` (an element), ``name.key`` (a dict's entry).  tests/test_edges.py checks each.
    """

    task_id: str
    title: str
    notebook: str
    func_name: str
    reference: Callable[..., Any]
    make_cases: Callable[[int], list[Case]]
    equation: str = ""
    rtol: float = 1e-6
    atol: float = 1e-8
    compare: Callable[[Any, Any], str | None] | None = None
    output_check: Callable[[Any, Case], str | None] | None = None
    misconceptions: tuple[Misconception, ...] = ()
    guard: ComplexityGuard | None = None
    points: int = 1
    kind: str = "task"
    explanation: str = ""
    differentiable: bool = False
    grad_case: int = 0
    outputs: tuple[str, ...] = ()
    contract: bool | Callable[[Any, Any], str | None] = True
    edges: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        if self.differentiable and not getattr(self.make_cases, "adds_grad_case", False):
            object.__setattr__(self, "make_cases", _with_grad_case(self.make_cases, self.grad_case))
        if not self.outputs:
            object.__setattr__(self, "outputs", output_names(self.reference))

    @property
    def where(self) -> str:
        """ "eq. 8" or the title, for messages."""
        return self.equation or self.title


def _with_grad_case(
    make_cases: Callable[[int], list[Case]], index: int
) -> Callable[[int], list[Case]]:
    def cases(seed: int) -> list[Case]:
        drawn = list(make_cases(seed))
        base = drawn[min(index, len(drawn) - 1)]
        return [
            *drawn,
            Case(f"{base.name}, inputs requiring grad", base.args, base.kwargs, grad=True),
        ]

    cases.adds_grad_case = True  # type: ignore[attr-defined]
    cases.__wrapped__ = make_cases  # type: ignore[attr-defined]
    return cases


def output_names(fn: Callable[..., Any]) -> tuple[str, ...]:
    """``("recall", "ndcg")`` when every ``return`` of ``fn`` is a tuple of plain names, else ()."""
    import ast
    import inspect
    import textwrap

    from . import syntax

    try:
        tree = syntax.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError, ValueError):
        return ()
    found: set[tuple[str, ...]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple):
            if all(isinstance(e, ast.Name) for e in node.value.elts):
                found.add(tuple(e.id for e in node.value.elts))  # type: ignore[attr-defined]
            else:
                return ()
    return found.pop() if len(found) == 1 else ()
