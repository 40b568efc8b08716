"""The fork server's client (parent side): start it, ask it for a worker, kill, see exits.

The fork server itself (``worker.server_main``) imports torch and the package once
and forks a fresh worker per request; this module starts it (under bubblewrap
when the machine has it), talks to it over one ``SOCK_SEQPACKET`` socket, and
raises ``SandboxError`` when it cannot.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from .isolation import SANDBOX_ROOT, bwrap_args, clean_env, layers, mpl_config_dir, worker_slots
from .limits import STARTUP_TIMEOUT

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])


class SandboxError(RuntimeError):
    """The grader itself cannot run a worker (not the learner's fault)."""


_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from recsys_ref.course.sandbox import worker; worker.server_main(sys.argv[2])"
)


class _ForkServer:
    """A clean process that has imported torch once and forks a fresh worker on request.

    It runs under bubblewrap when available and never runs learner code; it
    reports each worker's exit status and kills a worker when asked (worker
    ids are pids in its pid namespace, meaningless to the parent).
    """

    _lock = threading.Lock()
    _instance: _ForkServer | None = None

    @classmethod
    def get(cls) -> _ForkServer:
        with cls._lock:
            inst = cls._instance
            if inst is not None and inst.proc.poll() is None and not inst.broken:
                return inst
            if inst is not None:
                inst.stop()
            cls._instance = None
            cls._instance = cls()
            return cls._instance

    def __init__(self) -> None:
        lay = layers()
        self.bwrap = bool(lay["bwrap"])
        self.dir = "" if self.bwrap else tempfile.mkdtemp(prefix="recsys-grade-")
        workroot = SANDBOX_ROOT if self.bwrap else self.dir
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.broken = False
        self.exits: dict[int, int] = {}
        self.spawned: list[int] = []
        self.cond = threading.Condition()
        self.spawn_lock = threading.Lock()
        argv = [
            sys.executable,
            "-I",
            "-c",
            _BOOT,
            _PACKAGE_ROOT,
            json.dumps(
                {
                    "sock_fd": theirs.fileno(),
                    "workroot": workroot,
                    "slots": worker_slots() if self.bwrap else [],
                }
            ),
        ]
        env = clean_env(workroot)
        if self.bwrap:
            argv = bwrap_args(lay["bwrap"]) + argv
            env["MPLCONFIGDIR"] = "/mplconfig" if os.path.isdir(mpl_config_dir()) else workroot
        else:
            env["MPLCONFIGDIR"] = mpl_config_dir()
        started = threading.Event()
        failure: list[BaseException] = []

        def keeper() -> None:
            # Popen from a thread that lives as long as the server: --die-with-parent
            # (PR_SET_PDEATHSIG) fires when the *thread* that started it ends.
            try:
                self.proc = subprocess.Popen(
                    argv,
                    cwd=workroot if not self.bwrap else "/",
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    pass_fds=(theirs.fileno(),),
                    start_new_session=True,
                )
            except OSError as exc:
                failure.append(exc)
                started.set()
                return
            started.set()
            self.proc.wait()

        threading.Thread(target=keeper, daemon=True, name="recsys-fork-server").start()
        started.wait()
        theirs.close()
        if failure:
            raise SandboxError(f"cannot start the fork server ({failure[0]})")
        self.sock.settimeout(STARTUP_TIMEOUT)
        try:
            first = json.loads(self.sock.recv(4096) or b"{}")
        except (OSError, json.JSONDecodeError) as exc:
            self.stop()
            raise SandboxError("the fork server did not start") from exc
        if not first.get("ready"):
            self.stop()
            raise SandboxError("the fork server did not start")
        self.sock.settimeout(None)
        threading.Thread(target=self._listen, daemon=True).start()
        atexit.register(self.stop)

    def _listen(self) -> None:
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                with self.cond:
                    self.broken = True
                    self.cond.notify_all()
                return
            try:
                msg = json.loads(data)
            except json.JSONDecodeError:
                continue
            with self.cond:
                if "exit" in msg:
                    self.exits[int(msg["exit"])] = int(msg["rc"])
                elif "pid" in msg:
                    self.spawned.append(int(msg["pid"]))
                self.cond.notify_all()

    def spawn(self, config: dict[str, Any], fds: list[int]) -> int:
        with self.spawn_lock:
            try:
                socket.send_fds(self.sock, [json.dumps(config).encode()], fds)
            except OSError as exc:
                self.broken = True
                raise SandboxError(f"the fork server stopped answering ({exc})") from exc
            with self.cond:
                if not self.cond.wait_for(lambda: self.spawned or self.broken, timeout=30):
                    self.broken = True
                if self.broken or not self.spawned:
                    raise SandboxError("the fork server stopped answering")
                pid = self.spawned.pop(0)
            if pid < 0:  # the server could not give it a working folder
                raise SandboxError("the fork server could not prepare a working folder")
            return pid

    def kill(self, pid: int) -> None:
        try:
            self.sock.send(json.dumps({"kill": pid}).encode())
        except OSError:
            pass

    def exit_code(self, pid: int, wait: float) -> int | None:
        with self.cond:
            self.cond.wait_for(lambda: pid in self.exits or self.broken, timeout=wait)
            return self.exits.get(pid)

    def stop(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except (ProcessLookupError, PermissionError, subprocess.TimeoutExpired, AttributeError):
            pass
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
