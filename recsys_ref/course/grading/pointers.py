"""Where the course answers a mistake: the cells, FAQ entries and questions of the notebooks.

Everything here is read from two sources that already exist, never from a
second hand-kept list: the exercise spec (``registry.get(task)``: the
equation, each misconception's message and wrong variant, the guard's
message) and the learner notebooks (``notebooks/*.ipynb``): the exercise cell
tagged ``task:<id>`` and the heading above it, the check cell ``check:<id>``,
the "Office-hour experiment" cells, the concept questions (cells tagged
``task:q_…`` and the paragraph that asks them) and the "## FAQ" section's
entries (``**question?** answer`` paragraphs).

Cell numbers are 1-based, as JupyterLab's status bar and the grader's notes
count them.  A notebook that cannot be found gives pointers without a number
("the cell tagged task:fm_4"), never an error: a report must not fail on a
machine without the notebooks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ..engine.evaluate import COMPLEXITY, CONTAINER, DIAGNOSES, LOOP
from ..engine.registry import get

# The diagnoses ``evaluate`` gives beside a spec's own misconceptions: one phrase each.
CHECK_DIAGNOSES = {
    CONTAINER: "returns another type than the task asks for (output contract)",
    "dtype": "returns another dtype than the task asks for (output contract)",
    "layout": "returns another layout (dense / sparse) than the task asks for",
    "no_gradient": "the output carries no gradient (a .detach(), a constant, numpy)",
    "gradient": "the gradients differ from the reference's",
    "guard_value": "wrong values on the complexity guard's large case",
    COMPLEXITY: "creates a tensor too large for the complexity the task asks for",
    LOOP: "dispatches too many ops (a Python loop where a matrix form is asked for)",
    "in_place": "changes its inputs in place",
}
assert set(CHECK_DIAGNOSES) == set(DIAGNOSES), "a diagnosis of evaluate has no description"

_STOP = set(
    "that this with from your what which when where there their then than they them "
    "have does into only also just each every more most must over same some such "
    "were will would been being here like make makes made the and for are not you "
    "why how can its it's one two".split()
)
_WORD = re.compile(r"[a-zA-Z_][a-zA-Z_0-9]{3,}")
_HEADING = re.compile(r"^(#{1,4})\s+(.*)$", re.MULTILINE)
_FAQ_ENTRY = re.compile(r"\*\*(.+?)\*\*\s*(.*?)(?=\n\s*\*\*|\n#|\Z)", re.DOTALL)


@dataclass(frozen=True)
class Cell:
    index: int  # 0-based position in the notebook
    kind: str  # "code" or "markdown"
    source: str
    tags: tuple[str, ...] = ()


@dataclass
class Outline:
    """What the report needs of one notebook: its cells and where it lives."""

    notebook: str  # the course's notebook id, e.g. "21_fm_okn_trick"
    path: Path | None
    cells: list[Cell] = field(default_factory=list)

    @property
    def file(self) -> str:
        return f"notebooks/{self.notebook}.ipynb"

    def tagged(self, tag: str) -> Cell | None:
        found = [c for c in self.cells if tag in c.tags]
        return found[-1] if found else None

    def heading_before(self, index: int, task_id: str = "") -> str:
        """The heading the learner sees above cell ``index`` (the one naming the task if any)."""
        headings: list[str] = []
        for c in self.cells[:index]:
            if c.kind == "markdown":
                headings += [m.group(2).strip() for m in _HEADING.finditer(c.source)]
        naming = [h for h in headings if task_id and re.search(rf"\b{re.escape(task_id)}\b", h)]
        return (naming or headings or [""])[-1]


def _read(path: Path, notebook: str) -> Outline:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        cells = []
        for i, c in enumerate(raw.get("cells", [])):
            src = c.get("source", "")
            src = "".join(src) if isinstance(src, list) else str(src)
            tags = c.get("metadata", {}).get("tags", [])
            tags = tuple(str(t) for t in tags) if isinstance(tags, list) else ()
            cells.append(Cell(i, str(c.get("cell_type", "")), src, tags))
    except (OSError, ValueError, AttributeError):
        return Outline(notebook, None)
    return Outline(notebook, path, cells)


@cache
def outline(notebook: str, folder: Path | None) -> Outline:
    """The outline of ``folder/<notebook>.ipynb``; an empty one when it is not there."""
    if folder is None:
        return Outline(notebook, None)
    path = folder / f"{notebook}.ipynb"
    return _read(path, notebook) if path.is_file() else Outline(notebook, None)


def default_notebooks() -> Path | None:
    """The learner notebooks of the course around the current folder (or the checkout)."""
    from ..nbtools.workspace import CourseNotFound, find_course

    try:
        folder = find_course().notebooks
    except CourseNotFound:
        return None
    return folder if folder.is_dir() else None


# ---------------------------------------------------------------- what a diagnosis means


def describe(task_id: str, diagnosis: str | None) -> str:
    """The spec's sentence for a diagnosis of ``task_id`` (no learner text, no inputs)."""
    ex = get(task_id)
    if diagnosis is None:
        return "failed without a named diagnosis (values differ, or the code raised)"
    for m in ex.misconceptions:
        if m.name == diagnosis:
            return m.message
    if diagnosis == COMPLEXITY and ex.guard is not None:
        return ex.guard.message
    if diagnosis == LOOP and ex.guard is not None and ex.guard.loop_message:
        return ex.guard.loop_message
    if diagnosis == "crashed":
        return "the cell could not be run to the end (timeout, crash, or an unreadable notebook)"
    return CHECK_DIAGNOSES.get(diagnosis, diagnosis.replace("_", " "))


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)} - _STOP


def faq_entries(nb: Outline) -> list[tuple[int, str, str]]:
    """(cell index, question, answer) of each entry of the notebook's "## FAQ" section."""
    out: list[tuple[int, str, str]] = []
    for c in nb.cells:
        if c.kind != "markdown":
            continue
        m = re.search(r"^##\s+FAQ\s*$", c.source, re.MULTILINE)
        if not m:
            continue
        body = c.source[m.end() :]
        nxt = re.search(r"^#{1,2}\s+\S", body, re.MULTILINE)
        body = body[: nxt.start()] if nxt else body
        for e in _FAQ_ENTRY.finditer(body):
            out.append((c.index, e.group(1).strip(), e.group(2).strip()))
    return out


def faq_for(task_id: str, diagnosis: str | None, nb: Outline) -> dict | None:
    """The FAQ entry of the task's notebook that shares most words with the diagnosis.

    Words are taken from the spec (the diagnosis's name and sentence, the task's
    title and function name); an entry naming the task or its function scores three more.
    None when no entry shares at least two words: the report then says the FAQ has
    no entry for it (an entry worth writing).
    """
    ex = get(task_id)
    wanted = _words(f"{diagnosis or ''} {describe(task_id, diagnosis)} {ex.func_name} {ex.title}")
    best, best_score = None, 1
    for index, question, answer in faq_entries(nb):
        text = f"{question} {answer}"
        score = len(wanted & _words(text))
        if re.search(rf"\b({re.escape(task_id)}|{re.escape(ex.func_name)})\b", text):
            score += 3
        if score > best_score:
            best, best_score = {"cell": index + 1, "question": question}, score
    return best


def exercise_cell(task_id: str, nb: Outline) -> dict:
    """The task's exercise cell: its number, the heading above it, and its check cell."""
    cell = nb.tagged(f"task:{task_id}")
    check = nb.tagged(f"check:{task_id}")
    return {
        "task": task_id,
        "notebook": nb.file,
        "cell": cell.index + 1 if cell else None,
        "heading": nb.heading_before(cell.index, task_id) if cell else "",
        "check_cell": check.index + 1 if check else None,
    }


def _experiment_cells(nb: Outline) -> list[Cell]:
    return [
        c for c in nb.cells if c.kind == "markdown" and "office-hour experiment" in c.source.lower()
    ]


def demonstration(task_id: str, diagnosis: str | None, nb: Outline) -> dict:
    """What to run in front of the room: the spec's wrong variant through ``run_check``
    (when it can be imported) and the notebook's office-hour experiment nearest after the task."""
    ex = get(task_id)
    snippet = ""
    for m in ex.misconceptions:
        q = getattr(m.wrong, "__qualname__", "")
        if m.name == diagnosis and q and "<" not in q and "." not in q:
            snippet = (
                f"from recsys_ref.course import run_check\n"
                f"from {m.wrong.__module__} import {q} as wrong\n"
                f'print(run_check("{task_id}", wrong).message)'
            )
    cell = nb.tagged(f"task:{task_id}")
    experiments = _experiment_cells(nb)
    after = [c for c in experiments if cell is None or c.index > cell.index]
    chosen = (after or experiments)[0] if (after or experiments) else None
    out: dict[str, Any] = {"snippet": snippet, "experiment_cell": None, "experiment": ""}
    if chosen is not None:
        out["experiment_cell"] = chosen.index + 1
        line = next(ln for ln in chosen.source.splitlines() if "office-hour" in ln.lower())
        out["experiment"] = _sentences(re.sub(r"^#+\s*|\*\*", "", line).strip(), 160)
    return out


def _sentences(text: str, limit: int) -> str:
    """The first sentences of ``text`` that fit in ``limit`` characters (at least one)."""
    if len(text) <= limit:
        return text
    cut = text.rfind(". ", 0, limit)
    return text[: cut + 1] if cut > 0 else text[: limit - 1] + "…"


def _question_text(qid: str, nb: Outline, before: int) -> str:
    for c in reversed(nb.cells[:before]):
        if c.kind == "markdown" and qid in c.source:
            para = next(p for p in c.source.split("\n\n") if qid in p)
            para = re.sub(rf"^.*?\*\*(Question\s+)?{re.escape(qid)}\.?\*\*\.?\s*", "", para.strip())
            return re.sub(r"^#+\s*Question\s+\S+\s*|\*\*", "", para).strip()
    return ""


def room_question(task_id: str, diagnosis: str | None, nb: Outline) -> dict:
    """The concept question of the task's notebook to ask the room, with the text the notebook
    asks it in: the one sharing most words with the task and the diagnosis (the spec's title,
    equation and sentence), ties to the first after the task's cell.  Without concept
    questions in the notebook, a question built from the spec's equation."""
    from ..engine.registry import all_exercises

    ex = get(task_id)
    cell = nb.tagged(f"task:{task_id}")
    wanted = _words(f"{ex.title} {ex.equation} {describe(task_id, diagnosis)}")
    found = []
    for qid, q in all_exercises().items():
        if q.kind == "question" and q.notebook == ex.notebook:
            qcell = nb.tagged(f"task:{qid}")
            if qcell is not None:
                text = _question_text(qid, nb, qcell.index)
                before = cell is not None and qcell.index < cell.index
                found.append(
                    (-len(wanted & _words(f"{q.title} {text}")), before, qcell.index, qid, text)
                )
    if not found:
        return {"id": None, "cell": None, "text": f"Which part of {ex.where} does this change?"}
    _, _, index, qid, text = min(found)
    return {"id": qid, "cell": index + 1, "text": text}


@cache
def walkthrough(task_id: str, diagnosis: str | None, notebooks: Path | None) -> dict:
    """Every pointer of one mistake: the cell to open, the demonstration, the question, the FAQ.

    Cached (a class report asks it once per task and diagnosis): do not change the result."""
    ex = get(task_id)
    nb = outline(ex.notebook, notebooks)
    return {
        "open": exercise_cell(task_id, nb),
        "demonstration": demonstration(task_id, diagnosis, nb),
        "question": room_question(task_id, diagnosis, nb),
        "faq": faq_for(task_id, diagnosis, nb),
    }
