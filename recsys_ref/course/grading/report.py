"""``recsys-course report``: office hours from the grades (what the class got wrong, and where
the course answers it).

    recsys-course report GRADED [GRADED ...] [--out DIR] [--threshold 3] [--top 10] [--names]

``GRADED`` is the output folder of ``recsys-course grade`` (``<name>/grading.json`` per
submission); several folders (weekly gradings, oldest first) add the change over time, and the
last one is reported in full.  A Gradescope download is accepted too: a folder of per-submission
folders, each holding the ``results.json`` of the autograder (Gradescope's results format,
``tests[]`` with ``name``, ``score``, ``max_score``, ``status``; the task id is the test name up
to its first ``:``, as ``grade`` names tests, and ``extra_data`` carries ``task``, ``status``
and ``misconception`` when ``grade`` wrote the file).  Without ``extra_data`` only passed/failed
is known: no "not started", no diagnosis.

The report works from the verdict fields only (``status``, ``misconception``, and
``diagnosis``/``diagnosis_kind`` where the grader writes them), never from the feedback
text, so no input of a grading run can reach it.  Writes into ``--out`` (default
``GRADED/_report``, a name ``grade`` never gives a submission): ``report.html`` (self-contained,
plots embedded), ``report.md``, ``report.json``, ``pass_rate.png``, ``misconceptions.png``;
prints a summary.

Privacy by default: no learner name in the report; a diagnosis fewer than ``--threshold``
learners made is merged into "other" (per task).  ``--names`` also writes
``TA-ONLY-names.md``: who made which mistake, for the TA's own use.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..engine.evaluate import CRASHED, DIAGNOSES, FAILED, MISSING, NOT_STARTED_STATUS, PASSED
from ..engine.registry import all_exercises

OTHER = "other"
UNNAMED = "unnamed"  # failed without a named diagnosis
STATUSES = (PASSED, FAILED, NOT_STARTED_STATUS, MISSING)
DEFAULT_OUT = "_report"  # grade's folder names never start with "_" (grade._safe_name)


class ReportError(Exception):
    """A folder that holds no grading results (exit code 2)."""


@dataclass(frozen=True)
class Verdict:
    """One learner's verdict on one task, as the report needs it (no message text)."""

    learner: str
    task: str
    status: str  # passed / failed / not started / missing (crashed counts as failed)
    diagnosis: str | None = None  # the named diagnosis of a failure; UNNAMED when none
    kind: str | None = None  # named / relational / near-miss / check / crash / generic


@dataclass
class Run:
    """One grading run: its label (the folder's name) and every verdict of it."""

    label: str
    folder: Path
    learners: list[str] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    source: str = "grade"
    skipped: list[str] = field(default_factory=list)  # unknown tasks, unreadable files


# ---------------------------------------------------------------- reading


def _kind_of(task: str, diagnosis: str) -> str:
    names = {m.name for m in all_exercises()[task].misconceptions}
    if diagnosis in names:
        return "named"
    return "check" if diagnosis in DIAGNOSES else "named"


# the verdict's ``kind`` (engine/verdict.py ``Kind``) → the report's kind of a diagnosis
KIND_OF_VERDICT = {
    "named misconception": "named",
    "relational": "relational",
    "near-miss": "near-miss",
    "contract": "check",
}


def verdict(learner: str, entry: dict) -> Verdict:
    """A ``Verdict`` from one task of ``grading.json`` (``Result.to_dict()``).

    Reads ``diagnosis`` (a name, or a dict with ``name`` and ``kind``) and ``diagnosis_kind``
    where present, else ``misconception`` with the verdict's ``kind``; never ``message``."""
    task, status = str(entry["task"]), str(entry["status"])
    diagnosis = entry.get("diagnosis")
    kind = entry.get("diagnosis_kind") or KIND_OF_VERDICT.get(str(entry.get("kind")))
    if isinstance(diagnosis, dict):
        kind = kind or diagnosis.get("kind")
        diagnosis = diagnosis.get("name")
    if diagnosis is None:
        diagnosis = entry.get("misconception")
    if status == CRASHED:
        status, diagnosis, kind = FAILED, diagnosis or "crashed", kind or "crash"
    if status not in STATUSES:
        status = FAILED
    if status != FAILED:
        return Verdict(learner, task, status)
    if not diagnosis:
        return Verdict(learner, task, FAILED, UNNAMED, "generic")
    return Verdict(learner, task, FAILED, str(diagnosis), str(kind or _kind_of(task, diagnosis)))


def gradescope_verdicts(learner: str, data: dict) -> list[Verdict]:
    """Verdicts from a Gradescope ``results.json`` (see the module docstring)."""
    out = []
    for test in data.get("tests", []):
        extra = test.get("extra_data") or {}
        task = str(extra.get("task") or str(test.get("name", "")).split(":", 1)[0].strip())
        if "status" in extra:
            entry = dict(extra, task=task)
        else:
            ok = test.get("status") == "passed" or (
                test.get("score") is not None and test.get("score") == test.get("max_score")
            )
            entry = {"task": task, "status": PASSED if ok else FAILED}
        out.append(verdict(learner, entry))
    return out


def load_run(folder: Path, label: str | None = None) -> Run:
    """Every verdict of a grading output folder (or a Gradescope download, module docstring)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReportError(
            f"{folder} is not a folder (give the --out folder of `recsys-course grade`)"
        )
    run = Run(label or folder.name, folder)
    known = all_exercises()
    gradescope = unreadable = 0
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("_")):
        grading, results = sub / "grading.json", sub / "results.json"
        try:
            if grading.is_file():
                data = json.loads(grading.read_text(encoding="utf-8"))
                got = [verdict(sub.name, t) for t in data["tasks"]]
            elif results.is_file():
                got = gradescope_verdicts(sub.name, json.loads(results.read_text(encoding="utf-8")))
                gradescope += 1
            else:
                continue
        except (OSError, ValueError, KeyError, TypeError):
            unreadable += 1  # counted, never named: the report names no learner
            continue
        run.learners.append(sub.name)
        for v in got:
            if v.task in known:
                run.verdicts.append(v)
            elif f"unknown task {v.task}" not in run.skipped:
                run.skipped.append(f"unknown task {v.task}")
    if unreadable:
        run.skipped.append(f"{unreadable} submission folder(s) with unreadable results")
    if not run.learners:
        raise ReportError(
            f"{folder} holds no grading results: expected <submission>/grading.json "
            "(the --out folder of `recsys-course grade`) or <submission>/results.json "
            "(a Gradescope download)"
        )
    run.source = "gradescope" if gradescope == len(run.learners) else "grade"
    return run


# ---------------------------------------------------------------- counting


def course_tasks(runs: list[Run]) -> list[str]:
    """The tasks graded in any run, in course order."""
    seen = {v.task for r in runs for v in r.verdicts}
    return [t for t in all_exercises() if t in seen]


def class_table(run: Run, tasks: list[str]) -> list[dict]:
    """Per task: learners, submitted (passed + failed + not started), each status, pass rate
    (passed over the learners of the run)."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for v in run.verdicts:
        counts[v.task][v.status] += 1
    rows = []
    for t in tasks:
        ex = all_exercises()[t]
        c = counts[t]
        learners = sum(c[s] for s in STATUSES)
        rows.append(
            {
                "task": t,
                "notebook": ex.notebook,
                "title": ex.title,
                "kind": ex.kind,
                "learners": learners,
                "submitted": c[PASSED] + c[FAILED] + c[NOT_STARTED_STATUS],
                "passed": c[PASSED],
                "failed": c[FAILED],
                "not_started": c[NOT_STARTED_STATUS],
                "missing": c[MISSING],
                "pass_rate": c[PASSED] / learners if learners else 0.0,
            }
        )
    return rows


def diagnosis_counts(run: Run) -> dict[str, Counter]:
    """Task → Counter of (diagnosis, kind) over the learners who failed it."""
    out: dict[str, Counter] = defaultdict(Counter)
    for v in run.verdicts:
        if v.status == FAILED:
            out[v.task][(v.diagnosis, v.kind)] += 1
    return out


def misconception_table(
    run: Run, tasks: list[str], threshold: int = 3, notebooks: Path | None = None
) -> list[dict]:
    """Per task, each diagnosis with its count and share of the learners who failed the task,
    what it means (the spec's sentence), the equation and the walkthrough pointers.

    A diagnosis made by fewer than ``threshold`` learners is merged into "other"."""
    from .pointers import describe, walkthrough

    rows = []
    by_task = diagnosis_counts(run)
    for t in tasks:
        ex = all_exercises()[t]
        counts = by_task.get(t, Counter())
        failed = sum(counts.values())
        other = 0
        for (diagnosis, kind), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0])):
            if n < threshold:
                other += n
                continue
            rows.append(
                {
                    "task": t,
                    "notebook": ex.notebook,
                    "diagnosis": diagnosis,
                    "kind": kind,
                    "count": n,
                    "share_of_failed": n / failed,
                    "equation": ex.where,
                    "meaning": describe(t, None if diagnosis == UNNAMED else diagnosis),
                    "pointers": walkthrough(t, diagnosis, notebooks),
                }
            )
        if other:
            rows.append(
                {
                    "task": t,
                    "notebook": ex.notebook,
                    "diagnosis": OTHER,
                    "kind": None,
                    "count": other,
                    "share_of_failed": other / failed,
                    "equation": ex.where,
                    "meaning": f"diagnoses made by fewer than {threshold} learners each",
                    "pointers": walkthrough(t, None, notebooks),
                }
            )
    return rows


def agenda(mistakes: list[dict], table: list[dict], top: int = 10) -> dict:
    """The office-hour agenda: the ``top`` mistakes ranked by learners blocked (course order on
    ties), then grouped by notebook in course order; and the tasks nobody has started."""
    order = {t: i for i, t in enumerate(all_exercises())}
    ranked = sorted(
        (m for m in mistakes if m["diagnosis"] != OTHER),
        key=lambda m: (-m["count"], order[m["task"]], str(m["diagnosis"])),
    )[:top]
    for rank, m in enumerate(ranked, 1):
        m["rank"] = rank
    groups: dict[str, list[dict]] = {}
    for m in sorted(ranked, key=lambda m: (order[m["task"]], m["rank"])):
        groups.setdefault(m["notebook"], []).append(m)
    nobody = [r["task"] for r in table if r["learners"] and r["passed"] + r["failed"] == 0]
    return {
        "ranked": [(m["task"], m["diagnosis"]) for m in ranked],
        "notebooks": [{"notebook": nb, "items": items} for nb, items in groups.items()],
        "nobody_started": nobody,
    }


def trend(runs: list[Run], tasks: list[str], threshold: int = 3) -> list[dict]:
    """Per task, each run's pass rate, its change from the run before, and its top mistakes
    (up to three, each made by at least ``threshold`` learners)."""
    tables = [{r["task"]: r for r in class_table(run, tasks)} for run in runs]
    counts = [diagnosis_counts(run) for run in runs]
    out = []
    for t in tasks:
        cells, previous = [], None
        for run, table, c in zip(runs, tables, counts, strict=True):
            row = table[t]
            top = [[d, n] for (d, _), n in c.get(t, Counter()).most_common() if n >= threshold]
            rate = row["pass_rate"] if row["learners"] else None
            cells.append(
                {
                    "run": run.label,
                    "learners": row["learners"],
                    "pass_rate": rate,
                    "change": None if rate is None or previous is None else rate - previous,
                    "top_mistake": top[0][0] if top else None,
                    "top_count": top[0][1] if top else 0,
                    "top_mistakes": top[:3],
                }
            )
            previous = rate if rate is not None else previous
        out.append({"task": t, "runs": cells})
    return out


def names(run: Run) -> dict[str, dict[str, list[str]]]:
    """Task → diagnosis → the learners who made it (for the TA only; never merged)."""
    out: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for v in run.verdicts:
        if v.status == FAILED:
            out[v.task][str(v.diagnosis)].append(v.learner)
    return {t: dict(d) for t, d in out.items()}


def build_report(
    runs: list[Run], *, threshold: int = 3, top: int = 10, notebooks: Path | None = None
) -> dict:
    """The whole report as plain data (what report.json holds); the last run is reported."""
    if threshold < 1:
        raise ReportError("--threshold must be at least 1")
    run = runs[-1]
    tasks = course_tasks(runs)
    table = class_table(run, tasks)
    mistakes = misconception_table(run, tasks, threshold, notebooks)
    return {
        "run": run.label,
        "source": run.source,
        "learners": len(run.learners),
        "threshold": threshold,
        "notebooks": str(notebooks) if notebooks else None,
        "skipped": run.skipped,
        "class_table": table,
        "misconceptions": mistakes,
        "agenda": agenda(mistakes, table, top),
        "runs": [r.label for r in runs],
        "trend": trend(runs, tasks, threshold) if len(runs) > 1 else [],
    }


# ---------------------------------------------------------------- command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "graded",
        nargs="+",
        type=Path,
        metavar="GRADED",
        help="the --out folder of `recsys-course grade` (or a Gradescope download); several "
        "folders, oldest first, show the change over time",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help=f"where to write (default: GRADED/{DEFAULT_OUT})"
    )
    parser.add_argument(
        "--threshold",
        type=int,
        default=3,
        help="merge diagnoses made by fewer learners than this into 'other' (default 3)",
    )
    parser.add_argument("--top", type=int, default=10, help="mistakes on the agenda (default 10)")
    parser.add_argument(
        "--notebooks",
        type=Path,
        default=None,
        help="the learner notebooks the pointers refer to (default: the course's notebooks/)",
    )
    parser.add_argument(
        "--names",
        action="store_true",
        help="also write TA-ONLY-names.md: who made which mistake (never share it)",
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the matplotlib plots")


def run(args: argparse.Namespace) -> int:
    from . import report_render
    from .pointers import default_notebooks

    try:
        runs = [load_run(folder) for folder in args.graded]
        notebooks = args.notebooks if args.notebooks is not None else default_notebooks()
        data = build_report(runs, threshold=args.threshold, top=args.top, notebooks=notebooks)
        out = args.out or args.graded[-1] / DEFAULT_OUT
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ReportError(f"cannot write to {out} ({exc})") from exc
    except ReportError as exc:
        print(f"recsys-course report: {exc}", file=sys.stderr)
        return 2
    written = report_render.write(data, out, plots=not args.no_plots)
    if args.names:
        path = out / "TA-ONLY-names.md"
        path.write_text(report_render.names_markdown(names(runs[-1]), data), encoding="utf-8")
        written.append(path)
    print(report_render.terminal(data))
    print("\nwrote " + ", ".join(str(p) for p in written))
    return 0
