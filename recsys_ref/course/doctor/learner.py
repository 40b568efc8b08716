"""The learner's checks: Python (1), torch (2), the notebooks folder (4), the notebooks (5).

Quick ones: no subprocess.  torch's line takes the kernel probe's answer when the probe ran in this
environment (``kernel.KernelProbe``), so this process need not import torch; the notebook check
takes the registered exercise cells from the same answer, or loads the registry itself.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from .report import FAIL, NOTE, OK, WARN, Report, course_root, supported, version_ok


def check_python(report: Report, version: tuple[int, ...] | None = None) -> None:
    v = tuple(version or sys.version_info[:3])
    text = ".".join(map(str, v))
    if version_ok(v):
        report.add(OK, f"Python {text}", f"({supported()} supported)")
    else:
        report.add(
            FAIL,
            f"Python {text} is not supported",
            f"(the course needs {supported()})",
            "create the environment again with Python 3.11: "
            "`conda env create -f environment.yml` or `python3.11 -m venv .venv`",
        )


# --- 2. torch --------------------------------------------------------------------------------


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def torch_facts() -> dict[str, Any]:
    """This environment's torch as the kernel probe reports it (imports torch: ~1.5–3 s)."""
    import torch

    return {
        "version": torch.__version__,
        "cuda": torch.version.cuda or "",
        "cuda_available": bool(torch.version.cuda) and torch.cuda.is_available(),
        "threads": torch.get_num_threads(),
    }


def _broken_install(report: Report, what: str, exc: BaseException, why: str = "") -> None:
    """A FAIL line for an import that failed: the exception's first line, and the reinstall."""
    report.add(
        FAIL,
        what,
        f"({type(exc).__name__}: {exc})".splitlines()[0],
        f"`{sys.executable} -m pip install -e {course_root()}`{why}",
    )


def check_torch(report: Report, facts: dict[str, Any] | None = None) -> None:
    """torch's line: version, build, threads.  ``facts``: the kernel probe's answer when it ran in
    this environment (then torch is not imported here); else torch is imported here."""
    if facts is None:
        try:
            facts = torch_facts()
        except Exception as exc:  # noqa: BLE001 - any import failure is the finding
            _broken_install(report, "torch does not import", exc, " (installs the pinned torch)")
            return
    if facts["cuda"]:
        gpu = "available" if facts["cuda_available"] else "not available"
        build = f"CUDA {facts['cuda']} build, GPU {gpu}"
    else:
        build = "CPU build"
    threads, cores = int(facts["threads"]), _cores()
    detail = f"({build}; {threads} thread{'s' if threads != 1 else ''} on {cores} core{'s' if cores != 1 else ''})"
    report.add(OK, f"torch {facts['version']}", detail)
    if threads == 1 and cores > 1:
        report.add(
            WARN,
            "torch uses 1 thread",
            f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})",
            f"unset OMP_NUM_THREADS (or set it to {cores}) so training uses all cores",
        )


# --- 4. notebooks folder ------------------------------------------------------------------------


def probe_write(folder: Path) -> None:
    """Create and delete a file in ``folder``; raises ``OSError`` when that is not allowed."""
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-", suffix=".tmp") as f:
        f.write(b"ok")
        f.flush()


def check_writable(report: Report, notebooks: Path) -> bool:
    """False when the folder is missing (the notebook check is then skipped)."""
    if not notebooks.is_dir():
        report.add(
            FAIL,
            f"notebooks folder {notebooks} does not exist",
            "",
            "make it: `recsys-course init` (a workspace), `recsys-course build` in a "
            "checkout, or pass --notebooks DIR",
        )
        return False
    try:
        probe_write(notebooks)
    except OSError as exc:
        report.add(
            FAIL,
            f"notebooks folder {notebooks} is not writable",
            f"({exc.strerror or exc})",
            f"JupyterLab cannot save your work there: `chmod -R u+w {notebooks}`, or copy the "
            "course to a folder of yours",
        )
        return True
    readonly = [p.name for p in sorted(notebooks.glob("*.ipynb")) if not os.access(p, os.W_OK)]
    if readonly:
        report.add(
            FAIL,
            f"{len(readonly)} notebook(s) are read-only",
            f"({', '.join(readonly)})",
            f"`chmod u+w {notebooks}/*.ipynb`",
        )
        return True
    report.add(OK, f"notebooks folder {notebooks} is writable")
    return True


# --- 5. learner notebooks -----------------------------------------------------------------------


def _valid_checkpoint(path: Path) -> Path | None:
    from ..nbtools.notebook import NotebookError, read_notebook

    cp = path.parent / ".ipynb_checkpoints" / f"{path.stem}-checkpoint.ipynb"
    if not cp.is_file():
        return None
    try:
        read_notebook(cp)
    except NotebookError:
        return None
    return cp


def check_notebooks(report: Report, notebooks: Path, exercises: dict | None = None) -> None:
    """Each notebook readable, each task's exercise cell present (``exercises``: default all)."""
    from ..nbtools.notebook import NotebookError, find_exercise, read_notebook

    if exercises is None:
        try:
            from ..engine.registry import all_exercises

            exercises = all_exercises()
        except Exception as exc:  # noqa: BLE001 - a broken install shows up here
            _broken_install(report, "the course's exercise registry does not load", exc)
            return
    fresh = (
        "`recsys-course build --force` writes a fresh copy (yours is kept in notebooks/.backups/)"
    )
    paths = sorted(notebooks.glob("*.ipynb"))
    if not paths:
        report.add(FAIL, f"no notebooks in {notebooks}", "", "generate them: `recsys-course build`")
        return
    seen: set[str] = set()
    n_tasks, bad = 0, 0
    for path in paths:
        try:
            nb = read_notebook(path)
        except NotebookError as exc:
            bad += 1
            seen.add(path.stem)
            cp = _valid_checkpoint(path)
            fix = (
                f"restore JupyterLab's last checkpoint: `cp {cp} {path}`, or {fresh}"
                if cp
                else f"restore it from git (`git checkout -- {path}`), or {fresh}"
            )
            report.add(FAIL, f"{path.name} is damaged", f"({str(exc).split(': ', 1)[-1]})", fix)
            continue
        nb_id = str(nb.metadata.get("recsys_course", {}).get("notebook", path.stem))
        seen.add(nb_id)
        lost: list[str] = []
        for task_id, ex in exercises.items():
            if ex.notebook != nb_id:
                continue
            n_tasks += 1
            found = find_exercise(nb, task_id, ex.func_name)
            if found is None:
                lost.append(f"{task_id} (def {ex.func_name})")
            elif found.note:
                report.add(NOTE, f"{path.name}, task {task_id}", f"({found.note})")
        if lost:
            bad += 1
            report.add(
                FAIL,
                f"{path.name} lost the exercise cell of {', '.join(lost)}",
                "(no cell tagged task:<id> or defining the function)",
                f"undo the deletion (Edit → Undo Delete Cells), or {fresh}",
            )
    for task_id, ex in exercises.items():
        if ex.notebook not in seen:
            bad += 1
            report.add(
                FAIL,
                f"{ex.notebook}.ipynb is missing (task {task_id})",
                f"({notebooks})",
                "`recsys-course build` writes missing notebooks and keeps the ones you edited",
            )
            seen.add(ex.notebook)
    if not bad:
        report.add(
            OK,
            f"{len(paths)} learner notebook{'s' if len(paths) != 1 else ''} intact",
            f"({n_tasks} exercise cell{'s' if n_tasks != 1 else ''} found)",
        )
