"""The learner notebooks as a learner first meets them: "Run All" on the stubs.

Every cell runs without an error: each check cell says "not started" (it does
not raise), and cells that plug a learner's function into a model fall back to
the reference.  (The solutions are executed and compared by `pytest --nbval
solutions`; this runs the generated copies in notebooks/.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from recsys_ref.course.nbtools.notebook import cell_source, read_notebook, tags

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


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
