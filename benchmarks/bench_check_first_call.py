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

``--baseline DIR`` times a second checkout (an earlier commit:
``git worktree add /tmp/base <commit>``) in the same run: each task runs in
both trees, the order alternating, and the table adds the baseline's columns
and the ratio now ÷ baseline of the learner's whole wait (import + warm-up +
first check) and of a later check.  Both trees use this interpreter and its
packages; the older tree warms up at import, so its "import+warm_up" holds it.

    PYTHONPATH=$PWD python benchmarks/bench_check_first_call.py [--rounds 3] [task ...]
    PYTHONPATH=$PWD python benchmarks/bench_check_first_call.py --baseline /tmp/base --rounds 5
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
getattr(course, "warm_up", lambda: None)()  # an older tree warms up at import
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
COLUMNS = ("import", "first", "second")
Run = dict[str, list[float]]


def _cell(values: list[float]) -> str:
    """ "median (min–max)" of one column over the rounds."""
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def _tasks(root: Path) -> list[str]:
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
    return out.stdout.split()


def _measure(root: Path, tid: str) -> Run | None:
    """One fresh interpreter in ``root`` (its ``recsys_ref`` comes first on the path)."""
    run = subprocess.run(
        [sys.executable, "-c", CHILD, tid], capture_output=True, text=True, cwd=root
    )
    if run.returncode:
        print(f"{tid:<8} failed in {root}: {run.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(run.stdout.strip().splitlines()[-1])


def _row(tid: str, rs: list[Run]) -> str:
    wall = {k: [r[k][0] for r in rs] for k in COLUMNS}
    cpu = {k: statistics.median(r[k][1] for r in rs) for k in ("first", "second")}
    cells = " ".join(f"{_cell(wall[k]):>22}" for k in COLUMNS)
    return f"{tid:<8} {cells}   {cpu['first']:>10.2f} {cpu['second']:>7.2f}"


def _wait(r: Run) -> float:
    """What a learner waits for at the first check cell of a fresh kernel."""
    return r["import"][0] + r["first"][0]


def _ratios(now: list[Run], base: list[Run]) -> str:
    first = statistics.median(_wait(r) for r in now) / statistics.median(_wait(r) for r in base)
    later = statistics.median(r["second"][0] for r in now) / statistics.median(
        r["second"][0] for r in base
    )
    return f"now ÷ baseline: first wait {first:.2f}×, later check {later:.2f}×"


def main(tasks: list[str], rounds: int, baseline: Path | None) -> None:
    root = Path(__file__).resolve().parents[1]
    trees = {"now": root} if baseline is None else {"now": root, "baseline": baseline.resolve()}
    if not tasks:
        both = set(_tasks(baseline)) if baseline is not None else None
        tasks = [t for t in _tasks(root) if both is None or t in both]
    print(describe())
    runs: dict[str, dict[str, list[Run]]] = {name: {t: [] for t in tasks} for name in trees}
    loads: list[float] = []
    for i in range(rounds):  # rounds interleave the tasks, so a burst of load spreads over all
        for tid in tasks:
            order = list(trees) if i % 2 == 0 else list(reversed(trees))
            for name in order:
                loads.append(os.getloadavg()[0])
                r = _measure(trees[name], tid)
                if r is None:
                    continue
                runs[name][tid].append(r)
                print(  # as it comes, so that a run cut short still reports
                    f"  run {len(runs[name][tid])} {name:<8} {tid:<8} import+warm_up "
                    f"{r['import'][0]:.2f} s, first {r['first'][0]:.2f} s, second "
                    f"{r['second'][0]:.2f} s (load {loads[-1]:.1f})",
                    flush=True,
                )
    print(f"wall seconds, median (min–max) of {rounds} rounds; CPU seconds of the same calls after")
    head = ("import+warm_up", "first check", "second check")
    for name in trees:
        print(f"[{name}: {trees[name]}]")
        print(f"{'task':<8} " + " ".join(f"{h:>22}" for h in head) + "   cpu: first  second")
        for tid, rs in runs[name].items():
            if rs:
                print(
                    _row(tid, rs)
                    + (
                        f"   {_ratios(rs, runs['baseline'][tid])}"
                        if name == "now" and baseline is not None and runs["baseline"][tid]
                        else ""
                    )
                )
        every = [r for rs in runs[name].values() for r in rs]
        if every:
            print(
                f"all tasks ({name}): first check median "
                f"{statistics.median(r['first'][0] for r in every):.2f} s, second "
                f"{statistics.median(r['second'][0] for r in every):.2f} s, first wait "
                f"(import + warm-up + first) {statistics.median(_wait(r) for r in every):.2f} s"
            )
    if baseline is not None:
        now = [r for rs in runs["now"].values() for r in rs]
        base = [r for rs in runs["baseline"].values() for r in rs]
        if now and base:
            print(f"all tasks, {_ratios(now, base)}")
    if loads:
        print(f"1-minute load average during the runs {min(loads):.1f}–{max(loads):.1f}")
    print(describe())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="*", help="task ids (default: every task)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per task, interleaved")
    parser.add_argument(
        "--baseline", type=Path, default=None, help="an earlier checkout, timed in the same run"
    )
    args = parser.parse_args()
    main(args.tasks, args.rounds, args.baseline)
