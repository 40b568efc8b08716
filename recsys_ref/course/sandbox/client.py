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

Isolation, layer by layer (``isolation.layers()`` says which ones this machine
has; INSTRUCTORS.md, "What is protected", states each one with its test):
bubblewrap for the fork server and its workers (``isolation.bwrap_args``:
namespaces, uid 65534, no capabilities, read-only binds of only Python, its
packages and ``recsys_ref``, a size-limited tmpfs); Landlock, seccomp and
rlimits in each worker (``confine.confine``); in the worker, the course's
references, the package functions equal to them and the task specs replaced
by stubs that raise (``withheld``), and an audit hook on the package's sources.

Modules: this one is the parent (the only side that judges); ``worker.py`` is
everything that runs in the fork server and its children; ``confine.py`` the
kernel layers a worker applies to itself; ``isolation.py`` the probes and the
bubblewrap command line.

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

from ..engine.evaluate import CRASHED, FAILED, MISSING, Result, evaluate
from ..engine.registry import all_exercises, get
from ..engine.runner import ERROR, MUTATED, NOT_STARTED, OK, SIGNATURE, Outcome
from ..engine.spec import Case, Exercise
from ..nbtools.notebook import ExerciseSource, NotebookError, find_exercise, read_notebook
from .isolation import SANDBOX_ROOT, bwrap_args, clean_env, layers, mpl_config_dir
from .withheld import GIVEN, NOT_AVAILABLE, key_of, pasted_from, withheld_keys

__all__ = [
    "run_tasks",
    "tasks_for_notebook",
    "confinement",
    "abort_all",
    "reset_abort",
    "SandboxError",
    "TASK_TIMEOUT",
    "TOTAL_TIMEOUT",
    "MEMORY_MB",
    "OUTPUT_LIMIT_BYTES",
    "LEARNER_TEXT_LIMIT",
]

# The defaults of a grading run: the CLI's options (grade.add_arguments) and run_tasks use these.
TASK_TIMEOUT = 30.0  # seconds of wall-clock time per task, enforced by the parent
TOTAL_TIMEOUT = 300.0  # seconds per submission
MEMORY_MB = 3072  # address space the learner's code may add, per worker
OUTPUT_LIMIT_BYTES = 64 * 1024  # of the learner's stdout/stderr kept (never shown in feedback)
FILE_LIMIT_BYTES = 64 * 1024 * 1024  # RLIMIT_FSIZE of the worker
REPLY_LIMIT_BYTES = 48 * 1024 * 1024  # largest reply the parent reads
REPLY_STRUCTURE_BYTES = 4 * 1024 * 1024  # of it, the JSON structure (parsed into objects)
REPLY_NODES = 200_000  # entries of that structure
HEADER_LIMIT_BYTES = 1 << 16  # one reply's JSON header line
LEARNER_TEXT_LIMIT = 300  # characters of learner-chosen text in any feedback
STARTUP_TIMEOUT = 120.0  # seconds for a worker to become ready (not the learner's time)
START_TRIES = 3
GUARD_MIN_MB = 4  # headroom of a guard worker: max(this, 64 bytes x the guard's element limit)
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])


class SandboxError(RuntimeError):
    """The grader itself cannot run a worker (not the learner's fault)."""


def clean_text(text: Any, limit: int = LEARNER_TEXT_LIMIT) -> str:
    """Learner-chosen text made safe to show on one line: ANSI escapes, control
    characters and every invisible format or separator character (Unicode Cc, Cf,
    Zl, Zp: bidi marks, zero-width joiners, tags, line separators) removed, newlines
    and carriage returns written as ``\\n`` and ``\\r``, tabs as spaces, cut to
    ``limit`` characters."""
    import re
    import unicodedata

    s = re.sub(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|.)", "", str(text))
    s = s.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r").replace("\t", " ")
    s = "".join(c for c in s if unicodedata.category(c) not in _INVISIBLE)
    return s if len(s) <= limit else s[:limit] + "… (cut)"


_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


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
    given: list[list[Any]] = field(default_factory=list)  # [key, code, func_name, cell]


def _crashed(ex: Exercise, message: str) -> Result:
    return Result(ex.task_id, CRASHED, None, 0.0, ex.points, func_name=ex.func_name, body=message)


def _failed(ex: Exercise, message: str) -> Result:
    return Result(ex.task_id, FAILED, None, 0.0, ex.points, func_name=ex.func_name, body=message)


def _missing(ex: Exercise) -> Result:
    return Result(
        ex.task_id,
        MISSING,
        None,
        0.0,
        ex.points,
        body=f"no exercise cell found: no cell is tagged task:{ex.task_id} and no cell "
        f"defines {ex.func_name}. Copy the exercise cell back from the released notebook.",
    )


def _with_note(result: Result, note: str) -> Result:
    return result.add_note(note)


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
    task_timeout: float = TASK_TIMEOUT,
    total_timeout: float = TOTAL_TIMEOUT,
    memory_mb: int = MEMORY_MB,
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
        cases, expected, guard = _expected(ex, seed)
        jobs.append(_Prepared(ex, source, cases, expected, guard, _given(nb, tid)))
    exercises = all_exercises()
    notebooks = {get(t).notebook for t in ids}
    withheld = sorted(
        withheld_keys([t for t, e in exercises.items() if e.notebook in notebooks], exercises)
    )

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
                worker = _start_worker(memory_mb, total_timeout + 30, withheld=withheld)
            try:
                result, worker = _run_one(worker, job, deadline, task_timeout, memory_mb, withheld)
            except SandboxError:
                raise
            except Exception as exc:  # noqa: BLE001 - a reply nothing foresaw: this task only
                worker.close()
                result = _crashed(
                    ex,
                    "the worker's reply could not be judged "
                    f"({type(exc).__name__}); nothing was graded for this task.",
                )
            results[ex.task_id] = _with_note(result, job.source.note)
    finally:
        if worker is not None:
            worker.close()
    return [results[t] for t in ids]


# Held whenever the parent runs course code that may draw from torch's global generator
# (the references, the wrong variants evaluate tries): that generator is one per process,
# shared by the --jobs threads, so two such calls at once would change each other's draws.
_TORCH_RNG_LOCK = threading.Lock()


def _expected(ex: Exercise, seed: int) -> tuple[list[Case], list[Any], list[Case]]:
    """The cases, the reference's outputs on them, and the guard cases of ``ex``.

    Computed under one lock with torch's global generator forked and seeded from
    ``seed`` and the task id: a reference that draws random numbers (dropout in
    ``ngcf_9``) gives the same values whatever other grading threads do.
    """
    import zlib

    import torch

    with _TORCH_RNG_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed((seed * 1_000_003 + zlib.crc32(ex.task_id.encode())) % 2**63)
        cases = ex.make_cases(seed)
        expected = [ex.reference(*c.args, **c.kwargs) for c in cases]
        guard = ex.guard.make_cases(seed) if ex.guard is not None else []
    return cases, expected, guard


def _given(nb: Any, tid: str) -> list[list[Any]]:
    """The learner's own cells of the earlier tasks of this notebook that ``tid``'s cell
    builds on (``withheld.GIVEN``), as [reference key, code, function name, cell]."""
    out = []
    for g in GIVEN.get(tid, ()):
        dep = get(g)
        src = find_exercise(nb, g, dep.func_name)
        if src is not None:
            out.append([key_of(dep.reference), src.code, src.func_name, src.cell_index])
    return out


def _start_worker(
    memory_mb: int, cpu_seconds: float, tight: bool = False, withheld: list[str] | None = None
) -> _Worker:
    """A ready worker, retried ``START_TRIES`` times (a loaded machine can fail a start)."""
    problem: SandboxError | None = None
    for attempt in range(START_TRIES):
        try:
            return _Worker(
                memory_mb=memory_mb,
                cpu_seconds=cpu_seconds,
                tight=tight,
                withheld=list(withheld or ()),
            )
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
        "given": job.given,
    }


def _run_one(
    worker: _Worker,
    job: _Prepared,
    deadline: float,
    task_timeout: float,
    memory_mb: int,
    withheld: list[str],
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
    if job.guard_cases and len(outcomes) == len(job.cases) and all(o.kind == OK for o in outcomes):
        mb = _guard_mb(job)
        wait = min(task_timeout - (time.monotonic() - start), deadline - time.monotonic())
        try:
            guard_worker = _start_worker(mb, task_timeout + 30, tight=True, withheld=withheld)
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
        finally:
            guard_worker.close()
        if isinstance(got, Result):
            return got, worker
        guard_outcomes, early = got
        if early is not None:
            return early, worker
    try:
        with _TORCH_RNG_LOCK:
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
        result.add_note(
            f"the exercise cell also raised {worker.last_cell_error} after "
            f"defining {job.source.func_name}; ignored",
            label="",
        )
    pasted = pasted_from(job.source.code, job.source.func_name, ex)
    if pasted:
        result.add_flag(
            f"the function repeats the course's {pasted.split(':')[-1]} "
            f"({pasted.split(':')[0]}) up to names and formatting"
        )
    if any(NOT_AVAILABLE in o.message for o in [*outcomes, *guard_outcomes]):
        result.add_flag(
            "the code called the course's reference or a package "
            "function computing the same result, which are withheld while grading"
        )
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
    cell_error = reply.get("cell_error") or ""
    cell_error = clean_text(cell_error if isinstance(cell_error, str) else "?")
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
    raw = reply.get("outcomes")
    if not isinstance(raw, list) or len(raw) > len(request["cases"]):  # fewer: a stub stops
        return _crashed(
            ex, "the worker's reply could not be read; nothing was graded for this task."
        )
    outcomes = [_outcome(o, mb) for o in raw]
    if not all(isinstance(o, Outcome) for o in outcomes):
        return _crashed(
            ex, "the worker's reply could not be read; nothing was graded for this task."
        )
    for i, (case, o) in enumerate(zip(request["cases"], outcomes)):
        if case[3] and o.kind == OK and o.grads is None:  # a gradient case sent no gradients
            outcomes[i] = Outcome(
                ERROR,
                message="no gradients came back from the gradient case (a missing "
                "gradient is a failure, not an unmeasured check)",
            )
    return outcomes, None  # type: ignore[return-value]


def _signature_of(fn: Any) -> list[list[Any]] | None:
    """The reference's parameters as [name, kind, has_default] (the worker rebuilds it)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    return [[p.name, int(p.kind), p.default is not inspect.Parameter.empty] for p in params]


_KINDS = (OK, NOT_STARTED, ERROR, MUTATED, SIGNATURE)
_BIG = 2**62  # any count a real call can produce is far below this


def _count(v: Any) -> int:
    """A reply's count: an int (not a bool) in [0, 2**62], else ValueError."""
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= _BIG:
        raise ValueError("not a count")
    return v


def _outcome(d: Any, memory: str) -> Outcome | None:
    """One outcome of a reply, checked against its schema; None when it does not fit
    (then the task alone is reported as unreadable)."""
    if not isinstance(d, dict) or d.get("kind") not in _KINDS:
        return None
    texts = [d.get(k, "") for k in ("message", "creator", "grad_error")]
    if not all(isinstance(t, str) for t in texts):
        return None
    message = clean_text(texts[0])
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
        largest_in = d.get("largest") or []
        if not isinstance(largest_in, (list, tuple)) or len(largest_in) > 64:
            return None
        largest = tuple(_count(v) for v in largest_in)
        max_numel = _count(d.get("max_numel", 0))
        ops = None if d.get("ops") is None else _count(d["ops"])
        grads = d.get("grads")
        if grads is not None and (not isinstance(grads, (list, tuple)) or len(grads) > 1000):
            return None
    except (TypeError, ValueError):
        return None
    return Outcome(
        d["kind"],
        value=d.get("value"),
        message=message,
        max_numel=max_numel,
        largest=largest,
        creator=clean_text(texts[1], 100),
        ops=ops,
        grads=None if grads is None else list(grads),
        grad_error=clean_text(texts[2]),
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


_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from recsys_ref.course.sandbox import worker; worker.server_main(sys.argv[2])"
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
        config = {
            "memory_mb": int(memory_mb),
            "cpu_seconds": int(cpu_seconds),
            "fsize": FILE_LIMIT_BYTES,
            "landlock": bool(lay["landlock"]),
            "tight": tight,
            "block_memfd": True,  # no cgroup limit is written: memfd would escape RLIMIT_AS
            "withhold": list(withheld or ()),
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


def confinement(memory_mb: int = MEMORY_MB) -> dict[str, Any]:
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
