"""After grading: late policy, manual points, roster and an LMS export (``recsys-course grade``).

The grader (grade.py) writes ``DIR/<name>/results.json`` (Gradescope's format),
``DIR/<name>/grading.json`` and ``DIR/class.csv``.  :func:`apply` then adjusts
them for what a TA configures, and can be re-run on the same folder (it starts
from the grader's own score each time, kept in ``results.json`` as
``"grader"``):

- **Late policy** (``--late-policy PERCENT[,max=PERCENT][,grace=MINUTES]``): a
  submission handed in after its due date loses ``PERCENT`` of its score per
  started day late, at most ``max`` (default 100).  The dates come from
  Gradescope's ``submission_metadata.json``: ``created_at`` (when it was
  submitted) against the learner's own ``users[].assignment.due_date`` (which
  carries an extension) or else ``assignment.due_date``.  The file is read from
  ``--metadata FILE`` (on Gradescope: ``/autograder/submission_metadata.json``)
  or from the submission's own folder.
- **Manual points** (``--manual CSV``, columns ``submission,task,points`` and
  optionally ``max_points``, ``comment``): rubric or hand-graded points per
  learner and task.  Each row becomes a test named ``<task> (manual)`` in
  ``results.json`` and a ``manual:<task>`` column in ``class.csv``; totals
  include them.  ``submission`` is the grader's name for the submission, or a
  student id or email the roster maps to one.
- **Roster** (``--roster CSV`` with ``submission`` and any of ``student_id``,
  ``email``, ``name``; and Gradescope's ``users[]`` of the metadata):
  ``class.csv`` gains ``student_id``, ``email`` and ``name`` columns.
- **Canvas** (``--canvas CSV``, ``--canvas-column "Assignment name (id)"``):
  Canvas's gradebook import shape: ``Student, ID, SIS User ID, SIS Login ID,
  Section`` and one column of points, a "Points Possible" row first.

Every rule is printed in the adjusted ``output`` (learners see why a score
changed) and summarised on stderr for the TA.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

METADATA = "submission_metadata.json"
DAY_S = 86400.0


class GradebookError(ValueError):
    """A TA's file or option that cannot be used as given (the message says what was expected)."""


# --- options --------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("after grading (INSTRUCTORS.md, 'Late work, manual points')")
    g.add_argument(
        "--late-policy",
        default=None,
        metavar="PERCENT[,max=P][,grace=MIN]",
        help="take PERCENT of the score per started day late (Gradescope metadata dates)",
    )
    g.add_argument(
        "--metadata",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"Gradescope's {METADATA} for every submission of this run "
        f"(default: a {METADATA} in each submission's folder)",
    )
    g.add_argument("--manual", type=Path, default=None, metavar="CSV", help="manual points")
    g.add_argument("--roster", type=Path, default=None, metavar="CSV", help="roster to join")
    g.add_argument("--canvas", type=Path, default=None, metavar="CSV", help="Canvas CSV to write")
    g.add_argument(
        "--canvas-column",
        default="recsys-course",
        help="the Canvas assignment column, as Canvas exports it, e.g. 'Week 3 (1234)'",
    )


def wanted(args: argparse.Namespace) -> bool:
    return any(
        getattr(args, k, None) is not None
        for k in ("late_policy", "metadata", "manual", "roster", "canvas")
    )


@dataclass(frozen=True)
class LatePolicy:
    percent_per_day: float
    max_percent: float = 100.0
    grace_minutes: float = 0.0

    def penalty(self, late_seconds: float) -> float:
        """The fraction of the score taken for ``late_seconds`` past the due date (0 … 1)."""
        late = late_seconds - 60.0 * self.grace_minutes
        if late <= 0:
            return 0.0
        days = math.ceil(late / DAY_S)
        return min(self.max_percent, self.percent_per_day * days) / 100.0

    def describe(self) -> str:
        text = f"{self.percent_per_day:g} % per started day late, at most {self.max_percent:g} %"
        return text + (f", {self.grace_minutes:g} min grace" if self.grace_minutes else "")


def parse_late_policy(text: str) -> LatePolicy:
    """``"10"``, ``"10,max=50"``, ``"10,max=50,grace=15"`` → a policy."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        per_day = float(parts[0].rstrip("%"))
        opts = {}
        for p in parts[1:]:
            key, value = p.split("=", 1)
            if key not in ("max", "grace"):
                raise ValueError(key)
            opts[key] = float(value.rstrip("%"))
    except (IndexError, ValueError):
        raise GradebookError(
            f"--late-policy {text!r}: expected PERCENT[,max=PERCENT][,grace=MINUTES], "
            "e.g. 10,max=50,grace=15"
        ) from None
    policy = LatePolicy(per_day, opts.get("max", 100.0), opts.get("grace", 0.0))
    if not (0 <= policy.percent_per_day <= 100 and 0 <= policy.max_percent <= 100):
        raise GradebookError(f"--late-policy {text!r}: percentages must lie in 0 … 100")
    return policy


# --- Gradescope's metadata --------------------------------------------------------------------


def _when(text: str, where: str) -> datetime:
    try:
        when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise GradebookError(f"{where}: {text!r} is not an ISO 8601 date and time") from None
    if when.tzinfo is None:
        raise GradebookError(f"{where}: {text!r} has no time zone (Gradescope writes one)")
    return when


def read_metadata(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GradebookError(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(data, dict) or "created_at" not in data:
        raise GradebookError(f"{path}: expected Gradescope's {METADATA} (with 'created_at')")
    return data


def late_seconds(meta: dict, where: str = METADATA) -> float | None:
    """Seconds past the due date (negative: early); None when no due date is given."""
    created = _when(meta["created_at"], f"{where}, created_at")
    due = None
    for user in meta.get("users") or []:  # a user's own due date carries an extension
        own = (user.get("assignment") or {}).get("due_date")
        if own:
            when = _when(own, f"{where}, users[].assignment.due_date")
            due = when if due is None else max(due, when)
    if due is None:
        text = (meta.get("assignment") or {}).get("due_date")
        if not text:
            return None
        due = _when(text, f"{where}, assignment.due_date")
    return (created - due).total_seconds()


def metadata_people(meta: dict) -> list[dict]:
    """Gradescope's submitters as roster rows (student_id, email, name)."""
    return [
        {
            "student_id": str(u.get("sid") or ""),
            "email": u.get("email") or "",
            "name": u.get("name") or "",
        }
        for u in meta.get("users") or []
    ]


# --- TA files ---------------------------------------------------------------------------------


def _read_csv(path: Path, need: set[str], what: str) -> list[dict]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            header = set(reader.fieldnames or [])
    except OSError as exc:
        raise GradebookError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    missing = need - {h.strip() for h in header if h}
    if missing:
        raise GradebookError(
            f"{path}: the {what} needs the column(s) {', '.join(sorted(missing))} "
            f"(found: {', '.join(sorted(h for h in header if h)) or 'none'})"
        )
    return [{(k or "").strip(): (v or "").strip() for k, v in r.items()} for r in rows]


def read_roster(path: Path) -> list[dict]:
    rows = _read_csv(path, {"submission"}, "roster")
    return [
        {
            "submission": r["submission"],
            "student_id": r.get("student_id", ""),
            "email": r.get("email", ""),
            "name": r.get("name", ""),
        }
        for r in rows
    ]


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise GradebookError(f"{where}: {text!r} is not a number of points") from None
    if not math.isfinite(value):
        raise GradebookError(f"{where}: {text!r} is not a finite number of points")
    return value


def read_manual(path: Path, names: list[str], people: dict[str, dict]) -> dict[str, list[dict]]:
    """Submission name → its manual rows (task, points, max_points, comment)."""
    rows = _read_csv(path, {"submission", "task", "points"}, "manual points CSV")
    by_key = {name: name for name in names}
    for name, person in people.items():
        for key in ("student_id", "email"):
            if person.get(key):
                by_key.setdefault(person[key].lower() if key == "email" else person[key], name)
    out: dict[str, list[dict]] = {}
    for i, r in enumerate(rows, start=2):
        where = f"{path}, line {i}"
        key = r["submission"]
        found = by_key.get(key) or by_key.get(key.lower())
        if found is None:
            raise GradebookError(
                f"{where}: no graded submission, student id or email {key!r} "
                "(names are the folders of the output; ids and emails come from the roster)"
            )
        if not re.fullmatch(r"[\w.-]+", r["task"]):
            raise GradebookError(f"{where}: task {r['task']!r} is not a task or rubric item name")
        points = _number(r["points"], where)
        top = _number(r["max_points"], where) if r.get("max_points") else points
        out.setdefault(found, []).append(
            {
                "task": r["task"],
                "points": points,
                "max_points": top,
                "comment": r.get("comment", ""),
            }
        )
    return out


# --- applying ---------------------------------------------------------------------------------


def _adjust(result: dict, manual: list[dict], penalty: float, late_note: str) -> dict:
    grader = result.get("grader") or {
        "score": result["score"],
        "output": result.get("output", ""),
        "tests": result.get("tests", []),
    }
    tests = list(grader["tests"]) + [
        {
            "name": f"{m['task']} (manual)",
            "score": m["points"],
            "max_score": m["max_points"],
            "status": "passed" if m["points"] >= m["max_points"] else "failed",
            "output": m["comment"] or "graded by hand",
            "visibility": "visible",
        }
        for m in manual
    ]
    raw = float(grader["score"]) + sum(m["points"] for m in manual)
    score = round(raw * (1.0 - penalty), 4)
    output = grader["output"]
    if manual:
        output += f" Manual points: {sum(m['points'] for m in manual):g}."
    if late_note:
        output += " " + late_note
    return {**result, "score": score, "output": output, "tests": tests, "grader": grader}


def _people(names: list[str], roster: list[dict], metas: dict[str, dict]) -> dict[str, dict]:
    people = {}
    for r in roster:
        people[r["submission"]] = r
    for name, meta in metas.items():
        found = metadata_people(meta)
        if found and name not in people:
            people[name] = {
                "submission": name,
                "student_id": "; ".join(p["student_id"] for p in found),
                "email": "; ".join(p["email"] for p in found),
                "name": "; ".join(p["name"] for p in found),
            }
    return {n: p for n, p in people.items() if n in names}


def apply(args: argparse.Namespace, out: Path, names: list[str]) -> list[str]:
    """Adjust results.json and class.csv in ``out``; returns one summary line per change."""
    policy = parse_late_policy(args.late_policy) if args.late_policy else None
    metas: dict[str, dict] = {}
    for name in names:
        path = args.metadata
        if path is None:
            source = _submission_source(out / name)
            if source is not None and (source / METADATA).is_file():
                path = source / METADATA
        if path is not None:
            metas[name] = read_metadata(path)
    roster = read_roster(args.roster) if args.roster else []
    people = _people(names, roster, metas)
    manual = read_manual(args.manual, names, people) if args.manual else {}
    summary = []
    finals: dict[str, float] = {}
    for name in names:
        path = out / name / "results.json"
        if not path.is_file():
            continue
        result = json.loads(path.read_text(encoding="utf-8"))
        penalty, note = 0.0, ""
        if policy is not None and name in metas:
            late = late_seconds(metas[name], str(args.metadata or name))
            if late is not None and late > 0:
                penalty = policy.penalty(late)
                note = (
                    f"Late by {_duration(late)}: -{100 * penalty:g} % "
                    f"(late policy: {policy.describe()})."
                )
                summary.append(f"{name}: {note}")
        rows = manual.get(name, [])
        if rows:
            summary.append(
                f"{name}: {len(rows)} manual row(s), {sum(r['points'] for r in rows):g} points"
            )
        adjusted = _adjust(result, rows, penalty, note)
        _write(path, json.dumps(adjusted, indent=1, ensure_ascii=False) + "\n")
        finals[name] = adjusted["score"]
    manual_tasks = sorted({r["task"] for rows in manual.values() for r in rows})
    _extend_class_csv(out, people, manual, manual_tasks, finals)
    if args.canvas is not None:
        _write_canvas(args.canvas, args.canvas_column, names, people, finals, out)
        summary.append(f"Canvas gradebook CSV: {args.canvas}")
    return summary


def _submission_source(folder: Path) -> Path | None:
    try:
        data = json.loads((folder / "grading.json").read_text(encoding="utf-8"))
        source = Path(data["submission"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return source if source.is_dir() else source.parent


def _duration(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days} d {hours} h" if days else f"{hours} h {rest // 60} min"


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _extend_class_csv(
    out: Path,
    people: dict[str, dict],
    manual: dict[str, list[dict]],
    manual_tasks: list[str],
    finals: dict[str, float],
) -> None:
    """class.csv: roster columns after the submission, manual columns, total = the final score."""
    path = out / "class.csv"
    if not path.is_file():
        return
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    # columns of an earlier run of this function are dropped, then written again
    extra = {"student_id", "email", "name"} | {f"manual:{t}" for t in manual_tasks}
    extra |= {h for h in header if h.startswith("manual:")}
    keep = [
        i for i, h in enumerate(header) if h not in extra and h not in ("total", "late_penalty")
    ]
    tasks = [header[i] for i in keep[1:]]
    new_header = [header[0], "student_id", "email", "name", *tasks]
    new_header += [f"manual:{t}" for t in manual_tasks] + ["total"]
    lines = [new_header]
    for row in body:
        name = row[0]
        person = people.get(name, {})
        points = {m["task"]: m["points"] for m in manual.get(name, [])}
        cells = [
            name,
            person.get("student_id", ""),
            person.get("email", ""),
            person.get("name", ""),
        ]
        cells += [row[i] for i in keep[1:]]
        cells += [f"{points.get(t, 0):g}" for t in manual_tasks]
        base = sum(float(row[i] or 0) for i in keep[1:]) + sum(points.values())
        cells.append(f"{finals.get(name, base):g}")
        lines.append(cells)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(lines)
    os.replace(tmp, path)


CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def _write_canvas(
    path: Path,
    column: str,
    names: list[str],
    people: dict[str, dict],
    finals: dict[str, float],
    out: Path,
) -> None:
    """Canvas's gradebook CSV: identity columns, a Points Possible row, one points column."""
    possible = 0.0
    for name in names:
        try:
            result = json.loads((out / name / "results.json").read_text(encoding="utf-8"))
            possible = max(possible, sum(float(t["max_score"]) for t in result["tests"]))
        except (OSError, ValueError, KeyError):
            continue
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([*CANVAS_COLUMNS, column])
        w.writerow(["Points Possible", "", "", "", "", f"{possible:g}"])
        for name in names:
            if name not in finals:
                continue
            p = people.get(name, {})
            w.writerow(
                [
                    p.get("name") or name,
                    "",
                    p.get("student_id", ""),
                    p.get("email", ""),
                    "",
                    f"{finals[name]:g}",
                ]
            )
