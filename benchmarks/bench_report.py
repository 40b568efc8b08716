"""Office-hour report speed: ``recsys-course report`` on 200 graded submissions.

The submissions are synthesised as ``grade`` writes them (``<name>/grading.json`` with one
``Result.to_dict()`` row per task of the course, statuses and diagnoses drawn with a fixed
seed from each spec's misconception names and ``evaluate``'s diagnoses), so the benchmark
needs no grading.  Timed: the command as a TA runs it (a fresh process: interpreter start,
imports, reading 200 folders, the tables, two matplotlib plots, HTML/Markdown/JSON), the
median of ``--repeat`` runs with the spread, its wall and CPU time, the same for its
imports alone, and the report in this process (no interpreter start, no imports).

    .venv/bin/python benchmarks/bench_report.py [--n 200] [--repeat 5]

Target: under 10 s for 200 submissions.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe  # benchmarks/machine.py

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# what the command imports before it reads a file: the CLI, the registry (torch), matplotlib
IMPORTS = (
    "import recsys_ref.course.cli, recsys_ref.course.grading.report, recsys_ref.course.grading.report_render;"
    "from recsys_ref.course.engine.registry import all_exercises; all_exercises();"
    "import matplotlib.pyplot"
)


def synthesise(folder: Path, n: int, seed: int = 0) -> int:
    """``n`` result folders over every task of the course; the number of task rows written."""
    from recsys_ref.course.engine.evaluate import DIAGNOSES
    from recsys_ref.course.engine.registry import all_exercises

    rng = random.Random(seed)
    rows = 0
    for i in range(n):
        tasks = []
        for t, ex in all_exercises().items():
            status = rng.choices(
                ["passed", "failed", "not started", "missing", "crashed"], [50, 30, 12, 6, 2]
            )[0]
            names = [m.name for m in ex.misconceptions] + list(DIAGNOSES[:3]) + [None]
            diagnosis = rng.choice(names) if status == "failed" else None
            tasks.append(
                {
                    "task": t,
                    "status": status,
                    "message": "(feedback text: never read by the report)",
                    "points": float(status == "passed"),
                    "max_points": ex.points,
                    "misconception": diagnosis,
                }
            )
        (folder / f"learner_{i:03d}").mkdir(parents=True)
        (folder / f"learner_{i:03d}" / "grading.json").write_text(json.dumps({"tasks": tasks}))
        rows += len(tasks)
    return rows


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed_command(graded: Path, out: Path, argv: list[str] | None = None) -> tuple[float, float]:
    """(wall s, CPU s) of one fresh process: the report command, or ``python -c argv``."""
    cmd = [sys.executable, "-m", "recsys_ref.course", "report", str(graded), "--out", str(out)]
    cmd = [sys.executable, *argv] if argv else cmd
    cpu, start = cpu_children(), time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start, cpu_children() - cpu


def timed_in_process(graded: Path, out: Path) -> float:
    from recsys_ref.course.grading import report, report_render
    from recsys_ref.course.grading.pointers import default_notebooks

    start = time.perf_counter()
    data = report.build_report([report.load_run(graded)], notebooks=default_notebooks())
    report_render.write(data, out)
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    print(describe())
    with tempfile.TemporaryDirectory() as tmp:
        graded = Path(tmp) / "graded"
        rows = synthesise(graded, args.n)
        print(f"{args.n} submissions, {rows} task verdicts")
        command, imports, inproc = [], [], []
        timed_in_process(graded, Path(tmp) / "warm")  # imports and matplotlib's font cache
        for r in range(args.repeat):  # interleaved, so load changes hit all three alike
            command.append(timed_command(graded, Path(tmp) / f"cmd{r}"))
            imports.append(timed_command(graded, Path(tmp), ["-c", IMPORTS]))
            inproc.append(timed_in_process(graded, Path(tmp) / f"in{r}"))
        for name, ts in (
            ("recsys-course report, fresh process: wall", [w for w, _ in command]),
            ("recsys-course report, fresh process: CPU", [c for _, c in command]),
            ("  of which its imports alone: wall", [w for w, _ in imports]),
            ("  of which its imports alone: CPU", [c for _, c in imports]),
            ("the report in process (no interpreter start, no imports)", inproc),
        ):
            print(
                f"{name}: median {statistics.median(ts):.2f} s "
                f"(min {min(ts):.2f}, max {max(ts):.2f}, {len(ts)} runs)"
            )
        wall = statistics.median(w for w, _ in command)
        verdict = "OK" if wall < 10 else "OVER the 10 s target (see the imports' share)"
        print(f"target: under 10 s for {args.n} submissions, fresh process: {verdict}")
        print(describe())


if __name__ == "__main__":
    main()
