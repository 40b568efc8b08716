"""Run a learner's exercise cells in a confined worker process (COURSE.md §6).

Trust boundary.  The grader's process (the *parent*) reads the notebook,
finds each exercise cell, draws the inputs with ``ex.make_cases(seed)``,
computes the reference outputs and later judges with ``evaluate``.  The
learner's code runs only in a *worker*, a separate confined process (see
"Process model") that receives the cell's source and the inputs, calls the
function through ``runner.run_cases`` and writes the outcomes back as an
``.npz`` through ``codec`` (no pickle).  Nothing the worker writes is
unpickled or executed by the parent, so a cell that prints a fake "✓" or
monkeypatches ``recsys_ref``/``check``/``torch`` changes only its own process:
the verdict is computed from the returned arrays against the parent's
reference, on inputs drawn with a fresh seed per grading run.

Why a plain subprocess and not a Jupyter kernel (nbclient): the exercise cell
is pure by convention (imports and ``def`` only), so a kernel buys nothing but
costs a ZMQ handshake and ~1 s per start, and its protocol is much harder to
confine (a kernel runs whatever any holder of its connection file sends).  A
worker speaks one line of JSON per task on two private pipes, and is easy to
limit and to kill as a process group.

Process model.  A *fork server* (one per grading process) imports torch,
numpy and scipy once and then only forks: each worker is a fresh fork of that
clean state, so nothing leaks between learners and a worker is ready in
milliseconds instead of the ~1.5 s of ``import torch``.  The server never runs
learner code and reports each worker's exit status.  (Off Linux, or with
``RECSYS_GRADE_FORK_SERVER=0``, each worker is a fresh ``python -I``.)  One
worker per notebook handles all its tasks in turn, each in a fresh namespace.
After a crash, a timeout or a broken reply the worker is killed (its whole
process group) and the next task gets a fresh worker, so one hanging task never
costs the others.  The parent enforces the wall-clock limits: ``task_timeout``
per task and ``total_timeout`` per call.

Limits applied by the worker to itself, after its own imports and before any
learner code (``limits`` in the ready message tells which ones took effect):

- ``RLIMIT_AS``: the address space after ``import torch`` plus ``memory_mb``;
  a memory bomb raises ``MemoryError`` inside the learner's function;
- ``RLIMIT_FSIZE`` 64 MB (``SIGXFSZ`` ignored, so a write fails instead of
  killing), ``RLIMIT_CORE`` 0, ``RLIMIT_CPU`` a backstop of the total limit;
- a seccomp filter: ``fork``/``vfork``/``clone`` of a process fail with
  ``EAGAIN`` (threads are still allowed), and ``setrlimit``/``prlimit64``
  (raising a limit, which root could otherwise do), ``ptrace`` and system
  calls of another ABI fail; plus ``RLIMIT_NPROC`` for non-root users (the
  kernel ignores it for root);
- Landlock (Linux ≥ 5.13): the worker may read only Python, its packages
  and the system folders (``_readable_paths``: not other submissions, not the
  grader's output) and may create, write, delete or rename files only inside
  its own temporary directory; from ABI 4 no TCP, from ABI 6 no signals to
  processes outside the worker;
- a temporary working directory (cwd, ``HOME``, ``TMPDIR``), a clean
  environment (one thread, no user ``PYTHON*`` variables: ``python -I``),
  stdin from ``/dev/null``, stdout/stderr drained by the parent, which keeps
  only the first 64 KB and never shows them in feedback (a learner's prints
  could reveal the hidden inputs).

The one verdict measured inside the worker is the complexity guard (the sizes
of the tensors a function creates, recorded by ``runner.NumelRecorder``).  The
worker snapshots the objects that measurement relies on before any learner
code runs and fails the guard when a cell replaced one of them.  A learner
determined to defeat an in-process measurement (e.g. through ``gc`` or
``ctypes``) could still fake the sizes, never the values: outputs are always
judged in the parent.  Cells that call the reference implementation are
flagged in the feedback ("flagged for review") for the TA.

What the parent accepts back: ``codec.load`` with a size cap and an element
cap derived from the reference's output, so a huge (possibly sparse) output
is reported as "too large" instead of exhausting the grader's memory.
"""

from __future__ import annotations

import ast
import atexit
import inspect
import json
import math
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .evaluate import CRASHED, FAILED, MISSING, Result, evaluate
from .notebook import _AST_LOCK, ExerciseSource, NotebookError, find_exercise, read_notebook
from .registry import all_exercises, get
from .runner import ERROR, OK, SIGNATURE, Outcome
from .spec import Case, Exercise

__all__ = ["run_tasks", "tasks_for_notebook", "confinement", "abort_all", "reset_abort",
           "fork_server_problem",
           "SandboxError",
           "OUTPUT_LIMIT_BYTES"]

OUTPUT_LIMIT_BYTES = 64 * 1024  # of the learner's stdout/stderr kept (never shown in feedback)
FILE_LIMIT_BYTES = 64 * 1024 * 1024  # RLIMIT_FSIZE of the worker
REPLY_LIMIT_BYTES = 48 * 1024 * 1024  # largest reply file the parent reads
STARTUP_TIMEOUT = 120.0  # seconds for the worker's own imports (not the learner's time)
# RECSYS_GRADE_FORK_SERVER=0 starts every worker as a fresh interpreter (slower; for comparison).
# Linux only: on macOS, fork() without exec() is unsafe once system frameworks are loaded.
USE_FORK_SERVER = (sys.platform == "linux" and hasattr(socket, "send_fds")
                   and os.environ.get("RECSYS_GRADE_FORK_SERVER", "1") != "0")
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class SandboxError(RuntimeError):
    """The grader itself cannot run a worker (not the learner's fault)."""


# ================================================================ parent side


def tasks_for_notebook(nb: Any, path: str | Path) -> list[str]:
    """The task ids graded in ``nb``: by its ``recsys_course.notebook``
    metadata, else by its file stem, else every task whose cell it holds."""
    exercises = all_exercises()
    meta = nb.metadata.get("recsys_course", {}) if nb is not None else {}
    name = meta.get("notebook") if isinstance(meta, dict) else None
    for key in (name, Path(path).stem):
        if key:
            found = [t for t, ex in exercises.items() if ex.notebook == key]
            if found:
                return found
    if nb is None:
        return []
    return [t for t, ex in exercises.items() if find_exercise(nb, t, ex.func_name) is not None]


@dataclass
class _Prepared:
    ex: Exercise
    source: ExerciseSource
    cases: list[Case]
    expected: list[Any]
    guard_cases: list[Case] = field(default_factory=list)


def _crashed(ex: Exercise, message: str) -> Result:
    return Result(ex.task_id, CRASHED, f"! {ex.task_id} {ex.func_name}: {message}", 0.0, ex.points)


def _failed(ex: Exercise, message: str) -> Result:
    return Result(ex.task_id, FAILED, f"✗ {ex.task_id} {ex.func_name}: {message}", 0.0, ex.points)


def _missing(ex: Exercise) -> Result:
    return Result(
        ex.task_id, MISSING,
        f"? {ex.task_id}: no exercise cell found: no cell is tagged task:{ex.task_id} and no cell "
        f"defines {ex.func_name}. Copy the exercise cell back from the released notebook.",
        0.0, ex.points)


def _with_note(result: Result, note: str) -> Result:
    if note:
        result.message = f"{result.message} (note: {note})"
    return result


def _reference_note(ex: Exercise, code: str, preamble: str) -> str:
    """A note for the TA when the exercise cell calls the course's reference implementation.

    Flags an import of the reference in the cell, an attribute access ``….name``,
    or a call of a name under which another cell imported it.
    """
    name = getattr(ex.reference, "__name__", "")

    def tree(src: str) -> ast.AST:
        try:
            with _AST_LOCK:  # see notebook._AST_LOCK: ast.parse is not thread-safe on 3.11.7
                return ast.parse(src)
        except SyntaxError:
            return ast.Module(body=[], type_ignores=[])

    def imports(t: ast.AST) -> set[str]:
        return {a.asname or a.name for n in ast.walk(t) if isinstance(n, ast.ImportFrom)
                and (n.module or "").startswith("recsys_ref") for a in n.names if a.name == name}

    cell = tree(code)
    aliases = imports(tree(preamble)) - {ex.func_name}
    used = bool(imports(cell)) or any(
        (isinstance(n, ast.Attribute) and n.attr == name)
        or (isinstance(n, ast.Name) and n.id in aliases) for n in ast.walk(cell))
    if name and used:
        return f"the cell uses {name}, the course's reference implementation; flagged for review"
    return ""


def _dense_size(x: Any) -> int:
    if hasattr(x, "shape") and not isinstance(x, (str, bytes)):
        try:
            return int(math.prod(int(s) for s in x.shape))
        except TypeError:
            return 1
    if isinstance(x, (list, tuple)):
        return sum(_dense_size(v) for v in x)
    if isinstance(x, dict):
        return sum(_dense_size(v) for v in x.values())
    return 1


def run_tasks(
    notebook: str | Path,
    task_ids: list[str] | None = None,
    *,
    seed: int | None = None,
    task_timeout: float = 30.0,
    total_timeout: float = 180.0,
    memory_mb: int = 3072,
) -> list[Result]:
    """Grade the exercise cells of ``notebook`` in a confined worker; one ``Result`` per task.

    ``task_ids=None`` grades the tasks of this notebook (``tasks_for_notebook``).
    ``seed=None`` draws a fresh seed.  Learner problems never raise: they become
    results (missing / failed / crashed with a sentence the learner can act on).
    Raises ``SandboxError`` only when no worker can start at all.
    """
    path = Path(notebook)
    seed = secrets.randbits(31) if seed is None else int(seed)
    try:
        nb = read_notebook(path)
    except NotebookError as exc:
        ids = task_ids if task_ids is not None else tasks_for_notebook(None, path)
        return [Result(t, CRASHED, f"! {t}: {exc}", 0.0, get(t).points) for t in ids]
    ids = list(task_ids) if task_ids is not None else tasks_for_notebook(nb, path)

    results: dict[str, Result] = {}
    jobs: list[_Prepared] = []
    for tid in ids:
        ex = get(tid)
        source = find_exercise(nb, tid, ex.func_name)
        if source is None:
            results[tid] = _missing(ex)
            continue
        cases = ex.make_cases(seed)
        expected = [ex.reference(*c.args, **c.kwargs) for c in cases]
        guard = ex.guard.make_cases(seed) if ex.guard is not None else []
        jobs.append(_Prepared(ex, source, cases, expected, guard))

    deadline = time.monotonic() + total_timeout
    worker: _Worker | None = None
    try:
        for job in jobs:
            ex = job.ex
            left = deadline - time.monotonic()
            if _ABORT.is_set():
                results[ex.task_id] = _crashed(ex, "not graded: grading was interrupted.")
                continue
            if left <= 0:
                results[ex.task_id] = _crashed(
                    ex, f"not graded: the notebook used up its total time limit of "
                        f"{total_timeout:g} s on the tasks before it.")
                continue
            if worker is None or not worker.alive():
                if worker is not None:
                    worker.close()
                worker = _Worker(memory_mb=memory_mb, cpu_seconds=total_timeout + 30)
            result = _run_one(worker, job, min(task_timeout, left), task_timeout, memory_mb)
            for note in (job.source.note,
                         _reference_note(ex, job.source.code, job.source.preamble)):
                result = _with_note(result, note)
            results[ex.task_id] = result
    finally:
        if worker is not None:
            worker.close()
    return [results[t] for t in ids]


def _run_one(worker: _Worker, job: _Prepared, wait: float, task_timeout: float,
             memory_mb: int) -> Result:
    ex, src = job.ex, job.source
    request = {
        "task": ex.task_id, "func_name": src.func_name, "code": src.code, "preamble": src.preamble,
        "cell": src.cell_index,
        "signature": _signature_of(ex.reference),
        "cases": [[c.name, tuple(c.args), dict(c.kwargs)] for c in job.cases],
        "guard": [[c.name, tuple(c.args), dict(c.kwargs)] for c in job.guard_cases],
    }
    try:
        reply = worker.run(request, wait, 8 * _dense_size(job.expected) + 10**6)
    except _Timeout:
        worker.close()
        limit = f"{task_timeout:g} s" if wait >= task_timeout else \
            f"{wait:.0f} s (what was left of the notebook's time limit)"
        return _crashed(ex, f"stopped after {limit} without finishing: an infinite loop, or work "
                            "far larger than the task needs. Nothing was graded for this task.")
    except _Died as died:
        worker.close()
        return _crashed(ex, died.sentence())
    except _BadReply as bad:
        worker.close()
        return _crashed(ex, f"the worker's reply could not be read ({bad}); was the grader's "
                            "process tampered with? Nothing was graded for this task.")

    kind = reply.get("status")
    cell_error = str(reply.get("cell_error") or "")[:300]  # learner text: kept short
    if "PermissionError" in cell_error:
        cell_error += " (while grading, code may write only in its working folder and read only Python's own files)"
    if kind == "cell_error":
        return _failed(ex, f"running the exercise cell (cell {src.cell_index + 1}) raised "
                           f"{cell_error} before {src.func_name} was defined; the cell must only "
                           "import and define functions.")
    if kind == "no_function":
        return _failed(ex, f"the exercise cell (cell {src.cell_index + 1}) ran but did not define "
                           f"{src.func_name}.")
    if kind == "exit":
        where = str(reply.get("where", ""))[:100]
        return _failed(ex, f"the code called sys.exit() or exit() {where}; a function must "
                           "return its result.")
    if kind == "worker_error":
        return _failed(ex, f"stopped with {str(reply.get('message', ''))[:300]}.")
    if kind != "ran":
        return _crashed(ex, "the worker's reply could not be read; nothing was graded for this task.")
    outcomes = [_outcome(o, memory_mb) for o in reply.get("outcomes", [])]
    guard_outcomes = [_outcome(o, memory_mb) for o in reply.get("guard", [])]
    if not all(isinstance(o, Outcome) for o in outcomes + guard_outcomes):
        return _crashed(ex, "the worker's reply could not be read; nothing was graded for this task.")
    result = evaluate(ex, job.cases, outcomes, job.guard_cases, guard_outcomes,
                      expected=job.expected)
    if cell_error and result.status != FAILED:
        result.message += f" (the exercise cell also raised {cell_error} after defining " \
                          f"{src.func_name}; ignored)"
    return result


def _signature_of(fn: Any) -> list[list[Any]] | None:
    """The reference's parameters as [name, kind, has_default] (the worker rebuilds it)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    return [[p.name, int(p.kind), p.default is not inspect.Parameter.empty] for p in params]


def _stand_in(params: list[list[Any]] | None) -> Any:  # pragma: no cover - runs in the worker
    """A callable with the reference's signature, for ``runner.signature_problem``."""
    def stand_in(*args: Any, **kwargs: Any) -> None:
        return None

    if params is not None:
        empty = inspect.Parameter.empty
        stand_in.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
            inspect.Parameter(str(n), inspect._ParameterKind(int(k)), default=None if d else empty)
            for n, k, d in params])
    return stand_in


def _outcome(d: Any, memory_mb: int) -> Outcome | None:
    if not isinstance(d, dict) or not isinstance(d.get("kind"), str):
        return None
    message = str(d.get("message", ""))[:1000]
    if d["kind"] == ERROR and ("MemoryError" in message or "can't allocate" in message
                               or "not enough memory" in message):
        message += f" (the memory limit is {memory_mb} MB)"
    if d["kind"] == ERROR and "BlockingIOError" in message and "Errno 11" in message:
        message += " (starting processes is not allowed while grading)"
    if d["kind"] == ERROR and "PermissionError" in message:
        message += " (while grading, code may write only in its working folder and read only Python's own files)"
    largest = d.get("largest") or ()
    try:
        largest = tuple(int(v) for v in largest)
        max_numel = int(d.get("max_numel", 0))
        n_ops = int(d.get("n_ops", 0))
    except (TypeError, ValueError):
        return None
    return Outcome(d["kind"], value=d.get("value"), message=message, max_numel=max_numel,
                   largest=largest, n_ops=n_ops)


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
        if rc is not None and rc < 0:
            try:
                name = signal.Signals(-rc).name
            except ValueError:
                name = f"signal {-rc}"
            why = {"SIGKILL": "it was killed (out of memory, or over the CPU time limit)",
                   "SIGXCPU": "it used up its CPU time", "SIGSEGV": "it crashed (segmentation fault)",
                   "SIGABRT": "it aborted"}.get(name, f"it received {name}")
            return (f"the process running your code ended: {why}. "
                    "Nothing was graded for this task; the next tasks ran in a fresh process.")
        return (f"the process running your code ended (exit code {rc}) while running the cell or "
                "the function: does the code call os._exit() or exit the interpreter? "
                "Nothing was graded for this task; the next tasks ran in a fresh process.")


def _clean_env(home: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home,
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "MPLBACKEND": "Agg", "MPLCONFIGDIR": home, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}


def _mpl_config_dir() -> str:
    """The user's matplotlib folder, so the server reuses its font cache (it is not confined)."""
    if os.environ.get("MPLCONFIGDIR"):
        return os.environ["MPLCONFIGDIR"]
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "matplotlib")


_BOOT = ("import sys; sys.path.append(sys.argv[1]); "
         "from recsys_ref.course import sandbox; sandbox.{}(sys.argv[2])")


class _ForkServer:
    """A clean process that has imported torch once and forks a fresh worker on request.

    It never runs learner code: each worker is a new fork of this clean state
    (so nothing leaks between submissions) that confines itself before the first
    cell runs.  This saves the ~1.5 s of ``import torch`` per worker.  The
    server reports each worker's exit status, which only it can collect.
    """

    _lock = threading.Lock()
    _instance: _ForkServer | None = None
    last_error = ""  # why the last start failed (workers then start as fresh interpreters)

    @classmethod
    def get(cls) -> _ForkServer | None:
        with cls._lock:
            inst = cls._instance
            if inst is not None and inst.proc.poll() is None and not inst.broken:
                return inst
            if inst is not None:
                inst.stop()
            try:
                cls._instance = cls()
            except (OSError, SandboxError) as exc:  # fall back to a fresh interpreter per worker
                cls.last_error = f"{type(exc).__name__}: {exc}"
                cls._instance = None
            return cls._instance

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="recsys-grade-server-")
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.broken = False
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-c", _BOOT.format("_server_main"), _PACKAGE_ROOT,
                 json.dumps({"sock_fd": theirs.fileno()})],
                cwd=self.dir, env=dict(_clean_env(self.dir), MPLCONFIGDIR=_mpl_config_dir()),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(theirs.fileno(),),
                start_new_session=True)
        finally:
            theirs.close()
        self.exits: dict[int, int] = {}
        self.spawned: list[int] = []
        self.cond = threading.Condition()
        self.spawn_lock = threading.Lock()
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
            socket.send_fds(self.sock, [json.dumps(config).encode()], fds)
            with self.cond:
                if not self.cond.wait_for(lambda: self.spawned or self.broken, timeout=30):
                    self.broken = True
                if self.broken or not self.spawned:
                    raise SandboxError("the fork server stopped answering")
                return self.spawned.pop(0)

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
        shutil.rmtree(self.dir, ignore_errors=True)


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


def fork_server_problem() -> str:
    """Why the fork server could not start in this process ("" when it did or was not tried)."""
    return _ForkServer.last_error


def reset_abort() -> None:
    """Allow workers again after ``abort_all``."""
    _ABORT.clear()


class _Worker:
    """One confined worker process and its pipes (requests in, one JSON line per reply out)."""

    def __init__(self, *, memory_mb: int, cpu_seconds: float) -> None:
        if _ABORT.is_set():
            raise SandboxError("grading was interrupted")
        self.dir = Path(tempfile.mkdtemp(prefix="recsys-grade-"))
        os.chmod(self.dir, 0o700)
        self.io = self.dir / ".io"
        self.io.mkdir()
        self.count = 0
        self.output = bytearray()
        self.buffer = b""
        self.popen: subprocess.Popen | None = None
        self.server: _ForkServer | None = None
        self.pid = -1
        self.req = self.rep = -1
        req_r, self.req = os.pipe()
        self.rep, rep_w = os.pipe()
        self.out_r, out_w = os.pipe()
        config = {"memory_mb": int(memory_mb), "cpu_seconds": int(cpu_seconds),
                  "fsize": FILE_LIMIT_BYTES, "workdir": str(self.dir),
                  "env": _clean_env(str(self.dir))}
        try:
            server = _ForkServer.get() if USE_FORK_SERVER else None
            if server is not None:
                try:
                    self.pid = server.spawn(config, [req_r, rep_w, out_w])
                    self.server = server
                except (OSError, SandboxError):
                    server.broken = True
            if self.server is None:
                config.update(req_fd=req_r, rep_fd=rep_w)
                self.popen = subprocess.Popen(
                    [sys.executable, "-I", "-c", _BOOT.format("_worker_main"), _PACKAGE_ROOT,
                     json.dumps(config)],
                    cwd=self.dir, env=config["env"], stdin=subprocess.DEVNULL, stdout=out_w,
                    stderr=out_w, pass_fds=(req_r, rep_w), start_new_session=True)
                self.pid = self.popen.pid
        except OSError as exc:
            self._cleanup_fds(self.req, self.rep, self.out_r)
            raise SandboxError(f"cannot start a worker process ({exc})") from exc
        finally:
            self._cleanup_fds(req_r, rep_w, out_w)
        with _LIVE_LOCK:
            _LIVE.add(self)
        threading.Thread(target=self._drain, daemon=True).start()
        try:
            ready = self._receive(time.monotonic() + STARTUP_TIMEOUT)
        except (_Timeout, _Died, _BadReply) as exc:
            tail = bytes(self.output[-2000:]).decode("utf-8", "replace")
            self.close()
            raise SandboxError(f"the grading worker did not start ({type(exc).__name__}): {tail}") \
                from exc
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
                    self.output += chunk[:OUTPUT_LIMIT_BYTES - len(self.output)]
        except OSError:
            pass
        finally:
            os.close(fd)  # only here: closing it elsewhere could hand its number to another file

    def returncode(self, wait: float = 0.0) -> int | None:
        if self.popen is not None:
            try:
                return self.popen.wait(timeout=wait) if wait else self.popen.poll()
            except subprocess.TimeoutExpired:
                return None
        if self.server is not None:
            return self.server.exit_code(self.pid, wait)
        return None

    def alive(self) -> bool:
        return self.req >= 0 and self.returncode() is None

    def run(self, request: dict[str, Any], wait: float, max_elements: int) -> dict[str, Any]:
        from . import codec

        self.count += 1
        inp, out = self.io / f"in{self.count}.npz", self.io / f"out{self.count}.npz"
        codec.save(inp, request, "the task's inputs")
        line = json.dumps({"id": self.count, "input": str(inp), "output": str(out)}) + "\n"
        try:
            os.write(self.req, line.encode())
        except OSError as exc:
            raise _Died(self.returncode(wait=2.0)) from exc
        reply = self._receive(time.monotonic() + wait)
        if reply.get("id") != self.count:
            raise _BadReply("unexpected reply")
        if "status" in reply and reply["status"] != "ran":
            return reply
        try:
            data = codec.load(out, max_bytes=REPLY_LIMIT_BYTES,
                              max_elements=max_elements)
        except codec.CodecError as exc:
            return {"status": "ran", "outcomes": [
                {"kind": SIGNATURE, "message": f"returned outputs that cannot be compared ({exc})"}]}
        if not isinstance(data, dict):
            raise _BadReply("not a dict")
        data["status"] = "ran"
        return data

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Timeout()
            ready, _, _ = select.select([self.rep], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.rep, 65536)
            if not chunk:
                raise _Died(self.returncode(wait=5.0))
            self.buffer += chunk
            if len(self.buffer) > 1 << 20:
                raise _BadReply("reply too long")
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            msg = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _BadReply("not JSON") from exc
        if not isinstance(msg, dict):
            raise _BadReply("not a JSON object")
        return msg

    def close(self) -> None:
        """Kill the worker's process group, close the pipes, remove its folder."""
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if self.pid > 0:
            try:
                if self.popen is not None or self.returncode() is None:
                    os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.returncode(wait=10.0)
        self._cleanup_fds(self.req, self.rep)  # out_r is closed by the drain thread at EOF
        self.req = self.rep = -1
        shutil.rmtree(self.dir, ignore_errors=True)


def confinement(memory_mb: int = 3072) -> dict[str, Any]:
    """Which limits a worker gets on this machine (starts one; for ``doctor`` and tests).

    Keys: fsize, core, cpu, address_space (bytes, None when refused), landlock
    (the ABI, None when unavailable), seccomp_no_fork (bool), nproc (non-root only).
    """
    worker = _Worker(memory_mb=memory_mb, cpu_seconds=60)
    try:
        return dict(worker.limits)
    finally:
        worker.close()


# ================================================================ worker side
# Everything below runs in the worker process only.


# Imported once by the fork server, so that the notebooks' own imports (replayed
# before each exercise cell) cost nothing in a worker.  A fixed list: the
# server never imports a module because a learner named it.
PRELOAD = ("numpy", "scipy.sparse", "matplotlib", "matplotlib.pyplot", "tqdm", "tqdm.auto",
           "sympy", "IPython.display")


def _preload(everything: bool = False) -> None:  # pragma: no cover - runs in the server/worker
    import importlib
    import pkgutil

    import torch

    torch.set_num_threads(1)
    import numpy  # noqa: F401
    import scipy.sparse  # noqa: F401

    from . import codec, runner  # noqa: F401

    if not everything:
        return
    try:
        with runner.NumelRecorder():  # the first dispatch mode in a process costs ~1 s: pay it once
            a = torch.ones(3, 2, dtype=torch.float64)  # (3, 2)
            (a @ a.T).sum()  # (3, 3)
            (a.to_sparse() @ a.T).sum()  # (3, 3)
    except Exception:  # noqa: BLE001, S110 - only a warm-up
        pass
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - optional: not installed, or fails here
            continue
    import recsys_ref

    for info in pkgutil.walk_packages(recsys_ref.__path__, "recsys_ref."):
        if info.name.startswith("recsys_ref.course") or info.name.endswith("__main__"):
            continue  # the course machinery: not what notebooks import (and __main__ runs a CLI)
        try:
            importlib.import_module(info.name)
        except Exception:  # noqa: BLE001, S112 - a module under construction
            continue


def _worker_main(config_json: str) -> None:  # pragma: no cover - runs in the subprocess
    """A worker started directly (when no fork server is available)."""
    cfg = json.loads(config_json)
    _preload()
    _serve(cfg, cfg["req_fd"], cfg["rep_fd"])


def _server_main(config_json: str) -> None:  # pragma: no cover - runs in the fork server
    """The fork server: preload, then fork one worker per request and report exits."""
    cfg = json.loads(config_json)
    _preload(everything=True)
    sock = socket.socket(fileno=cfg["sock_fd"])
    sock.send(b'{"ready": true}')

    def reap() -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            sock.send(json.dumps({"exit": pid, "rc": os.waitstatus_to_exitcode(status)}).encode())

    while True:
        try:
            reap()
            ready, _, _ = select.select([sock], [], [], 0.05)
            if not ready:
                continue
            msg, fds, _, _ = socket.recv_fds(sock, 1 << 16, 3)
        except OSError:
            os._exit(0)
        if not msg:
            os._exit(0)  # the grader is gone; its workers see EOF on their pipes and exit
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()
                _worker_child(json.loads(msg), fds)
            finally:
                os._exit(1)
        for fd in fds:
            os.close(fd)
        try:
            sock.send(json.dumps({"pid": pid}).encode())
        except OSError:
            os._exit(0)


def _worker_child(cfg: dict[str, Any], fds: list[int]) -> None:  # pragma: no cover - forked worker
    req_fd, rep_fd, out_fd = fds
    os.setsid()
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.close(out_fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.chdir(cfg["workdir"])
    os.environ.clear()
    os.environ.update(cfg["env"])
    tempfile.tempdir = None
    _serve(cfg, req_fd, rep_fd)


def _serve(cfg: dict[str, Any], req_fd: int, rep_fd: int) -> None:  # pragma: no cover - worker
    req = os.fdopen(req_fd, "rb")
    limits = _confine(cfg)
    baseline = _measuring_code()  # before any learner code runs in this worker

    def reply(msg: dict[str, Any]) -> None:
        os.write(rep_fd, (json.dumps(msg) + "\n").encode())

    reply({"ready": True, "limits": limits})
    while True:
        line = req.readline()
        if not line:
            os._exit(0)
        msg = json.loads(line)
        try:
            out = _handle(msg, baseline)
        except SystemExit:
            out = {"status": "exit", "where": "while running the function"}
        except BaseException as exc:  # noqa: BLE001 - report, keep serving
            out = {"status": "worker_error", "message": f"{type(exc).__name__}: {exc}"[:500]}
        out["id"] = msg["id"]
        reply(out)


def _stand_in_check(fn: Any, reference: Any, name: str) -> str | None:  # pragma: no cover
    return None if callable(fn) else f"{name} must be a function, got {type(fn).__name__}"


def _measuring_code() -> tuple[Any, ...]:  # pragma: no cover - runs in the worker
    """The objects the complexity guard's measurement relies on (compared by identity)."""
    import torch
    from torch.utils import _python_dispatch as dispatch

    from . import runner

    tensor = vars(torch._C.TensorBase)
    return (runner.run_cases, runner.call, runner.NumelRecorder, runner._stored_numel,
            runner.tree_leaves, *vars(runner.NumelRecorder).values(),
            dispatch.TorchDispatchMode, *vars(dispatch.TorchDispatchMode).values(),
            getattr(dispatch, "_push_mode", None), getattr(dispatch, "_pop_mode", None),
            torch._C._push_on_torch_dispatch_stack, torch._C._pop_torch_dispatch_stack,
            *(tensor.get(k) for k in ("numel", "_nnz", "sparse_dim", "layout", "shape", "size")))


def _handle(msg: dict[str, Any], baseline: tuple[Any, ...]) -> dict[str, Any]:  # pragma: no cover
    """One task in the worker: exec the imports and the cell, call the function, save outcomes."""
    import builtins

    from . import codec, runner

    run_cases, signature_problem = runner.run_cases, runner.signature_problem
    if any(a is not b for a, b in zip(baseline, _measuring_code())):
        run_cases, signature_problem = baseline[0], _stand_in_check

    request = codec.load(msg["input"])
    ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    for line in str(request["preamble"]).splitlines():
        try:
            exec(compile(line, "<imports of the other cells>", "exec"), ns)
        except BaseException:  # noqa: BLE001, S110 - an import the exercise may not need
            pass
    name = request["func_name"]
    cell_error = ""
    try:
        exec(compile(request["code"], f"<exercise cell {request['cell'] + 1}>", "exec"), ns)
    except SystemExit:
        return {"status": "exit", "where": "while the exercise cell ran"}
    except BaseException as exc:  # noqa: BLE001
        cell_error = f"{type(exc).__name__}: {exc}{runner._learner_frame(exc)}"[:500]
        if not callable(ns.get(name)):
            return {"status": "cell_error", "cell_error": cell_error}
    fn = ns.get(name)
    if fn is None:
        return {"status": "no_function"}

    def case(entry: list[Any]) -> Case:
        return Case(str(entry[0]), tuple(entry[1]), dict(entry[2]))

    cases = [case(c) for c in request["cases"]]
    problem = signature_problem(fn, _stand_in(request["signature"]), name)
    if problem:
        outcomes = [Outcome(SIGNATURE, message=problem)]
        guard: list[Outcome] = []
    else:
        outcomes = run_cases(fn, cases)
        guard = []
        if request["guard"] and len(outcomes) == len(cases) and all(o.kind == OK for o in outcomes):
            guard = run_cases(fn, [case(c) for c in request["guard"]], record=True)
            now = _measuring_code()
            if len(now) != len(baseline) or any(a is not b for a, b in zip(baseline, now)):
                guard = [Outcome(ERROR, message=(
                    "the code replaced part of the grader's size measurement (recsys_ref.course."
                    "runner or torch's dispatch machinery), so the complexity guard cannot be "
                    "trusted; leave them untouched"))]

    def plain(o: Outcome, with_value: bool) -> dict[str, Any]:
        d = {"kind": o.kind, "message": str(o.message)[:1000], "max_numel": int(o.max_numel),
             "largest": [int(s) for s in o.largest], "n_ops": int(o.n_ops)}
        if with_value and o.kind == OK:
            try:
                codec.encode(o.value, "the output")
            except codec.CodecError as exc:
                return {"kind": SIGNATURE, "message": f"returned something that cannot be graded: "
                                                      f"{exc}"[:1000]}
            d["value"] = o.value
        return d

    out = {"outcomes": [plain(o, True) for o in outcomes],
           "guard": [plain(o, False) for o in guard], "cell_error": cell_error}
    try:
        codec.save(msg["output"], out, "the outputs")
    except OSError as exc:
        codec.save(msg["output"], {"outcomes": [{"kind": SIGNATURE, "message":
                   f"returned outputs too large to send back ({exc.strerror})"}], "guard": [],
                   "cell_error": cell_error})
    return {"status": "ran"}


# ---------------------------------------------------------------- confinement


def _confine(cfg: dict[str, Any]) -> dict[str, Any]:  # pragma: no cover - runs in the subprocess
    """Apply the limits to this process; returns which ones took effect."""
    try:
        import resource
    except ImportError:  # not a POSIX system: only the parent's time limits apply
        return {}

    applied: dict[str, Any] = {}

    def setlimit(which: int, value: int, label: str) -> None:
        try:
            soft, hard = resource.getrlimit(which)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (value, hard if label != "cpu" else value + 5))
            applied[label] = value
        except (ValueError, OSError):
            applied[label] = None

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    setlimit(resource.RLIMIT_FSIZE, int(cfg["fsize"]), "fsize")
    setlimit(resource.RLIMIT_CORE, 0, "core")
    setlimit(resource.RLIMIT_CPU, int(cfg["cpu_seconds"]), "cpu")
    setlimit(resource.RLIMIT_AS, _vm_size() + int(cfg["memory_mb"]) * 2**20, "address_space")
    if os.geteuid() != 0:  # the kernel exempts root from RLIMIT_NPROC
        setlimit(resource.RLIMIT_NPROC, _tasks_of_user() + 8, "nproc")
    applied["landlock"] = _landlock(str(cfg["workdir"]))
    applied["seccomp_no_fork"] = _seccomp_no_fork()  # last: it also forbids raising limits
    return applied


def _vm_size() -> int:  # pragma: no cover - runs in the subprocess
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 2 * 2**30


def _tasks_of_user() -> int:  # pragma: no cover - runs in the subprocess
    uid, count = os.getuid(), 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/status") as f:
                text = f.read()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            count += int(fields.get("Threads", "1"))
    return count


def _readable_paths(workdir: str) -> list[str]:  # pragma: no cover - runs in the worker
    """What a worker may read: Python, its packages, the system; not the grader's files."""
    import recsys_ref

    package_root = os.path.realpath(_PACKAGE_ROOT)
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable)),
             os.path.dirname(os.path.realpath(recsys_ref.__file__)),
             "/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc", "/proc", "/sys", "/dev"}
    for entry in sys.path:  # site-packages and the like; not a checkout the grader runs from
        if entry and os.path.realpath(entry) != package_root:
            paths.add(entry)
    return sorted(p for p in paths if p and os.path.exists(p))


def _landlock(workdir: str) -> int | None:  # pragma: no cover - runs in the subprocess
    """Landlock: read only ``_readable_paths``, write only below ``workdir``.

    Returns the ABI used, None when Landlock is unavailable.  Learners' code
    cannot read other submissions or the grader's output folder, and cannot
    write outside its temporary folder.
    """
    import ctypes

    if sys.platform != "linux":
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    create, add_rule, restrict = 444, 445, 446  # the same numbers on every Linux architecture
    abi = libc.syscall(create, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    if abi < 1:
        return None
    read = (1 << 0) | (1 << 2) | (1 << 3)  # EXECUTE, READ_FILE, READ_DIR
    write = (1 << 1) | (1 << 4) | (1 << 5) | sum(1 << b for b in range(6, 13))
    if abi >= 2:
        write |= 1 << 13  # REFER
    if abi >= 3:
        write |= 1 << 14  # TRUNCATE
    fields = [read | write]
    if abi >= 4:
        fields.append((1 << 0) | (1 << 1))  # no TCP bind/connect
    if abi >= 6:
        fields.append((1 << 0) | (1 << 1))  # scoped: abstract unix sockets, signals
    attr = (ctypes.c_uint64 * len(fields))(*fields)
    fd = libc.syscall(create, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)),
                      ctypes.c_uint32(0))
    if fd < 0:
        return None

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    file_only = (1 << 0) | (1 << 1) | (1 << 2) | ((1 << 14) if abi >= 3 else 0)
    rules = [(workdir, read | write), ("/dev/null", file_only & (read | write))]
    rules += [(p, read) for p in _readable_paths(workdir)]
    try:
        for path, rights in rules:
            try:
                pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                if not os.path.isdir(path):
                    rights &= file_only
                rule = PathBeneath(rights, pfd)
                if libc.syscall(add_rule, fd, 1, ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
                    return None
            finally:
                os.close(pfd)
        if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
            return None
        if libc.syscall(restrict, fd, ctypes.c_uint32(0)) != 0:
            return None
    finally:
        os.close(fd)
    return int(abi)


def _seccomp_no_fork() -> bool:  # pragma: no cover - runs in the subprocess
    """A seccomp filter installed after the limits are set.

    - ``fork``, ``vfork`` and process-creating ``clone``/``clone3`` fail (threads still work);
    - ``setrlimit`` and ``prlimit64`` with a new limit fail: even root cannot lift the limits;
    - ``ptrace`` fails; system calls of another ABI (x32, i386 via ``int 0x80``) fail.
    """
    import ctypes
    import platform

    arch = platform.machine()
    # audit arch, fork-like, clone, clone3, setrlimit, prlimit64, ptrace
    table = {"x86_64": (0xC000003E, [57, 58], 56, 435, 160, 302, 101),
             "aarch64": (0xC00000B7, [], 220, 435, 164, 261, 117)}
    if sys.platform != "linux" or arch not in table:
        return False
    audit, forks, clone, clone3, setrlimit, prlimit64, ptrace = table[arch]
    ld_w_abs, jeq, jset, jge, ret = 0x20, 0x15, 0x45, 0x35, 0x06
    returns = {"allow": 0x7FFF0000, "eagain": 0x00050000 | 11, "enosys": 0x00050000 | 38,
               "eperm": 0x00050000 | 1}
    # (code, true target, false target, k); targets are labels or None (= next instruction)
    code: list[tuple[int, str | None, str | None, int]] = [
        (ld_w_abs, None, None, 4),  # seccomp_data.arch
        (jeq, None, "eperm", audit),  # another ABI: refuse
        (ld_w_abs, None, None, 0),  # seccomp_data.nr
        (jge, "eperm", None, 0x40000000),  # x32 system calls: refuse
        *[(jeq, "eagain", None, nr) for nr in forks],
        (jeq, "enosys", None, clone3),  # libc falls back to clone
        (jeq, "eperm", None, setrlimit),
        (jeq, "eperm", None, ptrace),
        (jeq, "prlimit", None, prlimit64),
        (jeq, None, "allow", clone),
        (ld_w_abs, None, None, 16),  # clone flags: low 32 bits of args[0]
        (jset, "allow", "eagain", 0x00010000),  # CLONE_THREAD: a thread is fine
    ]
    labels = {"prlimit": len(code)}
    code += [
        (ld_w_abs, None, None, 32),  # prlimit64's new_limit pointer, low half
        (jeq, None, "eperm", 0),
        (ld_w_abs, None, None, 36),  # high half
        (jeq, "allow", "eperm", 0),  # NULL: only reading the limits
    ]
    for name in returns:
        labels[name] = len(code)
        code.append((ret, None, None, returns[name]))

    def rel(target: str | None, i: int) -> int:
        return 0 if target is None else labels[target] - i - 1

    prog = [(c, rel(t, i), rel(f, i), k) for i, (c, t, f, k) in enumerate(code)]
    assert all(0 <= j < 256 for _, jt, jf, _ in prog for j in (jt, jf))

    class SockFilter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                    ("k", ctypes.c_uint32)]

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(SockFilter))]

    filters = (SockFilter * len(prog))(*[SockFilter(*p) for p in prog])
    fprog = SockFprog(len(prog), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        return False
    return libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) == 0  # PR_SET_SECCOMP, FILTER
