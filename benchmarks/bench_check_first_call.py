"""First and later ``check()`` calls per task, each task in a fresh interpreter.

The first check of a session pays torch's first dispatch-mode entry and the
registry's imports (1.3–3.1 s) in ``warm_up()``, which the first ``run_check``
calls and a notebook's setup may call earlier (importing the package does no
work: ``benchmarks/bench_startup.py``).  For every task this starts a fresh
Python (as a fresh kernel would), imports the course, calls ``warm_up()``, then
times the first and the second ``run_check`` of the reference (wall time, CPU
time beside it).  A printout, not a timed test: under load the numbers grow, so
the load is shown.

    PYTHONPATH=$PWD python benchmarks/bench_check_first_call.py [task ...]
"""

from __future__ import annotations

import json
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


def main(tasks: list[str]) -> None:
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
    print(
        f"{'task':<8} {'import+warm_up s (cpu)':>22} {'first check s (cpu)':>20} {'second s (cpu)':>16}"
    )
    for tid in tasks:
        run = subprocess.run(
            [sys.executable, "-c", CHILD, tid], capture_output=True, text=True, cwd=root
        )
        if run.returncode:
            print(f"{tid:<8} failed: {run.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(run.stdout.strip().splitlines()[-1])
        cells = {k: f"{r[k][0]:.2f} ({r[k][1]:.2f})" for k in ("import", "first", "second")}
        print(f"{tid:<8} {cells['import']:>22} {cells['first']:>20} {cells['second']:>16}")
    print(describe())


if __name__ == "__main__":
    main(sys.argv[1:])
