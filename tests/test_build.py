"""The build: solutions/ → notebooks/ (docs/design.md §3), and its promise never to lose a learner's work."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from recsys_ref.course.cli import main
from recsys_ref.course.nbtools import build as B
from recsys_ref.course.nbtools.notebook import cell_source, read_notebook, task_ids

ROOT = Path(__file__).resolve().parents[1]

EXERCISE = '''import torch


def f(x):
    """Doubles x. x (n,) → (n,)."""
    ### BEGIN SOLUTION
    y = x * 2  # (n,)
    return y
    ### END SOLUTION
'''


def tagged(cell, *tags):
    cell.metadata["tags"] = list(tags)
    return cell


def solution_nb(source: str = EXERCISE) -> nbformat.NotebookNode:
    c = tagged(new_code_cell(source), "task:t_1")
    c.execution_count = 3
    c.outputs = [nbformat.v4.new_output("stream", text="hello\n")]
    c.metadata["collapsed"] = False
    c.metadata["ExecuteTime"] = {"end_time": "2026"}
    nb = new_notebook(
        cells=[new_markdown_cell("# T"), c, tagged(new_code_cell("check('t_1', f)"), "check:t_1")]
    )
    nb.metadata["widgets"] = {"noise": 1}
    return nb


def write(path: Path, nb: nbformat.NotebookNode) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def course(tmp_path: Path) -> tuple[Path, Path]:
    sol, out = tmp_path / "solutions", tmp_path / "notebooks"
    write(sol / "10_t.ipynb", solution_nb())
    return sol, out


def test_region_becomes_stub_keeping_signature_and_docstring() -> None:
    stub = B.stub_source(EXERCISE, "t_1", "nb, cell 1")
    assert (
        'def f(x):\n    """Doubles x. x (n,) → (n,)."""\n    raise NotImplementedError("Task t_1: '
        in stub
    )
    assert "x * 2" not in stub and "BEGIN" not in stub and "END" not in stub
    assert stub.startswith("import torch")


def test_learner_copy_is_clean(course: tuple[Path, Path]) -> None:
    sol, out = course
    B.build(sol, out)
    nb = read_notebook(out / "10_t.ipynb")
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert code[0].metadata == {"tags": [B.BOOTSTRAP_TAG], **B.BOOTSTRAP_METADATA}  # the setup cell
    assert code[1].metadata["tags"] == ["task:t_1"]  # tags kept, noise dropped, nbgrader's added
    assert (
        set(code[1].metadata) == {"tags", "nbgrader"} and code[1].metadata["nbgrader"]["solution"]
    )
    assert set(nb.metadata) == {"kernelspec", "language_info", "recsys_course"}
    assert nb.metadata["recsys_course"]["notebook"] == "10_t"
    # the solutions notebook itself is untouched
    assert read_notebook(sol / "10_t.ipynb").cells[1].outputs


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "### BEGIN SOLUTION\nx = 1\n",
            r"10_t\.ipynb, cell 2, line 1: '### BEGIN SOLUTION' is never closed",
        ),
        (
            "x = 1\n### END SOLUTION\n",
            r"10_t\.ipynb, cell 2, line 2: '### END SOLUTION' without a matching",
        ),
        (
            "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n",
            r"10_t\.ipynb, cell 2, line 2: .*cannot be nested",
        ),
    ],
)
def test_bad_markers_name_notebook_cell_and_line(
    tmp_path: Path, source: str, expected: str
) -> None:
    write(tmp_path / "s" / "10_t.ipynb", solution_nb(source))
    with pytest.raises(B.BuildError, match=expected):
        B.build(tmp_path / "s", tmp_path / "n")


def test_region_outside_an_exercise_cell_is_an_error(tmp_path: Path) -> None:
    nb = new_notebook(cells=[new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")])
    write(tmp_path / "s" / "10_t.ipynb", nb)
    with pytest.raises(B.BuildError, match="cell 1, line 1: a solution region in a cell without"):
        B.build(tmp_path / "s", tmp_path / "n")


def test_build_is_idempotent_and_check_detects_drift(course: tuple[Path, Path]) -> None:
    sol, out = course
    first = B.build(sol, out)
    assert [p.name for p in first.written] == ["10_t.ipynb"]
    again = B.build(sol, out)
    assert again.written == [] and [p.name for p in again.unchanged] == ["10_t.ipynb"]
    assert B.build(sol, out, check=True).ok
    nb = read_notebook(sol / "10_t.ipynb")
    nb.cells[0].source = "# T, edited by the instructor"
    write(sol / "10_t.ipynb", nb)
    report = B.build(sol, out, check=True)
    assert not report.ok and "differs" in report.differ[0]
    assert main(["build", "--check", "--solutions", str(sol), "--notebooks", str(out)]) == 1
    # the instructor's change reaches a notebook the learner did not touch
    assert [p.name for p in B.build(sol, out).written] == ["10_t.ipynb"]
    assert "edited by the instructor" in (out / "10_t.ipynb").read_text()


def test_learner_edits_are_never_overwritten(course: tuple[Path, Path], capsys) -> None:
    sol, out = course
    B.build(sol, out)
    target = out / "10_t.ipynb"
    mine = json.loads(target.read_text())
    mine["cells"][1]["source"] = "def f(x):\n    return x + x  # my answer\n"
    target.write_text(json.dumps(mine))
    nb = read_notebook(sol / "10_t.ipynb")
    nb.cells[0].source = "# T v2"
    write(sol / "10_t.ipynb", nb)

    assert main(["build", "--solutions", str(sol), "--notebooks", str(out)]) == 1
    assert "my answer" in target.read_text()
    assert "NOT overwritten" in capsys.readouterr().err

    assert main(["build", "--force", "--solutions", str(sol), "--notebooks", str(out)]) == 0
    assert "T v2" in target.read_text()
    backups = list((out / B.BACKUPS).glob("10_t.*.ipynb"))
    assert len(backups) == 1 and "my answer" in backups[0].read_text()


def test_a_notebook_the_build_never_wrote_is_not_overwritten(course: tuple[Path, Path]) -> None:
    sol, out = course
    out.mkdir()
    (out / "10_t.ipynb").write_text("learner's own file")
    report = B.build(sol, out)
    assert [p.name for p in report.refused] == ["10_t.ipynb"]
    assert (out / "10_t.ipynb").read_text() == "learner's own file"


# ------------------------------------------------------------ the repository itself


def test_repository_notebooks_match_solutions() -> None:
    report = B.build(ROOT / "solutions", ROOT / "notebooks", check=True)
    assert report.ok, "\n".join(report.differ) + "\nrun `recsys-course build`"


def _solution_lines(source: str) -> list[str]:
    lines, inside = [], False
    for line in source.splitlines():
        s = line.strip()
        if s.startswith(B.BEGIN):
            inside = True
        elif s.startswith(B.END):
            inside = False
        elif inside and s and not s.startswith("#") and len(s) > 12:
            lines.append(s)
    return lines


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.stem)
def test_no_solution_code_leaks_into_notebooks(path: Path) -> None:
    learner = read_notebook(ROOT / "notebooks" / path.name)
    learner_text = "\n".join(cell_source(c) for c in learner.cells)
    assert B.BEGIN not in learner_text and B.END not in learner_text
    exercise_cells = [
        c for c in read_notebook(path).cells if task_ids(c)
    ]  # none in 13 (optional tasks)
    for cell in exercise_cells:
        for line in _solution_lines(cell_source(cell)):
            assert line not in learner_text, (
                f"solution line leaked into notebooks/{path.name}: {line}"
            )
    stubs = re.findall(r'raise NotImplementedError\("Task (\w+):', learner_text)
    assert sorted(set(stubs)) == sorted({t for c in exercise_cells for t in task_ids(c)})
