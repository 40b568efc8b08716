"""The page notebooks of the two site editions (recsys_ref.course.nbtools.site_pages), without Sphinx.

The learner edition must hand out no answer: no solution region's code in any
cell, no output of a cell the learner writes or checks, no printed text at all;
it keeps the figures of the cells the learner does not write.  The browser test
(tests/test_site.py) searches the built HTML as well.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from recsys_ref.course.nbtools.notebook import tags
from recsys_ref.course.nbtools.site_pages import (
    final_lines,
    instructor_page,
    learner_page,
    merge_streams,
    solution_code,
    write_pages,
)

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def _text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        parts.append(cell.source)
        for out in cell.get("outputs", []):
            parts.append(str(out))
    return "\n".join(parts)


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_learner_page_holds_no_solution_code(path: Path) -> None:
    solution = nbformat.read(path, as_version=4)
    page = learner_page(solution, path.stem)
    text = _text(page)
    regions = solution_code(solution)
    for region in regions:
        assert region not in text, region[:200]
        for line in region.splitlines():
            line = line.strip()
            # a distinctive line (not a stub, not shared with the learner's own cells)
            if len(line) >= 20 and line not in learner_text(path.stem):
                assert line not in text, line
    for cell in page.cells:
        if any(t.startswith(("task:", "check:")) for t in tags(cell)):
            assert not cell.get("outputs"), cell.source[:80]
        for out in cell.get("outputs", []):
            assert out["output_type"] == "display_data" and set(out["data"]) <= {
                "image/png",
                "image/svg+xml",
                "image/jpeg",
            }


def learner_text(stem: str) -> str:
    return (ROOT / "notebooks" / f"{stem}.ipynb").read_text(encoding="utf-8")


def test_the_learner_edition_keeps_figures(tmp_path: Path) -> None:
    written = write_pages(ROOT / "solutions", tmp_path, "learner")
    assert [p.name for p in written] == [p.name for p in SOLUTIONS]
    figures = sum(
        1
        for p in written
        for c in nbformat.read(p, as_version=4).cells
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    )
    solved = sum(
        1
        for p in SOLUTIONS
        for c in nbformat.read(p, as_version=4).cells
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    )
    assert 0 < figures <= solved, (figures, solved)


def test_every_solution_notebook_has_regions_to_hide() -> None:
    """The search above is not vacuous: the task notebooks do hold solution regions."""
    counts = {p.stem: len(solution_code(nbformat.read(p, as_version=4))) for p in SOLUTIONS}
    assert sum(counts.values()) >= 20, counts


def test_progress_bars_keep_their_final_line() -> None:
    outs = [
        nbformat.v4.new_output("stream", name="stderr", text="\rNGCF:   0%| 0/30"),
        nbformat.v4.new_output("stream", name="stderr", text="\rNGCF:  50%| 15/30"),
        nbformat.v4.new_output("stream", name="stderr", text="\rNGCF: 100%| 30/30\n"),
        nbformat.v4.new_output("stream", name="stdout", text="recall 0.5\n"),
    ]
    merged = merge_streams(outs)
    assert [o["text"] for o in merged] == ["NGCF: 100%| 30/30\n", "recall 0.5\n"]
    assert final_lines("a\rb\rc\nd") == "c\nd"


def test_instructor_pages_shrink_stored_progress_bars() -> None:
    path = ROOT / "solutions" / "10_graph_laplacian.ipynb"
    solution = nbformat.read(path, as_version=4)
    page = instructor_page(solution)
    before = sum(len(c.get("outputs", [])) for c in solution.cells if c.cell_type == "code")
    after = sum(len(c.get("outputs", [])) for c in page.cells if c.cell_type == "code")
    assert after < before
    for cell in page.cells:
        for out in cell.get("outputs", []):
            if out["output_type"] == "stream":
                assert "\r" not in out["text"]
    assert solution_code(page) == solution_code(solution)  # the solutions are all there


def test_an_unknown_edition_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected one of learner, instructor"):
        write_pages(ROOT / "solutions", tmp_path, "students")
