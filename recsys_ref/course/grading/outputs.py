"""Step 6 of a grading run, *report*: what is written per submission and for the class
(parent side): Gradescope's ``results.json``, the resume record ``grading.json``,
``class.csv`` (cells a spreadsheet shows as text), the terminal table.
"""

from __future__ import annotations

import csv
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from ..engine.evaluate import Result
from ..engine.registry import get
from ..sandbox.client import clean_text
from .feedback import UNSAFE_MARK
from .submissions import Submission

GRADER_VERSION = 2


def _test_name(t: str) -> str:
    ex = get(t)
    return f"{t}: {ex.title} ({ex.func_name}, {ex.notebook})"


def gradescope(results: list[Result], seconds: float, notes: Sequence[str] = ()) -> dict:
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
