"""Reading notebooks and finding their exercise cells.

Conventions (CONTRIBUTING.md): an exercise cell is a code cell tagged
``task:<id>``; it holds imports and the function the learner writes, and
computes nothing.  Its check cell is tagged ``check:<id>``.  Extraction is
forgiving, because learners move, copy and delete cells: a duplicated cell
counts once (the last one), and a missing tag falls back to the cell that
defines the task's function.
"""

from __future__ import annotations

import ast
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..engine import syntax

if TYPE_CHECKING:  # imported where a notebook is read: ~3 s (jsonschema's format checkers)
    import nbformat

TASK_TAG, CHECK_TAG = "task:", "check:"


class NotebookError(ValueError):
    """A file that cannot be read as a notebook; the message names the file."""


@dataclass
class ExerciseSource:
    """The code of one exercise as found in a notebook."""

    task_id: str
    code: str  # the exercise cell, IPython magics removed
    preamble: str  # the notebook's top-level imports from other cells, one per line
    func_name: str  # the name to call (the spec's, or the one function a renamed cell defines)
    cell_index: int
    note: str = ""  # what the learner should know about how the cell was found


def read_notebook(path: str | Path) -> nbformat.NotebookNode:
    """Read a notebook, or raise ``NotebookError`` saying what is wrong with it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NotebookError(f"{path}: cannot be read ({exc})") from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"{path}: is not valid notebook JSON (line {exc.lineno}: {exc.msg}); "
            "restore it from a checkpoint (File → Revert) or from git"
        ) from exc
    if not isinstance(raw, dict) or "cells" not in raw:
        raise NotebookError(f"{path}: is JSON but not a notebook (no 'cells')")
    major = raw.get("nbformat")
    if major != 4:
        raise NotebookError(
            f"{path}: has nbformat {major!r}; the course needs nbformat 4 "
            "(save it again with JupyterLab)"
        )
    from .nbformat_import import import_nbformat

    nbformat = import_nbformat()
    try:
        return nbformat.reads(text, as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many types
        raise NotebookError(f"{path}: is not a valid notebook ({exc})") from exc


def cell_source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def tags(cell) -> list[str]:
    t = cell.get("metadata", {}).get("tags", [])
    return [str(x) for x in t] if isinstance(t, list) else []


def task_ids(cell) -> list[str]:
    """The task ids an exercise cell is tagged with."""
    return [t[len(TASK_TAG) :] for t in tags(cell) if t.startswith(TASK_TAG)]


def strip_magics(code: str) -> str:
    """Drop IPython-only lines (``%magic``, ``!shell``) so plain Python can run the cell."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in code.splitlines()
    )


def _tree(code: str) -> ast.Module | None:
    try:  # one thread at a time: the grader reads notebooks in its --jobs threads
        return syntax.parse(strip_magics(code))
    except SyntaxError:
        return None


@functools.lru_cache(maxsize=4096)
def _outline(code: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(top-level function names, top-level import lines) of a cell, None on a syntax error.

    Cached by source: the grader asks this of every cell for every task of every
    notebook, and parsing is most of a submission's grading time otherwise."""
    tree = _tree(code)
    if tree is None:
        return None
    funcs = tuple(
        n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    )
    with syntax.LOCK:
        imports = tuple(
            ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
        )
    return funcs, imports


def defined_functions(code: str) -> list[str]:
    outline = _outline(code)
    return [] if outline is None else list(outline[0])


def top_level_imports(code: str) -> list[str]:
    outline = _outline(code)
    return [] if outline is None else list(outline[1])


def find_exercise(nb: nbformat.NotebookNode, task_id: str, func_name: str) -> ExerciseSource | None:
    """The code of ``task_id`` in ``nb``, or None when the notebook has none."""
    code_cells = [(i, c) for i, c in enumerate(nb.cells) if c.get("cell_type") == "code"]
    tagged = [(i, c) for i, c in code_cells if task_id in task_ids(c)]
    note = ""
    chosen: tuple[int, object] | None = None
    name = func_name
    defining = [(i, c) for i, c in tagged if func_name in defined_functions(cell_source(c))]
    if defining:
        chosen = defining[-1]
        if len(defining) > 1:
            note = (
                f"{len(defining)} cells are tagged {TASK_TAG}{task_id}; "
                f"the last one (cell {chosen[0] + 1}) was used"
            )
    elif tagged:
        i, c = tagged[-1]
        funcs = defined_functions(cell_source(c))
        if len(funcs) == 1:
            chosen, name = (i, c), funcs[0]
            note = f"the function is called {funcs[0]} here; the task asks for {func_name} (graded as is)"
        elif _outline(cell_source(c)) is None:
            chosen = (i, c)  # a syntax error: let the run report it
            note = f"cell {i + 1} has a syntax error"
    if chosen is None:
        anywhere = [(i, c) for i, c in code_cells if func_name in defined_functions(cell_source(c))]
        if anywhere:
            chosen = anywhere[-1]
            note = (
                f"no cell is tagged {TASK_TAG}{task_id}; cell {chosen[0] + 1}, "
                f"which defines {func_name}, was used"
            )
    if chosen is None:
        return None
    index, cell = chosen
    preamble: list[str] = []
    for i, c in code_cells:
        if i != index:
            for line in top_level_imports(cell_source(c)):
                if line not in preamble:
                    preamble.append(line)
    return ExerciseSource(
        task_id, strip_magics(cell_source(cell)), "\n".join(preamble), name, index, note
    )


def load_exercise(path: str | Path, task_id: str):
    """The learner's function for ``task_id`` from a notebook file, or None when it has none.

    Runs the notebook's imports and the exercise cell in a fresh namespace (the
    learner's own code, in the learner's own kernel; the grader never does this).
    Lets a later notebook plug in a function written in an earlier one.
    """
    from ..engine.registry import get

    src = find_exercise(read_notebook(path), task_id, get(task_id).func_name)
    if src is None:
        return None
    namespace: dict = {"__name__": f"exercise_{task_id}"}
    exec(
        compile(src.preamble + "\n" + src.code, f"<{Path(path).name}: {task_id}>", "exec"),
        namespace,
    )
    return namespace.get(src.func_name)
