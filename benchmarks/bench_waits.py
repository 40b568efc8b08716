"""What a learner waits for, each wait beside its floor, measured in one run, interleaved.

    python benchmarks/bench_waits.py [--reps 3] [--quick] [--notebook-reps 1] [--task fm_4]
                                     [--import-reps 10] [--import-only]

Floors: ``python -c pass`` (an interpreter), ``python -c "import torch"`` (what any course
command must pay), a Jupyter kernel start (what every notebook pays before its first cell).
Waits: the course import of a check cell (``from recsys_ref.course import check``), the first and
a later ``check()`` in one fresh interpreter (as in a fresh kernel), ``recsys-course --help``,
``recsys-course progress`` on solutions/ (all tasks done) and on notebooks/ (the stubs),
``recsys-course doctor`` (the learner's checks) and ``doctor --grader`` (with the TA's isolation
probes), the grader's fork-server start (after its imports: bubblewrap and the
server's own imports), and each solutions notebook's Run All (``bench_notebooks.run_notebook``:
kernel start + every cell; ``--quick`` skips them).

Every round runs each measurement once, the order rotating from round to round, so a change of
load hits them all alike; the table gives the median wall time, the min–max over rounds, the
CPU time of the process(es) measured (children included), and the ratio to the floor named.
The machine and its load average (before and after) are printed: on a loaded machine wall times
grow and CPU times stay; compare waits with their floors from the same run.

The course import's target is a difference, ``import torch`` + 0.3 s, smaller than the spread of
either wait on a loaded machine (2-round medians swung by ±0.5 s): it gets its own measurement,
``--import-reps`` back-to-back pairs (``import torch`` then the course import, or the other way
round, alternating), the difference taken within each pair, its median and 10–90 % spread given
for wall and CPU time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from machine import describe  # benchmarks/machine.py

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
CLI = str(Path(PY).parent / "recsys-course")

CHECK_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from recsys_ref.course import check, get
t1 = time.perf_counter()
ex = get(sys.argv[1])
times = []
for _ in range(2):
    a = time.perf_counter()
    check(ex.task_id, ex.reference)
    times.append(time.perf_counter() - a)
print(json.dumps({"import": t1 - t0, "first": times[0], "later": times[1]}))
"""

FORK_CHILD = r"""
import json, time
from recsys_ref.course.grading.progress import fork_server_class
server = fork_server_class()  # wherever the sandbox keeps it
t = time.perf_counter()
server.get()
print(json.dumps({"fork server": time.perf_counter() - t}))
"""


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def command(argv: list[str]) -> Callable[[], dict[str, tuple[float, float]]]:
    """A wait measured from outside: the wall and CPU time of one run of ``argv``."""

    def run() -> dict[str, tuple[float, float]]:
        c0, t0 = _children_cpu(), time.perf_counter()
        out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
        wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
        if out.returncode:
            raise RuntimeError(f"{' '.join(argv)} exited {out.returncode}: {out.stderr[-500:]}")
        return {"": (wall, cpu)}

    return run


def reported(argv: list[str]) -> Callable[[], dict[str, tuple[float, float]]]:
    """Waits measured inside a child that prints them as JSON (wall only; CPU not split)."""

    def run() -> dict[str, tuple[float, float]]:
        out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError(
                f"{' '.join(argv[:3])}… exited {out.returncode}: {out.stderr[-500:]}"
            )
        return {k: (v, float("nan")) for k, v in json.loads(out.stdout.splitlines()[-1]).items()}

    return run


def kernel_start() -> dict[str, tuple[float, float]]:
    """A python3 kernel started until it answers (jupyter_client), then shut down."""
    from jupyter_client.manager import start_new_kernel

    c0, t0 = _children_cpu(), time.perf_counter()
    km, kc = start_new_kernel(kernel_name="python3")
    wall = time.perf_counter() - t0
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    return {"": (wall, _children_cpu() - c0)}


def notebook(path: Path) -> Callable[[], dict[str, tuple[float, float]]]:
    """Run All of one solutions notebook in a fresh copy of its folder (bench_notebooks)."""
    from bench_notebooks import run_notebook  # benchmarks/bench_notebooks.py

    def run() -> dict[str, tuple[float, float]]:
        with tempfile.TemporaryDirectory(prefix="bench-waits-") as tmp:
            workdir = Path(tmp) / path.stem
            shutil.copytree(
                path.parent, workdir, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.ipynb")
            )
            copy = workdir / path.name
            shutil.copy2(path, copy)
            c0 = _children_cpu()
            seconds, _, error = run_notebook(copy, workdir, kernel="python3", cell_timeout=600)
            cpu = _children_cpu() - c0  # the kernel is a child of this process
        if error:
            raise RuntimeError(f"{path.name}: {error}")
        return {"": (seconds, cpu)}

    return run


def _spread(xs: list[float], sign: str = "+") -> str:
    """median [10th–90th percentile] of xs, in seconds (nearest rank); sign "": no plus signs."""
    s = sorted(xs)

    def q(f: float) -> float:
        return s[min(len(s) - 1, max(0, round(f * (len(s) - 1))))]

    f = f"{sign}.2f"
    return f"{q(0.5):{f}} s [{q(0.1):{f}}, {q(0.9):{f}}]"


def import_gap(reps: int) -> None:
    """The course import minus ``import torch``: ``reps`` back-to-back pairs, order alternating.

    Each pair's two runs see nearly the same load, so the difference taken within a pair drifts
    far less than either wait's own median; CPU time (the child's, user + system) is beside it.
    """
    torch_only = command([PY, "-c", "import torch"])
    course = command([PY, "-c", "from recsys_ref.course import check"])
    torch_only(), course()  # the page cache warm for both
    load0 = os.getloadavg()
    rows: dict[str, list[tuple[float, float]]] = {"torch": [], "course": []}
    for r in range(reps):
        pair = [("torch", torch_only), ("course", course)]
        for name, fn in pair if r % 2 == 0 else pair[::-1]:
            rows[name].append(fn()[""])
    wall = [c[0] - t[0] for t, c in zip(rows["torch"], rows["course"])]
    cpu = [c[1] - t[1] for t, c in zip(rows["torch"], rows["course"])]
    load1 = os.getloadavg()
    print(
        f"\ncourse import − import torch, {reps} back-to-back pairs (load {load0[0]:.1f} → "
        f"{load1[0]:.1f}): wall {_spread(wall)}, CPU {_spread(cpu)} (median [10–90 %]); "
        f"import torch alone {_spread([t[0] for t in rows['torch']], '')} wall; "
        "target ≤ +0.30 s",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--quick", action="store_true", help="skip the notebooks' Run All")
    p.add_argument("--notebook-reps", type=int, default=1, help="rounds with notebooks (default 1)")
    p.add_argument("--task", default="fm_4", help="the task of the check() waits (default fm_4)")
    p.add_argument(
        "--import-reps",
        type=int,
        default=10,
        help="back-to-back pairs for the course import − import torch gap (default 10; 0 skips)",
    )
    p.add_argument("--import-only", action="store_true", help="only the import gap")
    args = p.parse_args(argv)
    if args.import_only:
        print(f"machine: {describe()}", flush=True)
        import_gap(args.import_reps)
        return 0
    cli = [CLI] if os.access(CLI, os.X_OK) else [PY, "-m", "recsys_ref.course"]

    # name → (floor it is compared with, the measurement); one measurement may give several rows
    items: dict[str, tuple[str, Callable[[], dict[str, tuple[float, float]]]]] = {
        "python -c pass": ("", command([PY, "-c", "pass"])),
        'python -c "import torch"': ("", command([PY, "-c", "import torch"])),
        "Jupyter kernel start": ("", kernel_start),
        "from recsys_ref.course import check": (
            'python -c "import torch"',
            command([PY, "-c", "from recsys_ref.course import check"]),
        ),
        f"check({args.task}) in a fresh interpreter": (
            "",
            reported([PY, "-c", CHECK_CHILD, args.task]),
        ),
        "recsys-course --help": ("python -c pass", command([*cli, "--help"])),
        "recsys-course progress solutions/": (
            'python -c "import torch"',
            command([*cli, "progress", "solutions"]),
        ),
        "recsys-course progress notebooks/ (stubs)": (
            'python -c "import torch"',
            command([*cli, "progress", "notebooks"]),
        ),
        "recsys-course doctor": ('python -c "import torch"', command([*cli, "doctor"])),
        "recsys-course doctor --grader": (
            'python -c "import torch"',
            command([*cli, "doctor", "--grader"]),
        ),
        "grader fork server start (after imports)": ("", reported([PY, "-c", FORK_CHILD])),
    }
    notebooks = [] if args.quick else sorted((ROOT / "solutions").glob("*.ipynb"))
    for nb in notebooks:
        items[f"Run All {nb.name}"] = ("Jupyter kernel start", notebook(nb))

    print(f"machine: {describe()}", flush=True)
    load0 = os.getloadavg()
    results: dict[str, list[tuple[float, float]]] = {}
    names = list(items)
    for r in range(args.reps):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            if name.startswith("Run All") and r >= args.notebook_reps:
                continue
            try:
                got = items[name][1]()
            except Exception as exc:  # noqa: BLE001 - a failing wait is reported, the rest go on
                print(f"  {name}: FAILED ({exc})", flush=True)
                continue
            for sub, value in got.items():
                label = f"{name}: {sub}" if sub else name
                results.setdefault(label, []).append(value)
                print(f"  {label}: {value[0]:.2f} s", flush=True)  # as it goes: a long run shows
        print(f"  round {r + 1} of {args.reps} done, load {os.getloadavg()[0]:.1f}", flush=True)
    load1 = os.getloadavg()

    def median(xs: list[float]) -> float:
        s = sorted(xs)
        return s[len(s) // 2] if len(s) % 2 else 0.5 * (s[len(s) // 2 - 1] + s[len(s) // 2])

    floors = {k: median([w for w, _ in v]) for k, v in results.items()}
    print(
        f"\nload average before {load0[0]:.1f} {load0[1]:.1f} {load0[2]:.1f}, "
        f"after {load1[0]:.1f} {load1[1]:.1f} {load1[2]:.1f}; {args.reps} interleaved rounds"
    )
    width = max(len(k) for k in results)
    print(f"{'wait':<{width}}  {'median s':>8}  {'min–max s':>13}  {'CPU s':>6}  vs floor")
    for label, vals in results.items():
        walls = [w for w, _ in vals]
        cpus = [c for _, c in vals if c == c]
        floor_name = next((f for n, (f, _) in items.items() if label.startswith(n)), "")
        vs = ""
        if floor_name and floor_name in floors:
            vs = f"{median(walls) / floors[floor_name]:.2f}× {floor_name}"
        cpu = f"{median(cpus):6.2f}" if cpus else f"{'–':>6}"
        print(
            f"{label:<{width}}  {median(walls):8.2f}  {min(walls):6.2f}–{max(walls):<6.2f}  {cpu}  {vs}"
        )
    if args.import_reps > 0:
        import_gap(args.import_reps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
