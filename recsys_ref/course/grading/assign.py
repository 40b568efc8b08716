"""Step 2 of a grading run, *assign*: which notebook of a submission holds each task
(parent side).  The notebook named like the course's wins, then the newest copy;
the others are named in a note.  A task found nowhere gets its ``Result`` here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..engine.evaluate import CRASHED, MISSING, Result
from ..engine.registry import all_exercises
from ..nbtools.notebook import NotebookError, find_exercise, read_notebook
from .submissions import Submission


def _assign(
    sub: Submission, tasks: list[str]
) -> tuple[dict[Path, list[str]], dict[str, Result], dict[str, str]]:
    """Which notebook of ``sub`` holds each task, a ``Result`` for each task found nowhere,
    and a note per task whose other candidates were ignored.

    Among the notebooks that hold the task's cell, the one named exactly like the
    course's notebook wins, then the newest (a JupyterLab "-Copy1" or an older
    copy in a subfolder loses, and is named in the note).
    """
    exercises = all_exercises()
    readable: dict[Path, Any] = {}
    errors: dict[Path, str] = {}
    for p in sub.notebooks:
        try:
            readable[p] = read_notebook(p)
        except NotebookError as exc:
            errors[p] = str(exc).replace(str(p), sub.relative(p))

    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0

    plan: dict[Path, list[str]] = {}
    unfound: dict[str, Result] = {}
    notes: dict[str, str] = {}
    for t in tasks:
        ex = exercises[t]
        holding = [p for p in readable if find_exercise(readable[p], t, ex.func_name) is not None]
        if holding:
            holding.sort(
                key=lambda p: (p.name != f"{ex.notebook}.ipynb", -mtime(p), sub.relative(p))
            )
            plan.setdefault(holding[0], []).append(t)
            if len(holding) > 1:
                why = (
                    "named exactly like the course's notebook"
                    if holding[0].name == f"{ex.notebook}.ipynb" != holding[1].name
                    else "the newest copy"
                )
                notes[t] = (
                    f"graded {sub.relative(holding[0])} ({why}); ignored "
                    + ", ".join(sub.relative(p) for p in holding[1:4])
                    + (" and others" if len(holding) > 4 else "")
                )
            continue
        damaged = [p for p in errors if p.stem == ex.notebook] or list(errors)
        if damaged:  # the task's notebook (or, unnamed, some notebook) cannot be read
            unfound[t] = Result(t, CRASHED, f"! {t}: {errors[damaged[0]]}", 0.0, ex.points)
        else:
            unfound[t] = Result(
                t,
                MISSING,
                f"? {t}: notebook {ex.notebook}.ipynb is not in the submission and no "
                f"other notebook defines {ex.func_name}.",
                0.0,
                ex.points,
            )
    return plan, unfound, notes
