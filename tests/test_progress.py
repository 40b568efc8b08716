"""`recsys-course progress`: the learner's view of "where am I", task by task."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from recsys_ref.course.cli import main
from recsys_ref.course.nbtools.build import render
from recsys_ref.course.nbtools.notebook import cell_source, read_notebook, task_ids

ROOT = Path(__file__).resolve().parents[1]
START = "00_start_here.ipynb"


def with_warmup(src: Path, dst: Path, body: str) -> Path:
    """A copy of the learner notebook whose warm-up stub line is replaced by ``body``."""
    nb = read_notebook(src)
    for cell in nb.cells:
        if "warmup" in task_ids(cell):
            cell.source = "\n".join(
                "    " + body if "raise NotImplementedError" in line else line
                for line in cell_source(cell).splitlines()
            )
    dst.write_text(render(nb))
    return dst


def progress_json(capsys, *args: str) -> list[dict]:
    assert main(["progress", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_stub_solution_wrong_answer_and_broken_notebook(tmp_path: Path, capsys) -> None:
    for sub in "abcd":
        (tmp_path / sub).mkdir()
    stub = shutil.copy(ROOT / "notebooks" / START, tmp_path / "a" / START)
    rows = progress_json(capsys, str(stub))
    assert [(r["task"], r["status"]) for r in rows] == [
        ("warmup", "not started"),
        ("q_start_00a", "not started"),
        ("q_start_00b", "not started"),
    ]

    done = with_warmup(ROOT / "notebooks" / START, tmp_path / "b" / START, "return U @ I.T")
    assert progress_json(capsys, str(done))[0]["status"] == "passed"

    wrong = with_warmup(
        ROOT / "notebooks" / START,
        tmp_path / "c" / START,
        "return torch.nn.functional.normalize(U, dim=1) @ torch.nn.functional.normalize(I, dim=1).T",
    )
    row = progress_json(capsys, str(wrong))[0]
    assert row["status"] == "failed" and "cosine similarity" in row["message"]

    broken = tmp_path / "d" / START
    broken.write_text('{"cells": [')
    row = progress_json(capsys, str(broken))[0]
    assert row["status"] == "crashed" and "not valid notebook JSON" in row["message"]


def test_table_over_a_folder_lists_missing_notebooks(tmp_path: Path, capsys) -> None:
    shutil.copy(ROOT / "notebooks" / START, tmp_path / START)
    assert main(["progress", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "00_start_here.ipynb" in out and "not started" in out
    assert out.rstrip().endswith("tasks done.")
    rows = progress_json(capsys, str(tmp_path))
    others = [r for r in rows if r["notebook"] != START]
    assert all(r["status"] == "missing" for r in others)


def test_a_hanging_cell_costs_only_its_task(tmp_path: Path, capsys) -> None:
    hang = with_warmup(ROOT / "notebooks" / START, tmp_path / START, "while True: pass")
    rows = progress_json(capsys, "--timeout", "3", str(hang))
    assert rows[0]["status"] in {"crashed", "failed"} and "stopped after 3 s" in rows[0]["message"]


def test_nonexistent_path_is_a_clear_error(capsys) -> None:
    assert main(["progress", "no/such/folder"]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_every_solution_passes_in_the_sandbox(capsys) -> None:
    rows = progress_json(capsys, str(ROOT / "solutions"))
    assert rows and all(r["status"] == "passed" for r in rows), [
        r for r in rows if r["status"] != "passed"
    ]
