"""Grading speed with the sandbox on: 30 submissions with ``recsys-course grade --jobs 2``.

Each submission is a folder holding copies of the notebooks available now:
even ones the solutions (full marks), odd ones the generated learner stubs
(notebooks/, "not started"; the solutions where a stub is not built yet).
The command runs as a TA would run it (a fresh process: interpreter start,
the fork server's start under bubblewrap and its ``import torch``, then 30
submissions).  Then, in this process, the cost of one worker start (fork from
the warm server, confinement, ready message) and of the fork server's start,
each the median of repeated starts with the spread.

    .venv/bin/python benchmarks/bench_grade.py [--n 30] [--jobs 2] [--starts 20]

Target: ≤ 3 s per submission on 2 cores (wall time / submissions).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe  # benchmarks/machine.py

ROOT = Path(__file__).resolve().parents[1]


def make_class(folder: Path, n: int) -> tuple[int, int]:
    solutions = sorted((ROOT / "solutions").glob("*.ipynb"))
    stubs = {p.name: p for p in sorted((ROOT / "notebooks").glob("*.ipynb"))}
    if not solutions:
        sys.exit("bench_grade: no solutions/*.ipynb to build submissions from")
    for i in range(n):
        sub = folder / f"learner_{i:02d}"
        sub.mkdir(parents=True)
        for s in solutions:
            source = stubs.get(s.name, s) if i % 2 else s
            shutil.copy(source, sub / s.name)
    return len(solutions), len(stubs)


def grade(folder: Path, out: Path, jobs: int) -> tuple[float, float, str]:
    """(wall s, CPU s of the grader and everything it started, the header it printed)."""
    cmd = [
        sys.executable,
        "-m",
        "recsys_ref.course",
        "grade",
        *sorted(map(str, folder.iterdir())),
        "--out",
        str(out),
        "--jobs",
        str(jobs),
        "--seed",
        "1",
        "--quiet",
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"bench_grade: grading failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    header = "\n".join(
        line for line in proc.stderr.splitlines() if line.startswith(("worker", "  "))
    )
    return seconds, cpu, header


def summary(out: Path) -> tuple[list[float], float, float]:
    times, scores, maxima = [], 0.0, 0.0
    for d in sorted(p for p in out.iterdir() if p.is_dir()):
        data = json.loads((d / "results.json").read_text())
        times.append(data["execution_time"])
        scores += data["score"]
        maxima += sum(t["max_score"] for t in data["tests"])
    return times, scores, maxima


def start_costs(n: int) -> tuple[float, list[float]]:
    """(fork server start s, worker start s × n), measured in this process; each worker
    withholds what a worker grading notebook 21 withholds (the references and their
    equivalents: ``withheld``), as in a real run."""
    from recsys_ref.course.engine.registry import all_exercises
    from recsys_ref.course.sandbox.client import _start_worker
    from recsys_ref.course.sandbox.forkserver import _ForkServer
    from recsys_ref.course.sandbox.withheld import withheld_keys

    exercises = all_exercises()
    keys = sorted(
        withheld_keys(
            [t for t, e in exercises.items() if e.notebook == "21_fm_okn_trick"], exercises
        )
    )
    t = time.perf_counter()
    _ForkServer.get()
    server = time.perf_counter() - t
    starts = []
    for _ in range(n):
        t = time.perf_counter()
        w = _start_worker(256, 60, withheld=keys)
        starts.append(time.perf_counter() - t)
        w.close()
    return server, starts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--starts", type=int, default=20, help="worker starts timed")
    args = ap.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as tmp:
        folder = Path(tmp) / "class"
        n_nb, n_stub = make_class(folder, args.n)
        out = Path(tmp) / "out"
        total, cpu, header = grade(folder, out, args.jobs)
        times, score, maximum = summary(out)
    server, starts = start_costs(args.starts)
    q = statistics.quantiles(starts, n=4) if len(starts) > 1 else [starts[0]] * 3
    print(
        f"# Grading {args.n} submissions ({n_nb} notebooks each: solutions / {n_stub} stubs "
        f"alternating), --jobs {args.jobs}, sandbox on"
    )
    print(
        f"# machine: {describe()}; load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    print(header)
    print(
        f"total wall {total:.1f} s (CPU {cpu:.1f} s), {total / args.n:.2f} s per submission; "
        f"grading time inside the grader: mean {statistics.mean(times):.2f} s, max "
        f"{max(times):.2f} s; points {score:g}/{maximum:g}"
    )
    print(
        f"fork server start (bubblewrap + imports): {server:.2f} s; worker start: median "
        f"{statistics.median(starts) * 1000:.0f} ms (quartiles {q[0] * 1000:.0f}–{q[2] * 1000:.0f} "
        f"ms, {len(starts)} starts)"
    )
    print(
        f"target ≤ 3 s per submission: {'met' if total / args.n <= 3 else 'NOT met'} "
        "(wall time / submissions, including the interpreter and fork server start)"
    )


if __name__ == "__main__":
    main()
