"""``recsys-course progress``: where a learner stands, task by task.

Each exercise cell of the learner's notebooks is extracted and checked in a
separate process with a time limit (``sandbox.run_tasks``), so a hanging or
crashing cell costs only its own task.  Prints a table, or JSON with ``--json``.

One process imports the course once.  The grader's fork server (which imports torch in its own
process) is started first, before this process imports torch, so that the two imports run side
by side; then the notebooks are checked in parallel (one thread and one confined worker per
notebook, ``jobs`` at a time), the rows printed in the notebooks' order whatever order they
finish in.  Where the seconds go: ``benchmarks/bench_waits.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..engine.verdict import SYMBOL, Result, Status  # no torch: imported before the fork server
from ..nbtools.notebook import NotebookError, read_notebook

PASSED, MISSING, CRASHED = Status.PASSED, Status.MISSING, Status.CRASHED


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
    paths: list[Path],
    *,
    task_timeout: float = 30.0,
    seed: int | None = None,
    jobs: int | None = None,
) -> list[dict]:
    """One row per task: notebook, task, function, status, message.

    ``jobs``: notebooks checked at a time (default: the number of CPUs, at most 4)."""
    from ..engine.registry import all_exercises
    from ..sandbox.client import run_tasks

    exercises = all_exercises()
    seen_notebooks: set[str] = set()
    work: list[tuple[Path, list[str]]] = []
    for path in notebook_paths(paths):
        nb_id = notebook_id(path)
        seen_notebooks.add(nb_id)
        tasks = [t for t, ex in exercises.items() if ex.notebook == nb_id]
        if tasks:
            work.append((path, tasks))

    def check(item: tuple[Path, list[str]]) -> list[dict]:
        path, tasks = item
        try:
            read_notebook(path)
        except NotebookError as exc:
            results = [
                Result(t, CRASHED, None, 0.0, exercises[t].points, body=str(exc)) for t in tasks
            ]
        else:
            results = run_tasks(path, tasks, seed=seed, task_timeout=task_timeout)
        return [_row(path.name, exercises[r.task_id].func_name, r) for r in results]

    jobs = jobs or min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(work) or 1))) as pool:
        rows = [row for done in pool.map(check, work) for row in done]  # in the notebooks' order
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


def fork_server_class() -> Any:
    """The grader's fork-server class, from the light module that holds it (no torch imported)."""
    import importlib

    try:  # by name: the sandbox's layout is its own business
        module = importlib.import_module("..sandbox.forkserver", __package__)
    except ImportError:  # the sandbox before its split: the client module holds it
        module = importlib.import_module("..sandbox.client", __package__)
    return module._ForkServer


def start_fork_server() -> threading.Thread:
    """Start the grader's fork server in the background (it imports torch in its own process
    while this one imports the course and reads the notebooks); a failure is left to
    ``run_tasks`` to report.  The thread is returned (``join`` it to wait for the server)."""

    def start() -> None:
        try:
            fork_server_class().get()
        except Exception:  # noqa: BLE001 - run_tasks retries and reports it
            pass

    thread = threading.Thread(target=start, daemon=True, name="recsys-progress-warm")
    thread.start()
    return thread


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
        "misconception": r.misconception,
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
    parser.add_argument(
        "--explain", action="store_true", help="your failures as an agenda: the cells to reread"
    )


def default_paths() -> list[Path]:
    """The notebooks/ of the checkout or workspace around the current folder."""
    from ..nbtools.workspace import find_course

    return [find_course().notebooks]


def run(args: argparse.Namespace) -> int:
    from ..nbtools.workspace import CourseNotFound

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
    start_fork_server()
    rows = collect(args.paths, task_timeout=args.timeout)
    if getattr(args, "explain", False):
        from .explain import format_agenda, notebooks_folder, personal_agenda

        print(format_agenda(personal_agenda(rows, notebooks_folder(args.paths))))
    elif args.json:
        print(json.dumps(rows, indent=1, ensure_ascii=False))
    else:
        print(format_table(rows))
    return 0
