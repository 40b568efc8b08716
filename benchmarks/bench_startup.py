"""How long the course takes to start: ``recsys-course --help``, importing it, the first check.

Each probe is a fresh interpreter (as a shell command or a fresh kernel is),
run ``--repeat`` times interleaved; the table gives the median wall time, the
spread (min-max) and whether torch was imported.  The load average is printed
before and after: on a shared machine the numbers grow with it.

    .venv/bin/python benchmarks/bench_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from machine import describe

ROOT = Path(__file__).resolve().parents[1]

REPORT = "import json, sys; print(json.dumps('torch' in sys.modules))"
PROBES = {
    "recsys-course --help": (
        "import runpy, sys; sys.argv = ['recsys-course', '--help']\n"
        "try:\n    runpy.run_module('recsys_ref.course', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
    ),
    "import recsys_ref.course": "import recsys_ref.course\n",
    "from recsys_ref.course import check": "from recsys_ref.course import check\n",
    "... + warm_up() (setup cell)": "import recsys_ref.course as c\nc.warm_up()\n",
    "... + first run_check": (
        "import recsys_ref.course as c\nc.run_check('fm_4', c.get('fm_4').reference, seed=1)\n"
    ),
}


def once(code: str) -> tuple[float, bool]:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code + REPORT],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return time.perf_counter() - start, json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(describe())
    times: dict[str, list[float]] = {name: [] for name in PROBES}
    torch_loaded: dict[str, bool] = {}
    for _ in range(args.repeat):  # interleaved: a burst of load hits every probe alike
        for name, code in PROBES.items():
            seconds, torch_loaded[name] = once(code)
            times[name].append(seconds)
    print(f"{'probe':<36} {'median s':>9} {'min-max s':>13}  torch")
    for name, ts in times.items():
        spread = f"{min(ts):.2f}-{max(ts):.2f}"
        print(f"{name:<36} {statistics.median(ts):9.2f} {spread:>13}  {torch_loaded[name]}")
    print(describe())


if __name__ == "__main__":
    main()
