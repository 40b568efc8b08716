"""Run a learner's exercise cells in a confined worker process (docs/design.md §6).

Trust boundary.  The grader's process (the *parent*) reads the notebook,
finds each exercise cell, draws the inputs with ``ex.make_cases(seed)``,
computes the reference outputs and judges with ``evaluate``.  The learner's
code runs only in a *worker*, which receives the cell's source and the inputs
and sends back the outcomes, both as ``codec`` bytes (no pickle) over pipes the
parent created.  The parent never opens a path in a folder a worker can write,
reads at most the announced (and capped) number of bytes, and keeps the task's
time limit in force while it reads, so a planted link, FIFO or device changes
nothing.  Outputs are always judged here, against the parent's reference, on
inputs drawn with a fresh seed per grading run.

Process model.  A *fork server* imports torch, numpy, scipy and every
``recsys_ref`` module once, then only forks: each worker is a fresh fork of
that clean state (ready in milliseconds instead of the ~1.5 s of ``import
torch``) with its own empty working folder, removed when it exits.  One
worker grades the tasks of one notebook in turn, each in a fresh namespace;
after a crash, a timeout or a broken reply it is killed and the next task gets
a fresh one.  The guard cases of a complexity guard run in a worker of their
own under a tight memory limit.  A worker that does not start is retried
(``START_TRIES``); ``SandboxError`` means that none can.

Isolation, layer by layer (``layers()`` says which ones this machine has;
INSTRUCTORS.md, "What is protected", states each one with its test):
bubblewrap for the fork server and its workers (namespaces, uid 65534, no
capabilities, read-only binds of only Python, its packages and ``recsys_ref``,
a size-limited tmpfs); Landlock, seccomp and rlimits in each worker
(``_confine``); in the worker, wrappers around every reference function and an
audit hook on the package's sources (``_Watch``), which flag the task for
review with the route named.

As root with neither bubblewrap nor Landlock, ``recsys-course grade`` refuses
to run (``refusal``) unless the TA passes ``--unsafe-no-sandbox``.
"""

from __future__ import annotations

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
from .notebook import ExerciseSource, NotebookError, find_exercise, read_notebook
from .registry import all_exercises, get
from .runner import ERROR, OK, SIGNATURE, Outcome
from .spec import Case, Exercise

__all__ = [
    "run_tasks",
    "tasks_for_notebook",
    "confinement",
    "abort_all",
    "reset_abort",
    "layers",
    "refusal",
    "describe_layers",
    "SandboxError",
    "OUTPUT_LIMIT_BYTES",
    "LEARNER_TEXT_LIMIT",
]

OUTPUT_LIMIT_BYTES = 64 * 1024  # of the learner's stdout/stderr kept (never shown in feedback)
FILE_LIMIT_BYTES = 64 * 1024 * 1024  # RLIMIT_FSIZE of the worker
WORKDIR_BYTES = 256 * 1024 * 1024  # the tmpfs all working folders share (bubblewrap)
REPLY_LIMIT_BYTES = 48 * 1024 * 1024  # largest reply the parent reads
HEADER_LIMIT_BYTES = 1 << 16  # one reply's JSON header line
LEARNER_TEXT_LIMIT = 300  # characters of learner-chosen text in any feedback
STARTUP_TIMEOUT = 120.0  # seconds for a worker to become ready (not the learner's time)
START_TRIES = 3
GUARD_MIN_MB = 4  # headroom of a guard worker: max(this, 64 bytes x the guard's element limit)
UID = 65534  # nobody
SANDBOX_ROOT = "/sandbox"  # the tmpfs inside bubblewrap
BWRAP = shutil.which("bwrap") or ""
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])


class SandboxError(RuntimeError):
    """The grader itself cannot run a worker (not the learner's fault)."""


def clean_text(text: Any, limit: int = LEARNER_TEXT_LIMIT) -> str:
    """Learner-chosen text made safe to show: control characters and ANSI escapes
    removed, cut to ``limit`` characters."""
    import re

    s = re.sub(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|.)", "", str(text))
    s = re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]", "", s)
    return s if len(s) <= limit else s[:limit] + "… (cut)"


# ================================================================ isolation layers


_LAYERS: dict[str, Any] | None = None


def _bwrap_works() -> str:
    """The bubblewrap binary when it can build the sandbox here, else ''."""
    if not BWRAP or sys.platform != "linux":
        return ""
    try:
        done = subprocess.run(
            _bwrap_args(BWRAP) + ["/bin/true"],
            capture_output=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return BWRAP if done.returncode == 0 else ""


def _landlock_abi() -> int | None:
    """The Landlock ABI of this kernel, None when unavailable."""
    if sys.platform != "linux":
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    abi = libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return int(abi) if abi >= 1 else None


def _cgroup_memory() -> str:
    """A writable cgroup v2 folder with the memory controller, else '' (see the header)."""
    root = Path("/sys/fs/cgroup")
    try:
        own = Path(open("/proc/self/cgroup").read().split("0::", 1)[1].split()[0])
        folder = root / own.relative_to("/")
        ok = "memory" in (folder / "cgroup.controllers").read_text().split()
        return str(folder) if ok and os.access(folder, os.W_OK) else ""
    except (OSError, IndexError, ValueError):
        return ""


def layers() -> dict[str, Any]:
    """Which isolation layers this machine offers (computed once per process)."""
    global _LAYERS
    if _LAYERS is None:
        _LAYERS = {
            "bwrap": _bwrap_works(),
            "landlock": _landlock_abi(),
            "cgroup_memory": _cgroup_memory(),
            "seccomp": sys.platform == "linux" and os.uname().machine in _SECCOMP_ARCH,
            "root": hasattr(os, "geteuid") and os.geteuid() == 0,
        }
    return _LAYERS


def refusal(lay: dict[str, Any] | None = None) -> str:
    """The sentence refusing to grade unsafely ('' when grading may go ahead)."""
    lay = layers() if lay is None else lay
    if lay["root"] and not lay["bwrap"] and not lay["landlock"]:
        return (
            "refusing to grade as root with neither bubblewrap nor Landlock: learners' code "
            "could read every submission and replace results. Install bubblewrap "
            "(apt-get install bubblewrap), or run on a kernel with Landlock (Linux >= 5.13), "
            "or pass --unsafe-no-sandbox to grade without confinement anyway."
        )
    return ""


def describe_layers(lay: dict[str, Any] | None = None) -> list[str]:
    """One line per layer: available or not, and what it means."""
    lay = layers() if lay is None else lay
    yes, no = "yes", "NO "
    return [
        f"{yes if lay['bwrap'] else no} bubblewrap: namespaces, uid {UID}, no capabilities, only "
        "Python's folders visible" + ("" if lay["bwrap"] else " (apt-get install bubblewrap)"),
        f"{yes if lay['landlock'] else no} Landlock"
        + (
            f" ABI {lay['landlock']}: reads only Python's folders, writes only the working folder"
            if lay["landlock"]
            else ": file access not confined by the kernel (Linux >= 5.13)"
        ),
        f"{yes if lay['seccomp'] else no} seccomp: no processes, sockets, mknod, chmod/chown, mounts",
        f"{yes if lay['cgroup_memory'] else no} cgroup v2 memory controller"
        + (
            " writable (not used: rlimits apply)"
            if lay["cgroup_memory"]
            else " not writable here: memory bounded per worker by RLIMIT_AS, memfd_create blocked"
        ),
    ]


def _bwrap_args(bwrap: str) -> list[str]:
    """The bubblewrap command line of the fork server (before the program)."""
    args = [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--uid",
        str(UID),
        "--gid",
        str(UID),
        "--cap-drop",
        "ALL",
        "--die-with-parent",
        "--new-session",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for d in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    bound: list[str] = []
    for p in sorted(set(_python_folders()) | {_PACKAGE_DIR}):
        if not p.startswith("/usr/") and not any(p.startswith(b + os.sep) for b in bound):
            bound.append(p)
            args += ["--ro-bind", p, p]
    mpl = _mpl_config_dir()
    if os.path.isdir(mpl):
        args += ["--ro-bind", mpl, "/mplconfig"]
    args += [
        "--ro-bind-try",
        "/etc/ld.so.cache",
        "/etc/ld.so.cache",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/dev/shm",
        "--size",
        str(WORKDIR_BYTES),
        "--tmpfs",
        SANDBOX_ROOT,
        "--chdir",
        SANDBOX_ROOT,
        "--remount-ro",
        "/dev/shm",
        "--remount-ro",
        "/",
    ]
    return args


# ================================================================ parent side


def tasks_for_notebook(nb: Any, path: str | Path) -> list[str]:
    """The task ids graded in ``nb``: those of the course notebook its file is
    named after, else every task whose cell it holds (never its metadata)."""
    exercises = all_exercises()
    found = [t for t, ex in exercises.items() if ex.notebook == Path(path).stem]
    if found or nb is None:
        return found
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
        ex.task_id,
        MISSING,
        f"? {ex.task_id}: no exercise cell found: no cell is tagged task:{ex.task_id} and no cell "
        f"defines {ex.func_name}. Copy the exercise cell back from the released notebook.",
        0.0,
        ex.points,
    )


def _with_note(result: Result, note: str) -> Result:
    if note:
        result.message = f"{result.message} (note: {note})"
    return result


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
    """Grade the exercise cells of ``notebook`` in confined workers; one ``Result`` per task.

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
                    ex,
                    f"not graded: the notebook used up its total time limit of "
                    f"{total_timeout:g} s on the tasks before it.",
                )
                continue
            if worker is None or not worker.alive():
                if worker is not None:
                    worker.close()
                worker = _start_worker(memory_mb, total_timeout + 30)
            result, worker = _run_one(worker, job, deadline, task_timeout, memory_mb)
            results[ex.task_id] = _with_note(result, job.source.note)
    finally:
        if worker is not None:
            worker.close()
    return [results[t] for t in ids]


def _start_worker(memory_mb: int, cpu_seconds: float, tight: bool = False) -> _Worker:
    """A ready worker, retried ``START_TRIES`` times (a loaded machine can fail a start)."""
    problem: SandboxError | None = None
    for attempt in range(START_TRIES):
        try:
            return _Worker(memory_mb=memory_mb, cpu_seconds=cpu_seconds, tight=tight)
        except SandboxError as exc:
            if _ABORT.is_set():
                raise
            problem = exc
            time.sleep(0.5 * (attempt + 1))
    assert problem is not None
    raise problem


def _guard_mb(job: _Prepared) -> int:
    """The guard worker's memory headroom: a few times what the guard allows, never n×n."""
    assert job.ex.guard is not None
    most = max((job.ex.guard.max_numel(c) for c in job.guard_cases), default=0)
    return max(GUARD_MIN_MB, math.ceil(64 * most / 2**20))


def _request(job: _Prepared, cases: list[Case], record: bool) -> dict[str, Any]:
    ex, src = job.ex, job.source
    return {
        "task": ex.task_id,
        "func_name": src.func_name,
        "code": src.code,
        "preamble": src.preamble,
        "cell": src.cell_index,
        "signature": _signature_of(ex.reference),
        "record": record,
        "cases": [c.to_plain() for c in cases],
        "limits": [job.ex.guard.max_numel(c) for c in cases] if record and job.ex.guard else None,
        "ops_limit": job.ex.guard.max_ops if record and job.ex.guard else None,
    }


def _run_one(
    worker: _Worker, job: _Prepared, deadline: float, task_timeout: float, memory_mb: int
) -> tuple[Result, _Worker]:
    """The verdict on one task (and the worker to use next)."""
    ex = job.ex
    wait = min(task_timeout, deadline - time.monotonic())
    start = time.monotonic()
    reply = _ask(
        worker,
        _request(job, job.cases, False),
        wait,
        task_timeout,
        8 * _dense_size(job.expected) + 10**6,
        memory_mb,
    )
    if isinstance(reply, Result):
        return reply, worker
    outcomes, early = reply
    if early is not None:
        return early, worker
    guard_outcomes: list[Outcome] = []
    flags = list(worker.last_flags)
    if job.guard_cases and len(outcomes) == len(job.cases) and all(o.kind == OK for o in outcomes):
        mb = _guard_mb(job)
        wait = min(task_timeout - (time.monotonic() - start), deadline - time.monotonic())
        try:
            guard_worker = _start_worker(mb, task_timeout + 30, tight=True)
        except SandboxError as exc:
            return _crashed(
                ex,
                f"the grader could not start the complexity guard's worker "
                f"({clean_text(exc, 200)}); nothing was graded.",
            ), worker
        try:
            got = _ask(
                guard_worker,
                _request(job, job.guard_cases, True),
                max(wait, 1.0),
                task_timeout,
                8 * _dense_size([c.args for c in job.guard_cases]) + 10**6,
                mb,
                guard=True,
            )
            flags += guard_worker.last_flags
        finally:
            guard_worker.close()
        if isinstance(got, Result):
            return got, worker
        guard_outcomes, early = got
        if early is not None:
            return early, worker
    try:
        result = evaluate(
            ex,
            job.cases,
            outcomes,
            job.guard_cases,
            guard_outcomes,
            expected=job.expected,
            guard_values_required=True,
        )
    except Exception as exc:  # noqa: BLE001 - an output the comparison cannot handle: this task only
        result = _failed(
            ex,
            "your function returned something the grader could not compare "
            f"with the reference ({type(exc).__name__}: {clean_text(exc, 200)}); "
            "return the kind of value the task asks for.",
        )
    if worker.last_cell_error and result.status != FAILED:
        result.message += (
            f" (the exercise cell also raised {worker.last_cell_error} after "
            f"defining {job.source.func_name}; ignored)"
        )
    for flag in dict.fromkeys(flags):
        result = _with_note(result, f"flagged for review: {flag}")
    return result, worker


def _ask(
    worker: _Worker,
    request: dict[str, Any],
    wait: float,
    task_timeout: float,
    max_elements: int,
    memory_mb: int,
    guard: bool = False,
) -> Result | tuple[list[Outcome], Result | None]:
    """Send one task to ``worker``: its outcomes, or a ``Result`` when nothing can be judged."""
    ex = get(request["task"])
    src_cell, name = request["cell"], request["func_name"]
    try:
        reply = worker.run(request, wait, max_elements)
    except _Timeout:
        worker.close()
        limit = (
            f"{task_timeout:g} s"
            if wait >= task_timeout
            else f"{wait:.0f} s (what was left of the time limit)"
        )
        return _crashed(
            ex,
            f"stopped after {limit} without finishing: an infinite loop, or work "
            "far larger than the task needs. Nothing was graded for this task.",
        )
    except _Died as died:
        worker.close()
        return _crashed(ex, died.sentence())
    except _BadReply as bad:
        worker.close()
        return _crashed(
            ex,
            f"the worker's reply could not be read ({bad}); was the grader's "
            "process tampered with? Nothing was graded for this task.",
        )
    kind = reply.get("status")
    cell_error = clean_text(reply.get("cell_error") or "")
    if any(w in cell_error for w in _DENIED):
        cell_error += " (while grading, code may write only in its working folder and read only Python's own files)"
    worker.last_cell_error = cell_error
    if kind == "cell_error":
        return _failed(
            ex,
            f"running the exercise cell (cell {src_cell + 1}) raised "
            f"{cell_error} before {name} was defined; the cell must only "
            "import and define functions.",
        )
    if kind == "no_function":
        return _failed(
            ex, f"the exercise cell (cell {src_cell + 1}) ran but did not define {name}."
        )
    if kind == "exit":
        return _failed(
            ex,
            f"the code called sys.exit() or exit() {clean_text(reply.get('where', ''), 100)}; "
            "a function must return its result.",
        )
    if kind == "worker_error":
        return _failed(ex, f"stopped with {clean_text(reply.get('message', ''))}.")
    if kind == "undecodable":
        return _failed(
            ex,
            f"returned outputs that cannot be compared ({clean_text(reply.get('message', ''))}).",
        )
    if kind != "ran":
        return _crashed(
            ex, "the worker's reply could not be read; nothing was graded for this task."
        )
    mb = f"{memory_mb} MB" + (" for the complexity guard's large case" if guard else "")
    outcomes = [_outcome(o, mb) for o in reply.get("outcomes", [])]
    if not all(isinstance(o, Outcome) for o in outcomes):
        return _crashed(
            ex, "the worker's reply could not be read; nothing was graded for this task."
        )
    return outcomes, None  # type: ignore[return-value]


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
        stand_in.__signature__ = inspect.Signature(
            [  # type: ignore[attr-defined]
                inspect.Parameter(
                    str(n), inspect._ParameterKind(int(k)), default=None if d else empty
                )
                for n, k, d in params
            ]
        )
    return stand_in


def _outcome(d: Any, memory: str) -> Outcome | None:
    if not isinstance(d, dict) or not isinstance(d.get("kind"), str):
        return None
    message = clean_text(d.get("message", ""))
    if d["kind"] == ERROR and (
        "MemoryError" in message
        or "can't allocate" in message
        or "not enough memory" in message
        or "can't start new thread" in message
    ):
        message += f" (the memory limit is {memory})"
    if d["kind"] == ERROR and "BlockingIOError" in message and "Errno 11" in message:
        message += " (starting processes is not allowed while grading)"
    if d["kind"] == ERROR and any(w in message for w in _DENIED):
        message += " (while grading, code may write only in its working folder and read only Python's own files)"
    try:
        largest = tuple(int(v) for v in (d.get("largest") or ()))
        max_numel = int(d.get("max_numel", 0))
        ops = None if d.get("ops") is None else int(d["ops"])
        grads = d.get("grads")
        if grads is not None and not isinstance(grads, (list, tuple)):
            return None
    except (TypeError, ValueError):
        return None
    return Outcome(
        d["kind"],
        value=d.get("value"),
        message=message,
        max_numel=max_numel,
        largest=largest,
        creator=clean_text(d.get("creator", ""))[:100],
        ops=ops,
        grads=None if grads is None else list(grads),
        grad_error=clean_text(d.get("grad_error", ""))[:300],
    )


_DENIED = ("PermissionError", "Read-only file system", "FileNotFoundError")


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


def _clean_env(home: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": home,
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": home,
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
    }


def _mpl_config_dir() -> str:
    """The user's matplotlib folder, so the server reuses its font cache (read-only)."""
    if os.environ.get("MPLCONFIGDIR"):
        return os.environ["MPLCONFIGDIR"]
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "matplotlib")


_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from recsys_ref.course import sandbox; sandbox._server_main(sys.argv[2])"
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
            json.dumps({"sock_fd": theirs.fileno(), "workroot": workroot}),
        ]
        env = _clean_env(workroot)
        if self.bwrap:
            argv = _bwrap_args(lay["bwrap"]) + argv
            env["MPLCONFIGDIR"] = "/mplconfig" if os.path.isdir(_mpl_config_dir()) else workroot
        else:
            env["MPLCONFIGDIR"] = _mpl_config_dir()
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
                return self.spawned.pop(0)

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

    def __init__(self, *, memory_mb: int, cpu_seconds: float, tight: bool = False) -> None:
        if _ABORT.is_set():
            raise SandboxError("grading was interrupted")
        self.count = 0
        self.output = bytearray()
        self.buffer = b""
        self.server: _ForkServer | None = None
        self.pid = -1
        self.last_flags: list[str] = []
        self.last_cell_error = ""
        req_r, self.req = os.pipe()
        self.rep, rep_w = os.pipe()
        self.out_r, out_w = os.pipe()
        os.set_blocking(self.req, False)
        lay = layers()
        config = {
            "memory_mb": int(memory_mb),
            "cpu_seconds": int(cpu_seconds),
            "fsize": FILE_LIMIT_BYTES,
            "landlock": bool(lay["landlock"]),
            "tight": tight,
            "block_memfd": not lay["cgroup_memory"],
        }
        try:
            self.server = _ForkServer.get()
            self.pid = self.server.spawn(config, [req_r, rep_w, out_w])
        except (OSError, SandboxError) as exc:
            self._cleanup_fds(self.req, self.rep, self.out_r)
            self.req = self.rep = -1
            raise SandboxError(f"cannot start a worker process ({exc})") from exc
        finally:
            self._cleanup_fds(req_r, rep_w, out_w)
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
        self.last_flags = [clean_text(f) for f in reply.get("flags", []) if isinstance(f, str)][:5]
        if reply.get("status") != "ran":
            return reply
        try:
            out = codec.loads(data, max_bytes=REPLY_LIMIT_BYTES, max_elements=max_elements)
        except Exception as exc:  # noqa: BLE001 - CodecError, or a decoder bug: this task only
            return {"status": "undecodable", "message": f"{type(exc).__name__}: {exc}"}
        if not isinstance(out, dict):
            raise _BadReply("not a dict")
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


def confinement(memory_mb: int = 3072) -> dict[str, Any]:
    """Which limits a worker gets on this machine (starts one; for ``doctor`` and the header).

    Keys: the layers (bwrap, landlock ABI, seccomp, cgroup_memory) and the
    limits that took effect in the worker (fsize, core, cpu, address_space:
    bytes, None when refused).
    """
    worker = _start_worker(memory_mb, 60)
    try:
        return {**{k: v for k, v in layers().items() if k != "root"}, **worker.limits}
    finally:
        worker.close()


# ================================================================ worker side
# Everything below runs in the fork server or a worker only.


# Imported once by the fork server, so that the notebooks' own imports (replayed
# before each exercise cell) cost nothing in a worker.  A fixed list: the
# server never imports a module because a learner named it.
PRELOAD = (
    "numpy",
    "scipy.sparse",
    "matplotlib",
    "matplotlib.pyplot",
    "tqdm",
    "tqdm.auto",
    "sympy",
    "IPython.display",
)


def _preload() -> None:  # pragma: no cover - runs in the fork server
    import importlib
    import pkgutil

    import torch

    torch.set_num_threads(1)
    from . import codec, runner  # noqa: F401

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
        if info.name.endswith(("__main__", ".cli")):
            continue  # a command line, not something a notebook imports
        try:
            importlib.import_module(info.name)
        except Exception:  # noqa: BLE001, S112 - a module under construction
            continue
    from .registry import all_exercises

    all_exercises()  # cached: a worker cannot list the package's folder


def _prctl(option: int, arg: int) -> None:  # pragma: no cover - runs in the server/worker
    import ctypes

    ctypes.CDLL(None).prctl(option, arg, 0, 0, 0)


def _server_main(config_json: str) -> None:  # pragma: no cover - runs in the fork server
    """The fork server: preload, then fork one worker per request, kill on request, report exits."""
    cfg = json.loads(config_json)
    _prctl(4, 0)  # PR_SET_DUMPABLE 0: its /proc files are not readable by the workers
    _preload()
    import gc

    gc.collect()
    gc.freeze()  # workers' collections skip the preloaded objects (no copy-on-write of the heap)
    sock = socket.socket(fileno=cfg["sock_fd"])
    sock.send(b'{"ready": true}')
    folders: dict[int, str] = {}
    made = 0

    def reap() -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in folders:
                shutil.rmtree(folders.pop(pid), ignore_errors=True)
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
            os._exit(0)  # the grader is gone
        request = json.loads(msg)
        if "kill" in request:
            for fd in fds:
                os.close(fd)
            try:
                os.killpg(int(request["kill"]), signal.SIGKILL)
            except (ProcessLookupError, PermissionError, ValueError):
                pass
            continue
        made += 1
        workdir = os.path.join(cfg["workroot"], f"w{made}")
        os.mkdir(workdir, 0o700)
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()
                _worker_child(dict(request, workdir=workdir), fds)
            finally:
                os._exit(1)
        folders[pid] = workdir
        for fd in fds:
            os.close(fd)
        try:
            sock.send(json.dumps({"pid": pid}).encode())
        except OSError:
            os._exit(0)


def _worker_child(cfg: dict[str, Any], fds: list[int]) -> None:  # pragma: no cover - forked worker
    req_fd, rep_fd, out_fd = fds
    os.setsid()
    _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: dies with the server
    _prctl(4, 0)  # PR_SET_DUMPABLE 0: no other worker reads its /proc files
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.close(out_fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.chdir(cfg["workdir"])
    os.environ.clear()
    os.environ.update(_clean_env(cfg["workdir"]))
    tempfile.tempdir = None
    _serve(cfg, req_fd, rep_fd)


def _read_exact(fd: int, n: int) -> bytes:  # pragma: no cover - runs in the worker
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(1 << 20, n - got))
        if not chunk:
            os._exit(0)
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _serve(cfg: dict[str, Any], req_fd: int, rep_fd: int) -> None:  # pragma: no cover - worker
    from . import codec

    watch = _Watch()  # before the limits: what it frees must not hide in a tight guard's heap
    if cfg.get("tight"):
        import gc

        gc.collect()  # the server froze its own objects: this visits only the worker's
    limits = _confine(cfg)
    req = os.fdopen(req_fd, "rb", buffering=0)

    def reply(msg: dict[str, Any], payload: bytes = b"") -> None:
        data = json.dumps(dict(msg, size=len(payload))).encode() + b"\n" + payload
        view = memoryview(data)
        while view:
            view = view[os.write(rep_fd, view) :]

    reply({"ready": True, "limits": limits})
    while True:
        line = b""
        while not line.endswith(b"\n"):
            c = req.read(1)
            if not c:
                os._exit(0)
            line += c
        msg = json.loads(line)
        payload = b""
        watch.calls.clear()
        watch.task = ""
        try:
            request = codec.loads(_read_exact(req_fd, int(msg["size"])))
            watch.task = str(request["task"])
            out, body = _handle(request, watch)
            if body is not None:
                try:
                    payload = codec.dumps(body, "the outputs")
                except (codec.CodecError, OSError, MemoryError) as exc:
                    out = {"status": "undecodable", "message": f"{type(exc).__name__}: {exc}"[:500]}
        except SystemExit:
            out = {"status": "exit", "where": "while running the function"}
        except BaseException as exc:  # noqa: BLE001 - report, keep serving
            out = {"status": "worker_error", "message": f"{type(exc).__name__}: {exc}"[:500]}
        out["id"] = msg["id"]
        out["flags"] = watch.report()
        reply(out, payload)


class _Watch:  # pragma: no cover - runs in the worker
    """Records calls of the current task's reference and reads of ``recsys_ref``'s sources.

    Every function object of a ``recsys_ref`` module that is some task's
    reference (re-exports included) and every ``Exercise.reference`` of the
    registry is replaced by a wrapper naming where it was found; an audit
    hook refuses opening any file below the package folder.
    """

    def __init__(self) -> None:
        import linecache

        from .registry import all_exercises

        self.task = ""
        self.calls: list[str] = []
        linecache.clearcache()  # the server's cached sources
        refs: dict[int, tuple[Any, list[str]]] = {}
        for tid, ex in all_exercises().items():
            refs.setdefault(id(ex.reference), (ex.reference, []))[1].append(tid)
        for tid, ex in all_exercises().items():
            fn, tasks = refs[id(ex.reference)]
            object.__setattr__(
                ex, "reference", self._wrap(fn, tasks, f"registry.get({tid!r}).reference")
            )
        for name, mod in list(sys.modules.items()):
            if not name.startswith("recsys_ref") or mod is None:
                continue
            for attr, value in list(vars(mod).items()):
                if id(value) in refs and refs[id(value)][0] is value:
                    setattr(mod, attr, self._wrap(value, refs[id(value)][1], f"{name}.{attr}"))
        sys.addaudithook(self._audit)

    def _wrap(self, fn: Any, tasks: list[str], route: str) -> Any:
        watch, own = self, _PACKAGE_DIR + os.sep

        def reference(*args: Any, **kwargs: Any) -> Any:
            caller = sys._getframe(1).f_code.co_filename
            if watch.task in tasks and not caller.startswith(own):
                where = sys._getframe(1)
                watch.calls.append(
                    f"the code called the course's reference implementation "
                    f"{getattr(fn, '__qualname__', '?')} (reached as {route}, from "
                    f"line {where.f_lineno} of {caller}); the grade is kept for the "
                    "TA to review"
                )
            return fn(*args, **kwargs)

        for a in ("__name__", "__qualname__", "__doc__", "__module__"):
            try:
                setattr(reference, a, getattr(fn, a))
            except (AttributeError, TypeError):
                pass
        return reference

    def _audit(self, event: str, args: tuple[Any, ...]) -> None:
        if event != "open" or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
            return
        full = os.path.realpath(os.fsdecode(args[0]))
        if not full.startswith(_PACKAGE_DIR + os.sep):
            return
        frame = sys._getframe(1)
        while frame is not None and not frame.f_code.co_filename.startswith(
            ("<exercise", "<imports")
        ):
            frame = frame.f_back  # learner code is compiled as "<exercise cell N>"
        if frame is not None:
            self.calls.append(
                f"the code tried to read the course's source "
                f"({os.path.relpath(full, os.path.dirname(_PACKAGE_DIR))}), e.g. "
                "with inspect.getsource; refused"
            )
        raise PermissionError(f"reading {os.path.basename(full)} is not allowed while grading")

    def report(self) -> list[str]:
        return list(dict.fromkeys(self.calls))[:5]


def _handle(
    request: dict[str, Any], watch: _Watch
) -> tuple[dict[str, Any], Any]:  # pragma: no cover
    """One task in the worker: exec the imports and the cell, call the function, return outcomes."""
    import builtins

    from . import codec, runner

    run_cases, signature_problem = runner.run_cases, runner.signature_problem
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
        return {"status": "exit", "where": "while the exercise cell ran"}, None
    except BaseException as exc:  # noqa: BLE001
        cell_error = f"{type(exc).__name__}: {exc}{runner._learner_frame(exc)}"[:500]
        if not callable(ns.get(name)):
            return {"status": "cell_error", "cell_error": cell_error}, None
    fn = ns.get(name)
    if fn is None:
        return {"status": "no_function"}, None

    cases = [Case.from_plain(c) for c in request["cases"]]
    problem = signature_problem(fn, _stand_in(request["signature"]), name)
    record = bool(request.get("record"))
    outcomes = (
        [Outcome(SIGNATURE, message=problem)]
        if problem
        else run_cases(
            fn,
            cases,
            record=record,
            numel_limits=request.get("limits"),
            ops_limit=request.get("ops_limit"),
        )
    )

    def plain(o: Outcome) -> dict[str, Any]:
        d = o.to_plain(with_value=True)  # value, gradients, op count, creating op
        try:
            codec.encode(d.get("value"), "the output")
            codec.encode(d.get("grads"), "the gradients")
        except codec.CodecError as exc:
            return {
                "kind": SIGNATURE,
                "message": f"returned something that cannot be graded: {exc}"[:1000],
            }
        return d

    return {"status": "ran", "cell_error": cell_error}, {
        "outcomes": [plain(o) for o in outcomes],
        "cell_error": cell_error,
    }


# ---------------------------------------------------------------- confinement


def _confine(cfg: dict[str, Any]) -> dict[str, Any]:  # pragma: no cover - runs in the worker
    """Apply the limits to this process; returns which ones took effect."""
    import resource

    applied: dict[str, Any] = {}

    def setlimit(which: int, value: int, label: str) -> None:
        try:
            soft, hard = resource.getrlimit(which)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (value, hard if label != "cpu" else value + 5))
            applied[label] = value
        except (ValueError, OSError):
            applied[label] = None

    try:  # a fixed mmap threshold: every large allocation is a new mapping, counted below
        import ctypes

        ctypes.CDLL(None).mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    setlimit(resource.RLIMIT_FSIZE, int(cfg["fsize"]), "fsize")
    setlimit(resource.RLIMIT_CORE, 0, "core")
    setlimit(resource.RLIMIT_CPU, int(cfg["cpu_seconds"]), "cpu")
    setlimit(resource.RLIMIT_AS, _vm_size() + int(cfg["memory_mb"]) * 2**20, "address_space")
    applied["landlock"] = _landlock(os.getcwd()) if cfg.get("landlock") else None
    applied["seccomp"] = _seccomp(
        bool(cfg.get("block_memfd"))
    )  # last: it also forbids raising limits
    if cfg.get("tight") and applied["address_space"]:
        _use_up_free_heap(int(cfg["memory_mb"]) * 2**20)
    return applied


def _use_up_free_heap(keep: int) -> None:  # pragma: no cover - runs in a guard worker
    """Under the tight RLIMIT_AS, allocate every free block (the fork server's heaps hold
    megabytes that an n×n tensor could reuse unseen), then give back only ``keep``
    bytes of address space and half that of heap: nothing larger can be allocated."""
    import ctypes

    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    most = 200_000
    addrs, sizes = (ctypes.c_void_p * most)(), (ctypes.c_size_t * most)()  # no Python objects
    reserve = libc.malloc(2 * 2**20)  # for Python itself until the give-back below
    n, size = 0, 64 * 2**20  # kept while the heap is used up (a MemoryError there would kill it)
    while size >= 4096 and n < most:
        addrs[n] = libc.malloc(size)
        if addrs[n]:
            sizes[n] = size
            n += 1
        else:
            size //= 2
    libc.free(reserve)
    mapped = heap = 0
    for i in range(n):  # glibc's chunk header: bit 1 of the size word is IS_MMAPPED
        if mapped < keep and ctypes.c_size_t.from_address(addrs[i] - 8).value & 2:
            libc.free(addrs[i])
            mapped += sizes[i]
            addrs[i] = None
    for i in range(n - 1, -1, -1):
        if heap < keep // 2 and sizes[i] < 128 * 1024 and addrs[i]:
            libc.free(addrs[i])
            heap += sizes[i]


def _vm_size() -> int:  # pragma: no cover - runs in the worker
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 2 * 2**30


def _readable_paths() -> list[str]:  # pragma: no cover - runs in the worker
    """What a worker may read: Python and its packages, not ``recsys_ref``'s folder
    (a site-packages folder holding it is granted entry by entry) nor a checkout."""
    hidden = os.path.realpath(_PACKAGE_DIR)
    out: set[str] = set()

    def add(p: str) -> None:
        real = os.path.realpath(p)
        if not os.path.exists(real) or real == hidden:
            return
        if not hidden.startswith(real.rstrip(os.sep) + os.sep):
            out.add(real)
        elif real.endswith("-packages") and os.path.isdir(real):  # not a checkout's root
            out.update(
                os.path.join(real, e) for e in os.listdir(real) if os.path.join(real, e) != hidden
            )

    for p in _python_folders() + ["/usr", "/lib", "/lib64", "/bin"]:
        add(p)
    return sorted(out)


def _python_folders() -> list[str]:
    """Python's prefixes and the package folders on its path (not a checkout, not tests)."""
    prefixes = [
        os.path.realpath(p)
        for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)
    ]
    folders = set(prefixes) | {os.path.dirname(os.path.realpath(sys.executable))}
    for e in sys.path:
        real = os.path.realpath(e) if e else ""
        if (
            real
            and os.path.isdir(real)
            and (real.endswith("-packages") or any(real.startswith(p + os.sep) for p in prefixes))
        ):
            folders.add(real)
    return sorted(folders)


def _landlock(workdir: str) -> int | None:  # pragma: no cover - runs in the worker
    """Landlock: read only ``_readable_paths``, write only below ``workdir``; None when unavailable."""
    import ctypes

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
    fd = libc.syscall(
        create, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)), ctypes.c_uint32(0)
    )
    if fd < 0:
        return None

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    file_only = (1 << 0) | (1 << 1) | (1 << 2) | ((1 << 14) if abi >= 3 else 0)
    rules = [
        (workdir, read | write),
        ("/dev/null", file_only & (read | write)),
        ("/dev/urandom", read),
        (f"/proc/{os.getpid()}", read),
    ]
    rules += [(p, read) for p in _readable_paths()]
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


# audit arch, fork/vfork, clone, clone3, setrlimit, prlimit64, and the calls refused with EPERM:
# socket, mknod(at), chmod family, chown family, utime family, mount/umount2, unshare, setns,
# pivot_root, chroot, ptrace, reboot, kexec_load, kexec_file_load, init/finit/delete_module,
# bpf, perf_event_open, userfaultfd, io_uring_setup, process_vm_readv/writev, keyctl, add_key,
# request_key, open_tree, move_mount, fsopen, fsmount, mount_setattr; memfd_create (optional).
_SECCOMP_ARCH = {
    "x86_64": (
        0xC000003E,
        [57, 58],
        56,
        435,
        160,
        302,
        [
            41,
            133,
            259,
            90,
            91,
            268,
            452,
            92,
            93,
            94,
            260,
            132,
            235,
            280,
            261,
            165,
            166,
            272,
            308,
            155,
            161,
            101,
            169,
            246,
            320,
            175,
            313,
            176,
            321,
            298,
            323,
            425,
            310,
            311,
            250,
            248,
            249,
            428,
            429,
            430,
            432,
            442,
        ],
        319,
    ),
    "aarch64": (0xC00000B7, [], 220, 435, 164, 261, [117], 279),
}


def _seccomp(block_memfd: bool) -> bool:  # pragma: no cover - runs in the worker
    """The seccomp filter, installed last (see ``_SECCOMP_ARCH`` for what it refuses).

    ``fork``, ``vfork`` and process-creating ``clone`` fail with EAGAIN (threads
    still work); ``clone3`` with ENOSYS (libc falls back to ``clone``);
    ``setrlimit`` and ``prlimit64`` with a new limit fail; system calls of
    another ABI fail.
    """
    import ctypes
    import platform

    arch = platform.machine()
    if sys.platform != "linux" or arch not in _SECCOMP_ARCH:
        return False
    audit, forks, clone, clone3, setrlimit, prlimit64, refused, memfd = _SECCOMP_ARCH[arch]
    refused = list(refused) + ([memfd] if block_memfd else [])
    ld_w_abs, jeq, jset, jge, ret = 0x20, 0x15, 0x45, 0x35, 0x06
    returns = {
        "allow": 0x7FFF0000,
        "eagain": 0x00050000 | 11,
        "enosys": 0x00050000 | 38,
        "eperm": 0x00050000 | 1,
    }
    # (code, true target, false target, k); targets are labels or None (= next instruction)
    code: list[tuple[int, str | None, str | None, int]] = [
        (ld_w_abs, None, None, 4),  # seccomp_data.arch
        (jeq, None, "eperm", audit),  # another ABI: refuse
        (ld_w_abs, None, None, 0),  # seccomp_data.nr
        (jge, "eperm", None, 0x40000000),  # x32 system calls: refuse
        *[(jeq, "eagain", None, nr) for nr in forks],
        (jeq, "enosys", None, clone3),
        (jeq, "eperm", None, setrlimit),
        *[(jeq, "eperm", None, nr) for nr in refused],
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
        _fields_ = [
            ("code", ctypes.c_uint16),
            ("jt", ctypes.c_uint8),
            ("jf", ctypes.c_uint8),
            ("k", ctypes.c_uint32),
        ]

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(SockFilter))]

    filters = (SockFilter * len(prog))(*[SockFilter(*p) for p in prog])
    fprog = SockFprog(len(prog), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        return False
    return libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) == 0  # PR_SET_SECCOMP, FILTER
