"""Reviewable notebooks: solutions/ keep outputs but no volatile metadata (timestamps, view state)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recsys_ref.course.nbtools.clean import clean, clean_text, main, volatile

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "solutions").glob("*.ipynb")) + sorted(
    (ROOT / "notebooks").glob("*.ipynb")
)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_no_volatile_metadata(path: Path) -> None:
    found = volatile(json.loads(path.read_text(encoding="utf-8")))
    assert not found, (
        f"{path.relative_to(ROOT)} has volatile metadata ({', '.join(found[:4])}); "
        "run `make clean-notebooks`"
    )


def _dirty(tmp_path: Path) -> Path:
    nb = json.loads((ROOT / "solutions" / "00_start_here.ipynb").read_text(encoding="utf-8"))
    nb["metadata"]["language_info"]["version"] = "3.11.7"
    nb["metadata"]["widgets"] = {"state": {}}
    for cell in nb["cells"]:
        cell["metadata"]["execution"] = {"iopub.status.idle": "2026-11-27T20:43:42.588499Z"}
        cell["metadata"]["scrolled"] = True
    path = tmp_path / "00_start_here.ipynb"
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path


def test_cleaner_removes_what_it_finds_and_keeps_outputs(tmp_path: Path) -> None:
    path = _dirty(tmp_path)
    before = json.loads(path.read_text(encoding="utf-8"))
    assert len(volatile(before)) == 2 + 2 * len(before["cells"])
    assert main(["--check", str(path)]) == 1
    assert main([str(path)]) == 0
    after = json.loads(path.read_text(encoding="utf-8"))
    assert volatile(after) == []
    keep = ("cell_type", "source", "outputs", "execution_count")
    assert [[c.get(k) for k in keep] for c in after["cells"]] == [
        [c.get(k) for k in keep] for c in before["cells"]
    ]
    assert [c["metadata"].get("tags") for c in after["cells"]] == [
        c["metadata"].get("tags") for c in before["cells"]
    ]
    assert main(["--check", str(path)]) == 0


def test_cleaning_a_clean_notebook_changes_no_byte(tmp_path: Path) -> None:
    for src in NOTEBOOKS:
        text = src.read_text(encoding="utf-8")
        assert clean_text(text) == text, src.name


def test_clean_is_idempotent(tmp_path: Path) -> None:
    path = _dirty(tmp_path)
    once = clean_text(path.read_text(encoding="utf-8"))
    assert clean_text(once) == once
    assert clean(json.loads(once)) == json.loads(once)


def test_refresh_writes_clean_notebooks(tmp_path: Path) -> None:
    """``recsys-course refresh`` (execute_solutions) leaves no timestamps behind."""
    pytest.importorskip("nbclient")
    from recsys_ref.course.nbtools.build import execute_solutions

    nb = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "a",
                "metadata": {},
                "outputs": [],
                "source": "print(1 + 1)",
            }
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    execute_solutions([path], timeout=120)
    done = json.loads(path.read_text(encoding="utf-8"))
    assert "".join(done["cells"][0]["outputs"][0]["text"]) == "2\n"
    assert volatile(done) == []


def test_pre_commit_hooks_clean_notebooks_and_find_the_venv() -> None:
    import yaml

    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {h["id"]: h for repo in config["repos"] for h in repo["hooks"]}
    assert {"ruff", "ruff-format", "clean-notebooks", "notebooks-match-solutions"} <= set(hooks)
    assert "recsys_ref.course.nbtools.clean" in hooks["clean-notebooks"]["entry"]
    for hook in hooks.values():  # none needs an activated venv
        assert hook["entry"].startswith("tools/in-venv "), hook
    assert (ROOT / "tools" / "in-venv").stat().st_mode & 0o111


def test_in_venv_finds_the_venv_without_activation(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/tmp"),
        "VIRTUAL_ENV": str(Path(sys.prefix)),
    }
    done = subprocess.run(
        [
            str(ROOT / "tools" / "in-venv"),
            "python",
            "-c",
            "import sys, recsys_ref; print(sys.prefix); print(recsys_ref.__file__)",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    prefix, module = done.stdout.split()
    assert Path(prefix) == Path(sys.prefix) and Path(module).is_relative_to(ROOT)
