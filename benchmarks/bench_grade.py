"""Grading speed: 30 submissions with ``recsys-course grade --jobs 2``.

Each submission is a folder holding copies of the notebooks available now:
even ones the solutions (full marks), odd ones the generated learner stubs
(notebooks/, "not started"; the solutions where a stub is not built yet).
The command runs as a TA would run it (a fresh process: interpreter start,
the fork server's ``import torch``, 30 submissions) with the fork server
(workers forked from one clean, pre-imported process); then, in the same run,
10 submissions without it (a fresh ``python -I`` per worker: the naive
baseline).

    .venv/bin/python benchmarks/bench_grade.py [--n 30] [--jobs 2]

Target: ≤ 3 s per submission on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
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


def grade(folder: Path, out: Path, jobs: int, fork_server: bool) -> float:
    env = dict(os.environ, RECSYS_GRADE_FORK_SERVER="1" if fork_server else "0")
    cmd = [sys.executable, "-m", "recsys_ref.course", "grade", *sorted(map(str, folder.iterdir())),
           "--out", str(out), "--jobs", str(jobs), "--seed", "1", "--quiet"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bench_grade: grading failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds


def summary(out: Path) -> tuple[list[float], float, float]:
    times, scores, maxima = [], 0.0, 0.0
    for d in sorted(p for p in out.iterdir() if p.is_dir()):
        data = json.loads((d / "results.json").read_text())
        times.append(data["execution_time"])
        scores += data["score"]
        maxima += sum(t["max_score"] for t in data["tests"])
    return times, scores, maxima


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--baseline-n", type=int, default=10,
                    help="submissions for the (slow) fresh-interpreter baseline")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as tmp:
        folder = Path(tmp) / "class"
        n_nb, n_stub = make_class(folder, args.n)
        small = Path(tmp) / "baseline-class"
        make_class(small, args.baseline_n)
        rows = []
        for label, fork_server, where, n in (
                ("fork server (default)", True, folder, args.n),
                ("fresh interpreter per worker", False, small, args.baseline_n)):
            out = Path(tmp) / f"out-{fork_server}"
            total = grade(where, out, args.jobs, fork_server)
            times, score, maximum = summary(out)
            rows.append((f"{label}, {n} subs", total, total / n, statistics.mean(times),
                         max(times), score, maximum))
    print(f"# Grading {args.n} submissions ({n_nb} notebooks each: solutions / {n_stub} stubs "
          f"alternating), --jobs {args.jobs}")
    print(f"# machine: {describe()}; 1 thread per grading worker")
    print(f"{'workers':<40} {'total s':>8} {'s/submission':>13} {'mean grading s':>15} "
          f"{'max grading s':>14} {'points':>10}")
    for label, total, per, mean, worst, score, maximum in rows:
        print(f"{label:<40} {total:8.1f} {per:13.2f} {mean:15.2f} {worst:14.2f} "
              f"{score:>5g}/{maximum:<4g}")
    base, fast = rows[1][2], rows[0][2]
    print(f"speed-up of the fork server per submission: {base / fast:.1f}x   "
          f"target ≤ 3 s per submission: {'met' if rows[0][2] <= 3 else 'NOT met'}")
    print("(s/submission = total wall time / submissions, including interpreter start; "
          "grading s = per-submission time inside the grader, from results.json)")


if __name__ == "__main__":
    main()
