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

Modules.  Parent side: this one, the run loop (prepare each task, ask a
worker, judge; ``run_tasks``); ``reply.py``, a worker's reply read as untrusted
data; ``framing.py``, the worker's pipes (framed messages with deadlines and
byte caps); ``forkserver.py``, the client of the fork server; ``limits.py``,
the run's defaults; ``isolation.py``, the probes and the bubblewrap command
line.  Worker side: ``worker.py``, everything that runs in the fork server and
its children; ``confine.py``, the kernel layers a worker applies to itself.

As root with neither bubblewrap nor Landlock, ``recsys-course grade`` refuses
to run (``refusal``) unless the TA passes ``--unsafe-no-sandbox``.
"""

from __future__ import annotations

import inspect
import logging
import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine.evaluate import CRASHED, FAILED, MISSING, Result, evaluate
from ..engine.registry import all_exercises, get
from ..engine.runner import MUTATED, OK, Outcome
from ..engine.spec import Case, Exercise
from ..nbtools.notebook import ExerciseSource, NotebookError, find_exercise, read_notebook
from .forkserver import SandboxError, _ForkServer  # noqa: F401 - progress warms it through here
from .framing import _ABORT, _Died, _Worker, abort_all, reset_abort  # noqa: F401 - _Died: tests
from .isolation import layers
from .limits import (
    GUARD_MIN_MB,
    LEARNER_TEXT_LIMIT,
    MEMORY_MB,
    OUTPUT_LIMIT_BYTES,
    START_TRIES,
    TASK_TIMEOUT,
    TOTAL_TIMEOUT,
)
from .reply import _ask, _crashed, _failed, clean_text
from .withheld import GIVEN, NOT_AVAILABLE, key_of, pasted_from, withheld_keys

__all__ = [
    "run_tasks",
    "tasks_for_notebook",
    "confinement",
    "abort_all",
    "reset_abort",
    "clean_text",
    "SandboxError",
    "TASK_TIMEOUT",
    "TOTAL_TIMEOUT",
    "MEMORY_MB",
    "OUTPUT_LIMIT_BYTES",
    "LEARNER_TEXT_LIMIT",
]


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
                _LOG.exception("judging %s of %s failed", ex.task_id, path.name)  # for the TA
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


# A grader fault (never the learner's) is logged with its traceback on the TA's terminal.
_LOG = logging.getLogger(__name__)

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
    """The verdict on one task (and the worker to use next): run its cases, then its
    guard cases in a tight worker of their own, then judge (``_judge``)."""
    ex = job.ex
    wait = min(task_timeout, deadline - time.monotonic())
    start = time.monotonic()
    reply = _ask(
        ex,
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
        left = min(task_timeout - (time.monotonic() - start), deadline - time.monotonic())
        got = _run_guard(job, left, task_timeout, withheld)
        if isinstance(got, Result):
            return got, worker
        guard_outcomes = got
    return _judge(job, outcomes, guard_outcomes, worker), worker


def _run_guard(
    job: _Prepared, wait: float, task_timeout: float, withheld: list[str]
) -> Result | list[Outcome]:
    """The guard cases' outcomes, run in a fresh worker under the guard's memory limit."""
    ex, mb = job.ex, _guard_mb(job)
    try:
        guard_worker = _start_worker(mb, task_timeout + 30, tight=True, withheld=withheld)
    except SandboxError as exc:
        return _crashed(
            ex,
            f"the grader could not start the complexity guard's worker "
            f"({clean_text(exc, 200)}); nothing was graded.",
        )
    try:
        got = _ask(
            ex,
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
        return got
    guard_outcomes, early = got
    return early if early is not None else guard_outcomes


def _judge(
    job: _Prepared, outcomes: list[Outcome], guard_outcomes: list[Outcome], worker: _Worker
) -> Result:
    """``evaluate`` against the parent's expected values, with the notes and flags the
    parent alone can see (the cell's own error, pasted reference code, a withheld call)."""
    ex = job.ex
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
    if any(o.kind == MUTATED for o in outcomes):
        result.add_note(
            "the in-place check is measured inside the process that ran your code, not by "
            "the grader: it reports a real bug, but it is advice, never a point",
            label="advice",
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
    return result


def _signature_of(fn: Any) -> list[list[Any]] | None:
    """The reference's parameters as [name, kind, has_default] (the worker rebuilds it)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    return [[p.name, int(p.kind), p.default is not inspect.Parameter.empty] for p in params]


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
