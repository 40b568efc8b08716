"""The cgroup v2 layer of guard workers (issue 19): the writer against a fake cgroupfs,
the worker's side of joining, and the real path where this machine delegates a cgroup."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pytest

from recsys_ref.course.grading import grade
from recsys_ref.course.sandbox import cgroup, framing, isolation, worker

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="cgroups are Linux's")


def fake_cgroupfs(tmp_path: Path) -> Path:
    """A folder laid out like a delegated cgroup v2 subtree (the kernel's interface files
    that the writer reads; the run's group folder as the kernel would show it)."""
    base = tmp_path / "delegated"
    base.mkdir()
    (base / "cgroup.controllers").write_text("cpu io memory pids\n")
    (base / "cgroup.subtree_control").write_text("")
    group = base / f"recsys-grade-{os.getpid()}"
    group.mkdir()
    (group / "cgroup.controllers").write_text("memory pids\n")
    (group / "cgroup.subtree_control").write_text("")
    return base


def test_the_writer_makes_limits_adds_the_worker_and_removes_the_folder(tmp_path):
    base = fake_cgroupfs(tmp_path)
    group = cgroup.run_group(base)
    assert group.parent == base
    assert (base / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert (group / "cgroup.subtree_control").read_text() == "+memory +pids"
    cg = cgroup.WorkerCgroup(group, 68 * 2**20, pids_max=16)
    assert cg.path.parent == group and cg.path.is_dir()
    assert (cg.path / "memory.max").read_text() == str(68 * 2**20)
    assert (cg.path / "pids.max").read_text() == "16"
    fd = cg.procs_fd()
    assert worker._join_cgroup(fd) == {"cgroup": True, "block_memfd": False}
    assert (cg.path / "cgroup.procs").read_text() == str(os.getpid())
    cg.remove()
    assert not cg.path.exists() and group.is_dir()


def test_no_memory_controller_means_no_cgroup(tmp_path):
    base = tmp_path / "plain"
    base.mkdir()
    (base / "cgroup.controllers").write_text("cpu io\n")
    with pytest.raises(cgroup.CgroupError):
        cgroup.run_group(base)


def test_a_worker_that_cannot_join_keeps_the_memfd_block(tmp_path):
    path = tmp_path / "procs"
    path.write_text("")
    fd = os.open(path, os.O_RDONLY)  # a write through it fails, as on a refused migration
    assert worker._join_cgroup(fd) == {"cgroup": False, "block_memfd": True}


def test_a_guard_worker_gets_a_cgroup_only_where_one_is_writable(tmp_path, monkeypatch):
    monkeypatch.setattr(framing, "_GROUP", [])
    monkeypatch.setitem(isolation.layers(), "cgroup_memory", "")
    assert framing._guard_cgroup(8) is None
    base = fake_cgroupfs(tmp_path)
    monkeypatch.setitem(isolation.layers(), "cgroup_memory", str(base))
    cg = framing._guard_cgroup(8)
    assert cg is not None
    assert (cg.path / "memory.max").read_text() == str((8 + cgroup.SLACK_MB) * 2**20)
    cg.remove()
    assert not cg.path.exists()


def test_the_run_header_says_which_memory_bound_applies(monkeypatch):
    args = argparse.Namespace(task_timeout=30.0, total_timeout=300.0, memory_mb=512)
    limits = {"address_space": 1, "seccomp": True}
    monkeypatch.setitem(isolation.layers(), "cgroup_memory", "")
    assert "no writable cgroup v2 here: RLIMIT_AS and the memfd block" in grade.describe_limits(
        limits, args
    )
    monkeypatch.setitem(isolation.layers(), "cgroup_memory", "/sys/fs/cgroup/x")
    assert "cgroup of their own (memory.max, pids.max)" in grade.describe_limits(limits, args)


def test_the_real_cgroup_bounds_a_guard_worker():
    """Where a cgroup v2 memory controller is delegated: a guard worker joins a cgroup of
    its own, with memory.max set, and the folder is gone once the worker is closed."""
    base = isolation.layers()["cgroup_memory"]
    if not base:
        pytest.skip(
            "no writable cgroup v2 memory controller on this machine (a container, or "
            "cgroup v1): guard workers keep RLIMIT_AS and the memfd block"
        )
    try:
        cgroup.run_group(base)
    except cgroup.CgroupError as exc:
        pytest.skip(f"the cgroup {base} is writable but cannot hold worker cgroups ({exc})")
    from recsys_ref.course.sandbox import client

    w = client._start_worker(8, 60, tight=True)
    try:
        assert w.limits.get("cgroup") is True, w.limits
        assert w.cgroup is not None
        path = w.cgroup.path
        assert int((path / "memory.max").read_text()) == (8 + cgroup.SLACK_MB) * 2**20
    finally:
        w.close()
    assert not path.exists()
