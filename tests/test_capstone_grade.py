"""The grader grades the capstone notebooks like the others: full marks for solutions/, "not started" for notebooks/."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from recsys_ref.course.engine.evaluate import NOT_STARTED_STATUS, PASSED
from recsys_ref.course.engine.registry import all_exercises
from recsys_ref.course.grading import grade
from recsys_ref.course.nbtools.notebook import read_notebook
from recsys_ref.course.sandbox.client import tasks_for_notebook

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ["30_what_to_wear", "31_your_own_model"]
CAPSTONE = [t for t, ex in all_exercises().items() if ex.notebook in NOTEBOOKS]


def grade_cli(*argv) -> int:
    parser = argparse.ArgumentParser()
    grade.add_arguments(parser)
    return grade.run(parser.parse_args([str(a) for a in argv]))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("capstone_grading")
    for name, source in (("solution", ROOT / "solutions"), ("stub", ROOT / "notebooks")):
        (base / "class" / name).mkdir(parents=True)
        for nb in NOTEBOOKS:
            shutil.copy(source / f"{nb}.ipynb", base / "class" / name / f"{nb}.ipynb")
    rc = grade_cli(
        *sorted((base / "class").iterdir()),
        "--out",
        base / "out",
        "--jobs",
        "2",
        "--seed",
        4242,
        "--quiet",
        "--memory-mb",
        1024,
    )
    return rc, base / "out"


def statuses(out: Path, name: str) -> dict[str, str]:
    data = json.loads((out / name / "grading.json").read_text(encoding="utf-8"))
    return {t["task"]: t["status"] for t in data["tasks"]}


def test_the_grader_finds_every_capstone_task_by_notebook():
    # cap_1 … cap_7 and four concept questions
    assert len(CAPSTONE) == 11 and {t.split("_")[0] for t in CAPSTONE} == {"cap", "q"}
    for nb in NOTEBOOKS:
        for folder in ("solutions", "notebooks"):
            path = ROOT / folder / f"{nb}.ipynb"
            found = tasks_for_notebook(read_notebook(path), path)
            assert found == [t for t in CAPSTONE if all_exercises()[t].notebook == nb]


@pytest.mark.slow
def test_solutions_get_full_marks_and_stubs_are_not_started(graded):
    rc, out = graded
    assert rc == 0
    solved, stub = statuses(out, "solution"), statuses(out, "stub")
    assert set(CAPSTONE) <= set(solved) and set(CAPSTONE) <= set(stub)
    assert all(solved[t] == PASSED for t in CAPSTONE), solved
    assert all(stub[t] == NOT_STARTED_STATUS for t in CAPSTONE), stub
    scores = {
        json.loads((out / n / "results.json").read_text(encoding="utf-8"))["score"]
        for n in ("solution", "stub")
    }
    assert scores == {0, sum(all_exercises()[t].points for t in CAPSTONE)}
