"""``recsys-course grade``: grade a class of submissions (docs/design.md §6).

    recsys-course grade SUBMISSIONS... --out DIR [--jobs N] [--seed S]

A submission is one learner's work: a notebook, a folder of their notebooks
(searched recursively, checkpoints skipped), or a ``.zip`` of either.  Each
path on the command line is one submission, so a class is graded with a shell
glob: ``recsys-course grade collected/* --out graded``.

Each submission's exercise cells run in a confined worker (``sandbox``) on
inputs drawn with one fresh seed per grading run (``--seed`` to reproduce);
the verdicts are computed here, against the reference.  Per submission the
grader writes ``DIR/<name>/results.json`` (Gradescope's format) as soon as it
is graded, plus ``DIR/<name>/grading.json`` (content hash and seed: for
resuming, not for learners), and rewrites ``DIR/class.csv``.  An interrupted
run resumes: a submission whose ``results.json`` exists and whose content and
task list are unchanged is not graded again (``--force`` regrades).

Feedback is the diagnosis of ``evaluate`` with two redactions, because the
learner's own function decides what it returns and raises: error magnitudes
are given as an order of magnitude without the index, and the text of an
exception raised by the learner's code is cut to 300 characters (a function
can smuggle at most a few numbers of this run's inputs out through its error
message, and the next run draws new ones).  Learner stdout is never shown.

The task list is the course's registry, or ``--tasks`` (task ids or notebook
names), never a learner's notebook metadata.  Result folders are unique per
submission (``x``, ``x-2``, … case-blind; ``class.csv``/``class.json``
reserved).  Feedback shown anywhere has control characters removed.  As root
with neither bubblewrap nor Landlock the grader refuses unless
``--unsafe-no-sandbox`` (then marked in every row and in ``class.csv``).

A run, step by step (each step a module, in the manner of nbgrader's preprocessors):

    1. discover   submissions.py  the submissions on the command line, the task list
    2. assign     assign.py       which notebook of a submission holds each task
    3. run        sandbox.client  each notebook's tasks in confined workers
    4. judge      sandbox.client  the outcomes against the parent's reference (``evaluate``)
    5. render     feedback.py     the learner's feedback, from the verdict's fields
    6. report     outputs.py      results.json, grading.json, class.csv, the table

This module is the command: its options, the run's shared state (``GradingRun``)
and ``STEPS``, which drives 1-6 per submission, ``--jobs`` at a time.

Exit code: 0 when grading ran (whatever the scores); 2 for a usage problem
(no submissions, an unwritable output folder, an unknown task, the refusal
above); 3 when no worker can start at all, or the grader failed on a
submission (its own bug: the other submissions are still graded); 130 after
Ctrl-C.  A notebook whose worker does not start after retries is marked in its
rows and regraded by the next run.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from ..engine.evaluate import CRASHED, MISSING, Result
from ..engine.registry import get
from ..nbtools.nbformat_import import import_nbformat
from ..sandbox.client import (
    MEMORY_MB,
    TASK_TIMEOUT,
    TOTAL_TIMEOUT,
    SandboxError,
    abort_all,
    clean_text,
    confinement,
    reset_abort,
    run_tasks,
)
from ..sandbox.isolation import describe_layers, layers, refusal
from . import answers, gradebook
from .assign import _assign
from .feedback import UNSAFE_MARK, feedback, redact
from .outputs import (
    GRADER_VERSION,
    _already_graded,
    _write_json,
    csv_cell,
    gradescope,
    table,
    write_class_csv,
)
from .submissions import GradeError, Submission, _safe_name, find_submissions, parse_tasks

__all__ = [
    "add_arguments",
    "run",
    "STEPS",
    "Submission",
    "find_submissions",
    "parse_tasks",
    "grade_submission",
    "redact",
    "gradescope",
    "table",
    "csv_cell",
    "write_class_csv",
    "GradeError",
    "GRADER_VERSION",
    "_safe_name",
]


@dataclass
class Options:
    seed: int
    task_timeout: float = TASK_TIMEOUT
    total_timeout: float = TOTAL_TIMEOUT
    memory_mb: int = MEMORY_MB
    unsafe: bool = False


def grade_submission(sub: Submission, tasks: list[str], opts: Options) -> list[Result]:
    """One ``Result`` per task, in ``tasks`` order; learner problems never raise.

    Steps: assign each task to a notebook (``_assign``), run and judge each notebook's
    tasks in confined workers (``sandbox.run_tasks``), render the feedback (``feedback``)."""
    if sub.problem:
        return [
            Result(t, MISSING, f"? {t}: nothing to grade: {sub.problem}.", 0.0, get(t).points)
            for t in tasks
        ]
    plan, results, notes = _assign(sub, tasks)
    deadline = time.monotonic() + opts.total_timeout
    for path, ids in plan.items():
        left = deadline - time.monotonic()
        try:
            got = run_tasks(
                path,
                ids,
                seed=opts.seed,
                task_timeout=opts.task_timeout,
                total_timeout=max(left, 0.0),
                memory_mb=opts.memory_mb,
            )
        except (
            SandboxError
        ) as exc:  # after its retries: this notebook is not graded, the run goes on
            sub.incomplete = True
            got = [
                Result(
                    t,
                    CRASHED,
                    f"! {t}: not graded: the grader could not start a worker "
                    f"({clean_text(exc, 200)}); run the command again to grade it.",
                    0.0,
                    get(t).points,
                )
                for t in ids
            ]
        for r in got:
            results[r.task_id] = feedback(r, sub, path, notes.get(r.task_id, ""), opts.unsafe)
    return [results[t] for t in tasks]


# ---------------------------------------------------------------- command


def describe_limits(limits: dict, args: argparse.Namespace) -> str:
    """The run's header for the TA: the isolation layers and limits the workers got here."""
    parts = [
        f"{args.task_timeout:g} s per task, {args.total_timeout:g} s per submission",
        f"+{args.memory_mb} MB of address space"
        if limits.get("address_space")
        else "NO memory limit",
        "seccomp on" if limits.get("seccomp") else "NO seccomp",
        "guard workers in a cgroup of their own (memory.max, pids.max)"
        if layers().get("cgroup_memory")
        else "no writable cgroup v2 here: RLIMIT_AS and the memfd block bound memory",
    ]
    lines = ["worker limits: " + "; ".join(parts)] + [f"  {line}" for line in describe_layers()]
    if getattr(args, "unsafe_no_sandbox", False) and refusal():
        lines.insert(0, UNSAFE_MARK)
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "submissions",
        nargs="+",
        type=Path,
        metavar="SUBMISSION",
        help="one per learner: a notebook, a folder of the learner's notebooks, "
        "or a .zip (grade a class with a glob: collected/*)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output folder: <name>/results.json per submission and class.csv",
    )
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel")
    answers.add_answers_option(parser)  # --answers FILE: a TA-only file of answers
    parser.add_argument(
        "--seed", type=int, default=None, help="seed of the inputs (default: a fresh one per run)"
    )
    parser.add_argument(
        "--tasks",
        default=None,
        help="comma-separated task ids or notebook names, e.g. 21_fm_okn_trick "
        "(default: every task of the course)",
    )
    parser.add_argument("--task-timeout", type=float, default=TASK_TIMEOUT, help="seconds per task")
    parser.add_argument(
        "--total-timeout", type=float, default=TOTAL_TIMEOUT, help="seconds per submission"
    )
    parser.add_argument(
        "--memory-mb", type=int, default=MEMORY_MB, help="memory the learner's code may use, in MB"
    )
    parser.add_argument(
        "--force", action="store_true", help="regrade submissions that already have results"
    )
    parser.add_argument("--quiet", action="store_true", help="no per-submission tables")
    parser.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="grade as root even without bubblewrap and Landlock (learners' code "
        "is then NOT confined; marked in every row and in class.csv)",
    )
    gradebook.add_arguments(parser)  # late policy, manual points, roster, Canvas


def run(args: argparse.Namespace) -> int:
    try:
        answers.use_answers_file(getattr(args, "answers", None))
        return _run(args)
    except GradeError as exc:
        print(f"recsys-course grade: {exc}", file=sys.stderr)
        return 2


@dataclass
class GradingRun:
    """What the steps of one ``recsys-course grade`` run share."""

    args: argparse.Namespace
    subs: list[Submission] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    seed: int = 0
    unsafe: bool = False
    limits: dict = field(default_factory=dict)
    resumed: int = 0
    failures: list[str] = field(default_factory=list)
    exit_code: int | None = None  # set by a step that ends the run early
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)


def discover(run: GradingRun) -> None:
    """The submissions on the command line, the task list, the seed; a usable --out.

    Also imports nbformat here, before any grading thread: a second thread that reads a
    notebook while the first is still importing it would get a half-imported module and
    call every notebook of its submission invalid."""
    args = run.args
    import_nbformat()
    run.subs = find_submissions(args.submissions)
    if not run.subs:
        raise GradeError("no submissions found")
    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise GradeError(f"cannot write to {out} ({exc})") from exc
    run.tasks = parse_tasks(args.tasks)
    if args.jobs < 1:
        raise GradeError("--jobs must be at least 1")
    run.seed = args.seed if args.seed is not None else secrets.randbits(31)


def confine_workers(run: GradingRun) -> None:
    """Refuse to grade unconfined unless asked; start one worker to learn its limits."""
    args = run.args
    run.unsafe = bool(refusal())
    if run.unsafe and not getattr(args, "unsafe_no_sandbox", False):
        raise GradeError(refusal())
    try:
        run.limits = confinement(args.memory_mb)
    except SandboxError as exc:
        print(f"recsys-course grade: cannot start a grading worker: {exc}", file=sys.stderr)
        run.exit_code = 3
        return
    if not args.quiet:
        print(describe_limits(run.limits, args), file=sys.stderr)
        if not args.tasks:
            print(
                f"grading all {len(run.tasks)} tasks of the course; --tasks NOTEBOOK grades one "
                "assignment",
                file=sys.stderr,
            )


def grade_one(run: GradingRun, sub: Submission) -> tuple[Submission, list[Result], bool] | None:
    """One submission: kept from the last run when unchanged, else assigned, run, judged,
    rendered (``grade_submission``) and reported (its results.json, grading.json, class.csv)."""
    args, out = run.args, run.args.out
    if run.stop.is_set():
        return None
    digest = sub.content_hash()
    if not args.force:
        old = _already_graded(out, sub, digest, run.tasks)
        if old is not None:
            return sub, old, True
    start = time.monotonic()
    opts = Options(run.seed, args.task_timeout, args.total_timeout, args.memory_mb, run.unsafe)
    results = grade_submission(sub, run.tasks, opts)
    seconds = time.monotonic() - start
    if run.stop.is_set():
        return None  # interrupted: its workers were killed, so these results are not real
    notes = sub.notes + ([UNSAFE_MARK] if run.unsafe else [])
    _write_json(out / sub.name / "results.json", gradescope(results, seconds, notes))
    _write_json(
        out / sub.name / "grading.json",
        {
            "submission": str(sub.source),
            "content_hash": digest,
            "task_ids": run.tasks,
            "seed": run.seed,
            "grader_version": GRADER_VERSION,
            "seconds": round(seconds, 3),
            "limits": run.limits,
            "unsafe": run.unsafe,
            "incomplete": sub.incomplete,
            "notes": sub.notes,
            "tasks": [r.to_dict() for r in results],
        },
    )
    with run.lock:
        write_class_csv(out, run.tasks, [s.name for s in run.subs], run.unsafe)
    return sub, results, False


def grade_all(run: GradingRun) -> None:
    """Every submission, ``--jobs`` at a time, with a progress bar and a table each."""
    from tqdm import tqdm

    args = run.args
    bar = tqdm(
        total=len(run.subs),
        unit="submission",
        desc="grading",
        file=sys.stderr,
        dynamic_ncols=True,
        leave=True,
    )
    pool = ThreadPoolExecutor(max_workers=args.jobs)
    try:
        futures = {pool.submit(grade_one, run, s): s for s in run.subs}
        for fut in as_completed(futures):
            sub = futures[fut]
            try:
                done = fut.result()
            except SandboxError as exc:
                run.failures.append(f"{sub.name}: {clean_text(exc, 500)}")
                bar.update(1)
                continue
            except Exception as exc:  # noqa: BLE001 - a grader bug: report it, grade the others
                run.failures.append(
                    f"{sub.name}: internal error {type(exc).__name__}: {clean_text(exc, 500)}"
                )
                bar.update(1)
                continue
            if done is None:
                continue
            sub, results, skipped = done
            run.resumed += skipped
            if not args.quiet:
                note = " (unchanged since the last run: kept)" if skipped else ""
                bar.write(
                    table(sub.name, results)
                    + note
                    + "".join(f"\n  note: {clean_text(n, 300)}" for n in sub.notes)
                )
            bar.update(1)
    except KeyboardInterrupt:
        run.stop.set()
        abort_all()
        pool.shutdown(wait=True, cancel_futures=True)
        reset_abort()
        bar.close()
        print(
            "\nrecsys-course grade: interrupted; the submissions graded so far are kept. "
            "Run the same command again to resume.",
            file=sys.stderr,
        )
        run.exit_code = 130
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
        for s in run.subs:
            for folder in s.cleanup:
                shutil.rmtree(folder, ignore_errors=True)


def report(run: GradingRun) -> None:
    """class.csv, and what the TA must know: incomplete notebooks, failures, the seed."""
    out, subs = run.args.out, run.subs
    write_class_csv(out, run.tasks, [s.name for s in subs], run.unsafe)
    if gradebook.wanted(run.args):  # late policy, manual points, roster, Canvas (gradebook.py)
        try:
            for line in gradebook.apply(run.args, out, [s.name for s in subs]):
                print(line, file=sys.stderr)
        except gradebook.GradebookError as exc:
            raise GradeError(str(exc)) from None
    incomplete = [s.name for s in subs if s.incomplete]
    if incomplete:
        print(
            "recsys-course grade: some notebooks could not be graded because no worker started "
            "for them (marked in their rows); run the same command again to grade them: "
            + ", ".join(incomplete),
            file=sys.stderr,
        )
    print(
        f"graded {len(subs) - run.resumed - len(run.failures)} submissions"
        + (f", kept {run.resumed} unchanged" if run.resumed else "")
        + f"; seed {run.seed}; results in {out}/<name>/results.json and {out / 'class.csv'}"
    )
    if run.failures:
        print(
            "recsys-course grade: these submissions could not be graded (a problem of the "
            "grader, not of the submission; nothing was written for them):\n  "
            + "\n  ".join(run.failures),
            file=sys.stderr,
        )
        run.exit_code = 3
    else:
        run.exit_code = 0


# A grading run, step by step (in the manner of nbgrader's preprocessors).  Per
# submission, ``grade_one`` assigns each task to a notebook (``_assign``), runs and judges
# it in a worker (``sandbox.run_tasks``), renders the feedback (``redact``, notes) and
# writes its reports.  A step that sets ``exit_code`` ends the run.
STEPS = (discover, confine_workers, grade_all, report)


def _run(args: argparse.Namespace) -> int:
    run = GradingRun(args)
    for step in STEPS:
        step(run)
        if run.exit_code is not None:
            return run.exit_code
    return 0
