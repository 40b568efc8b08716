"""One line naming the machine a benchmark ran on (shared by every script here).

Benchmarks run as scripts (``python benchmarks/bench_fm.py``), so this module is
imported as ``from machine import describe``.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe() -> str:
    """ "2-core CPU (Intel Xeon …), Python 3.11.7, torch 2.13.0+cpu, 2 threads, load average …"."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        import torch

        torch_info = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
        if torch.cuda.is_available():
            torch_info += f", GPU {torch.cuda.get_device_name(0)}"
    except ImportError:
        torch_info = "torch not importable"
    load = ""
    if hasattr(os, "getloadavg"):
        load = ", load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    return (
        f"{cores}-core CPU ({cpu_model()}), Python {platform.python_version()}, {torch_info}{load}"
    )


def shared_data(name: str, fallback: Path) -> Path:
    """``<ancestor>/shared/data/<name>`` for the nearest ancestor of this folder that has it,
    else ``fallback`` (the benchmarks then skip with a message naming it)."""
    here = Path(__file__).resolve()
    found = (p / "shared" / "data" / name for p in here.parents)
    return next((d for d in found if d.is_dir()), fallback)
