"""The notebooks the course website renders, one folder per edition (``make site``).

Two editions (docs/site/conf.py picks one from ``RECSYS_SITE_EDITION``):

- ``learner`` (the default, the one to publish): the learner notebooks —
  statements, derivations, stubs — with the *figures* of the cells a learner
  does not write (a cell whose source is the same in the solution and in the
  learner copy and that is neither a task nor a check cell).  No text output
  is kept: printed numbers, check verdicts and tables may reveal an answer.
- ``instructor``: the solutions with their stored outputs, under a banner.

In both, a progress bar stored as many ``\\r`` updates keeps its final line,
and consecutive stream outputs are merged (what the reader saw last).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

from .build import BOOTSTRAP_TAG, learner_notebook
from .notebook import CHECK_TAG, TASK_TAG, tags

EDITIONS = ("learner", "instructor")
FIGURES = ("image/png", "image/svg+xml", "image/jpeg")


def final_lines(text: str) -> str:
    """What a terminal shows after ``text``: each line's last ``\\r`` segment."""
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def merge_streams(outputs: list) -> list:
    """Consecutive stream outputs of one name as one, progress bars at their final line."""
    merged: list = []
    for out in outputs:
        last = merged[-1] if merged else None
        if (
            out.get("output_type") == "stream"
            and last is not None
            and last.get("output_type") == "stream"
            and last.get("name") == out.get("name")
        ):
            last["text"] = last["text"] + out["text"]
        else:
            merged.append(copy.deepcopy(out))
    for out in merged:
        if out.get("output_type") == "stream":
            out["text"] = final_lines(out["text"])
    return merged


def _figures_only(outputs: list) -> list:
    kept = []
    for out in outputs:
        if out.get("output_type") in ("display_data", "execute_result"):
            data = {k: v for k, v in out.get("data", {}).items() if k in FIGURES}
            if data:
                kept.append(nbformat.v4.new_output("display_data", data=data))
    return kept


def _writes_or_checks(cell) -> bool:
    return any(t.startswith((TASK_TAG, CHECK_TAG)) for t in tags(cell))


def learner_page(solution: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The learner notebook with the figures of the cells the learner does not write."""
    page = learner_notebook(solution, name)
    page.cells = [c for c in page.cells if BOOTSTRAP_TAG not in tags(c)]
    assert len(page.cells) == len(solution.cells), name  # the build keeps cells one for one
    for cell, solved in zip(page.cells, solution.cells, strict=True):
        if cell.cell_type != "code":
            continue
        same = cell.source == solved.source and not _writes_or_checks(solved)
        cell.outputs = _figures_only(solved.get("outputs", [])) if same else []
        cell.execution_count = None
    return page


def instructor_page(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    page = copy.deepcopy(solution)
    for cell in page.cells:
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.get("outputs", []))
    return page


def write_pages(solutions: Path, target: Path, edition: str) -> list[Path]:
    """One page notebook per solutions notebook into ``target`` (emptied first)."""
    if edition not in EDITIONS:
        raise ValueError(f"site edition {edition!r}: expected one of {', '.join(EDITIONS)}")
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.ipynb"):
        old.unlink()
    written = []
    for path in sorted(solutions.glob("*.ipynb")):
        solution = nbformat.read(path, as_version=4)
        page = (
            learner_page(solution, path.stem) if edition == "learner" else instructor_page(solution)
        )
        out = target / path.name
        nbformat.write(page, out)
        written.append(out)
    return written


def solution_code(solution: nbformat.NotebookNode) -> list[str]:
    """The code of every solution region (between the markers), one string per region."""
    from .build import BEGIN, END

    regions = []
    for cell in solution.cells:
        if cell.cell_type == "code":
            pattern = re.escape(BEGIN) + r"\n(.*?)\n[ \t]*" + re.escape(END)
            regions += re.findall(pattern, cell.source, re.S)
    return regions
