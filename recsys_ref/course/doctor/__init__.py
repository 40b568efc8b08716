"""``recsys-course doctor``: is this installation ready for the course?

Five checks, each printed on one line; a failure adds one line with the fix:

1. Python — the version running the course is 3.11–3.14.
2. torch — it imports; its version, build (CPU or CUDA) and thread count.
3. Jupyter kernel — a kernelspec named ``python3`` exists, and its interpreter,
   run as a subprocess with a time limit, imports torch, ``recsys_ref.course``
   and ipykernel (the notebooks need all three).
4. notebooks folder — it exists and a file can be created in it (JupyterLab
   saves a notebook by writing a new file next to it).
5. learner notebooks — each ``notebooks/*.ipynb`` is a valid nbformat-4
   notebook, and every registered task's exercise cell is still there.

These are what a learner needs, and they take one interpreter start: the kernel's
interpreter is started first (``kernel.KernelProbe``) and imports torch and the
course while this process reads the notebooks; when it runs this environment,
its answer also gives torch's line and the exercise cells to look for, so torch
is imported once.  ``--grader`` adds, for a TA, the slower probes of which of
the grader's isolation layers this machine offers (``grader``: bubblewrap
missing is told apart from bubblewrap installed but refused by this container).

Modules: ``report`` (findings, the printed report), ``learner`` (checks 1, 2, 4,
5), ``kernel`` (check 3 and the probe), ``grader`` (the TA's probes); this one
is the command.

The course folder is found as the notebooks' setup cell finds it
(``bootstrap.course_places``: here, above, or a folder directly inside) when the
current folder is not inside a checkout or workspace.

Exit status 0 when everything is usable (notes and warnings allowed), 1 when
something needs fixing.  ``--notebooks DIR`` and ``--python EXE`` point the
checks elsewhere (tests use them to build broken installs on purpose).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, NamedTuple

from .grader import check_isolation
from .kernel import PROBE, PROBE_MARK, KernelProbe, check_kernel, probe_interpreter, start_probe
from .learner import check_notebooks, check_python, check_torch, check_writable, probe_write
from .report import FAIL, NOTE, OK, SUPPORTED, WARN, Finding, Report, course_root, format_report
from .report import uploaded_course as _uploaded_course

__all__ = [
    "PROBE", "PROBE_MARK", "SUPPORTED", "OK", "WARN", "FAIL", "NOTE", "Finding", "Report",
    "KernelProbe", "add_arguments", "check_isolation", "check_kernel", "check_notebooks",
    "check_python", "check_torch", "check_writable", "course_root", "diagnose",
    "format_report", "probe_interpreter", "probe_write", "run", "start_probe",
]  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--notebooks",
        type=Path,
        default=None,
        metavar="DIR",
        help="the learner notebooks folder to check (default: the notebooks/ "
        "of the checkout or workspace you are in)",
    )
    parser.add_argument(
        "--python",
        type=Path,
        default=None,
        metavar="EXE",
        help="the kernel's interpreter to test (default: the one the kernelspec names)",
    )
    parser.add_argument(
        "--grader",
        action="store_true",
        help="also probe the grader's isolation layers (for TAs; learners do not need them)",
    )
    parser.add_argument(
        "--kernel", default="python3", help="the kernelspec the notebooks use (default: python3)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=90.0,
        help="seconds the kernel's interpreter may take to import torch (default: 90)",
    )


class ExerciseCell(NamedTuple):
    """A registered task as the notebook check needs it (from the kernel probe's answer)."""

    notebook: str
    func_name: str


def diagnose(
    *,
    notebooks: Path,
    python: Path | None = None,
    kernel: str = "python3",
    timeout: float = 90.0,
    grader: bool = False,
) -> Report:
    """The learner's checks; ``grader``: also the grader's isolation layers (TAs).

    The kernel probe starts first and runs while nbformat is imported for the notebook check; its
    answer serves torch's line and the exercise cells when it ran in this environment."""
    report = Report()
    started = start_probe(kernel=kernel, python=python, timeout=timeout, notebooks=notebooks)
    probe = started[0]
    try:
        check_python(report)
        _prefetch_nbformat()
        info = probe.result()[0] if probe is not None and probe.same_environment() else None
        check_torch(report, (info or {}).get("torch"))
        check_kernel(
            report, kernel=kernel, python=python, timeout=timeout, notebooks=notebooks,
            started=started,
        )  # fmt: skip
        if check_writable(report, notebooks):
            check_notebooks(report, notebooks, _exercise_cells(info))
        if grader:
            check_isolation(report)
    finally:
        if probe is not None:
            probe.close()
    return report


def _prefetch_nbformat() -> None:
    """Import nbformat (what reading a notebook costs most) while the probe runs."""
    from ..nbtools.nbformat_import import import_nbformat

    try:
        import_nbformat()
    except Exception:  # noqa: BLE001, S110 - the notebook check reports a broken nbformat
        pass


def _exercise_cells(info: dict[str, Any] | None) -> dict[str, Any] | None:
    """The registry from the probe's answer (None: the notebook check loads it here)."""
    cells = (info or {}).get("exercises")
    if not isinstance(cells, dict) or not cells:
        return None
    return {t: ExerciseCell(str(nb), str(fn)) for t, (nb, fn) in cells.items()}


def run(args: argparse.Namespace) -> int:
    from ..nbtools.workspace import CourseNotFound, find_course

    print("recsys-course doctor: checking the installation")
    notebooks = args.notebooks
    if notebooks is None:
        try:
            notebooks = find_course().notebooks
        except CourseNotFound as exc:
            uploaded = _uploaded_course()
            if uploaded is not None:
                print(f"  course folder: {uploaded} (found as the notebooks' setup cell finds it)")
                notebooks = uploaded / "notebooks"
            else:
                print(f"  {exc}")
                notebooks = Path.cwd() / "notebooks"
    report = diagnose(
        notebooks=notebooks,
        python=args.python,
        kernel=args.kernel,
        timeout=args.timeout,
        grader=getattr(args, "grader", False),
    )
    print(format_report(report))
    return 1 if report.problems else 0
