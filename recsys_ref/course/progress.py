"""``recsys-course progress``: where a learner stands, task by task.

Each exercise cell of the learner's notebooks is extracted and checked in a
separate process with a time limit (``sandbox.run_tasks``), so a hanging or
crashing cell costs only its own task.  Prints a table, or JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .evaluate import MISSING, PASSED, Result
from .notebook import NotebookError, read_notebook
from .registry import all_exercises

SYMBOL = {PASSED: "✓", "failed": "✗", "not started": "…", MISSING: "?", "crashed": "!"}


def notebook_paths(paths: list[Path]) -> list[Path]:
    """Notebooks named, or found in the folders named (backups and checkpoints skipped)."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found += sorted(q for q in p.glob("*.ipynb"))
        elif p.suffix == ".ipynb":
            found.append(p)
        else:
            raise SystemExit(f"recsys-course progress: {p} is neither a notebook nor a folder")
    return found


def notebook_id(path: Path) -> str:
    try:
        meta = read_notebook(path).metadata.get("recsys_course", {})
    except NotebookError:
        return path.stem
    return str(meta.get("notebook", path.stem))


def collect(
    paths: list[Path], *, task_timeout: float = 30.0, seed: int | None = None
) -> list[dict]:
    """One row per task: notebook, task, function, status, message."""
    from .sandbox import run_tasks

    exercises = all_exercises()
    rows: list[dict] = []
    seen_notebooks: set[str] = set()
    for path in notebook_paths(paths):
        nb_id = notebook_id(path)
        seen_notebooks.add(nb_id)
        tasks = [t for t, ex in exercises.items() if ex.notebook == nb_id]
        if not tasks:
            continue
        try:
            read_notebook(path)
        except NotebookError as exc:
            results = [
                Result(t, "crashed", None, 0.0, exercises[t].points, body=str(exc)) for t in tasks
            ]
        else:
            results = run_tasks(path, tasks, seed=seed, task_timeout=task_timeout)
        rows += [_row(path.name, exercises[r.task_id].func_name, r) for r in results]
    for t, ex in exercises.items():
        if ex.notebook not in seen_notebooks and all(p.is_dir() for p in paths):
            rows.append(
                _row(
                    f"{ex.notebook}.ipynb",
                    ex.func_name,
                    Result(
                        t,
                        MISSING,
                        None,
                        0.0,
                        ex.points,
                        body=f"notebook {ex.notebook}.ipynb not found",
                    ),
                )
            )
    return rows


def _row(notebook: str, func: str, r: Result) -> dict:
    return {
        "notebook": notebook,
        "task": r.task_id,
        "function": func,
        "status": r.status,
        "message": r.message,
        "detail": r.detail,
        "points": r.points,
        "max_points": r.max_points,
    }


def format_table(rows: list[dict]) -> str:
    if not rows:
        return "No exercises found."
    lines = []
    width = max(len(r["task"]) for r in rows)
    current = None
    for r in rows:
        if r["notebook"] != current:
            current = r["notebook"]
            lines.append(f"\n{current}")
        detail = r.get("detail", r["message"])  # the message without its "✗ task fn:" head
        lines.append(
            f"  {SYMBOL.get(r['status'], ' ')} {r['task']:<{width}}  {r['status']:<11}  {detail}"
        )
    done = sum(r["status"] == PASSED for r in rows)
    lines.append(f"\n{done} of {len(rows)} tasks done.")
    return "\n".join(lines).lstrip("\n")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        default=[],
        help="notebooks or folders (default: the notebooks/ of the course "
        "folder or workspace you are in)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per task (default 30)")


def default_paths() -> list[Path]:
    """The notebooks/ of the checkout or workspace around the current folder."""
    from .workspace import find_course

    return [find_course().notebooks]


def run(args: argparse.Namespace) -> int:
    from .workspace import CourseNotFound

    if not args.paths:
        try:
            args.paths = default_paths()
        except CourseNotFound as exc:
            print(f"recsys-course progress: {exc}", file=sys.stderr)
            return 2
    for p in args.paths:
        if not p.exists():
            print(f"recsys-course progress: {p} does not exist", file=sys.stderr)
            return 2
    rows = collect(args.paths, task_timeout=args.timeout)
    if args.json:
        print(json.dumps(rows, indent=1, ensure_ascii=False))
    else:
        print(format_table(rows))
    return 0
