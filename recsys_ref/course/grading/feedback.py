"""Step 5 of a grading run, *render*: the feedback a learner sees (parent side).

Written from the verdict's fields by ``engine.verdict.render`` with redaction on
(error magnitudes as an order of magnitude without the index, the learner's
exception text cut to ``LEARNER_TEXT_LIMIT``), never by rewriting a sentence;
then the notebook's name when it is not the course's, the assignment note and
the unsafe mark, every learner-influenced part cleaned and cut.
"""

from __future__ import annotations

from pathlib import Path

from ..engine.evaluate import Result
from ..engine.registry import get
from ..engine.verdict import render as render_verdict
from ..sandbox.client import LEARNER_TEXT_LIMIT, clean_text
from .submissions import Submission

UNSAFE_MARK = "UNSAFE: graded with --unsafe-no-sandbox, learners' code was not confined"


def redact(result: Result) -> str:
    """Feedback without anything the learner's code could have chosen to leak (see module doc):
    written from the verdict's fields by ``render``, never by rewriting its sentence."""
    return render_verdict(result, redact=True, clean=clean_text, limit=LEARNER_TEXT_LIMIT)


def feedback(r: Result, sub: Submission, path: Path, note: str, unsafe: bool) -> Result:
    """The feedback a learner sees: redacted, the notebook named when it is not the
    course's, the assignment note, the unsafe mark; every learner-influenced part cut."""
    r.message = redact(r)
    if len(sub.notebooks) > 1 and path.name != f"{get(r.task_id).notebook}.ipynb":
        r.message += f" [{clean_text(sub.relative(path), 200)}]"
    if note:
        r.message += f" (note: {clean_text(note, 600)})"
    if unsafe:
        r.message += f" [{UNSAFE_MARK}]"
    return r
