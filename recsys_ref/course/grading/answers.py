"""``recsys-course grade --answers FILE``: the concept questions judged by a TA-only file of
answers (a JSON object, question id -> letter or number) instead of the package's sealed
ones (``engine.questions.use_answers``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ..engine.questions import use_answers


def add_answers_option(parser: Any) -> None:
    """``recsys-course grade --answers FILE``."""
    parser.add_argument(
        "--answers",
        metavar="FILE",
        help="a TA-only JSON file, question id -> answer: judge those questions by it "
        "instead of the package's sealed answers",
    )


def use_answers_file(path: str | None) -> None:
    """Apply ``--answers FILE`` (nothing without one): a bad file is the grader's
    ``GradeError``, an answer that differs from the package's a line on stderr."""
    if not path:
        return
    from .grade import GradeError

    try:
        differ = use_answers(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, AttributeError) as exc:
        raise GradeError(f"--answers {path}: {exc}") from exc
    if differ:
        print(
            f"--answers: differs from the package's answer on {', '.join(differ)}", file=sys.stderr
        )
