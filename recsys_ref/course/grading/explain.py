"""``recsys-course progress --explain``: a learner's own failures as a personal agenda.

The rows of ``progress.collect`` (one per task: status and, for a failure, the named
diagnosis) become, in course order and grouped by notebook, the cells to reread: the
task's exercise cell and the heading above it, what the diagnosis means (the spec's
sentence), and the FAQ entry of that notebook that answers it.  Cell numbers are those of
the learner's own notebooks (they may have added cells), read from the folder checked.
"""

from __future__ import annotations

from pathlib import Path

from ..engine.evaluate import CRASHED, FAILED, MISSING, NOT_STARTED_STATUS
from ..engine.registry import all_exercises
from .pointers import describe, exercise_cell, faq_for, outline

TODO = (FAILED, CRASHED, NOT_STARTED_STATUS, MISSING)


def personal_agenda(rows: list[dict], notebooks: Path | None) -> list[dict]:
    """One item per task still to do, in course order: what to reread and why."""
    exercises = all_exercises()
    order = {t: i for i, t in enumerate(exercises)}
    items = []
    for row in sorted(rows, key=lambda r: order.get(r["task"], len(order))):
        if row["status"] not in TODO or row["task"] not in exercises:
            continue
        task = row["task"]
        nb = outline(exercises[task].notebook, notebooks)
        diagnosis = row.get("misconception") if row["status"] == FAILED else None
        items.append(
            {
                "task": task,
                "notebook": nb.file,
                "status": row["status"],
                "diagnosis": diagnosis,
                "open": exercise_cell(task, nb),
                "meaning": describe(task, diagnosis) if row["status"] == FAILED else "",
                "faq": faq_for(task, diagnosis, nb) if row["status"] == FAILED else None,
            }
        )
    return items


def _cell(o: dict) -> str:
    where = f"cell {o['cell']}" if o["cell"] else f"the cell tagged task:{o['task']}"
    return where + (f" (§ {o['heading']})" if o["heading"] else "")


def format_agenda(items: list[dict]) -> str:
    """The personal agenda as text: notebook by notebook, the cells to reread."""
    if not items:
        return "Nothing to reread: every task checked here passes."
    lines = ["Your agenda, in course order (reread these cells, then run their checks):"]
    current = None
    for i, it in enumerate(items, 1):
        if it["notebook"] != current:
            current = it["notebook"]
            lines.append(f"\n{current}")
        task, o = it["task"], it["open"]
        if it["status"] == NOT_STARTED_STATUS:
            lines.append(f"  {i}. {task}: not started — begin at {_cell(o)}")
        elif it["status"] == MISSING:
            lines.append(f"  {i}. {task}: not found in your notebooks — open {it['notebook']}")
        elif it["status"] == CRASHED:
            lines.append(f"  {i}. {task}: the cell did not run to the end — reread {_cell(o)}")
        else:
            name = f" ({it['diagnosis']})" if it["diagnosis"] else ""
            lines.append(f"  {i}. {task}{name}: reread {_cell(o)}")
            lines.append(f"     {it['meaning']}")
            if it["faq"]:
                lines.append(f"     FAQ, cell {it['faq']['cell']}: {it['faq']['question']}")
        if o["check_cell"] and it["status"] != MISSING:
            lines.append(f"     then run its check, cell {o['check_cell']}")
    return "\n".join(lines)


def notebooks_folder(paths: list[Path]) -> Path | None:
    """The folder of the notebooks checked (the first folder named, or a notebook's folder)."""
    for p in paths:
        return p if p.is_dir() else p.parent
    return None
