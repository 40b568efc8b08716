"""The course map and README's task table, both drawn from the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from recsys_ref.course import all_exercises
from recsys_ref.course.nbtools import course_map

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_table_is_what_the_registry_generates() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert course_map.with_task_table(readme) == readme, (
        "run `python -m recsys_ref.course.nbtools.course_map` (or `recsys-course refresh`)"
    )


def test_a_stale_table_is_rewritten_and_the_rest_kept(tmp_path: Path) -> None:
    rows = course_map.readme_table()
    tasks = [t for t, ex in all_exercises().items() if ex.kind == "task"]
    assert len(rows) == 2 + len(tasks) and all(f"`{t}`" in "".join(rows) for t in tasks)
    stale = "\n".join(
        ["# Course", "", *rows[:3], "| `gone` | `x.ipynb` | `f` | `pytest -m gone` |"]
    )
    readme = tmp_path / "README.md"
    readme.write_text(stale + "\n\nAfter the table.\n", encoding="utf-8")
    assert course_map.main(["--readme", str(readme), "--check"]) == 1
    assert course_map.main(["--readme", str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert "`gone`" not in text and text.startswith("# Course\n\n")
    assert text.endswith("\n\nAfter the table.\n") and "\n".join(rows) in text
    assert course_map.main(["--readme", str(readme), "--check"]) == 0


def test_a_readme_without_a_table_is_an_error() -> None:
    with pytest.raises(ValueError, match="no task table"):
        course_map.with_task_table("# Course\n")
