"""A cgroup v2 child per guard worker, where the machine delegates one (parent side).

Where ``isolation.layers()["cgroup_memory"]`` names a writable cgroup v2 folder with
the memory controller (a delegated subtree, e.g. ``systemd-run --user -p
Delegate=yes``, or root on a machine without a container), each guard worker runs in
a child cgroup of its own: ``memory.max`` (its headroom plus ``SLACK_MB`` for the
pages it copies from the fork server), ``memory.swap.max`` 0 and ``pids.max``.  The
kernel then counts every page the worker touches (``memfd_create`` and shared memory
included, so the memfd block is lifted) and kills it past the bound, whatever it
does in its own address space.  The parent creates the folder and opens its
``cgroup.procs``; the worker writes its own pid there before any learner code
(``worker._join_cgroup``); the parent kills what is left and removes the folder when
the worker is closed.

Where no cgroup is writable (containers, this project's CI) nothing here runs: the
worker keeps ``RLIMIT_AS`` and the memfd block, and the run's header says so.
"""

from __future__ import annotations

import errno
import itertools
import os
import time
from pathlib import Path

SLACK_MB = 128  # pages copied on write from the fork server's heap are charged to the worker
PIDS_MAX = 32  # threads count as pids: torch's pool and Python's own, never a fork bomb
_NAMES = itertools.count(1)


class CgroupError(OSError):
    """The cgroup could not be made (the worker then runs with the rlimits alone)."""


def run_group(base: str | Path) -> Path:
    """This process's folder of worker cgroups below the delegated ``base``: made once,
    with the memory and pids controllers enabled for its children."""
    base = Path(base)
    group = base / f"recsys-grade-{os.getpid()}"
    try:
        _enable(base)
        group.mkdir(exist_ok=True)
        _enable(group)
    except OSError as exc:
        raise CgroupError(f"cannot prepare {group} ({exc})") from exc
    return group


def _enable(folder: Path) -> None:
    wanted = [c for c in ("memory", "pids") if c in _words(folder / "cgroup.controllers")]
    if "memory" not in wanted:
        raise CgroupError(f"no memory controller in {folder}")
    enabled = _words(folder / "cgroup.subtree_control")
    missing = [c for c in wanted if c not in enabled]
    if missing:
        (folder / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in missing))


def _words(path: Path) -> list[str]:
    try:
        return path.read_text().split()
    except OSError:
        return []


class WorkerCgroup:
    """One guard worker's cgroup: ``memory.max``, ``memory.swap.max``, ``pids.max``."""

    def __init__(self, group: Path, memory_bytes: int, pids_max: int = PIDS_MAX) -> None:
        self.path = Path(group) / f"w{os.getpid()}-{next(_NAMES)}"
        try:
            self.path.mkdir()
            (self.path / "memory.max").write_text(str(int(memory_bytes)))
            if (self.path / "memory.swap.max").exists():
                (self.path / "memory.swap.max").write_text("0")
            (self.path / "pids.max").write_text(str(int(pids_max)))
        except OSError as exc:
            self.remove()
            raise CgroupError(f"cannot make {self.path} ({exc})") from exc

    def procs_fd(self) -> int:
        """A write-only descriptor of ``cgroup.procs`` for the worker to add itself."""
        return os.open(self.path / "cgroup.procs", os.O_WRONLY | os.O_CREAT, 0o644)

    def remove(self) -> None:
        """Kill whatever is still in it and remove the folder; never raises."""
        kill = self.path / "cgroup.kill"
        try:
            if kill.exists():
                kill.write_text("1")
        except OSError:
            pass
        for _ in range(40):  # a killed process leaves its cgroup a moment later
            try:
                self.path.rmdir()  # a cgroup folder goes with its interface files
                return
            except FileNotFoundError:
                return
            except OSError as exc:
                if exc.errno == errno.ENOTEMPTY:  # a plain folder (tests): files go first
                    for leftover in self.path.iterdir():
                        leftover.unlink(missing_ok=True)
                    continue
                time.sleep(0.05)  # EBUSY: a process is still leaving
