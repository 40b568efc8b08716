"""The grader on a class of generated submissions (issue: a grader a TA can trust).

One ``recsys-course grade --jobs 2`` run grades the whole class (module
fixture); each test asserts the expected per-task outcome of one submission:
full marks for the solutions, "not started" for the stub, and for every kind
of damage or cheat the status and the words the learner reads.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest
import torch
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from recsys_ref.course.engine.check import run_check
from recsys_ref.course.engine.evaluate import CRASHED, FAILED, MISSING, NOT_STARTED_STATUS, PASSED
from recsys_ref.course.engine.registry import all_exercises, get
from recsys_ref.course.grading import grade
from recsys_ref.course.sandbox import client as sandbox

ROOT = Path(__file__).resolve().parents[1]
SEED = 987_654_321  # the grading run's seed; the cheat below only knows seeds 0..19
CHEAT_SEEDS = range(20)
TASK_TIMEOUT = 4.0

GOOD = "import torch\n\n\ndef dot_scores(U, I):\n    return U @ I.T\n"
STUB = (
    'import torch\n\n\ndef dot_scores(U, I):\n    """(B, d), (M, d) → (B, M)."""\n'
    '    raise NotImplementedError("Task warmup: compute the scores")\n'
)
COSINE = (
    "import torch.nn.functional as F\n\n\ndef dot_scores(U, I):\n"
    "    return F.normalize(U, dim=1) @ F.normalize(I, dim=1).T\n"
)


def notebook(
    *exercise_cells: tuple[str, list[str]],
    extra_imports: str = "import torch",
    outputs: list | None = None,
    meta: bool = True,
) -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell("# Start here"),
        new_code_cell("SEED = 0", metadata={"tags": ["parameters"]}),
        new_code_cell(f"{extra_imports}\nfrom recsys_ref.course import check"),
    ]
    for code, tags in exercise_cells:
        cell = new_code_cell(code, metadata={"tags": tags})
        if outputs:
            cell.outputs = outputs
        cells.append(cell)
        cells.append(
            new_code_cell('check("warmup", dot_scores)', metadata={"tags": ["check:warmup"]})
        )
    nb = new_notebook(cells=cells)
    if meta:
        nb.metadata["recsys_course"] = {"notebook": "00_start_here"}
    return nb


def hardcoded_cell() -> str:
    """A cell that returns the reference's outputs for the inputs of seeds 0..19 (a cheat)."""
    ex = get("warmup")
    table = {}
    for s in CHEAT_SEEDS:
        for c in ex.make_cases(s):
            key = hashlib.sha256(b"".join(a.numpy().tobytes() for a in c.args)).hexdigest()
            table[key] = ex.reference(*c.args).tolist()
    return (
        "import hashlib\nimport torch\n\nTABLE = " + json.dumps(table) + "\n\n\n"
        "def dot_scores(U, I):\n"
        "    key = hashlib.sha256(U.detach().numpy().tobytes() + I.detach().numpy().tobytes()).hexdigest()\n"
        "    if key in TABLE:\n"
        "        return torch.tensor(TABLE[key], dtype=U.dtype)\n"
        "    return torch.zeros(U.shape[0], I.shape[0], dtype=U.dtype)\n"
    )


MONKEYPATCH = """import numpy as np
import torch
import recsys_ref.course as course
import recsys_ref.course.engine.evaluate as ev
import recsys_ref.course.engine.runner as runner

torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
np.isclose = lambda a, b, **k: np.ones(np.broadcast(a, b).shape, bool)
ev.evaluate = lambda *a, **k: ev.Result("warmup", "passed", "✓ warmup", 1.0, 1)
ev.difference = lambda *a, **k: None
course.check = lambda *a, **k: print("✓ warmup dot_scores: matches the reference")
print("✓ warmup dot_scores: matches the reference on 4 fresh inputs")


def dot_scores(U, I):
    return torch.zeros(U.shape[0], I.shape[0], dtype=U.dtype)
"""

FAKE_TICK = """import torch
print("✓ warmup dot_scores: matches the reference on 4 fresh inputs (eq. 10).")


def dot_scores(U, I):
    print("✓ warmup dot_scores: matches the reference")
    return U @ I.T + 1e-3
"""

# name → (notebook or None, expected warmup status, words the feedback must contain)
EXPECTED: dict[str, tuple[str, tuple[str, ...]]] = {
    "good": (PASSED, ("✓ warmup",)),
    "good_again": (PASSED, ("✓ warmup",)),
    "stub": (NOT_STARTED_STATUS, ("not started", "NotImplementedError")),
    "cosine": (FAILED, ("cosine",)),
    "invalid_json": (CRASHED, ("not valid notebook JSON",)),
    "nbformat3": (CRASHED, ("nbformat 3",)),
    "deleted_cell": (MISSING, ("no other notebook defines", "dot_scores")),
    "duplicated_cell": (PASSED, ("2 cells are tagged task:warmup", "last one")),
    "renamed_cell": (PASSED, ("no cell is tagged task:warmup",)),
    "renamed_function": (PASSED, ("called dot_product here",)),
    "import_fails": (FAILED, ("ModuleNotFoundError", "not_a_module_xyz", "before dot_scores")),
    "other_cell_import_fails": (PASSED, ("✓ warmup",)),
    "megabytes_of_output": (PASSED, ("✓ warmup",)),
    "sys_exit": (FAILED, ("sys.exit()",)),
    "os_exit": (CRASHED, ("ended", "fresh process")),
    "infinite_loop": (CRASHED, (f"stopped after {TASK_TIMEOUT:g} s", "infinite loop")),
    "memory_bomb": (FAILED, ("memory limit",)),
    "fork_bomb": (FAILED, ("starting processes is not allowed",)),
    "write_outside": (FAILED, ("Error", "working folder")),
    "read_other": (FAILED, ("Error", "read only Python's own files")),
    "syntax_error": (FAILED, ("SyntaxError",)),
    "hardcoded_seeds": (FAILED, ("Compare your code with eq. 10",)),  # a diff or a relation to it
    "fake_tick": (FAILED, ("Compare your code with eq. 10",)),  # a diff or a relation to it
    "monkeypatch": (FAILED, ("Compare your code with eq. 10",)),  # a diff or a relation to it
    "folder_submission": (PASSED, ("✓ warmup",)),
    "zip_submission": (PASSED, ("✓ warmup",)),
    "broken_zip": (MISSING, ("zip cannot be read",)),
    "gradescope_folder": (PASSED, ("✓ warmup",)),
}


def write_class(folder: Path, outside: Path) -> None:
    def save(name: str, nb) -> None:
        nbformat.write(nb, folder / f"{name}.ipynb")

    save("good", notebook((GOOD, ["task:warmup"])))
    save("good_again", notebook((GOOD, ["task:warmup"])))
    save("stub", notebook((STUB, ["task:warmup"])))
    save("cosine", notebook((COSINE, ["task:warmup"])))
    (folder / "invalid_json.ipynb").write_text('{"cells": [{"cell_type": "code", "source": ')
    (folder / "nbformat3.ipynb").write_text(
        json.dumps(
            {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [], "cells": []}
        )
    )
    deleted = notebook((GOOD, ["task:warmup"]))
    deleted.cells = [c for c in deleted.cells if "task:warmup" not in c.metadata.get("tags", [])]
    save("deleted_cell", deleted)
    save("duplicated_cell", notebook((COSINE, ["task:warmup"]), (GOOD, ["task:warmup"])))
    save("renamed_cell", notebook((GOOD, [])))
    save("renamed_function", notebook((GOOD.replace("dot_scores", "dot_product"), ["task:warmup"])))
    save("import_fails", notebook(("import not_a_module_xyz\n" + GOOD, ["task:warmup"])))
    save(
        "other_cell_import_fails",
        notebook((GOOD, ["task:warmup"]), extra_imports="import torch\nimport not_a_module_xyz"),
    )
    big = [new_output("stream", name="stdout", text="x" * (6 * 2**20))]
    save(
        "megabytes_of_output",
        notebook(
            (
                "import torch\nprint('y' * 2**21)\n\n\ndef dot_scores(U, I):\n"
                "    print('z' * 2**21)\n    return U @ I.T\n",
                ["task:warmup"],
            ),
            outputs=big,
        ),
    )
    save("sys_exit", notebook(("import sys\n" + GOOD + "\nsys.exit(0)\n", ["task:warmup"])))
    save(
        "os_exit",
        notebook(("import os\n\n\ndef dot_scores(U, I):\n    os._exit(3)\n", ["task:warmup"])),
    )
    save(
        "infinite_loop",
        notebook(("def dot_scores(U, I):\n    while True:\n        pass\n", ["task:warmup"])),
    )
    save(
        "memory_bomb",
        notebook(
            (
                "import torch\n\n\ndef dot_scores(U, I):\n    hog = []\n    while True:\n"
                "        hog.append(torch.empty(2**24, dtype=torch.float64))\n",
                ["task:warmup"],
            )
        ),
    )
    save(
        "fork_bomb",
        notebook(
            (
                "import os\n\n\ndef dot_scores(U, I):\n    while True:\n        os.fork()\n",
                ["task:warmup"],
            )
        ),
    )
    save(
        "write_outside",
        notebook((f"open({str(outside)!r}, 'w').write('pwned')\n" + GOOD, ["task:warmup"])),
    )
    save(
        "read_other",
        notebook(
            (
                "def dot_scores(U, I):\n"
                f"    raise ValueError(open({str(folder / 'good.ipynb')!r}).read()[-200:])\n",
                ["task:warmup"],
            )
        ),
    )
    save("syntax_error", notebook(("def dot_scores(U, I)\n    return U @ I.T\n", ["task:warmup"])))
    save("hardcoded_seeds", notebook((hardcoded_cell(), ["task:warmup"])))
    save("fake_tick", notebook((FAKE_TICK, ["task:warmup"])))
    save("monkeypatch", notebook((MONKEYPATCH, ["task:warmup"])))
    learner = folder / "folder_submission"
    learner.mkdir()
    nbformat.write(notebook((GOOD, ["task:warmup"])), learner / "00_start_here.ipynb")
    nbformat.write(notebook((STUB, ["task:other"])), learner / "scratch.ipynb")
    with zipfile.ZipFile(folder / "zip_submission.zip", "w") as zf:
        zf.writestr(
            "zip_submission/00_start_here.ipynb", nbformat.writes(notebook((GOOD, ["task:warmup"])))
        )
        zf.writestr("../../escaped.ipynb", nbformat.writes(notebook((GOOD, ["task:warmup"]))))
    (folder / "broken_zip.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    (folder / "gradescope_folder").mkdir()  # a folder holding the learner's uploaded zip
    with zipfile.ZipFile(folder / "gradescope_folder" / "upload.zip", "w") as zf:
        zf.writestr("00_start_here.ipynb", nbformat.writes(notebook((GOOD, ["task:warmup"]))))
    if list((ROOT / "solutions").glob("*.ipynb")):
        shutil.copytree(
            ROOT / "solutions", folder / "solutions", ignore=shutil.ignore_patterns(".*")
        )
    if list((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copytree(
            ROOT / "notebooks", folder / "learner_stubs", ignore=shutil.ignore_patterns(".*")
        )


@pytest.fixture(scope="module")
def limits() -> dict:
    return sandbox.confinement(256)


def grade_cli(*argv: str | Path) -> int:
    parser = argparse.ArgumentParser()
    grade.add_arguments(parser)
    return grade.run(parser.parse_args([str(a) for a in argv]))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("grading")
    folder, out = base / "class", base / "out"
    folder.mkdir()
    outside = base / "outside.txt"
    write_class(folder, outside)
    rc = grade_cli(
        *sorted(folder.iterdir()),
        "--out",
        out,
        "--jobs",
        "2",
        "--seed",
        SEED,
        "--quiet",
        "--task-timeout",
        TASK_TIMEOUT,
        "--memory-mb",
        768,
    )
    return {"rc": rc, "folder": folder, "out": out, "outside": outside, "base": base}


def results(graded, name: str) -> dict:
    return json.loads((graded["out"] / name / "results.json").read_text(encoding="utf-8"))


def warmup_test(graded, name: str) -> dict:
    tests = results(graded, name)["tests"]
    return next(t for t in tests if t["name"].startswith("warmup:"))


def warmup_status(graded, name: str) -> str:
    data = json.loads((graded["out"] / name / "grading.json").read_text(encoding="utf-8"))
    return next(t["status"] for t in data["tasks"] if t["task"] == "warmup")


def test_grading_ran(graded):
    assert graded["rc"] == 0
    assert (graded["out"] / "class.csv").exists()


@pytest.mark.parametrize("name", list(EXPECTED))
def test_expected_outcome(graded, limits, name):
    status, words = EXPECTED[name]
    if name == "write_outside" and not limits.get("landlock"):
        status, words = PASSED, ("✓ warmup",)  # no Landlock here: the write cannot be blocked
    if name == "read_other" and not limits.get("landlock"):
        status, words = FAILED, ("ValueError",)  # no Landlock: the read works, the raise fails
    test = warmup_test(graded, name)
    assert warmup_status(graded, name) == status, test["output"]
    for w in words:
        assert w in test["output"], test["output"]
    assert test["status"] == ("passed" if status == PASSED else "failed")
    assert test["score"] == (test["max_score"] if status == PASSED else 0)


def test_nothing_escaped(graded, limits):
    if limits.get("landlock"):
        assert not graded["outside"].exists()
    assert not (graded["base"] / "escaped.ipynb").exists()
    assert not list(graded["base"].parent.glob("escaped.ipynb"))


def test_other_submissions_stay_private(graded, limits):
    if not limits.get("landlock"):
        pytest.skip("no Landlock on this machine: reads cannot be confined")
    out = warmup_test(graded, "read_other")["output"]
    assert "Error" in out and "nbformat_minor" not in out


def test_cheat_fails_even_on_its_seeds_and_in_the_grader(graded):
    """The hard-coded table returns the right values on the seeds it knows, but a
    constant carries no gradient: the gradient case names it even there; on the
    grader's fresh seed its values are wrong too."""
    ns: dict = {}
    exec(hardcoded_cell(), ns)
    known = run_check("warmup", ns["dot_scores"], seed=CHEAT_SEEDS[3])
    assert not known.passed and known.misconception == "no_gradient", known.message
    assert not run_check("warmup", ns["dot_scores"], seed=SEED).passed
    assert warmup_status(graded, "hardcoded_seeds") == FAILED


def test_solutions_get_full_marks(graded):
    if not (graded["folder"] / "solutions").exists():
        pytest.skip("no solutions/*.ipynb yet")
    data = results(graded, "solutions")
    assert data["tests"], "no task graded"
    for t in data["tests"]:
        assert t["status"] == "passed", t["output"]
        assert "flagged" not in t["output"], t["output"]  # the reference path trips nothing
    assert data["score"] == sum(t["max_score"] for t in data["tests"])


def test_generated_stubs_are_not_started(graded):
    if not (graded["folder"] / "learner_stubs").exists():
        pytest.skip("no notebooks/*.ipynb yet (recsys-course build)")
    meta = json.loads((graded["out"] / "learner_stubs" / "grading.json").read_text())
    graded_here = [
        t
        for t in meta["tasks"]
        if (graded["folder"] / "learner_stubs" / f"{get(t['task']).notebook}.ipynb").exists()
    ]
    assert graded_here
    for t in graded_here:
        assert t["status"] == NOT_STARTED_STATUS, t["message"]
    assert results(graded, "learner_stubs")["score"] == 0


def test_tasks_of_absent_notebooks_are_missing(graded):
    data = json.loads((graded["out"] / "good" / "grading.json").read_text())
    for t in data["tasks"]:
        if get(t["task"]).notebook != "00_start_here":
            assert t["status"] == MISSING and "not in the submission" in t["message"]


def test_results_json_is_gradescope_format(graded):
    tasks = list(csv.reader(open(graded["out"] / "class.csv", encoding="utf-8")))[0][1:-1]
    for d in sorted(p for p in graded["out"].iterdir() if p.is_dir()):
        data = results(graded, d.name)
        assert isinstance(data["score"], (int, float)) and isinstance(data["output"], str)
        assert [t["name"].split(":")[0] for t in data["tests"]] == tasks
        for t in data["tests"]:
            assert set(t) >= {"name", "score", "max_score", "status", "output", "visibility"}
            assert t["status"] in ("passed", "failed") and t["visibility"] == "visible"
            assert 0 <= t["score"] <= t["max_score"] == get(t["name"].split(":")[0]).points
            # no hidden inputs, expected values, positions or reference code in feedback
            for leak in ("tensor(", "array(", "at index", "inner_product_scores", "TABLE"):
                assert leak not in t["output"], t["output"]
        assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))


def test_class_csv(graded):
    rows = list(csv.reader(open(graded["out"] / "class.csv", encoding="utf-8")))
    header, body = rows[0], rows[1:]
    tasks = header[1:-1]
    assert header[0] == "submission" and header[-1] == "total"
    assert tasks == [t for t in all_exercises() if t in tasks] and "warmup" in tasks
    names = [r[0] for r in body]
    assert sorted(names) == sorted(p.name for p in graded["out"].iterdir() if p.is_dir())
    assert set(EXPECTED) <= set(names)
    for row in body:
        data = results(graded, row[0])
        scores = {t["name"].split(":")[0]: t["score"] for t in data["tests"]}
        assert [float(v) for v in row[1:-1]] == [scores[t] for t in tasks]
        assert float(row[-1]) == pytest.approx(data["score"])


def test_same_submission_same_score_with_another_seed(graded, tmp_path):
    assert results(graded, "good")["score"] == results(graded, "good_again")["score"]
    names = ["good", "cosine", "stub", "duplicated_cell", "hardcoded_seeds"]
    again = [graded["folder"] / f"{n}.ipynb" for n in names]
    assert grade_cli(*again, "--out", tmp_path, "--jobs", "2", "--quiet", "--seed", 12345) == 0
    for n in names:
        assert (
            json.loads((tmp_path / n / "results.json").read_text())["score"]
            == results(graded, n)["score"]
        ), n


def test_resume_after_interruption(graded, tmp_path, monkeypatch):
    subs = [graded["folder"] / f"{n}.ipynb" for n in ("good", "cosine", "stub")]
    real = grade.grade_submission
    calls: list[str] = []

    def interrupted(sub, tasks, opts):
        calls.append(sub.name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(sub, tasks, opts)

    monkeypatch.setattr(grade, "grade_submission", interrupted)
    assert grade_cli(*subs, "--out", tmp_path, "--jobs", "1", "--quiet", "--seed", 1) == 130
    kept = [n for n in ("good", "cosine", "stub") if (tmp_path / n / "results.json").exists()]
    assert kept == [calls[0]]
    monkeypatch.setattr(grade, "grade_submission", real)
    before = (tmp_path / kept[0] / "results.json").stat().st_mtime_ns
    assert grade_cli(*subs, "--out", tmp_path, "--jobs", "2", "--quiet", "--seed", 2) == 0
    assert (tmp_path / kept[0] / "results.json").stat().st_mtime_ns == before  # not regraded
    seeds = {
        n: json.loads((tmp_path / n / "grading.json").read_text())["seed"]
        for n in ("good", "cosine", "stub")
    }
    assert seeds[kept[0]] == 1 and sorted(seeds.values()) == [1, 2, 2]
    rows = list(csv.reader(open(tmp_path / "class.csv", encoding="utf-8")))[1:]
    assert sorted(r[0] for r in rows) == ["cosine", "good", "stub"]
    # a changed submission is regraded; --force regrades everything
    nbformat.write(notebook((COSINE, ["task:warmup"])), tmp_path / "good.ipynb")
    changed = [tmp_path / "good.ipynb", subs[1], subs[2]]
    assert grade_cli(*changed, "--out", tmp_path, "--quiet", "--seed", 3) == 0
    assert json.loads((tmp_path / "good" / "grading.json").read_text())["seed"] == 3
    assert json.loads((tmp_path / "good" / "results.json").read_text())["score"] == 0


def test_grader_errors_are_exit_code_2(tmp_path):
    assert grade_cli(tmp_path / "nope.ipynb", "--out", tmp_path / "o") == 2
    (tmp_path / "file").write_text("")
    nbformat.write(notebook((GOOD, ["task:warmup"])), tmp_path / "a.ipynb")
    assert grade_cli(tmp_path / "a.ipynb", "--out", tmp_path / "file") == 2
    assert grade_cli(tmp_path / "a.ipynb", "--out", tmp_path / "o", "--tasks", "nope") == 2


def test_a_hanging_task_costs_only_itself(tmp_path, monkeypatch):
    """Two tasks in one notebook: the first hangs, the second is graded in a fresh worker."""
    twin = dataclasses.replace(get("warmup"), task_id="warmup_twin", func_name="twin_scores")
    table = {**all_exercises(), "warmup_twin": twin}
    monkeypatch.setattr(sandbox, "get", lambda t: table[t])
    nb = notebook(("def dot_scores(U, I):\n    while True:\n        pass\n", ["task:warmup"]))
    nb.cells.append(
        new_code_cell(
            GOOD.replace("dot_scores", "twin_scores"), metadata={"tags": ["task:warmup_twin"]}
        )
    )
    nbformat.write(nb, tmp_path / "two.ipynb")
    hang, ok = sandbox.run_tasks(
        tmp_path / "two.ipynb", ["warmup", "warmup_twin"], task_timeout=2.0, seed=5
    )
    assert (hang.status, ok.status) == (CRASHED, PASSED), (hang.message, ok.message)
    late = sandbox.run_tasks(
        tmp_path / "two.ipynb",
        ["warmup", "warmup_twin"],
        task_timeout=2.0,
        total_timeout=1.0,
        seed=5,
    )
    assert [r.status for r in late] == [CRASHED, CRASHED]
    assert "total time limit" in late[1].message


def test_worker_is_confined(limits):
    assert limits["address_space"] and limits["fsize"] and limits["core"] == 0
    assert limits["seccomp"]


def test_outputs_are_judged_in_the_parent(tmp_path):
    """A worker reply can only carry values: a correct-looking status string is not a pass."""
    nb = notebook(
        ("import torch\n\n\ndef dot_scores(U, I):\n    return 'passed'\n", ["task:warmup"])
    )
    nbformat.write(nb, tmp_path / "s.ipynb")
    (r,) = sandbox.run_tasks(tmp_path / "s.ipynb", seed=3)
    assert r.status == FAILED and "str" in r.message


def test_redact_keeps_the_diagnosis_not_the_numbers():
    from recsys_ref.course.engine.verdict import Result, error_slot, raised_slot, text

    r = Result(
        "warmup",
        FAILED,
        func_name="dot_scores",
        body=text(
            "on the case 'one user', the output differs from the reference in 3 of 6 entries ",
            error_slot(0.123, (0, 2)),
            ". Compare your code with eq. 10.",
        ),
    )
    assert "0.123 at index (0, 2)" in r.message
    out = grade.redact(r)
    assert "0.123" not in out and "at index" not in out and "of order 1e-1" in out
    long = Result(
        "warmup",
        FAILED,
        func_name="dot_scores",
        body=text("raised ", raised_slot("ValueError: " + "9" * 1000), " on the case 'one user'."),
    )
    assert len(grade.redact(long)) < 400


def test_torch_in_parent_is_untouched_by_learner_code(graded):
    assert torch.allclose(torch.ones(2), torch.ones(2) + 1) is False


def test_calling_the_reference_gets_no_points(tmp_path):
    """A cell that only calls the reference: withheld in the worker, so no points, and the
    feedback says why (test_grade_withheld.py has every task and every route)."""
    ex = get("fm_4")
    ref = ex.reference
    honest = (
        f"from {ref.__module__} import {ref.__name__} as _reference\n\n\n"
        f"def {ex.func_name}(*args, **kwargs):\n    return _reference(*args, **kwargs)\n"
    )
    nb = new_notebook(cells=[new_code_cell(honest, metadata={"tags": [f"task:{ex.task_id}"]})])
    nbformat.write(nb, tmp_path / "honest.ipynb")
    (ok,) = sandbox.run_tasks(tmp_path / "honest.ipynb", [ex.task_id], seed=4)
    assert ok.status != PASSED and ok.points == 0, ok.message
    assert "not available while grading" in ok.message, ok.message


def test_limits_cannot_be_raised_from_inside(tmp_path, limits):
    if not limits.get("seccomp"):
        pytest.skip("no seccomp filter on this machine")
    code = (
        "import resource\n\n\ndef dot_scores(U, I):\n"
        "    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY,) * 2)\n"
        "    return U @ I.T\n"
    )
    nbformat.write(notebook((code, ["task:warmup"])), tmp_path / "raise.ipynb")
    (r,) = sandbox.run_tasks(tmp_path / "raise.ipynb", ["warmup"], seed=2)
    assert r.status == FAILED and "ValueError" in r.message, r.message


def _pasted(fn) -> str:
    """``fn``'s module's imports and functions, as a learner would paste them into a cell
    (the spec modules themselves are withheld in the worker)."""
    import ast
    import inspect

    module = inspect.getmodule(fn)
    parts = module.__name__.split(".")
    imports = []
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        if isinstance(node, ast.ImportFrom) and node.level:
            base = parts[: len(parts) - node.level]
            node = ast.ImportFrom(
                ".".join(base + ([node.module] if node.module else [])), node.names, 0
            )
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef)):
            imports.append(ast.unparse(node))  # the module's helpers come along
    return "\n\n".join(imports)


def test_misconceptions_are_named_in_the_grader(tmp_path):
    """Registry-driven: each task's first misconception, pasted as a cell, gets no points,
    and at least half of them get their diagnosis by name."""
    cells, expected = [], {}
    for t, ex in all_exercises().items():
        importable = [
            m
            for m in ex.misconceptions
            if "<" not in m.wrong.__qualname__ and "." not in m.wrong.__qualname__
        ]
        if not importable:
            continue
        m = importable[0]
        code = (
            _pasted(m.wrong) + f"\n\ndef {ex.func_name}(*args, **kwargs):\n"
            f"    return {m.wrong.__name__}(*args, **kwargs)\n"
        )
        cells.append(new_code_cell(code, metadata={"tags": [f"task:{t}"]}))
        expected[t] = m
    if not expected:
        pytest.skip("no importable misconception registered")
    nbformat.write(new_notebook(cells=cells), tmp_path / "wrong.ipynb")
    results = sandbox.run_tasks(tmp_path / "wrong.ipynb", list(expected), seed=11)
    named = 0
    for r in results:
        m = expected[r.task_id]
        assert r.status == FAILED and r.points == 0, (r.task_id, r.message)
        if r.misconception == m.name:
            assert m.message in r.message
            named += 1
    # A pasted variant that calls a withheld function (the reference, another task's) or
    # needs its module's constants fails without the name; the others are named.
    assert named >= len(expected) // 2, (named, len(expected), [r.message for r in results])
