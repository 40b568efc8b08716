"""A worker's reply read as untrusted data (parent side): its status turned into a
verdict when nothing can be judged, its outcomes checked against their schema,
every learner-chosen text cleaned and cut (``clean_text``).
"""

from __future__ import annotations

from typing import Any

from ..engine.evaluate import CRASHED, FAILED, Result
from ..engine.runner import ERROR, MUTATED, NOT_STARTED, OK, SIGNATURE, Outcome
from ..engine.spec import Exercise
from .framing import _BadReply, _Died, _Timeout, _Worker
from .limits import LEARNER_TEXT_LIMIT


def clean_text(text: Any, limit: int = LEARNER_TEXT_LIMIT) -> str:
    """Learner-chosen text made safe to show on one line: ANSI escapes, control
    characters and every invisible format or separator character (Unicode Cc, Cf,
    Zl, Zp: bidi marks, zero-width joiners, tags, line separators) removed, newlines
    and carriage returns written as ``\\n`` and ``\\r``, tabs as spaces, cut to
    ``limit`` characters."""
    import re
    import unicodedata

    s = re.sub(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|.)", "", str(text))
    s = s.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r").replace("\t", " ")
    s = "".join(c for c in s if unicodedata.category(c) not in _INVISIBLE)
    return s if len(s) <= limit else s[:limit] + "… (cut)"


_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def _crashed(ex: Exercise, message: str) -> Result:
    return Result(ex.task_id, CRASHED, None, 0.0, ex.points, func_name=ex.func_name, body=message)


def _failed(ex: Exercise, message: str) -> Result:
    return Result(ex.task_id, FAILED, None, 0.0, ex.points, func_name=ex.func_name, body=message)


def _ask(
    ex: Exercise,
    worker: _Worker,
    request: dict[str, Any],
    wait: float,
    task_timeout: float,
    max_elements: int,
    memory_mb: int,
    guard: bool = False,
) -> Result | tuple[list[Outcome], Result | None]:
    """Send one task to ``worker``: its outcomes, or a ``Result`` when nothing can be judged."""
    try:
        reply = worker.run(request, wait, max_elements)
    except _Timeout:
        worker.close()
        limit = (
            f"{task_timeout:g} s"
            if wait >= task_timeout
            else f"{wait:.0f} s (what was left of the time limit)"
        )
        return _crashed(
            ex,
            f"stopped after {limit} without finishing: an infinite loop, or work "
            "far larger than the task needs. Nothing was graded for this task.",
        )
    except _Died as died:
        worker.close()
        return _crashed(ex, died.sentence())
    except _BadReply as bad:
        worker.close()
        return _crashed(
            ex,
            f"the worker's reply could not be read ({bad}); was the grader's "
            "process tampered with? Nothing was graded for this task.",
        )
    stopped = _status_verdict(ex, worker, reply, request)
    if stopped is not None:
        return stopped
    mb = f"{memory_mb} MB" + (" for the complexity guard's large case" if guard else "")
    return _outcomes_of(ex, reply, request, mb)


def _status_verdict(
    ex: Exercise, worker: _Worker, reply: dict[str, Any], request: dict[str, Any]
) -> Result | None:
    """The verdict when the reply's status says the function never ran; None when it ran.
    Keeps the cell's own error (cleaned) on ``worker`` for a note."""
    src_cell, name = request["cell"], request["func_name"]
    kind = reply.get("status")
    cell_error = reply.get("cell_error") or ""
    cell_error = clean_text(cell_error if isinstance(cell_error, str) else "?")
    if any(w in cell_error for w in _DENIED):
        cell_error += " (while grading, code may write only in its working folder and read only Python's own files)"
    worker.last_cell_error = cell_error
    if kind == "cell_error":
        return _failed(
            ex,
            f"running the exercise cell (cell {src_cell + 1}) raised "
            f"{cell_error} before {name} was defined; the cell must only "
            "import and define functions.",
        )
    if kind == "no_function":
        return _failed(
            ex, f"the exercise cell (cell {src_cell + 1}) ran but did not define {name}."
        )
    if kind == "exit":
        return _failed(
            ex,
            f"the code called sys.exit() or exit() {clean_text(reply.get('where', ''), 100)}; "
            "a function must return its result.",
        )
    if kind == "worker_error":
        return _failed(ex, f"stopped with {clean_text(reply.get('message', ''))}.")
    if kind == "undecodable":
        return _failed(
            ex,
            f"returned outputs that cannot be compared ({clean_text(reply.get('message', ''))}).",
        )
    if kind != "ran":
        return _crashed(
            ex, "the worker's reply could not be read; nothing was graded for this task."
        )
    return None


def _outcomes_of(
    ex: Exercise, reply: dict[str, Any], request: dict[str, Any], mb: str
) -> Result | tuple[list[Outcome], Result | None]:
    """The outcomes of a reply that ran, each checked against its schema; a gradient
    case that sent no gradients is a failure."""
    raw = reply.get("outcomes")
    if not isinstance(raw, list) or len(raw) > len(request["cases"]):  # fewer: a stub stops
        return _crashed(
            ex, "the worker's reply could not be read; nothing was graded for this task."
        )
    outcomes = [o for o in (_outcome(d, mb) for d in raw) if o is not None]
    if len(outcomes) != len(raw):
        return _crashed(
            ex, "the worker's reply could not be read; nothing was graded for this task."
        )
    for i, (case, o) in enumerate(zip(request["cases"], outcomes)):
        if case[3] and o.kind == OK and o.grads is None:  # a gradient case sent no gradients
            outcomes[i] = Outcome(
                ERROR,
                message="no gradients came back from the gradient case (a missing "
                "gradient is a failure, not an unmeasured check)",
            )
    return outcomes, None


_KINDS = (OK, NOT_STARTED, ERROR, MUTATED, SIGNATURE)
_BIG = 2**62  # any count a real call can produce is far below this


def _count(v: Any) -> int:
    """A reply's count: an int (not a bool) in [0, 2**62], else ValueError."""
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= _BIG:
        raise ValueError("not a count")
    return v


def _outcome(d: Any, memory: str) -> Outcome | None:
    """One outcome of a reply, checked against its schema; None when it does not fit
    (then the task alone is reported as unreadable)."""
    if not isinstance(d, dict) or d.get("kind") not in _KINDS:
        return None
    texts = [d.get(k, "") for k in ("message", "creator", "grad_error")]
    if not all(isinstance(t, str) for t in texts):
        return None
    message = clean_text(texts[0])
    if d["kind"] == ERROR and (
        "MemoryError" in message
        or "can't allocate" in message
        or "not enough memory" in message
        or "can't start new thread" in message
    ):
        message += f" (the memory limit is {memory})"
    if d["kind"] == ERROR and "BlockingIOError" in message and "Errno 11" in message:
        message += " (starting processes is not allowed while grading)"
    if d["kind"] == ERROR and any(w in message for w in _DENIED):
        message += " (while grading, code may write only in its working folder and read only Python's own files)"
    try:
        largest_in = d.get("largest") or []
        if not isinstance(largest_in, (list, tuple)) or len(largest_in) > 64:
            return None
        largest = tuple(_count(v) for v in largest_in)
        max_numel = _count(d.get("max_numel", 0))
        ops = None if d.get("ops") is None else _count(d["ops"])
        grads = d.get("grads")
        if grads is not None and (not isinstance(grads, (list, tuple)) or len(grads) > 1000):
            return None
    except (TypeError, ValueError):
        return None
    return Outcome(
        d["kind"],
        value=d.get("value"),
        message=message,
        max_numel=max_numel,
        largest=largest,
        creator=clean_text(texts[1], 100),
        ops=ops,
        grads=None if grads is None else list(grads),
        grad_error=clean_text(texts[2]),
    )


_DENIED = ("PermissionError", "Read-only file system", "FileNotFoundError")
