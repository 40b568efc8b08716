"""The worker's pipes (parent side): framed requests in, framed replies out, with
deadlines and byte caps.

A message is one JSON header line (``id``, ``size``; at most ``HEADER_LIMIT_BYTES``)
then ``size`` bytes of ``codec`` payload (at most ``REPLY_LIMIT_BYTES``).  Every
read and write keeps the task's deadline: a worker that stops reading or
writing cannot block the parent.  ``_Worker`` is one confined worker process;
``abort_all`` kills them all on Ctrl-C.
"""

from __future__ import annotations

import json
import os
import select
import signal
import threading
import time
from typing import Any

from .cgroup import SLACK_MB, CgroupError, WorkerCgroup, run_group
from .forkserver import SandboxError, _ForkServer
from .isolation import layers
from .limits import (
    FILE_LIMIT_BYTES,
    HEADER_LIMIT_BYTES,
    OUTPUT_LIMIT_BYTES,
    REPLY_LIMIT_BYTES,
    REPLY_NODES,
    REPLY_STRUCTURE_BYTES,
    STARTUP_TIMEOUT,
)


class _Timeout(Exception):
    pass


class _BadReply(Exception):
    pass


class _Died(Exception):
    def __init__(self, returncode: int | None) -> None:
        super().__init__(returncode)
        self.returncode = returncode

    def sentence(self) -> str:
        rc = self.returncode
        if rc is None:  # no exit status: the server lost it, the learner's code is not to blame
            return (
                "the grader lost the process running this task (its exit was not seen: a "
                "problem of the grading machine, not something your code is known to have "
                "done). Nothing was graded for this task; the next tasks ran in a fresh process."
            )
        if rc < 0:
            try:
                name = signal.Signals(-rc).name
            except ValueError:
                name = f"signal {-rc}"
            why = {
                "SIGKILL": "it was killed (out of memory, or over the CPU time limit)",
                "SIGXCPU": "it used up its CPU time",
                "SIGSEGV": "it crashed (segmentation fault)",
                "SIGABRT": "it aborted",
                "SIGSYS": "it made a forbidden system call",
            }.get(name, f"it received {name}")
            return (
                f"the process running your code ended: {why}. "
                "Nothing was graded for this task; the next tasks ran in a fresh process."
            )
        return (
            f"the process running your code ended (exit code {rc}) while running the cell or "
            "the function: does the code call os._exit() or exit the interpreter? "
            "Nothing was graded for this task; the next tasks ran in a fresh process."
        )


def _send_all(fd: int, data: bytes, deadline: float) -> None:
    """Write ``data`` to a non-blocking pipe before ``deadline`` (a worker that stops
    reading cannot block the parent)."""
    view = memoryview(data)
    while view:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _Timeout()
        _, ready, _ = select.select([], [fd], [], left)
        if not ready:
            continue
        try:
            n = os.write(fd, view[: 1 << 16])
        except BlockingIOError:
            continue
        view = view[n:]


_LIVE: set[_Worker] = set()
_LIVE_LOCK = threading.Lock()
_ABORT = threading.Event()


def abort_all() -> None:
    """Kill every running worker of this process and refuse new ones (on Ctrl-C)."""
    _ABORT.set()
    with _LIVE_LOCK:
        workers = list(_LIVE)
    for w in workers:
        w.close()


def reset_abort() -> None:
    """Allow workers again after ``abort_all``."""
    _ABORT.clear()


class _Worker:
    """One confined worker process and its pipes (framed requests in, framed replies out)."""

    def __init__(
        self,
        *,
        memory_mb: int,
        cpu_seconds: float,
        tight: bool = False,
        withheld: list[str] | None = None,
    ) -> None:
        if _ABORT.is_set():
            raise SandboxError("grading was interrupted")
        self.count = 0
        self.output = bytearray()
        self.buffer = b""
        self.server: _ForkServer | None = None
        self.pid = -1
        self.last_cell_error = ""
        req_r, self.req = os.pipe()
        self.rep, rep_w = os.pipe()
        self.out_r, out_w = os.pipe()
        os.set_blocking(self.req, False)
        lay = layers()
        self.cgroup = _guard_cgroup(memory_mb) if tight else None
        procs = self.cgroup.procs_fd() if self.cgroup is not None else -1
        config = {
            "memory_mb": int(memory_mb),
            "cpu_seconds": int(cpu_seconds),
            "fsize": FILE_LIMIT_BYTES,
            "landlock": bool(lay["landlock"]),
            "tight": tight,
            # memfd pages escape RLIMIT_AS but not a cgroup's memory.max (the worker
            # blocks memfd again when it could not join its cgroup)
            "block_memfd": procs < 0,
            "cgroup": procs >= 0,
            "withhold": list(withheld or ()),
        }
        try:
            self.server = _ForkServer.get()
            self.pid = self.server.spawn(
                config, [req_r, rep_w, out_w] + ([procs] if procs >= 0 else [])
            )
        except (OSError, SandboxError) as exc:
            self._cleanup_fds(self.req, self.rep, self.out_r)
            self.req = self.rep = -1
            self._drop_cgroup()
            raise SandboxError(f"cannot start a worker process ({exc})") from exc
        finally:
            self._cleanup_fds(req_r, rep_w, out_w, procs)
        with _LIVE_LOCK:
            _LIVE.add(self)
        threading.Thread(target=self._drain, daemon=True).start()
        try:
            ready, _ = self._receive(time.monotonic() + STARTUP_TIMEOUT, 0)
        except (_Timeout, _Died, _BadReply) as exc:
            tail = bytes(self.output[-2000:]).decode("utf-8", "replace")
            self.close()
            raise SandboxError(
                f"the grading worker did not start ({type(exc).__name__}): {tail}"
            ) from exc
        if not ready.get("ready"):
            self.close()
            raise SandboxError("the grading worker did not start (no ready message)")
        self.limits = ready.get("limits", {})

    @staticmethod
    def _cleanup_fds(*fds: int) -> None:
        for fd in fds:
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass

    def _drain(self) -> None:
        fd = self.out_r
        try:
            while chunk := os.read(fd, 65536):
                if len(self.output) < OUTPUT_LIMIT_BYTES:
                    self.output += chunk[: OUTPUT_LIMIT_BYTES - len(self.output)]
        except OSError:
            pass
        finally:
            os.close(fd)  # only here: closing it elsewhere could hand its number to another file

    def returncode(self, wait: float = 0.0) -> int | None:
        return self.server.exit_code(self.pid, wait) if self.server is not None else None

    def alive(self) -> bool:
        return self.req >= 0 and self.returncode() is None

    def run(self, request: dict[str, Any], wait: float, max_elements: int) -> dict[str, Any]:
        from . import codec

        self.count += 1
        deadline = time.monotonic() + wait
        payload = codec.dumps(request, "the task's inputs")
        head = json.dumps({"id": self.count, "size": len(payload)}).encode() + b"\n"
        try:
            _send_all(self.req, head + payload, deadline)
        except OSError as exc:
            raise _Died(self.returncode(wait=2.0)) from exc
        reply, data = self._receive(deadline, REPLY_LIMIT_BYTES)
        if reply.get("id") != self.count:
            raise _BadReply("unexpected reply")
        if reply.get("status") != "ran":
            return reply
        try:
            out = codec.loads(
                data,
                max_bytes=REPLY_LIMIT_BYTES,
                max_elements=max_elements,
                max_structure_bytes=REPLY_STRUCTURE_BYTES,
                max_nodes=REPLY_NODES,
            )
        except Exception as exc:  # noqa: BLE001 - CodecError, or a decoder bug: this task only
            return {"status": "undecodable", "message": f"{type(exc).__name__}: {exc}"}
        if not isinstance(out, dict):
            return {"status": "undecodable", "message": "the outputs are not a dict"}
        out["status"] = "ran"
        return out

    def _receive(self, deadline: float, max_payload: int) -> tuple[dict[str, Any], bytes]:
        """One framed message: a JSON header line, then ``size`` bytes (capped)."""
        while b"\n" not in self.buffer:
            self._read_some(deadline)
            if len(self.buffer) > HEADER_LIMIT_BYTES + max_payload:
                raise _BadReply("reply too long")
        line, _, self.buffer = self.buffer.partition(b"\n")
        if len(line) > HEADER_LIMIT_BYTES:
            raise _BadReply("reply header too long")
        try:
            msg = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _BadReply("not JSON") from exc
        if not isinstance(msg, dict):
            raise _BadReply("not a JSON object")
        size = msg.get("size", 0)
        if not isinstance(size, int) or not 0 <= size <= max_payload:
            raise _BadReply("announced size out of range")
        while len(self.buffer) < size:
            self._read_some(deadline)
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return msg, data

    def _read_some(self, deadline: float) -> None:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Timeout()
            ready, _, _ = select.select([self.rep], [], [], min(left, 1.0))
            if ready:
                break
        chunk = os.read(self.rep, 1 << 20)
        if not chunk:
            raise _Died(self.returncode(wait=5.0))
        self.buffer += chunk

    def close(self) -> None:
        """Have the server kill the worker's process group; close the pipes."""
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if self.pid > 0 and self.server is not None:
            if self.returncode() is None:
                self.server.kill(self.pid)
            self.returncode(wait=10.0)
        self._cleanup_fds(self.req, self.rep)  # out_r is closed by the drain thread at EOF
        self.req = self.rep = -1
        self._drop_cgroup()

    def _drop_cgroup(self) -> None:
        cg, self.cgroup = getattr(self, "cgroup", None), None
        if cg is not None:
            cg.remove()


_GROUP: list[Any] = []  # this process's folder of worker cgroups, once made (or None)
_GROUP_LOCK = threading.Lock()


def _guard_cgroup(memory_mb: int) -> WorkerCgroup | None:
    """A cgroup for a guard worker where the machine delegates one, else None."""
    base = layers().get("cgroup_memory")
    if not base:
        return None
    with _GROUP_LOCK:
        if not _GROUP:
            try:
                _GROUP.append(run_group(base))
            except CgroupError:
                _GROUP.append(None)
        group = _GROUP[0]
    if group is None:
        return None
    try:
        return WorkerCgroup(group, (int(memory_mb) + SLACK_MB) * 2**20)
    except CgroupError:
        return None
