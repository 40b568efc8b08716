"""``recsys-course report`` on a graded synthetic class of 30 learners (slow: ~1 minute).

Each learner's notebook is built from the solutions' exercise cells (right), the learner
notebooks' stubs (not started), nothing (missing) and the wrong variants of the mistake
catalogue (``tests/catalogue/<task>.py``, each cell holding the catalogue module's source and
the task's function calling one variant).  ``recsys-course grade`` grades the class once
(module fixture); the report's class and mistake tables are checked count by count against
the construction (a variant's diagnosis is its catalogue ``expect``), and the agenda's
ranking, the cell pointers and the privacy threshold with them.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from recsys_ref.course.engine.evaluate import FAILED, MISSING, NOT_STARTED_STATUS, PASSED
from recsys_ref.course.engine.registry import all_exercises, get
from recsys_ref.course.grading import grade, report
from recsys_ref.course.nbtools.notebook import find_exercise, read_notebook

ROOT = Path(__file__).resolve().parents[1]
SEED = 1  # one of the catalogue test's seeds, on which every variant gets its `expect`
SOLUTION, STUB, ABSENT = "solution", "stub", "absent"

# task → what the 30 learners wrote, in learner order: SOLUTION, STUB, ABSENT or the name of
# a catalogue variant of that task.  Diagnoses of 1–2 learners test the "other" merge.
PLAN: dict[str, list[str]] = {
    "warmup": [SOLUTION] * 10
    + ["cosine similarity"] * 5
    + ["items × users"] * 4
    + ["sigmoid of the scores"] * 3
    + ["float32"] * 2
    + ["numpy matrix product", "nested Python lists"]  # both "container": 2 together
    + [STUB] * 2
    + [ABSENT] * 2,
    "ngcf_1": [SOLUTION] * 17
    + ["items not offset by n_users"] * 4
    + ["CSR instead of COO"] * 2
    + ["dense A"] * 2  # both "layout": 4 together
    + ["both blocks, then A + Aᵀ"] * 3
    + ["only the R block"]
    + [STUB],
    "fm_1": [STUB] * 27 + [ABSENT] * 3,  # nobody has started fm_1
}
N = 30
assert all(len(v) == N for v in PLAN.values())

pytestmark = pytest.mark.slow


def _catalogue(task: str):
    return importlib.import_module(f"tests.catalogue.{task}")


def variant_cell(task: str, name: str) -> str:
    """The catalogue module's source, then the task's function calling the variant ``name``."""
    module = _catalogue(task)
    index = next(i for i, v in enumerate(module.WRONG) if v.name == name)
    source = inspect.getsource(module).replace(
        "from tests.catalogue import Variant",
        "from collections import namedtuple\n\n"
        'Variant = namedtuple("Variant", "name fn expect", defaults=(None,))',
    )
    fn = get(task).func_name
    return (
        f"{source}\n\n_variant = WRONG[{index}].fn\n\n\n"
        f"def {fn}(*args, **kwargs):\n    return _variant(*args, **kwargs)\n"
    )


def expected_diagnosis(task: str, what: str) -> str | None:
    return next(v.expect for v in _catalogue(task).WRONG if v.name == what)


def course_cell(folder: str, task: str) -> str:
    ex = get(task)
    src = find_exercise(read_notebook(ROOT / folder / f"{ex.notebook}.ipynb"), task, ex.func_name)
    assert src is not None, f"{folder}/{ex.notebook}.ipynb has no cell for {task}"
    return src.code


def learner_notebook(i: int) -> nbformat.NotebookNode:
    cells = [new_markdown_cell(f"# learner {i}")]
    for task, plan in PLAN.items():
        what = plan[i]
        if what == ABSENT:
            continue
        code = (
            course_cell("solutions", task)
            if what == SOLUTION
            else course_cell("notebooks", task)
            if what == STUB
            else variant_cell(task, what)
        )
        cells.append(new_code_cell(code, metadata={"tags": [f"task:{task}"]}))
    return new_notebook(cells=cells)


def expected_status(task: str, what: str) -> str:
    return {SOLUTION: PASSED, STUB: NOT_STARTED_STATUS, ABSENT: MISSING}.get(what, FAILED)


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    if not list((ROOT / "solutions").glob("*.ipynb")) or not list(
        (ROOT / "notebooks").glob("*.ipynb")
    ):
        pytest.skip("needs solutions/ and notebooks/")
    base = tmp_path_factory.mktemp("report-class")
    subs = base / "class"
    subs.mkdir()
    for i in range(N):
        nbformat.write(learner_notebook(i), subs / f"learner{i:02d}.ipynb")
    parser = argparse.ArgumentParser()
    grade.add_arguments(parser)
    out = base / "graded"
    argv = [*sorted(subs.iterdir()), "--out", out, "--jobs", "2", "--seed", SEED, "--quiet"]
    argv += ["--tasks", ",".join(PLAN), "--task-timeout", "20", "--memory-mb", "1024"]
    rc = grade.run(parser.parse_args([str(a) for a in argv]))
    assert rc == 0
    return out


@pytest.fixture(scope="module")
def data(graded) -> dict:
    return report.build_report([report.load_run(graded)], notebooks=ROOT / "notebooks")


def test_every_verdict_is_the_constructed_one(graded):
    """The grader itself gave each learner the status and diagnosis of the construction."""
    for i in range(N):
        tasks = json.loads((graded / f"learner{i:02d}" / "grading.json").read_text())["tasks"]
        for t in tasks:
            what = PLAN[t["task"]][i]
            assert t["status"] == expected_status(t["task"], what), (i, t["message"])
            if t["status"] == FAILED:
                assert t["misconception"] == expected_diagnosis(t["task"], what), t["message"]


def test_class_table(data):
    assert [r["task"] for r in data["class_table"]] == [t for t in all_exercises() if t in PLAN]
    assert data["learners"] == N
    for row in data["class_table"]:
        want = Counter(expected_status(row["task"], w) for w in PLAN[row["task"]])
        assert (row["passed"], row["failed"], row["not_started"], row["missing"]) == (
            want[PASSED],
            want[FAILED],
            want[NOT_STARTED_STATUS],
            want[MISSING],
        )
        assert row["submitted"] == N - want[MISSING] and row["learners"] == N
        assert row["pass_rate"] == pytest.approx(want[PASSED] / N)


def made(task: str) -> Counter:
    return Counter(
        expected_diagnosis(task, w) for w in PLAN[task] if expected_status(task, w) == FAILED
    )


def test_misconception_table_and_threshold(data):
    for task in PLAN:
        counts = made(task)
        rows = {m["diagnosis"]: m for m in data["misconceptions"] if m["task"] == task}
        assert {d: m["count"] for d, m in rows.items() if d != report.OTHER} == {
            d: n for d, n in counts.items() if n >= 3
        }
        assert rows.get(report.OTHER, {"count": 0})["count"] == sum(
            n for n in counts.values() if n < 3
        )
        for m in rows.values():
            assert m["share_of_failed"] == pytest.approx(m["count"] / sum(counts.values()))
            assert m["equation"] == get(task).where
    # below the threshold: warmup's dtype (2) and container (2), ngcf_1's one_block (1)
    assert made("warmup")["dtype"] == made("warmup")["container"] == 2
    assert "dtype" not in {m["diagnosis"] for m in data["misconceptions"]}


def test_agenda_ranking_and_pointers(data):
    order = list(all_exercises())
    everything = sorted(
        ((n, task, d) for task in PLAN for d, n in made(task).items() if n >= 3),
        key=lambda x: (-x[0], order.index(x[1]), x[2]),
    )
    assert data["agenda"]["ranked"] == [(t, d) for _, t, d in everything][:10]
    notebooks = [g["notebook"] for g in data["agenda"]["notebooks"]]
    assert notebooks == sorted(
        notebooks,
        key=lambda nb: min(
            order.index(t) for t, ex in all_exercises().items() if ex.notebook == nb
        ),
    )
    assert data["agenda"]["nobody_started"] == ["fm_1"]
    for group in data["agenda"]["notebooks"]:
        for m in group["items"]:
            ex = get(m["task"])
            nb = read_notebook(ROOT / "notebooks" / f"{ex.notebook}.ipynb")
            cell = find_exercise(nb, m["task"], ex.func_name)
            assert m["pointers"]["open"]["cell"] == cell.cell_index + 1
            assert m["pointers"]["open"]["notebook"] == f"notebooks/{ex.notebook}.ipynb"


def test_report_files_from_the_command(graded, capsys):
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    assert report.run(parser.parse_args([str(graded)])) == 0
    out = graded / report.DEFAULT_OUT
    html = (out / "report.html").read_text(encoding="utf-8")
    for i in range(N):
        assert f"learner{i:02d}" not in html
    assert "warmup · cosine" in capsys.readouterr().out


def test_progress_explain_on_a_learner_notebook(tmp_path, capsys):
    """``progress --explain`` on the learner notebook with the cosine variant in its cell."""
    from recsys_ref.course.grading import progress
    from recsys_ref.course.nbtools.notebook import tags

    nb = read_notebook(ROOT / "notebooks" / "00_start_here.ipynb")
    index = next(i for i, c in enumerate(nb.cells) if "task:warmup" in tags(c))
    nb.cells[index].source = variant_cell("warmup", "cosine similarity")
    nbformat.write(nb, tmp_path / "00_start_here.ipynb")
    parser = argparse.ArgumentParser()
    progress.add_arguments(parser)
    args = parser.parse_args([str(tmp_path / "00_start_here.ipynb"), "--explain"])
    capsys.readouterr()
    assert progress.run(args) == 0
    out = capsys.readouterr().out
    cosine = next(m for m in get("warmup").misconceptions if m.name == "cosine")
    assert f"warmup (cosine): reread cell {index + 1}" in out, out
    assert cosine.message in out
    assert out.index("warmup") < out.index("q_start_00a")  # course order
