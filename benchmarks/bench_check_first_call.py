"""First and later ``check()`` calls per task, each task in a fresh interpreter.

The first check of a session pays torch's first dispatch-mode entry and the
registry's imports (1.3–3.1 s) in ``warm_up()``, which the first ``run_check``
calls and a notebook's setup may call earlier (importing the package does no
work: ``benchmarks/bench_startup.py``).  For every task this starts a fresh
Python (as a fresh kernel would), imports the course, calls ``warm_up()``, then
times the first and the second ``run_check`` of the reference (wall time, CPU
time beside it).  A printout, not a timed test: under load the numbers grow, so
the load is shown.  ``--rounds`` runs every task that many times, the rounds
interleaved (task after task, then again), and prints per task the median
with the spread (min–max) of each column.

    PYTHONPATH=$PWD python benchmarks/bench_check_first_call.py [--rounds 3] [task ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from machine import describe

CHILD = r"""
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
import recsys_ref.course as course
course.warm_up()
t1, c1 = time.perf_counter(), time.process_time()
ex = course.get(sys.argv[1])
out = {"import": [t1 - t0, c1 - c0]}
for label in ("first", "second"):
    a, b = time.perf_counter(), time.process_time()
    r = course.run_check(ex.task_id, ex.reference, seed=1)
    out[label] = [time.perf_counter() - a, time.process_time() - b]
    assert r.passed, r.message
print(json.dumps(out))
"""


def _cell(values: list[float]) -> str:
    """ "median (min–max)" of one column over the rounds."""
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def main(tasks: list[str], rounds: int) -> None:
    root = Path(__file__).resolve().parents[1]
    if not tasks:
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                "import recsys_ref.course as c; "
                "print(' '.join(t for t, e in c.all_exercises().items() if e.kind == 'task'))",
            ],
            capture_output=True,
            text=True,
            cwd=root,
            check=True,
        )
        tasks = out.stdout.split()
    print(describe())
    runs: dict[str, list[dict[str, list[float]]]] = {t: [] for t in tasks}
    loads: list[float] = []
    for _ in range(rounds):  # rounds interleave the tasks, so a burst of load spreads over all
        for tid in tasks:
            loads.append(os.getloadavg()[0])
            run = subprocess.run(
                [sys.executable, "-c", CHILD, tid], capture_output=True, text=True, cwd=root
            )
            if run.returncode:
                print(f"{tid:<8} failed: {run.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(run.stdout.strip().splitlines()[-1])
            runs[tid].append(r)
            print(  # as it comes, so that a run cut short still reports
                f"  run {len(runs[tid])} {tid:<8} import+warm_up {r['import'][0]:.2f} s, first "
                f"{r['first'][0]:.2f} s, second {r['second'][0]:.2f} s (load {loads[-1]:.1f})",
                flush=True,
            )
    print(f"wall seconds, median (min–max) of {rounds} rounds; CPU seconds of the same calls after")
    head = ("import+warm_up", "first check", "second check")
    print(f"{'task':<8} " + " ".join(f"{h:>22}" for h in head) + "   cpu: first  second")
    firsts, seconds = [], []
    for tid, rs in runs.items():
        if not rs:
            continue
        wall = {k: [r[k][0] for r in rs] for k in ("import", "first", "second")}
        cpu = {k: statistics.median(r[k][1] for r in rs) for k in ("first", "second")}
        firsts += wall["first"]
        seconds += wall["second"]
        cells = " ".join(f"{_cell(wall[k]):>22}" for k in ("import", "first", "second"))
        print(f"{tid:<8} {cells}   {cpu['first']:>10.2f} {cpu['second']:>7.2f}")
    if firsts:
        print(
            f"all tasks: first check median {statistics.median(firsts):.2f} s, second "
            f"{statistics.median(seconds):.2f} s; 1-minute load average during the runs "
            f"{min(loads):.1f}–{max(loads):.1f}"
        )
    print(describe())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="*", help="task ids (default: every task)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per task, interleaved")
    args = parser.parse_args()
    main(args.tasks, args.rounds)
