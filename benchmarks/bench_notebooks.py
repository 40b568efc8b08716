"""One sitting per notebook: count every solutions/ notebook's cells, run it and time it.

Budgets (docs/design.md §8, issues 6 and 22): each notebook ≤ 40 cells and ≤ 45 s,
and the whole course ≤ 4 minutes, on 2 CPU cores, measured as a learner's Run All:
kernel start + every cell, with nbclient.  The notebooks run from a temporary copy
of solutions/, so nothing in the repository changes.

    python benchmarks/bench_notebooks.py                  # all of solutions/
    python benchmarks/bench_notebooks.py solutions/21_*.ipynb
    python benchmarks/bench_notebooks.py --cells-only     # count cells, run nothing

Prints one row per notebook (cells, seconds, budget, slowest cell) and the total,
and exits 1 with "OVER BUDGET" lines when a notebook has more cells than its
budget, when a notebook or the course takes longer than its budget, or when a
notebook fails to run.  The machine and its load average are printed with the
numbers: timings on a busy machine read high.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from machine import describe  # benchmarks/machine.py

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_BUDGET_S = 45.0
COURSE_BUDGET_S = 240.0
CELL_BUDGET = 40  # cells of one notebook (markdown and code): one sitting
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _stamp(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None


def count_cells(path: Path) -> int:
    """Every cell of the notebook, markdown and code."""
    import nbformat

    return len(nbformat.read(path, as_version=4).cells)


def slowest_cell(nb) -> tuple[int, float] | None:
    """(1-based code-cell number, seconds) of the slowest cell, from nbclient's timing metadata."""
    best: tuple[int, float] | None = None
    n = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        n += 1
        timing = cell.metadata.get("execution", {})
        start = _stamp(
            timing.get("iopub.execute_input") or timing.get("shell.execute_reply.started", "")
        )
        end = _stamp(timing.get("shell.execute_reply", ""))
        if start and end:
            seconds = (end - start).total_seconds()
            if best is None or seconds > best[1]:
                best = (n, seconds)
    return best


def run_notebook(
    path: Path, workdir: Path, *, kernel: str, cell_timeout: int
) -> tuple[float, object, str]:
    """(wall seconds, executed notebook, error) for one notebook run in ``workdir``."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=cell_timeout,
        kernel_name=kernel,
        record_timing=True,
        resources={"metadata": {"path": str(workdir)}},
    )
    t0 = time.perf_counter()
    error = ""
    log_path = workdir / "kernel.log"  # the kernel's own stderr (startup warnings), not the table
    with open(log_path, "w") as log:
        try:
            client.execute(stdout=log, stderr=log)  # passed on to the kernel's Popen
        except (CellExecutionError, CellTimeoutError) as exc:
            lines = [ln for ln in ANSI.sub("", str(exc)).splitlines() if ln.strip()]
            error = lines[-1][:300] if lines else type(exc).__name__
        except Exception as exc:  # noqa: BLE001 - a kernel that dies is a result too
            error = f"{type(exc).__name__}: {exc}"[:300]
            tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
            error += "".join(f"\n    kernel: {line}" for line in tail)
    return time.perf_counter() - t0, nb, error


def _run_all(
    paths: list[Path],
    cells: dict[Path, int],
    args: argparse.Namespace,
    width: int,
    problems: list[str],
) -> float:
    """Run each notebook from a fresh copy of its folder, print its row; returns the total seconds."""
    total = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-notebooks-") as tmp:
        for path in paths:
            # a fresh copy of the notebook's folder per run: files a notebook writes do not leak
            workdir = Path(tmp) / path.stem
            shutil.copytree(
                path.parent, workdir, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.ipynb")
            )
            copy = workdir / path.name
            shutil.copy2(path, copy)
            seconds, nb, error = run_notebook(
                copy, workdir, kernel=args.kernel, cell_timeout=args.cell_timeout
            )
            total += seconds
            slow = slowest_cell(nb)
            slow_text = f"code cell {slow[0]}: {slow[1]:.1f} s" if slow else ""
            if error:
                verdict = "ERROR"
                problems.append(f"ERROR: {path.name} failed to run: {error}")
            elif seconds > args.budget:
                verdict = "OVER"
                problems.append(
                    f"OVER BUDGET: {path.name} took {seconds:.1f} s > {args.budget:g} s "
                    f"(slowest {slow_text or 'cell unknown'}; make the heavy cells "
                    "cheaper behind the parameter cell)"
                )
            else:
                verdict = "OVER" if cells[path] > args.cells else "OK"
            print(
                f"{path.name:<{width}}  {cells[path]:5d}  {seconds:7.1f}  {args.budget:5.0f}s  "
                f"{verdict:<7}  {slow_text}",
                flush=True,
            )
    return total


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "notebooks", nargs="*", type=Path, help="solutions notebooks (default: solutions/*.ipynb)"
    )
    p.add_argument(
        "--budget", type=float, default=NOTEBOOK_BUDGET_S, help="seconds per notebook (default 45)"
    )
    p.add_argument(
        "--course-budget",
        type=float,
        default=COURSE_BUDGET_S,
        help="seconds for the whole course (default 240)",
    )
    p.add_argument("--cells", type=int, default=CELL_BUDGET, help="cells per notebook (default 40)")
    p.add_argument(
        "--cells-only",
        action="store_true",
        help="count the cells against their budget, run nothing",
    )
    p.add_argument("--kernel", default="python3")
    p.add_argument("--cell-timeout", type=int, default=600, help="seconds per cell")
    args = p.parse_args(argv)

    paths = [q.resolve() for q in args.notebooks] or sorted((ROOT / "solutions").glob("*.ipynb"))
    if not paths:
        print("bench_notebooks: no notebooks in solutions/", file=sys.stderr)
        return 2
    missing = [q for q in paths if not q.is_file()]
    if missing:
        print(f"bench_notebooks: no such notebook: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2

    problems: list[str] = []
    cells = {q: count_cells(q) for q in paths}
    for q, n in cells.items():
        if n > args.cells:
            problems.append(
                f"OVER BUDGET: {q.name} has {n} cells > {args.cells} (one sitting; split it where "
                "the material has a seam, or join adjacent prose cells)"
            )
    width = max(len(q.name) for q in paths)
    if args.cells_only:
        print(f"{'notebook':<{width}}  {'cells':>5}  {'budget':>6}  verdict")
        for q, n in cells.items():
            verdict = "OK" if n <= args.cells else "OVER"
            print(f"{q.name:<{width}}  {n:5d}  {args.cells:6d}  {verdict}")
        return _verdict(problems, f"All {len(paths)} notebooks within {args.cells} cells.")

    print(f"machine: {describe()}")
    print(
        f"budgets: {args.cells} cells and {args.budget:g} s per notebook, {args.course_budget:g} s "
        "for the whole course (kernel start + all cells, nbclient)\n"
    )
    everything = not args.notebooks
    label = "whole course" if everything else f"total ({len(paths)} notebooks)"
    width = max(width, len(label))
    print(
        f"{'notebook':<{width}}  {'cells':>5}  {'seconds':>7}  {'budget':>6}  verdict  slowest cell"
    )
    print(f"{'-' * width}  {'-' * 5}  {'-' * 7}  {'-' * 6}  -------  ------------")
    total = _run_all(paths, cells, args, width, problems)
    course_ok = total <= args.course_budget
    print(
        f"{label:<{width}}  {sum(cells.values()):5d}  {total:7.1f}  {args.course_budget:5.0f}s  "
        f"{'OK' if course_ok else 'OVER'}"
    )
    if not course_ok:
        problems.append(
            f"OVER BUDGET: the whole course took {total:.1f} s > {args.course_budget:g} s"
        )
    return _verdict(problems, f"All {len(paths)} notebooks within budget.")


def _verdict(problems: list[str], all_ok: str) -> int:
    if problems:
        print()
        for line in problems:
            print(line)
        print(f"\n{len(problems)} problem(s): the course is NOT within its budget.")
        return 1
    print(f"\n{all_ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
