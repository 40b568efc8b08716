"""The Gradescope recipe (gradescope/setup.sh, gradescope/run_autograder) and gradebook.py.

Simulates Gradescope's ``/autograder`` layout in a temporary root (no Docker):
``setup.sh`` on an image whose only python3 is 3.10 (Gradescope's default,
Ubuntu 22.04) installs a uv-managed Python 3.12, and on a 3.12 image uses the
image's own; ``run_autograder`` grades a submission with Gradescope's
``submission_metadata.json`` (submitted late) and a CSV of manual points, and
writes a valid ``results.json`` with the late penalty applied and the manual
points merged.  The gradebook's parts (late policy, roster, Canvas export,
errors) are tested on their own below.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from recsys_ref.course.grading import gradebook
from recsys_ref.course.grading.gradebook import (
    GradebookError,
    LatePolicy,
    late_seconds,
    parse_late_policy,
)

ROOT = Path(__file__).resolve().parents[1]
SETUP = ROOT / "gradescope" / "setup.sh"
RUN = ROOT / "gradescope" / "run_autograder"


def _fake_python(folder: Path, version: str) -> Path:
    """A python3 that answers the version probe as an image with only Python ``version`` does."""
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / "python3"
    exe.write_text(f"#!/bin/sh\necho {version}\n")
    exe.chmod(0o755)
    return folder


@pytest.mark.parametrize(
    ("image", "version", "uses_uv"),
    [("ubuntu-22.04", "3.10", True), ("ubuntu-24.04", "3.12", False), ("none", "", True)],
)
def test_setup_picks_a_supported_python(tmp_path: Path, image: str, version: str, uses_uv: bool):
    fake = _fake_python(tmp_path / "bin", version) if version else tmp_path / "empty"
    fake.mkdir(exist_ok=True)
    env = {
        "PATH": f"{fake}:/usr/bin:/bin" if version else f"{fake}:/bin-nothing",
        "AUTOGRADER_ROOT": str(tmp_path / "autograder"),
        "COURSE_VENV": str(tmp_path / "course"),
        "SETUP_DRY_RUN": "1",
    }
    if not version:  # no python3 at all on the image: only the shell's builtins and bash
        env["PATH"] = str(fake)
    done = subprocess.run(
        ["/bin/bash", str(SETUP)], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "apt-get install -y --no-install-recommends python3" in out and "bubblewrap" in out
    if uses_uv:
        assert "uv python install 3.12" in out and "uv venv --seed --python 3.12" in out, out
        assert "python3 -m venv" not in out
    else:
        assert f"python3 is {version} (supported)" in out and "python3 -m venv" in out, out
        assert "uv python install" not in out
    venv = tmp_path / "course"
    assert f"{venv}/bin/python -m pip install --quiet --extra-index-url" in out
    assert f"-c {tmp_path}/autograder/source/requirements.txt {tmp_path}/autograder/source" in out


def test_setup_s_supported_range_is_the_course_s() -> None:
    from recsys_ref.course.doctor import SUPPORTED

    (a, b), (c, d) = SUPPORTED
    text = SETUP.read_text()
    listed = "|".join(f"{a}.{m}" for m in range(b, d + 1))
    assert f'case "$1" in {listed})' in text


def _metadata(created: str, due: str, *, own_due: str | None = None) -> dict:
    user = {"email": "ada@example.edu", "id": 42, "name": "Ada Lovelace", "sid": "s1815"}
    if own_due:
        user["assignment"] = {"due_date": own_due}
    return {
        "id": 123456,
        "created_at": created,
        "assignment": {"due_date": due, "late_due_date": None, "title": "NGCF warm-up"},
        "users": [user],
        "previous_submissions": [],
    }


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_run_autograder_in_a_simulated_autograder_root(tmp_path: Path) -> None:
    from recsys_ref.course.sandbox.isolation import refusal

    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "source").symlink_to(ROOT)
    shutil.copy(ROOT / "solutions" / "00_start_here.ipynb", root / "submission")
    # 1 day 3 hours late: two started days at 10 % each
    meta = _metadata("2026-03-03T12:00:00.000000-08:00", "2026-03-02T09:00:00.000000-08:00")
    (root / "submission_metadata.json").write_text(json.dumps(meta))
    manual = tmp_path / "manual.csv"
    manual.write_text("submission,task,points,max_points,comment\ns1815,style,2,3,clear names\n")
    env = {
        **os.environ,
        "AUTOGRADER_ROOT": str(root),
        "COURSE_VENV": sys.prefix,
        "TASKS": "warmup",
        "LATE_POLICY": "10,max=50",
        "MANUAL": str(manual),
        "GRADE_OUT": str(tmp_path / "graded"),
        "GRADE_FLAGS": "--unsafe-no-sandbox" if refusal() else "",
    }
    done = subprocess.run(
        ["/bin/bash", str(RUN)], capture_output=True, text=True, env=env, timeout=540
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    # valid for Gradescope: a number score, tests with name/score/max_score/status/output
    assert isinstance(results["score"], (int, float)) and isinstance(results["tests"], list)
    for t in results["tests"]:
        assert {"name", "score", "max_score", "status", "output"} <= set(t), t
        assert t["status"] in ("passed", "failed")
    grader_score = results["grader"]["score"]
    assert grader_score == sum(t["score"] for t in results["grader"]["tests"]) > 0
    late = (27 * 3600) / 86400
    penalty = min(50, 10 * math.ceil(late)) / 100
    assert penalty == pytest.approx(0.2)
    assert results["score"] == pytest.approx((grader_score + 2) * (1 - penalty))
    manual_tests = [t for t in results["tests"] if t["name"] == "style (manual)"]
    assert manual_tests == [
        {
            "name": "style (manual)",
            "score": 2.0,
            "max_score": 3.0,
            "status": "failed",
            "output": "clear names",
            "visibility": "visible",
        }
    ]
    assert "Late by 1 d 3 h: -20 %" in results["output"]
    rows = list(csv.DictReader(open(tmp_path / "graded" / "class.csv")))
    assert rows[0]["student_id"] == "s1815" and rows[0]["email"] == "ada@example.edu"
    assert rows[0]["manual:style"] == "2" and float(rows[0]["total"]) == results["score"]


def _args(tmp_path: Path, **kw) -> argparse.Namespace:
    base = dict(
        late_policy=None,
        metadata=None,
        manual=None,
        roster=None,
        canvas=None,
        canvas_column="Week 1 (77)",
    )
    return argparse.Namespace(**{**base, **kw})


def _graded(out: Path, name: str, points: list[float], source: Path) -> None:
    (out / name).mkdir(parents=True)
    tests = [
        {
            "name": f"t{i}",
            "score": p,
            "max_score": 1,
            "status": "passed" if p else "failed",
            "output": "",
            "visibility": "visible",
        }
        for i, p in enumerate(points)
    ]
    result = {"score": sum(points), "output": "graded.", "tests": tests}
    (out / name / "results.json").write_text(json.dumps(result))
    grading = {
        "submission": str(source),
        "tasks": [{"task": f"t{i}", "points": p} for i, p in enumerate(points)],
    }
    (out / name / "grading.json").write_text(json.dumps(grading))


def _class_csv(out: Path, names: list[str], points: dict[str, list[float]]) -> None:
    with open(out / "class.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["submission", "t0", "t1", "total"])
        for n in names:
            w.writerow([n, *(f"{p:g}" for p in points[n]), f"{sum(points[n]):g}"])


def test_gradebook_roster_manual_canvas_and_rerun(tmp_path: Path) -> None:
    out = tmp_path / "graded"
    points = {"ada": [1.0, 1.0], "bob": [1.0, 0.0]}
    for n in points:
        src = tmp_path / "subs" / n
        src.mkdir(parents=True)
        _graded(out, n, points[n], src)
    (tmp_path / "subs" / "bob" / "submission_metadata.json").write_text(
        json.dumps(
            _metadata(
                "2026-03-05T10:00:00Z", "2026-03-02T10:00:00Z", own_due="2026-03-04T10:00:00Z"
            )
        )  # an extension to the 4th: 1 day
    )
    _class_csv(out, list(points), points)
    roster = tmp_path / "roster.csv"
    roster.write_text("submission,student_id,email,name\nada,s1,ada@x.edu,Ada\n")
    manual = tmp_path / "manual.csv"
    manual.write_text("submission,task,points,max_points\nada@x.edu,essay,3,4\nbob,essay,1.5,4\n")
    canvas = tmp_path / "canvas.csv"
    args = _args(tmp_path, late_policy="25", roster=roster, manual=manual, canvas=canvas)
    for _ in range(2):  # a second run gives the same files (it starts from the grader's score)
        gradebook.apply(args, out, list(points))
        ada = json.loads((out / "ada" / "results.json").read_text())
        bob = json.loads((out / "bob" / "results.json").read_text())
        assert ada["score"] == 2 + 3 and bob["score"] == pytest.approx((1 + 1.5) * 0.75)
        rows = list(csv.DictReader(open(out / "class.csv")))
        assert [r["submission"] for r in rows] == ["ada", "bob"]
        assert rows[0]["name"] == "Ada" and rows[1]["email"] == "ada@example.edu"
        assert [r["manual:essay"] for r in rows] == ["3", "1.5"]
        assert [float(r["total"]) for r in rows] == [ada["score"], bob["score"]]
    lines = list(csv.reader(open(canvas)))
    assert lines[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Week 1 (77)"]
    assert lines[1][0] == "Points Possible" and float(lines[1][-1]) == 2 + 4  # 2 tasks + essay
    assert lines[2] == ["Ada", "", "s1", "ada@x.edu", "", "5"]


def test_late_policy_arithmetic() -> None:
    p = LatePolicy(10, max_percent=30, grace_minutes=15)
    assert p.penalty(-5) == 0 and p.penalty(14 * 60) == 0  # early, or within the grace
    assert p.penalty(16 * 60) == pytest.approx(0.1)  # one started day
    assert p.penalty(86400 + 16 * 60) == pytest.approx(0.2)
    assert p.penalty(30 * 86400) == pytest.approx(0.3)  # the cap
    assert parse_late_policy("10,max=30,grace=15") == p
    assert parse_late_policy("5%") == LatePolicy(5)


@pytest.mark.parametrize("bad", ["", "ten", "10,cap=3", "150", "10,max=200"])
def test_a_bad_late_policy_says_what_is_expected(bad: str) -> None:
    with pytest.raises(GradebookError, match="late-policy"):
        parse_late_policy(bad)


def test_late_seconds_prefers_the_learner_s_own_due_date() -> None:
    meta = _metadata("2026-03-05T10:00:00Z", "2026-03-02T10:00:00Z", own_due="2026-03-06T10:00:00Z")
    assert late_seconds(meta) == -86400
    del meta["users"][0]["assignment"]
    assert late_seconds(meta) == 3 * 86400
    with pytest.raises(GradebookError, match="no time zone"):
        late_seconds(_metadata("2026-03-05T10:00:00", "2026-03-02T10:00:00Z"))


def test_manual_points_for_an_unknown_learner_are_refused(tmp_path: Path) -> None:
    manual = tmp_path / "m.csv"
    manual.write_text("submission,task,points\nnobody,essay,3\n")
    with pytest.raises(
        GradebookError, match=r"line 2: no graded submission, student id or email 'nobody'"
    ):
        gradebook.read_manual(manual, ["ada"], {})
    manual.write_text("learner,points\nada,3\n")
    with pytest.raises(GradebookError, match="needs the column"):
        gradebook.read_manual(manual, ["ada"], {})
    manual.write_text("submission,task,points\nada,essay,lots\n")
    with pytest.raises(GradebookError, match="'lots' is not a number"):
        gradebook.read_manual(manual, ["ada"], {})
