"""The plant-back tells the truth about the learner's own work (notebooks 14 and 23).

For every planted task, the notebook's kernel history (its code cells in order, as a Run All leaves
IPython's ``In``) and the saved earlier notebooks are rebuilt with that task's exercise cell left as
the stub, and once with a wrong version (the first wrong variant of its mistake catalogue); the report
must say "reference stood in" for exactly that task.  A cell run after the exercise cell that imports
the reference under the learner's name (the class of notebook 12's old ``ngcf_9`` cell) changes nothing.
Finally every solution notebook is scanned: no cell but a task's own exercise cell binds the name of
a task of that notebook (an import, an assignment or a ``def``), so no later cell can shadow it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest
import torch

from recsys_ref.course.engine.registry import get
from recsys_ref.course.nbtools.build import stub_source
from recsys_ref.course.nbtools.notebook import cell_source, task_ids
from recsys_ref.course.planted import (
    FM_NOTEBOOK_OF,
    HERE,
    NOTEBOOK_OF,
    REFERENCE_STOOD_IN,
    YOURS,
    PlantReport,
    choose,
    collect,
    plant_back,
)

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
NGCF_HERE = HERE  # the notebook of ngcf_9, which runs the plant-back
FM_HERE = FM_NOTEBOOK_OF["fm_9"]


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # as the notebooks run
    yield
    torch.set_num_threads(n)


def _wrong(task: str, source: str) -> str:
    """The solution cell with the task's function rebound, at the end of the same cell, to a wrong one."""
    if task == "ngcf_9":  # the step itself is wrong: no optimizer.step()
        return source + "\nfrom tests.catalogue.ngcf_9 import wrong_no_step as train_step\n"
    name = get(task).func_name
    return source + f"\nfrom tests.catalogue.{task} import WRONG as _WRONG\n{name} = _WRONG[0].fn\n"


def _cells(stem: str, task: str, how: str) -> list[str]:
    """The notebook's code cells in order, ``task``'s exercise cell as the stub or wrong."""
    nb = nbformat.read(SOLUTIONS / f"{stem}.ipynb", as_version=4)
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        src = cell_source(cell)
        if task in task_ids(cell):
            src = stub_source(src, task, stem) if how == "stub" else _wrong(task, src)
        out.append(src)
    return out


def _folder(tmp_path: Path, stems: set[str], task: str, how: str) -> Path:
    """The saved notebooks of ``stems``, ``task``'s exercise cell as the stub or wrong."""
    for stem in stems:
        nb = nbformat.read(SOLUTIONS / f"{stem}.ipynb", as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code" and task in task_ids(cell):
                src = cell_source(cell)
                cell.source = stub_source(src, task, stem) if how == "stub" else _wrong(task, src)
        nbformat.write(nb, tmp_path / f"{stem}.ipynb")
    return tmp_path


def _stood_in(used: dict[str, str]) -> set[str]:
    assert all(how == YOURS or how.startswith(REFERENCE_STOOD_IN) for how in used.values()), used
    return {t for t, how in used.items() if how.startswith(REFERENCE_STOOD_IN)}


@pytest.mark.parametrize("how", ["stub", "wrong"])
@pytest.mark.parametrize("task", list(NOTEBOOK_OF))
def test_ngcf_report_names_exactly_the_task_left_undone(task, how, tmp_path):
    earlier = {s for s in NOTEBOOK_OF.values() if s != NGCF_HERE}
    folder = _folder(tmp_path, earlier, task, how)
    history = ["", *_cells(NGCF_HERE, task, how)]
    # a cell run afterwards that imports the reference under the learner's name (the old ngcf_9 cell)
    history.append("from recsys_ref.losses import bpr_loss\nfrom recsys_ref.train_bpr import *\n")
    _, used = collect(folder, history=history, here=NGCF_HERE)
    assert _stood_in(used) == {task}, used
    lines = PlantReport(used).lines()
    assert [REFERENCE_STOOD_IN in line for line in lines] == [t == task for t in used]


@pytest.mark.parametrize("how", ["stub", "wrong"])
@pytest.mark.parametrize("task", list(FM_NOTEBOOK_OF))
def test_fm_report_names_exactly_the_task_left_undone(task, how, tmp_path):
    earlier = {s for s in FM_NOTEBOOK_OF.values() if s != FM_HERE}
    folder = _folder(tmp_path, earlier, task, how)
    history = ["", *_cells(FM_HERE, task, how)]
    references = {t: get(t).reference for t in FM_NOTEBOOK_OF}
    pieces, report = choose(
        FM_NOTEBOOK_OF, references, history=history, here=FM_HERE, folder=folder
    )
    assert _stood_in(report.used) == {task}, report.used
    assert pieces[task] is references[task]
    lines = report.lines()
    assert [REFERENCE_STOOD_IN in line for line in lines] == [t == task for t in report.used]


def test_the_issue_case_runs_end_to_end_and_says_so(tmp_path):
    """ngcf_6 left as the stub, the step's cell importing the reference bpr_loss: the full plant-back
    trains, and its report says the reference stood in for ngcf_6 and for nothing else."""
    folder = _folder(
        tmp_path, {s for s in NOTEBOOK_OF.values() if s != NGCF_HERE}, "ngcf_6", "stub"
    )
    history = ["", *_cells(NGCF_HERE, "ngcf_6", "stub"), "from recsys_ref.losses import bpr_loss\n"]
    report = plant_back(folder, history=history, epochs=1)
    assert report.stood_in == ["ngcf_6"]
    assert "ngcf_6" in next(line for line in report.lines() if REFERENCE_STOOD_IN in line)


def test_the_solutions_are_all_the_learners():
    folder = SOLUTIONS
    _, used = collect(folder, history=["", *_cells(NGCF_HERE, "none", "stub")], here=NGCF_HERE)
    assert _stood_in(used) == set()
    references = {t: get(t).reference for t in FM_NOTEBOOK_OF}
    _, report = choose(
        FM_NOTEBOOK_OF,
        references,
        history=["", *_cells(FM_HERE, "none", "stub")],
        here=FM_HERE,
        folder=folder,
    )
    assert _stood_in(report.used) == set()


def _bound_names(source: str) -> set[str]:
    """Names a cell binds at top level: imports, assignments, defs, classes."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                names |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def shadowing(nb: nbformat.NotebookNode) -> list[str]:
    """Cells that bind the name of a task written in this notebook, outside its exercise cell."""
    cells = [c for c in nb.cells if c.cell_type == "code"]
    owner: dict[str, str] = {}
    for c in cells:
        for t in task_ids(c):
            if t.startswith("q_"):
                continue
            owner[get(t).func_name] = t
            if t == "ngcf_9":
                owner["train_step"] = t
    found = []
    for k, c in enumerate(cells):
        mine = {n for n, t in owner.items() if t in task_ids(c)}
        for name in sorted((_bound_names(cell_source(c)) & set(owner)) - mine):
            found.append(f"code cell {k + 1} binds {name} (task {owner[name]})")
    return found


@pytest.mark.parametrize("path", sorted(SOLUTIONS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_no_cell_shadows_a_learners_function(path):
    assert shadowing(nbformat.read(path, as_version=4)) == []


def test_the_scan_finds_the_old_ngcf_9_import():
    nb = nbformat.v4.new_notebook()
    ex = nbformat.v4.new_code_cell("def bpr_loss(p, n, t, lam):\n    return p\n")
    ex.metadata["tags"] = ["task:ngcf_6"]
    later = nbformat.v4.new_code_cell("from recsys_ref.losses import bpr_loss\n")
    nb.cells = [ex, later]
    assert shadowing(nb) == ["code cell 2 binds bpr_loss (task ngcf_6)"]


def test_a_kernel_without_history_reads_the_saved_notebook(tmp_path):
    """nbval runs cells without IPython history (``In`` stays empty): the saved notebook is read instead."""
    folder = _folder(tmp_path, set(NOTEBOOK_OF.values()), "ngcf_8", "stub")
    _, used = collect(folder, history=[""], here=NGCF_HERE)
    assert _stood_in(used) == {"ngcf_8"}, used
    references = {t: get(t).reference for t in FM_NOTEBOOK_OF}
    folder = _folder(tmp_path, set(FM_NOTEBOOK_OF.values()), "fm_7", "stub")
    _, report = choose(FM_NOTEBOOK_OF, references, history=[""], here=FM_HERE, folder=folder)
    assert _stood_in(report.used) == {"fm_7"}, report.used
