"""The learner notebooks as a learner first meets them: "Run All" on the stubs, in one sitting.

Every cell runs without an error: each check cell says "not started" (it does
not raise), and cells that plug a learner's function into a model fall back to
the reference.  (The solutions are executed and compared by `pytest --nbval
solutions`; this runs the generated copies in notebooks/.)  Every notebook fits
one sitting: at most ``CELL_BUDGET`` cells, counted by the same function that
``benchmarks/bench_notebooks.py`` prints beside each notebook's Run All time.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from recsys_ref.course.nbtools.notebook import cell_source, read_notebook, tags

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))

sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_notebooks  # noqa: E402 - benchmarks/ runs as scripts, not a package

CELL_BUDGET = bench_notebooks.CELL_BUDGET


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_every_notebook_fits_one_sitting_in_cells(path: Path) -> None:
    n = bench_notebooks.count_cells(path)
    assert n <= CELL_BUDGET, (
        f"{path.name} has {n} cells > {CELL_BUDGET}: split it where the material has a seam "
        "(the registry's `notebook` field moves its tasks), or join adjacent prose cells"
    )


def test_the_benchmark_refuses_a_notebook_over_the_cell_budget(tmp_path: Path, capsys) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"cell {k}") for k in range(CELL_BUDGET + 1)]
    over, at = tmp_path / "98_long.ipynb", tmp_path / "99_short.ipynb"
    nbformat.write(nb, over)
    nb.cells = nb.cells[:CELL_BUDGET]
    nbformat.write(nb, at)
    assert bench_notebooks.main(["--cells-only", str(at)]) == 0
    assert bench_notebooks.main(["--cells-only", str(over), str(at)]) == 1
    out = capsys.readouterr().out
    assert f"OVER BUDGET: 98_long.ipynb has {CELL_BUDGET + 1} cells > {CELL_BUDGET}" in out
    assert "99_short.ipynb has" not in out


def _text(output) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    if output.get("output_type") == "error":
        return f"{output.get('ename')}: {output.get('evalue')}"
    return str(output.get("data", {}).get("text/plain", ""))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_run_all_on_the_stubs_has_no_error(path: Path, tmp_path: Path) -> None:
    from nbclient import NotebookClient

    copy = tmp_path / path.name
    shutil.copy(path, copy)
    nb = read_notebook(copy)
    NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    for index, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, (
            f"{path.name}, cell {index} raised on the stub notebook: {_text(errors[0])}\n"
            f"{cell_source(cell)[:300]}"
        )
        if any(t.startswith("check:") for t in tags(cell)):
            said = "".join(_text(o) for o in cell.outputs)
            assert "not started" in said, f"{path.name}, cell {index}: check said {said!r}"
