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

Exit code: 0 when grading ran (whatever the scores); 2 for a usage problem
(no submissions, an unwritable output folder, an unknown task, the refusal
above); 3 when no worker can start at all, or the grader failed on a
submission (its own bug: the other submissions are still graded); 130 after
Ctrl-C.  A notebook whose worker does not start after retries is marked in its
rows and regraded by the next run.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import secrets
import shutil
import stat
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..engine.evaluate import CRASHED, MISSING, Result
from ..engine.registry import all_exercises, get
from ..engine.verdict import render as render_verdict
from ..nbtools.notebook import NotebookError, find_exercise, read_notebook
from ..sandbox.client import (
    LEARNER_TEXT_LIMIT,
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
from ..sandbox.isolation import describe_layers, refusal
from . import answers, gradebook

__all__ = [
    "add_arguments",
    "run",
    "Submission",
    "find_submissions",
    "grade_submission",
    "GRADER_VERSION",
]

GRADER_VERSION = 2
ZIP_MAX_BYTES = 200 * 2**20  # uncompressed notebooks extracted from one zip
ZIP_MAX_MEMBERS = 2000
RESERVED = {"class.csv", "class.json"}  # files of the output folder, never a submission's folder
UNSAFE_MARK = "UNSAFE: graded with --unsafe-no-sandbox, learners' code was not confined"
SKIP_DIRS = {".ipynb_checkpoints", "__MACOSX", ".git", ".backups"}
NOTEBOOK_MAX_BYTES = 50 * 2**20  # one notebook of a folder or a zip (read whole by the parent)


class GradeError(Exception):
    """A problem with the command line or the output folder (exit code 2)."""


# ---------------------------------------------------------------- submissions


@dataclass
class Submission:
    """One learner's work: its name (results folder), where it came from, its notebooks."""

    name: str
    source: Path
    notebooks: list[Path] = field(default_factory=list)
    root: Path | None = None  # folder the notebooks are relative to
    problem: str = ""  # why nothing could be read (a bad zip, an empty folder)
    cleanup: list[Path] = field(default_factory=list)  # temporary extraction folders
    notes: list[str] = field(default_factory=list)  # what was skipped, and why
    incomplete: bool = False  # a notebook could not be graded (grader problem): regrade on resume

    def relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root)) if self.root else path.name
        except ValueError:
            return path.name

    def content_hash(self) -> str:
        h = hashlib.sha256()
        if self.source.is_file():
            h.update(b"file\0" + self.source.read_bytes())
        for p in sorted(self.notebooks, key=self.relative):
            h.update(self.relative(p).encode() + b"\0")
            try:
                h.update(p.read_bytes())
            except OSError:
                h.update(b"<unreadable>")
        return h.hexdigest()


def _notebooks_in(folder: Path, notes: list[str] | None = None) -> list[Path]:
    """The notebooks below ``folder``; symbolic links (files or folders) are skipped."""
    found = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        for d in list(dirnames):
            if (here / d).is_symlink() and notes is not None:
                notes.append(f"{(here / d).relative_to(folder)}/ is a symbolic link: skipped")
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in SKIP_DIRS and not d.startswith(".") and not (here / d).is_symlink()
        )
        for f in sorted(filenames):
            if not f.endswith(".ipynb") or f.startswith("."):
                continue
            try:
                st = os.lstat(here / f)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                if notes is not None:
                    notes.append(
                        f"{(here / f).relative_to(folder)} is a symbolic link or not a "
                        "regular file: skipped (submit the notebook itself)"
                    )
                continue
            if st.st_size > NOTEBOOK_MAX_BYTES or total + st.st_size > ZIP_MAX_BYTES:
                if notes is not None:
                    notes.append(
                        f"{(here / f).relative_to(folder)} is larger than "
                        f"{NOTEBOOK_MAX_BYTES // 2**20} MB (or the notebooks together exceed "
                        f"{ZIP_MAX_BYTES // 2**20} MB): skipped (clear the outputs and resubmit)"
                    )
                continue
            total += st.st_size
            found.append(here / f)
    return found


def _safe_name(name: str) -> str:
    name = re.sub(r"[^\w.@+-]+", "_", name, flags=re.UNICODE).strip("._") or "submission"
    return name[:100]


def _extract_zip(path: Path) -> tuple[Path, str]:
    """Extract the notebooks of ``path`` into a new temp folder; (folder, problem)."""
    target = Path(tempfile.mkdtemp(prefix="recsys-grade-zip-"))
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > ZIP_MAX_MEMBERS:
                return target, f"the zip holds more than {ZIP_MAX_MEMBERS} files"
            total = 0
            for info in infos:
                name = info.filename.replace("\\", "/")
                parts = PurePosixPath(name).parts
                if info.is_dir() or not name.endswith(".ipynb"):
                    continue
                if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
                    continue  # path traversal: ignored, never extracted
                if any(p in SKIP_DIRS or p.startswith(".") for p in parts):
                    continue
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    continue  # a symbolic link
                if info.file_size > NOTEBOOK_MAX_BYTES:
                    continue  # skipped like an oversized notebook of a folder
                total += info.file_size
                if total > ZIP_MAX_BYTES:
                    return target, f"the notebooks in the zip exceed {ZIP_MAX_BYTES // 2**20} MB"
                dest = target.joinpath(*parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(dest, "wb") as out:
                    copied = 0
                    while chunk := src.read(1 << 20):
                        copied += len(chunk)
                        if copied > info.file_size or copied > ZIP_MAX_BYTES:
                            return target, "a file in the zip is larger than it declares"
                        out.write(chunk)
                try:  # the zip's own date: "the newest copy" must mean the learner's newest
                    stamp = time.mktime((*info.date_time, 0, 0, -1))
                    os.utime(dest, (stamp, stamp))
                except (OverflowError, ValueError, OSError):
                    pass
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
        return target, f"the zip cannot be read ({type(exc).__name__}: {exc})"
    return target, ""


def _submission(path: Path) -> Submission:
    if path.suffix.lower() == ".zip" and path.is_file():
        folder, problem = _extract_zip(path)
        sub = Submission(path.stem, path, _notebooks_in(folder), folder, problem, [folder])
    elif path.is_dir():
        notes: list[str] = []
        sub = Submission(path.name, path, _notebooks_in(path, notes), path, notes=notes)
        for z in sorted(path.glob("*.zip")):  # e.g. Gradescope's folder holding an uploaded zip
            try:
                regular = stat.S_ISREG(os.lstat(z).st_mode)
            except OSError:
                regular = False
            if not regular:  # a link could name a classmate's zip
                sub.notes.append(f"{z.name} is a symbolic link or not a regular file: skipped")
                continue
            folder, problem = _extract_zip(z)
            sub.cleanup.append(folder)
            sub.notebooks += _notebooks_in(folder)
            if problem and not sub.notebooks:
                sub.problem = f"{z.name}: {problem}"
    else:
        sub = Submission(path.stem, path, [path], path.parent)
    if not sub.notebooks and not sub.problem:
        sub.problem = "no notebook (.ipynb) was found in it"
    return sub


def find_submissions(paths: Iterable[Path]) -> list[Submission]:
    """One submission per path named on the command line, in that order."""
    subs: list[Submission] = []
    for p in paths:
        if not p.exists():
            raise GradeError(f"{p} does not exist")
        if p.is_dir() or p.suffix.lower() in (".ipynb", ".zip"):
            subs.append(_submission(p))
        else:
            raise GradeError(f"{p} is not a notebook, a folder or a .zip")
    taken: set[str] = set()
    for s in subs:  # distinct result folders, in the order given
        base = _safe_name(s.name)
        name, n = base, 1
        while name.casefold() in taken or name.casefold() in RESERVED:  # also on case-blind disks
            n += 1
            name = f"{base}-{n}"
        taken.add(name.casefold())
        s.name = name
    return subs


def parse_tasks(spec: str | None) -> list[str]:
    """The graded tasks: ``--tasks`` (task ids or notebook names, comma-separated), else every
    task of the course's registry.  Never what a learner's notebook says."""
    exercises = all_exercises()
    if not spec:
        return list(exercises)
    tasks: list[str] = []
    for item in (t.strip() for t in spec.split(",")):
        if not item:
            continue
        named = [t for t, ex in exercises.items() if ex.notebook == item.removesuffix(".ipynb")]
        if item in exercises:
            named = [item]
        if not named:
            notebooks = sorted({ex.notebook for ex in exercises.values()})
            raise GradeError(
                f"unknown task or notebook {item!r}; the course has the tasks "
                f"{', '.join(exercises)} in the notebooks {', '.join(notebooks)}"
            )
        tasks += [t for t in named if t not in tasks]
    return tasks


# ---------------------------------------------------------------- grading


@dataclass
class Options:
    seed: int
    task_timeout: float = TASK_TIMEOUT
    total_timeout: float = TOTAL_TIMEOUT
    memory_mb: int = MEMORY_MB
    unsafe: bool = False


def _assign(
    sub: Submission, tasks: list[str]
) -> tuple[dict[Path, list[str]], dict[str, Result], dict[str, str]]:
    """Which notebook of ``sub`` holds each task, a ``Result`` for each task found nowhere,
    and a note per task whose other candidates were ignored.

    Among the notebooks that hold the task's cell, the one named exactly like the
    course's notebook wins, then the newest (a JupyterLab "-Copy1" or an older
    copy in a subfolder loses, and is named in the note).
    """
    exercises = all_exercises()
    readable: dict[Path, object] = {}
    errors: dict[Path, str] = {}
    for p in sub.notebooks:
        try:
            readable[p] = read_notebook(p)
        except NotebookError as exc:
            errors[p] = str(exc).replace(str(p), sub.relative(p))

    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0

    plan: dict[Path, list[str]] = {}
    unfound: dict[str, Result] = {}
    notes: dict[str, str] = {}
    for t in tasks:
        ex = exercises[t]
        holding = [p for p in readable if find_exercise(readable[p], t, ex.func_name) is not None]
        if holding:
            holding.sort(
                key=lambda p: (p.name != f"{ex.notebook}.ipynb", -mtime(p), sub.relative(p))
            )
            plan.setdefault(holding[0], []).append(t)
            if len(holding) > 1:
                why = (
                    "named exactly like the course's notebook"
                    if holding[0].name == f"{ex.notebook}.ipynb" != holding[1].name
                    else "the newest copy"
                )
                notes[t] = (
                    f"graded {sub.relative(holding[0])} ({why}); ignored "
                    + ", ".join(sub.relative(p) for p in holding[1:4])
                    + (" and others" if len(holding) > 4 else "")
                )
            continue
        damaged = [p for p in errors if p.stem == ex.notebook] or list(errors)
        if damaged:  # the task's notebook (or, unnamed, some notebook) cannot be read
            unfound[t] = Result(t, CRASHED, f"! {t}: {errors[damaged[0]]}", 0.0, ex.points)
        else:
            unfound[t] = Result(
                t,
                MISSING,
                f"? {t}: notebook {ex.notebook}.ipynb is not in the submission and no "
                f"other notebook defines {ex.func_name}.",
                0.0,
                ex.points,
            )
    return plan, unfound, notes


def redact(result: Result) -> str:
    """Feedback without anything the learner's code could have chosen to leak (see module doc):
    written from the verdict's fields by ``render``, never by rewriting its sentence."""
    return render_verdict(result, redact=True, clean=clean_text, limit=LEARNER_TEXT_LIMIT)


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
            results[r.task_id] = feedback(r, sub, path, notes.get(r.task_id, ""), opts)
    return [results[t] for t in tasks]


def feedback(r: Result, sub: Submission, path: Path, note: str, opts: Options) -> Result:
    """The feedback a learner sees: redacted, the notebook named when it is not the
    course's, the assignment note, the unsafe mark; every learner-influenced part cut."""
    r.message = redact(r)
    if len(sub.notebooks) > 1 and path.name != f"{get(r.task_id).notebook}.ipynb":
        r.message += f" [{clean_text(sub.relative(path), 200)}]"
    if note:
        r.message += f" (note: {clean_text(note, 600)})"
    if opts.unsafe:
        r.message += f" [{UNSAFE_MARK}]"
    return r


# ---------------------------------------------------------------- outputs


def _test_name(t: str) -> str:
    ex = get(t)
    return f"{t}: {ex.title} ({ex.func_name}, {ex.notebook})"


def gradescope(results: list[Result], seconds: float, notes: list[str] = ()) -> dict:
    """Gradescope's results.json: score, tests[] with name, score, max_score, status, output."""
    tests = [
        {
            "name": _test_name(r.task_id),
            "score": r.points,
            "max_score": r.max_points,
            "status": "passed" if r.passed else "failed",
            "output": f"[{r.status}] {r.message}",
            "visibility": "visible",
            # the verdict as data, for `recsys-course report` on a Gradescope download
            "extra_data": {"task": r.task_id, "status": r.status, "misconception": r.misconception},
        }
        for r in results
    ]
    score = sum(r.points for r in results)
    total = sum(r.max_points for r in results)
    done = sum(r.passed for r in results)
    return {
        "score": score,
        "execution_time": round(seconds, 2),
        "output": f"{done} of {len(results)} tasks passed ({score:g}/{total:g} points). "
        "Each task ran on fresh inputs drawn for this grading run."
        + "".join(f" Note: {clean_text(n, 400)}." for n in notes[:10]),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def table(name: str, results: list[Result], width: int = 110) -> str:
    """The terminal table of one submission."""
    score = sum(r.points for r in results)
    total = sum(r.max_points for r in results)
    tw = max([4] + [len(r.task_id) for r in results])
    lines = [
        f"{clean_text(name, 200)}: {score:g}/{total:g} points",
        f"  {'task':<{tw}}  points  {'status':<11}  feedback",
    ]
    for r in results:
        msg = clean_text(r.message.replace("\n", " "), 10**6)
        room = max(20, width - tw - 26)
        msg = msg if len(msg) <= room else msg[: room - 1] + "…"
        lines.append(
            f"  {r.task_id:<{tw}}  {r.points:>2g}/{r.max_points:<3g} {r.status:<11}  {msg}"
        )
    return "\n".join(lines)


def csv_cell(text: str) -> str:
    """A learner-influenced CSV cell a spreadsheet shows as text: a leading ``= + - @``,
    tab or carriage return (a formula, or a formula's smuggled start) gets a ``'``."""
    text = clean_text(text, 200)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_class_csv(out: Path, tasks: list[str], names: list[str], unsafe: bool = False) -> None:
    """DIR/class.csv from the results.json files of ``names`` (in that order)."""
    rows = []
    for name in names:
        try:
            data = json.loads((out / name / "grading.json").read_text(encoding="utf-8"))
            points = {t["task"]: float(t["points"]) for t in data["tasks"]}
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not graded yet (or damaged): no row
        rows.append(
            [csv_cell(name)]
            + [f"{points.get(t, 0):g}" for t in tasks]
            + [f"{sum(points.get(t, 0) for t in tasks):g}"]
        )
    path = out / "class.csv"
    tmp = out / f".class.csv.{os.getpid()}.tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([f"submission ({UNSAFE_MARK})" if unsafe else "submission"] + tasks + ["total"])
        w.writerows(rows)
    os.replace(tmp, path)


def _already_graded(
    out: Path, sub: Submission, digest: str, tasks: list[str]
) -> list[Result] | None:
    """The stored results when this exact submission was graded on these tasks before."""
    meta, res = out / sub.name / "grading.json", out / sub.name / "results.json"
    if not (meta.exists() and res.exists()):
        return None
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
        json.loads(res.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if (
        data.get("content_hash") != digest
        or data.get("task_ids") != tasks
        or data.get("grader_version") != GRADER_VERSION
        or data.get("incomplete")
        or data.get("submission") != str(sub.source)
    ):
        return None
    try:
        return [
            Result(
                t["task"],
                t["status"],
                t["message"],
                t["points"],
                t["max_points"],
                t.get("misconception"),
            )
            for t in data["tasks"]
        ]
    except (KeyError, TypeError):
        return None


# ---------------------------------------------------------------- command


def describe_limits(limits: dict, args: argparse.Namespace) -> str:
    """The run's header for the TA: the isolation layers and limits the workers got here."""
    parts = [
        f"{args.task_timeout:g} s per task, {args.total_timeout:g} s per submission",
        f"+{args.memory_mb} MB of address space"
        if limits.get("address_space")
        else "NO memory limit",
        "seccomp on" if limits.get("seccomp") else "NO seccomp",
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
    """The submissions on the command line, the task list, the seed; a usable --out."""
    args = run.args
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
