"""The verdict as data: ``Status``, ``Result`` and ``render``, the one place that writes prose.

A diagnosis is built as a ``Text``: literal phrases and ``Slot`` values (the
largest error and its index, the text of an exception the learner's code
raised).  ``render(result)`` writes the sentence the notebook shows;
``render(result, redact=True)`` writes the grader's feedback from the same
fields, with the error reduced to its order of magnitude, its index dropped
and the raised text cut, so rewording a phrase can never let a hidden value
through.  No code reads a message back: ``progress``, the grader and reports
take the fields (``Result.detail``, ``.case``, ``.error``, ``.raised`` …).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """What happened to one task; equal to its plain string ("passed" …)."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_STARTED = "not started"
    MISSING = "missing"
    CRASHED = "crashed"


class Kind(StrEnum):
    """Which layer of the checks gave the diagnosis of a failure."""

    NAMED = "named misconception"  # a spec's wrong variant equals the output on every case
    RELATIONAL = "relational"  # the output is a transpose, multiple, reduction … of the reference
    NEAR_MISS = "near-miss"  # a named variant equals it on the first failing case only
    CONTRACT = "contract"  # container, dtype, layout, gradients, in-place, complexity
    GENERIC = "generic"  # what differs, without a cause


# the symbol in front of a message, by status
SYMBOL = {
    Status.PASSED: "✓",
    Status.FAILED: "✗",
    Status.NOT_STARTED: "…",
    Status.MISSING: "?",
    Status.CRASHED: "!",
}

ERROR, RAISED = "error", "raised"


@dataclass(frozen=True)
class Slot:
    """A value inside a sentence that redaction treats specially.

    ``ERROR``: ``(error, index)`` — the largest error and where (a tuple, or
    None for a scalar); ``RAISED``: the text of an exception the learner's
    code raised.
    """

    name: str
    value: Any


@dataclass(frozen=True)
class Text:
    """A sentence as parts: literal strings and ``Slot`` values."""

    parts: tuple[str | Slot, ...] = ()

    def __add__(self, other: str | Slot | Text) -> Text:
        return text(self, other)

    def __radd__(self, other: str | Slot | Text) -> Text:
        return text(other, self)

    def __str__(self) -> str:
        return self.render()

    def __bool__(self) -> bool:
        return bool(self.parts)

    def slots(self, name: str) -> list[Any]:
        return [p.value for p in self.parts if isinstance(p, Slot) and p.name == name]

    def render(
        self,
        redact: bool = False,
        clean: Callable[[Any, int], str] | None = None,
        limit: int = 300,
    ) -> str:
        out = []
        for p in self.parts:
            if isinstance(p, str):
                out.append(p)
            elif p.name == ERROR:
                out.append(_error_phrase(p.value, redact))
            elif p.name == RAISED:
                out.append(clean(p.value, limit) if redact and clean else str(p.value))
            else:  # pragma: no cover - every slot kind is listed above
                out.append(str(p.value))
        return "".join(out)

    def map_literals(self, fn: Callable[[str], str]) -> Text:
        """The same sentence with every literal phrase passed through ``fn`` (tests reword with it)."""
        return Text(tuple(fn(p) if isinstance(p, str) else p for p in self.parts))


def text(*parts: str | Slot | Text | None) -> Text:
    """One ``Text`` from strings, slots and texts (None parts are skipped)."""
    flat: list[str | Slot] = []
    for p in parts:
        if p is None:
            continue
        if isinstance(p, Text):
            flat.extend(p.parts)
        elif isinstance(p, (str, Slot)):
            flat.append(p)
        else:
            flat.append(str(p))
    return Text(tuple(flat))


def error_slot(error: float, index: tuple[int, ...] | None) -> Slot:
    return Slot(ERROR, (float(error), None if index is None else tuple(int(i) for i in index)))


def raised_slot(message: str) -> Slot:
    return Slot(RAISED, str(message))


def _error_phrase(value: tuple[float, tuple[int, ...] | None], redact: bool) -> str:
    err, index = value
    if not redact:
        where = f" at index {index}" if index is not None else ""
        return f"(largest error {err:.3g}{where})"
    if err == 0 or not math.isfinite(err):
        return "(the error is not a finite number)"
    return f"(largest error of order 1e{math.floor(math.log10(float(f'{err:.3g}'))):d})"


def as_text(x: str | Text | None) -> Text:
    return x if isinstance(x, Text) else text(x or "")


class Result:
    """The verdict on one task.

    ``status`` (a ``Status``), ``points``/``max_points``, ``misconception``
    (the diagnosis name), ``kind`` (the ``Kind`` of diagnosis), ``case`` (the
    name of the case it was observed on), ``error``/``index`` (largest error
    and where), ``raised`` (what the learner's code raised), ``notes`` and
    ``flags``; ``body`` is the sentence as a ``Text``, ``message`` its
    rendering for the notebook.

    ``Result(task_id, status, message, points, max_points)`` with a plain
    message (a grader's own sentence, prefix included) still works.
    """

    def __init__(
        self,
        task_id: str,
        status: Status | str,
        message: str | None = None,
        points: float = 0.0,
        max_points: float = 1.0,
        misconception: str | None = None,
        *,
        func_name: str = "",
        body: str | Text | None = None,
        kind: Kind | str | None = None,
        case: str | None = None,
        notes: Iterable[str] = (),
        flags: Iterable[str] = (),
        question: bool = False,
    ) -> None:
        self.task_id = task_id
        self.status = Status(status)
        self.points = points
        self.max_points = max_points
        self.misconception = misconception
        self.func_name = func_name
        self.kind = Kind(kind) if kind is not None else None
        self.case = case
        self.notes: list[str] = list(notes)
        self.flags: list[str] = []
        for f in flags:
            self.add_flag(f)
        self.question = question
        self._plain = message if body is None else None
        self._notes_shown = 0  # notes already part of ``_plain``
        self.body: Text | None = as_text(body) if body is not None else None

    # ---- the fields messages are made of
    @property
    def passed(self) -> bool:
        return self.status == Status.PASSED

    @property
    def error(self) -> float | None:
        s = self.body.slots(ERROR) if self.body is not None else []
        return s[0][0] if s else None

    @property
    def index(self) -> tuple[int, ...] | None:
        s = self.body.slots(ERROR) if self.body is not None else []
        return s[0][1] if s else None

    @property
    def raised(self) -> str | None:
        s = self.body.slots(RAISED) if self.body is not None else []
        return s[0] if s else None

    @property
    def message(self) -> str:
        return render(self)

    @message.setter
    def message(self, value: str) -> None:
        """A plain sentence replaces the rendering (the grader stores its redacted feedback so);
        the fields stay, and notes added later are appended to it."""
        self._plain, self._notes_shown = value, len(self.notes)

    @property
    def detail(self) -> str:
        """The message without its "✗ task fn:" head, notes and flags (what ``progress`` shows)."""
        return render(self, head=False, notes=False)

    def add_note(self, note: str, label: str = "note") -> Result:
        """Append `` (label: note)`` (or `` (note)`` when ``label`` is empty) to the message."""
        if note:
            self.notes.append(f"{label}: {note}" if label else note)
        return self

    def add_flag(self, flag: str) -> Result:
        """Flag for review: kept in ``flags`` and shown as a note, in order with the others."""
        if flag and flag not in self.flags:
            self.flags.append(flag)
            self.notes.append(f"note: flagged for review: {flag}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task_id,
            "status": self.status.value,
            "message": self.message,
            "points": self.points,
            "max_points": self.max_points,
            "misconception": self.misconception,
            "kind": self.kind.value if self.kind is not None else None,
            "case": self.case,
            "error": self.error,
            "index": list(self.index) if self.index is not None else None,
            "raised": self.raised,
            "notes": list(self.notes),
            "flags": list(self.flags),
        }

    def __repr__(self) -> str:
        return f"Result({self.task_id!r}, {self.status.value!r}, {self.message!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Result):
            return NotImplemented
        return self.to_dict() == other.to_dict()


def head(result: Result) -> str:
    """ "✗ ngcf_2 sym_laplacian", "✓ q_ngcf_12a", "… fm_3 not started", "? fm_3"."""
    sym = SYMBOL[result.status]
    if result.status == Status.NOT_STARTED:
        return f"{sym} {result.task_id} not started"
    if result.question and result.status == Status.PASSED:
        return f"{sym} {result.task_id}"
    fn = f" {result.func_name}" if result.func_name else ""
    return f"{sym} {result.task_id}{fn}"


def render(
    result: Result,
    *,
    redact: bool = False,
    head: bool = True,
    notes: bool = True,
    clean: Callable[[Any, int], str] | None = None,
    limit: int = 300,
) -> str:
    """The prose of ``result``: for the notebook, or with ``redact=True`` for a grader's feedback.

    Redaction reads fields, never the sentence: the largest error becomes its
    order of magnitude without an index, and the raised text is cut by
    ``clean(text, limit)`` (the grader passes its cleaner; the whole message
    is cleaned with ``4 * limit`` as well).
    """
    shown = 0
    if result._plain is not None:
        out, shown = result._plain, result._notes_shown
        if not head:
            out = _without_head(result, out.split("\n", 1)[0])
    elif result.body is not None:
        body = result.body.render(redact, clean, limit)
        out = f"{_head(result)}: {body}" if head else body
    else:
        out = _head(result) if head else ""
    if notes:
        out += "".join(f" ({n})" for n in result.notes[shown:])
    if redact and clean is not None:
        out = clean(out, 4 * limit)
    return out


_head = head


def _without_head(result: Result, message: str) -> str:
    """A plain message without the head the grader's own sentences start with."""
    for h in (_head(result) + ": ", f"{SYMBOL[result.status]} {result.task_id}: "):
        if message.startswith(h):
            return message[len(h) :]
    return message
