"""Write a notebook of exercise cells, as a learner's submission would hold them (grader tests)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook


def write(path: Path, *cells: tuple[str, str]) -> Path:
    """A notebook with one exercise cell per (task id, code), after an ``import torch`` cell."""
    nb = new_notebook(
        cells=[new_code_cell("import torch")]
        + [new_code_cell(code, metadata={"tags": [f"task:{t}"]}) for t, code in cells]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
