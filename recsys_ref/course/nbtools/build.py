"""Build the learner notebooks (``notebooks/``) from ``solutions/``.

Solution regions between nbgrader's markers become a stub::

    ### BEGIN SOLUTION          →   raise NotImplementedError("Task fm_4: ...")
    ...                              (same indentation; signature and docstring kept)
    ### END SOLUTION

Outputs and execution counts are cleared and metadata noise removed.  Each
exercise cell gets nbgrader's metadata (``nbgrader_metadata``: a solution cell
per task, a locked graded cell per check, points from the spec), so the same
notebooks work with nbgrader (``export_nbgrader`` writes its source folder).
A setup cell at the top (``BOOTSTRAP``) installs the course from the folder
the notebook sits in when ``recsys_ref`` cannot be imported (Colab), and does
nothing otherwise.  The build
never overwrites a learner's work: it records the hash of every notebook it
writes in ``notebooks/.build-manifest.json`` and refuses to replace a notebook
that differs from what it last wrote, unless ``force=True`` — and even then it
keeps a timestamped copy in ``notebooks/.backups/``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .clean import clean
from .notebook import CHECK_TAG, cell_source, read_notebook, tags, task_ids

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
MANIFEST = ".build-manifest.json"
BACKUPS = ".backups"
KEEP_CELL_METADATA = ("tags",)
STUB = (
    'raise NotImplementedError("Task {task}: write your code here, then run the check cell below.")'
)


BOOTSTRAP_TAG = "course-setup"
BOOTSTRAP = """\
# @title Course setup (installs the course on Colab; does nothing where it is installed)
try:
    import recsys_ref  # noqa: F401
except ImportError:  # the places of recsys_ref.course.bootstrap.course_places
    from pathlib import Path
    _places = [Path.cwd(), *Path.cwd().parents, *sorted(Path.cwd().glob("*/"))]
    _root = next((p for p in _places if (p / "recsys_ref/course/bootstrap.py").is_file()), None)
    if _root is None:
        raise RuntimeError("recsys_ref is not installed and no course folder was found here, above "
                           "or in a folder inside: upload the course folder, or pip install it") from None
    exec((_root / "recsys_ref/course/bootstrap.py").read_text(), {"__name__": "bootstrap", "ROOT": _root})"""
# Shown as its first line only: Colab's form view shows the @title, JupyterLab hides the source.
BOOTSTRAP_METADATA = {"cellView": "form", "jupyter": {"source_hidden": True}}
NBGRADER_SCHEMA = 3


class BuildError(ValueError):
    """A solutions notebook the build cannot turn into a learner notebook."""


@dataclass
class BuildReport:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    refused: list[Path] = field(default_factory=list)
    backups: list[Path] = field(default_factory=list)
    differ: list[str] = field(default_factory=list)  # --check: what is out of date

    @property
    def ok(self) -> bool:
        return not self.refused and not self.differ


def stub_source(source: str, task: str | None, where: str) -> str:
    """Replace each solution region of one cell's source by a stub line."""
    out: list[str] = []
    begin_line: int | None = None
    for n, line in enumerate(source.split("\n"), start=1):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if begin_line is not None:
                raise BuildError(
                    f"{where}, line {n}: '{BEGIN}' inside the region opened at line "
                    f"{begin_line}; regions cannot be nested"
                )
            if task is None:
                raise BuildError(
                    f"{where}, line {n}: a solution region in a cell without a "
                    "'task:<id>' tag; tag the exercise cell"
                )
            begin_line = n
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + STUB.format(task=task))
        elif stripped.startswith(END):
            if begin_line is None:
                raise BuildError(f"{where}, line {n}: '{END}' without a matching '{BEGIN}'")
            begin_line = None
        elif begin_line is None:
            out.append(line)
    if begin_line is not None:
        raise BuildError(f"{where}, line {begin_line}: '{BEGIN}' is never closed by '{END}'")
    return "\n".join(out)


def check_ids(cell) -> list[str]:
    return [t[len(CHECK_TAG) :] for t in tags(cell) if t.startswith(CHECK_TAG)]


def nbgrader_metadata(cell, used: set[str]) -> dict | None:
    """nbgrader's cell metadata for an exercise or check cell (None for any other cell).

    A ``task:<id>`` cell is a solution cell (``grade_id`` = the task id); a
    ``check:<id>`` cell is a locked graded test cell worth the spec's points
    (``grade_id`` = ``check_<id>``).  ``used`` keeps grade ids unique per notebook.
    """
    from ..engine.registry import all_exercises

    tasks, checks = task_ids(cell), check_ids(cell)
    if cell.cell_type != "code" or not (tasks or checks):
        return None
    base = f"check_{checks[0]}" if checks and not tasks else tasks[0] if tasks else checks[0]
    grade_id, n = base, 1
    while grade_id in used:
        n += 1
        grade_id = f"{base}_{n}"
    used.add(grade_id)
    meta = {"grade_id": grade_id, "schema_version": NBGRADER_SCHEMA, "task": False}
    if tasks:
        return {**meta, "solution": True, "grade": False, "locked": False}
    exercise = all_exercises().get(checks[0])
    if exercise is None:  # no spec (a notebook in the making): nothing to grade it by
        used.discard(grade_id)
        return None
    return {**meta, "solution": False, "grade": True, "locked": True, "points": exercise.points}


def bootstrap_cell() -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(
        BOOTSTRAP,
        metadata={"tags": [BOOTSTRAP_TAG], **copy.deepcopy(BOOTSTRAP_METADATA)},
        id=BOOTSTRAP_TAG,
    )


def _with_nbgrader(nb: nbformat.NotebookNode) -> None:
    used: set[str] = set()
    for cell in nb.cells:
        meta = nbgrader_metadata(cell, used)
        if meta is not None:
            cell.metadata["nbgrader"] = meta


def learner_notebook(solution: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The learner copy of one solutions notebook (a new object; the input is untouched)."""
    nb = copy.deepcopy(solution)
    nb.cells = [c for c in nb.cells if BOOTSTRAP_TAG not in tags(c)]
    for index, cell in enumerate(nb.cells, start=1):
        where = f"solutions/{name}.ipynb, cell {index}"
        src = cell_source(cell)
        if cell.cell_type == "code":
            ids = task_ids(cell)
            cell.source = stub_source(src, ids[0] if ids else None, where)
            cell.outputs = []
            cell.execution_count = None
        elif BEGIN in src or END in src:
            raise BuildError(
                f"{where}: solution markers in a {cell.cell_type} cell; "
                "only code cells may hold solution regions"
            )
        kept = {k: cell.metadata[k] for k in KEEP_CELL_METADATA if cell.metadata.get(k)}
        cell.metadata = nbformat.NotebookNode(kept)
    _with_nbgrader(nb)
    nb.cells.insert(0, bootstrap_cell())
    nb.metadata = nbformat.NotebookNode(
        {
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
            },
            "language_info": {"name": "python"},
            "recsys_course": {"notebook": name, "generated_from": f"solutions/{name}.ipynb"},
        }
    )
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    """Deterministic text of a notebook, as JupyterLab would save it."""
    return nbformat.writes(nb) + "\n"


def sha256(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def _manifest(notebooks: Path) -> dict[str, str]:
    path = notebooks / MANIFEST
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _save_manifest(notebooks: Path, manifest: dict[str, str]) -> None:
    text = json.dumps(dict(sorted(manifest.items())), indent=1) + "\n"
    (notebooks / MANIFEST).write_text(text, encoding="utf-8")


def generate(solutions: Path) -> dict[str, str]:
    """File name → learner notebook text, for every notebook in ``solutions``."""
    out: dict[str, str] = {}
    for path in sorted(solutions.glob("*.ipynb")):
        nb = read_notebook(path)
        out[path.name] = render(learner_notebook(nb, path.stem))
    if not out:
        raise BuildError(f"{solutions}: no notebooks to build from")
    return out


def build(
    solutions: Path, notebooks: Path, *, force: bool = False, check: bool = False
) -> BuildReport:
    """Write (or with ``check=True`` only compare) the learner notebooks."""
    report = BuildReport()
    generated = generate(solutions)
    if check:
        for name, text in generated.items():
            target = notebooks / name
            if not target.exists():
                report.differ.append(f"{target} is missing")
            elif target.read_text(encoding="utf-8") != text:
                report.differ.append(f"{target} differs from what {solutions / name} generates")
        for target in sorted(notebooks.glob("*.ipynb")):
            if target.name not in generated:
                report.differ.append(f"{target} has no source in {solutions}/")
        return report
    notebooks.mkdir(parents=True, exist_ok=True)
    manifest = _manifest(notebooks)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for name, text in generated.items():
        target = notebooks / name
        if target.exists():
            current = target.read_bytes()
            if current == text.encode("utf-8"):
                report.unchanged.append(target)
                manifest[name] = sha256(text)
                continue
            if manifest.get(name) != sha256(current):
                if not force:
                    report.refused.append(target)
                    continue
                backup_dir = notebooks / BACKUPS
                backup_dir.mkdir(exist_ok=True)
                backup = backup_dir / f"{target.stem}.{stamp}.ipynb"
                shutil.copy2(target, backup)
                report.backups.append(backup)
        target.write_text(text, encoding="utf-8")
        manifest[name] = sha256(text)
        report.written.append(target)
    _save_manifest(notebooks, manifest)
    return report


def nbgrader_source(solution: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """nbgrader's instructor ("source") version: the solution with nbgrader metadata, no outputs.

    ``nbgrader generate_assignment`` turns it into the release version (its own
    stubs), and ``autograde`` scores submissions by the locked check cells.
    """
    learner = learner_notebook(solution, name)  # the same cells, metadata and setup cell
    sources = [c for c in copy.deepcopy(solution).cells if BOOTSTRAP_TAG not in tags(c)]
    for cell, original in zip(learner.cells[1:], sources, strict=True):
        cell.source = cell_source(original)  # solution regions kept, markers and all
    return learner


def export_nbgrader(
    solutions: Path, course_dir: Path, assignment: str = "recsys-course"
) -> list[Path]:
    """Write nbgrader's ``source/<assignment>/`` folder from ``solutions/``; return the files."""
    target = course_dir / "source" / assignment
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(solutions.glob("*.ipynb")):
        out = target / path.name
        out.write_text(render(nbgrader_source(read_notebook(path), path.stem)), encoding="utf-8")
        written.append(out)
    if not written:
        raise BuildError(f"{solutions}: no notebooks to export")
    return written


def execute_solutions(paths: list[Path], *, timeout: int = 600) -> None:
    """Run solutions notebooks top to bottom in place, saving fresh outputs (maintainers)."""
    from nbclient import NotebookClient

    for path in paths:
        nb = read_notebook(path)
        NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            record_timing=False,
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
        path.write_text(render(nbformat.from_dict(clean(nb))), encoding="utf-8")  # reviewable diffs
