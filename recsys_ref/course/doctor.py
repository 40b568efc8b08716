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

These are what a learner needs.  ``--grader`` adds, for a TA, which of the
grader's isolation layers this machine offers (bubblewrap missing is told apart
from bubblewrap installed but refused by this container).

The course folder is found as the notebooks' setup cell finds it
(``bootstrap.course_places``: here, above, or a folder directly inside) when the
current folder is not inside a checkout or workspace.

Exit status 0 when everything is usable (notes and warnings allowed), 1 when
something needs fixing.  ``--notebooks DIR`` and ``--python EXE`` point the
checks elsewhere (tests use them to build broken installs on purpose).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED = ((3, 11), (3, 14))  # inclusive range of (major, minor); = requires-python
PROBE_MARK = "RECSYS_DOCTOR "

# Run by the kernel's interpreter: what it can import, as one JSON line.
PROBE = r"""
import importlib, importlib.util, json, sys
out = {"python": list(sys.version_info[:3]), "executable": sys.executable, "versions": {},
       "missing": {}}
for name in ("torch", "recsys_ref.course"):
    try:
        mod = importlib.import_module(name)
        top = sys.modules[name.split(".")[0]]
        out["versions"][name] = getattr(top, "__version__", "") or ""
        if name == "recsys_ref.course":
            out["recsys_ref"] = str(getattr(top, "__file__", ""))
    except Exception as exc:  # report, never crash: the doctor reads this line
        out["missing"][name] = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
for name in ("ipykernel", "numpy", "scipy", "matplotlib", "tqdm"):
    if name not in out["missing"] and importlib.util.find_spec(name) is None:
        out["missing"][name] = f"ModuleNotFoundError: No module named '{name}'"
print("RECSYS_DOCTOR " + json.dumps(out))
"""

OK, WARN, FAIL, NOTE = "ok", "warn", "fail", "note"
_SYMBOLS = {OK: ("✓", "OK"), WARN: ("!", "WARN"), FAIL: ("✗", "FAIL"), NOTE: ("·", "-")}


@dataclass
class Finding:
    """One line of the report; ``fix`` is printed under a failure or warning."""

    status: str
    title: str
    detail: str = ""
    fix: str = ""


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)

    def add(self, status: str, title: str, detail: str = "", fix: str = "") -> None:
        self.findings.append(Finding(status, title, detail, fix))

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.status == FAIL]


def course_root() -> Path:
    """The course folder (a checkout or a workspace: ``workspace.find_course``), else the current one."""
    from .nbtools.workspace import CourseNotFound, find_course

    try:
        return find_course().root
    except CourseNotFound:
        return _uploaded_course() or Path.cwd()


def _uploaded_course() -> Path | None:
    """A course folder found as the setup cell finds it (here, above, or one folder inside)."""
    from .bootstrap import find_course_folder

    return find_course_folder(Path.cwd())


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


# --- 1. Python -------------------------------------------------------------------------------


def _version_ok(v: tuple[int, ...]) -> bool:
    return SUPPORTED[0] <= tuple(v[:2]) <= SUPPORTED[1]


def _supported() -> str:
    (a, b), (c, d) = SUPPORTED
    return f"{a}.{b}–{c}.{d}"


def check_python(report: Report, version: tuple[int, ...] | None = None) -> None:
    v = tuple(version or sys.version_info[:3])
    text = ".".join(map(str, v))
    if _version_ok(v):
        report.add(OK, f"Python {text}", f"({_supported()} supported)")
    else:
        report.add(
            FAIL,
            f"Python {text} is not supported",
            f"(the course needs {_supported()})",
            "create the environment again with Python 3.11: "
            "`conda env create -f environment.yml` or `python3.11 -m venv .venv`",
        )


# --- 2. torch --------------------------------------------------------------------------------


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def check_torch(report: Report) -> None:
    try:
        import torch
    except Exception as exc:  # noqa: BLE001 - any import failure is the finding
        report.add(
            FAIL,
            "torch does not import",
            f"({type(exc).__name__}: {exc})".splitlines()[0],
            f"`{sys.executable} -m pip install -e {course_root()}` (installs the pinned torch)",
        )
        return
    if torch.version.cuda:
        build = f"CUDA {torch.version.cuda} build, GPU {'available' if torch.cuda.is_available() else 'not available'}"
    else:
        build = "CPU build"
    threads, cores = torch.get_num_threads(), _cores()
    detail = f"({build}; {threads} thread{'s' if threads != 1 else ''} on {cores} core{'s' if cores != 1 else ''})"
    report.add(OK, f"torch {torch.__version__}", detail)
    if threads == 1 and cores > 1:
        report.add(
            WARN,
            "torch uses 1 thread",
            f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')})",
            f"unset OMP_NUM_THREADS (or set it to {cores}) so training uses all cores",
        )


# --- 3. Jupyter kernel ------------------------------------------------------------------------


def _is_plain_python(argv0: str) -> bool:
    # jupyter_client replaces these names by the interpreter running Jupyter (sys.executable)
    major, minor = sys.version_info[:2]
    return argv0 in {"python", f"python{major}", f"python{major}.{minor}"}


def kernel_interpreter(kernel: str) -> tuple[str | None, str, str]:
    """(interpreter, where it came from, problem) for the kernelspec ``kernel``."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except Exception as exc:  # noqa: BLE001
        return None, "", f"jupyter_client does not import ({type(exc).__name__}: {exc})"
    try:
        spec = KernelSpecManager().get_kernel_spec(kernel)
    except NoSuchKernel:
        return None, "", f"no Jupyter kernel named {kernel!r}"
    argv0 = spec.argv[0] if spec.argv else ""
    where = f"kernelspec {kernel!r} in {spec.resource_dir}"
    if _is_plain_python(argv0):
        return sys.executable, f"{where} (runs `{argv0}` = this interpreter)", ""
    return argv0, where, ""


def probe_interpreter(
    python: str, *, timeout: float, cwd: Path | None = None
) -> tuple[dict | None, str]:
    """Run ``PROBE`` with ``python``; (its JSON, "") or (None, what went wrong)."""
    workdir = cwd if cwd is not None and cwd.is_dir() else Path(tempfile.gettempdir())
    try:
        proc = subprocess.run(
            [python, "-c", PROBE],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        return None, f"{python} does not exist"
    except PermissionError:
        return None, f"{python} is not executable"
    except OSError as exc:
        return None, f"{python} cannot be started ({exc})"
    except subprocess.TimeoutExpired:
        return None, f"{python} did not finish importing torch within {timeout:g} s"
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(PROBE_MARK):
            try:
                return json.loads(line[len(PROBE_MARK) :]), ""
            except json.JSONDecodeError:
                break
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]
    return None, f"{python} exited with status {proc.returncode} ({tail})"


def check_kernel(
    report: Report, *, kernel: str, python: Path | None, timeout: float, notebooks: Path
) -> None:
    install = f"`{sys.executable} -m ipykernel install --sys-prefix --name {kernel}`"
    if python is not None:
        interpreter, where = str(python), "given with --python"
    else:
        interpreter, where, problem = kernel_interpreter(kernel)
        if interpreter is None:
            report.add(
                FAIL,
                f"Jupyter kernel {kernel!r} not found",
                f"({problem})",
                f"register this environment as the notebooks' kernel: {install}",
            )
            return
    info, problem = probe_interpreter(interpreter, timeout=timeout, cwd=notebooks)
    if info is None:
        fix = (
            "close other heavy programs and run the doctor again, or raise --timeout"
            if "did not finish" in problem
            else f"point the kernel at this environment: {install}"
        )
        report.add(FAIL, f"Jupyter kernel {kernel!r} does not start", f"({problem}; {where})", fix)
        return
    version = tuple(info.get("python", ()))
    missing: dict = info.get("missing", {})
    exe = info.get("executable") or interpreter
    if missing:
        names = ", ".join(missing)
        first = next(iter(missing.values()))
        report.add(
            FAIL,
            f"Jupyter kernel {kernel!r} cannot import {names}",
            f"(its interpreter {exe}: {first}; {where})",
            f"install the course into the kernel's environment: "
            f"`{exe} -m pip install -e {course_root()}`, or make the kernel use this "
            f"environment: {install}",
        )
        return
    if not _version_ok(version):
        report.add(
            FAIL,
            f"Jupyter kernel {kernel!r} runs Python {'.'.join(map(str, version))}",
            f"(the course needs {_supported()}; {exe})",
            f"make the kernel use this environment: {install}",
        )
        return
    torch_v = info.get("versions", {}).get("torch", "?")
    report.add(
        OK,
        f"Jupyter kernel {kernel!r}",
        f"({exe}, Python {'.'.join(map(str, version))}, imports torch {torch_v} and "
        f"recsys_ref.course; {where})",
    )
    here = Path(__file__).resolve().parents[1]
    theirs = info.get("recsys_ref", "")
    if theirs and Path(theirs).resolve().parent != here:
        report.add(
            WARN,
            "the kernel imports another copy of recsys_ref",
            f"({Path(theirs).parent}, not {here})",
            f"`{exe} -m pip install -e {course_root()}` so the notebooks use this checkout",
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
    from .nbtools.notebook import NotebookError, read_notebook

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
    from .nbtools.notebook import NotebookError, find_exercise, read_notebook

    if exercises is None:
        try:
            from .engine.registry import all_exercises

            exercises = all_exercises()
        except Exception as exc:  # noqa: BLE001 - a broken install shows up here
            report.add(
                FAIL,
                "the course's exercise registry does not load",
                f"({type(exc).__name__}: {exc})".splitlines()[0],
                f"`{sys.executable} -m pip install -e {course_root()}`",
            )
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


# --- isolation of the grader (for TAs) ----------------------------------------------------------


def check_isolation(report: Report, lay: dict | None = None) -> None:
    """Which of the grader's isolation layers this machine offers (notes: learners do not grade).

    See sandbox.py's docstring (and isolation.py, confine.py) and INSTRUCTORS.md ("What is protected") for each layer.
    """
    from .sandbox.isolation import describe_layers, layers, refusal

    lay = layers() if lay is None else lay
    for line in describe_layers(lay):
        report.add(
            NOTE,
            f"grader isolation: {line.removeprefix('yes ').removeprefix('NO  ')}",
            "(available)" if line.startswith("yes") else "(not available)",
        )
    if refusal(lay):
        report.add(
            NOTE,
            "grader isolation: `recsys-course grade` would refuse to run here as root",
            "(bubblewrap "
            + ("present but refused by this container" if lay.get("bwrap_refused") else "missing")
            + ", no Landlock; or pass --unsafe-no-sandbox knowingly)",
        )


# --- the command ----------------------------------------------------------------------------------


def diagnose(
    *,
    notebooks: Path,
    python: Path | None = None,
    kernel: str = "python3",
    timeout: float = 90.0,
    grader: bool = False,
) -> Report:
    """The learner's checks; ``grader``: also the grader's isolation layers (TAs)."""
    report = Report()
    check_python(report)
    check_torch(report)
    check_kernel(report, kernel=kernel, python=python, timeout=timeout, notebooks=notebooks)
    if check_writable(report, notebooks):
        check_notebooks(report, notebooks)
    if grader:
        check_isolation(report)
    return report


def _can_print(text: str) -> bool:
    try:
        text.encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def format_report(report: Report) -> str:
    fancy = _can_print("✓✗·–→")
    lines = []
    for f in report.findings:
        symbol = _SYMBOLS[f.status][0 if fancy else 1]
        lines.append(f"  {symbol} {f.title}" + (f" {f.detail}" if f.detail else ""))
        if f.fix and f.status in (FAIL, WARN):
            lines.append(f"      fix: {f.fix}")
    problems = report.problems
    if problems:
        many = len(problems) != 1
        lines.append(
            f"{len(problems)} problem{'s' if many else ''} found; fix "
            f"{'them' if many else 'it'} and run `recsys-course doctor` again."
        )
    else:
        lines.append(
            "All green: start JupyterLab with `jupyter lab notebooks/` and open "
            "00_start_here.ipynb."
        )
    text = "\n".join(lines)
    return text if fancy else text.replace("–", "-").replace("→", "->")


def run(args: argparse.Namespace) -> int:
    from .nbtools.workspace import CourseNotFound, find_course

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
