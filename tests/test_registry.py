"""The registry walks ``course/tasks/``: track packages, their task modules, and top-level modules."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from recsys_ref.course import tasks
from recsys_ref.course.engine import registry

SPEC = (
    "from recsys_ref.course.engine.questions import question\n"
    "EXERCISES = [question({tid!r}, '99_extra', 'an extra question', 'A', 'why', choices='AB')]\n"
)


@pytest.fixture
def extra_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A second folder on ``tasks.__path__``: a top-level module and a track package in it."""
    (tmp_path / "extra_top.py").write_text(SPEC.format(tid="q_extra_1"), encoding="utf-8")
    (tmp_path / "extra_track").mkdir()
    (tmp_path / "extra_track" / "__init__.py").write_text('"""A track."""\n', encoding="utf-8")
    (tmp_path / "extra_track" / "thing.py").write_text(
        SPEC.format(tid="q_extra_2"), encoding="utf-8"
    )
    monkeypatch.setattr(tasks, "__path__", [*tasks.__path__, str(tmp_path)])
    registry.all_exercises.cache_clear()
    yield tmp_path
    registry.all_exercises.cache_clear()
    for name in [n for n in sys.modules if n.startswith(f"{tasks.__name__}.extra_")]:
        del sys.modules[name]


def test_every_track_package_and_task_module_is_found() -> None:
    found = registry.all_exercises()
    by_module = {ex.reference.__module__ for ex in found.values() if ex.kind == "task"}
    assert "recsys_ref.course.tasks.ngcf.laplacian" in by_module  # build_adjacency, ngcf_1
    for tid in ("warmup", "ngcf_1", "ngcf_9", "fm_1", "fm_9", "cap_1", "cap_6"):
        assert tid in found
    for prefix in ("q_start_", "q_ngcf_", "q_fm_", "q_cap_"):
        assert any(t.startswith(prefix) for t in found), prefix


def test_a_top_level_module_and_a_new_track_package_are_found(extra_folder: Path) -> None:
    found = registry.all_exercises()
    assert {"q_extra_1", "q_extra_2"} <= set(found)
    assert list(found)[-2:] == ["q_extra_1", "q_extra_2"]  # notebook 99 comes last


def test_a_task_id_registered_twice_is_an_error(extra_folder: Path) -> None:
    (extra_folder / "extra_twice.py").write_text(SPEC.format(tid="q_extra_1"), encoding="utf-8")
    with pytest.raises(RuntimeError, match="q_extra_1.*registered twice"):
        registry.all_exercises()


def test_a_task_package_that_fails_to_import_is_an_error(extra_folder: Path) -> None:
    """pkgutil skips a package whose import fails unless told otherwise: a track would vanish."""
    (extra_folder / "extra_broken").mkdir()
    (extra_folder / "extra_broken" / "__init__.py").write_text("raise ValueError('x')\n")
    with pytest.raises(ImportError, match="extra_broken"):
        registry.all_exercises()
