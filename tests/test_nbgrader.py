"""nbgrader for real: the metadata the build writes, and a generate → autograde round trip.

The build marks each ``task:<id>`` cell as an nbgrader solution cell and each
``check:<id>`` cell as a locked graded cell worth the spec's points; under
autograding (NBGRADER_EXECUTION) ``check()`` raises on "not started", so an
untouched stub scores zero.  The round trip needs the ``test`` extra
(nbgrader); without it those tests skip, saying so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from recsys_ref.course import all_exercises
from recsys_ref.course.engine.check import check, strict
from recsys_ref.course.nbtools.build import export_nbgrader, nbgrader_source
from recsys_ref.course.nbtools.notebook import read_notebook, tags

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
AUTOGRADED = ["00_start_here"]  # executed twice per run (solution and stub): the fastest notebook


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_learner_notebooks_carry_nbgrader_metadata(path: Path) -> None:
    cells = _cells(path)
    ids = [c["metadata"]["nbgrader"]["grade_id"] for c in cells if "nbgrader" in c["metadata"]]
    assert len(ids) == len(set(ids)), f"grade ids repeat: {ids}"
    exercises = all_exercises()
    for cell in cells:
        t = cell["metadata"].get("tags", [])
        meta = cell["metadata"].get("nbgrader")
        if any(x.startswith("task:") for x in t):
            assert meta and meta["solution"] and not meta["grade"] and not meta["locked"]
        elif checks := [x[len("check:") :] for x in t if x.startswith("check:")]:
            assert meta and meta["grade"] and meta["locked"] and not meta["solution"]
            assert meta["points"] == exercises[checks[0]].points
        else:
            assert meta is None
        src = "".join(cell["source"])
        assert "### BEGIN SOLUTION" not in src or (meta and meta["solution"])


def test_every_exercise_of_a_notebook_is_graded_somewhere() -> None:
    graded = set()
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        for cell in _cells(path):
            meta = cell["metadata"].get("nbgrader", {})
            if meta.get("grade"):
                graded |= {
                    x[len("check:") :] for x in cell["metadata"]["tags"] if x.startswith("check:")
                }
    notebooks = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    want = {t for t, ex in all_exercises().items() if ex.notebook in notebooks}
    assert want <= graded, f"exercises without a graded check cell: {sorted(want - graded)}"


def test_strict_mode_raises_on_not_started(monkeypatch, capsys) -> None:
    def stub(U, I):
        raise NotImplementedError("Task warmup: write your code here")

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("RECSYS_STRICT", raising=False)
    assert not strict()
    check("warmup", stub)  # a learner's Run All goes on
    assert "not started" in capsys.readouterr().out
    for var, value in (("NBGRADER_EXECUTION", "autograde"), ("RECSYS_STRICT", "1")):
        monkeypatch.setenv(var, value)
        assert strict()
        with pytest.raises(AssertionError, match="not started"):
            check("warmup", stub)
        monkeypatch.delenv(var)


def test_strict_mode_still_passes_the_reference(monkeypatch, capsys) -> None:
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    check("warmup", all_exercises()["warmup"].reference)
    assert "✓" in capsys.readouterr().out


def test_nbgrader_source_keeps_the_solutions() -> None:
    path = ROOT / "solutions" / "00_start_here.ipynb"
    nb = nbgrader_source(read_notebook(path), path.stem)
    task = next(c for c in nb.cells if "task:warmup" in tags(c))
    assert "### BEGIN SOLUTION" in task.source and task.metadata["nbgrader"]["solution"]
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


# --- the round trip with nbgrader itself -------------------------------------------------------


def _nbgrader(course: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        # nbgrader runs `alembic` (its gradebook migrations) from PATH
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args, "--force"],
        cwd=course,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert done.returncode == 0, (
        f"nbgrader {' '.join(args)} failed:\n{(done.stdout + done.stderr)[-4000:]}"
    )
    return done


@pytest.fixture
def course(tmp_path: Path) -> Path:
    pytest.importorskip("nbgrader", reason="nbgrader is not installed (pip install -e .[test])")
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        "c.CourseDirectory.course_id = 'recsys-course'\n"
        f"c.CourseDirectory.root = {str(tmp_path)!r}\n"
        "c.ExecutePreprocessor.timeout = 300\n"
    )
    return tmp_path


@pytest.mark.slow
def test_generate_assignment_accepts_the_whole_course(course: Path) -> None:
    files = export_nbgrader(ROOT / "solutions", course, "course")
    assert [f.name for f in files] == [p.name for p in SOLUTIONS]
    _nbgrader(course, "generate_assignment", "course")  # strict: markers only in solution cells
    released = sorted((course / "release" / "course").glob("*.ipynb"))
    assert [p.name for p in released] == [p.name for p in SOLUTIONS]
    for path, source in zip(released, files, strict=True):
        text = path.read_text(encoding="utf-8")
        assert "### BEGIN SOLUTION" not in text
        if "### BEGIN SOLUTION" in source.read_text(encoding="utf-8"):
            assert "NotImplementedError" in text  # nbgrader's own stub


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_autograde_gives_the_solution_full_marks_and_the_stub_zero(course: Path) -> None:
    from nbgrader.api import Gradebook

    sources = course / "source" / "a"
    sources.mkdir(parents=True)
    for name in AUTOGRADED:
        src = ROOT / "solutions" / f"{name}.ipynb"
        (sources / src.name).write_text(
            json.dumps(json.loads(_render(src)), indent=1), encoding="utf-8"
        )
    _nbgrader(course, "generate_assignment", "a")
    for student, folder in (("solution", sources), ("stub", course / "release" / "a")):
        dest = course / "submitted" / student / "a"
        dest.mkdir(parents=True)
        for name in AUTOGRADED:
            shutil.copy(folder / f"{name}.ipynb", dest)
    _nbgrader(course, "autograde", "a")
    max_score = sum(ex.points for ex in all_exercises().values() if ex.notebook in AUTOGRADED)
    assert max_score > 0
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        full = gb.find_submission("a", "solution")
        zero = gb.find_submission("a", "stub")
        assert (full.max_score, full.score) == (max_score, max_score), "solution not full marks"
        assert (zero.max_score, zero.score) == (max_score, 0), "stub not zero"


def _render(path: Path) -> str:
    from recsys_ref.course.nbtools.build import render

    return render(nbgrader_source(read_notebook(path), path.stem))
