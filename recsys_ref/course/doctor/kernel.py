"""Check 3, the Jupyter kernel: its interpreter, run once as a subprocess, imports the course.

The kernelspec ``python3`` names the interpreter; ``PROBE`` runs in it (with a time limit) and
prints one JSON line: its Python, what it cannot import, torch's version and build, and the
registered exercise cells.  It is started first (``KernelProbe``) and runs while the doctor reads
the notebooks, and when it runs this environment's own interpreter its answer also serves the
torch and notebook checks, so the learner's doctor imports torch once, in the probe.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .report import FAIL, OK, WARN, Report, course_root, supported, version_ok

PROBE_MARK = "RECSYS_DOCTOR "

# Run by the kernel's interpreter: what it can import, as one JSON line.
PROBE = r"""
import importlib, importlib.util, json, sys
out = {"python": list(sys.version_info[:3]), "executable": sys.executable, "prefix": sys.prefix,
       "versions": {}, "missing": {}}
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
if "torch" in sys.modules:
    torch = sys.modules["torch"]
    out["torch"] = {"version": torch.__version__, "cuda": torch.version.cuda or "",
                    "cuda_available": bool(torch.version.cuda) and torch.cuda.is_available(),
                    "threads": torch.get_num_threads()}
if "recsys_ref.course" not in out["missing"]:
    try:  # the exercise cells the notebooks must hold (tasks import torch: paid once, here)
        from recsys_ref.course import all_exercises
        out["exercises"] = {t: [e.notebook, e.func_name] for t, e in all_exercises().items()}
    except Exception:  # the doctor loads the registry itself and reports why it fails
        pass
print("RECSYS_DOCTOR " + json.dumps(out))
"""


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


class KernelProbe:
    """``PROBE`` run by ``python`` in the background: started at once, read with ``result()``."""

    def __init__(self, python: str, *, timeout: float, cwd: Path | None = None) -> None:
        self.python, self.timeout = python, timeout
        self.proc: subprocess.Popen[str] | None = None
        self.problem = ""
        self._result: tuple[dict | None, str] | None = None
        workdir = cwd if cwd is not None and cwd.is_dir() else Path(tempfile.gettempdir())
        try:
            self.proc = subprocess.Popen(
                [python, "-c", PROBE],
                cwd=workdir,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                text=True,
            )
        except FileNotFoundError:
            self.problem = f"{python} does not exist"
        except PermissionError:
            self.problem = f"{python} is not executable"
        except OSError as exc:
            self.problem = f"{python} cannot be started ({exc})"

    def result(self) -> tuple[dict | None, str]:
        """(the probe's JSON, "") or (None, what went wrong); waits for it (once)."""
        if self._result is None:
            self._result = self._wait()
        return self._result

    def _wait(self) -> tuple[dict | None, str]:
        if self.proc is None:
            return None, self.problem
        try:
            stdout, stderr = self.proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.close()
            return None, f"{self.python} did not finish importing torch within {self.timeout:g} s"
        for line in reversed(stdout.splitlines()):
            if line.startswith(PROBE_MARK):
                try:
                    return json.loads(line[len(PROBE_MARK) :]), ""
                except json.JSONDecodeError:
                    break
        tail = (stderr.strip().splitlines() or ["no output"])[-1][:200]
        return None, f"{self.python} exited with status {self.proc.returncode} ({tail})"

    def close(self) -> None:
        """Stop the probe if it still runs (a doctor interrupted, or a probe past its time)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()

    def same_environment(self) -> bool:
        """True when the probe ran in this environment (so its torch is this one's)."""
        info, _ = self.result()
        return info is not None and info.get("prefix") == sys.prefix


def probe_interpreter(
    python: str, *, timeout: float, cwd: Path | None = None
) -> tuple[dict | None, str]:
    """Run ``PROBE`` with ``python``; (its JSON, "") or (None, what went wrong)."""
    return KernelProbe(python, timeout=timeout, cwd=cwd).result()


def start_probe(
    *, kernel: str, python: Path | None, timeout: float, notebooks: Path
) -> tuple[KernelProbe | None, str, str]:
    """(the probe, where its interpreter came from, problem): the kernelspec read, the probe
    started in the background; (None, "", problem) when the kernelspec names no interpreter.

    This interpreter is probed at once, before the kernelspec is read (importing jupyter_client
    takes ~1 s): it is what the kernel runs in a usual install; if the kernelspec names another
    interpreter, that one is probed instead."""
    if python is not None:
        return KernelProbe(str(python), timeout=timeout, cwd=notebooks), "given with --python", ""
    guess = KernelProbe(sys.executable, timeout=timeout, cwd=notebooks)
    found, where, problem = kernel_interpreter(kernel)
    if found == sys.executable:
        return guess, where, ""
    guess.close()
    if found is None:
        return None, "", problem
    return KernelProbe(found, timeout=timeout, cwd=notebooks), where, ""


def check_kernel(
    report: Report,
    *,
    kernel: str,
    python: Path | None,
    timeout: float,
    notebooks: Path,
    started: tuple[KernelProbe | None, str, str] | None = None,
) -> None:
    """The kernel's line: found, starts, imports the course, runs a supported Python.

    ``started``: what ``start_probe`` returned (the probe already running), else it starts here."""
    install = f"`{sys.executable} -m ipykernel install --sys-prefix --name {kernel}`"
    probe, where, problem = started or start_probe(
        kernel=kernel, python=python, timeout=timeout, notebooks=notebooks
    )
    if probe is None:
        report.add(
            FAIL,
            f"Jupyter kernel {kernel!r} not found",
            f"({problem})",
            f"register this environment as the notebooks' kernel: {install}",
        )
        return
    info, problem = probe.result()
    if info is None:
        fix = (
            "close other heavy programs and run the doctor again, or raise --timeout"
            if "did not finish" in problem
            else f"point the kernel at this environment: {install}"
        )
        report.add(FAIL, f"Jupyter kernel {kernel!r} does not start", f"({problem}; {where})", fix)
        return
    _judge_probe(report, info, kernel=kernel, interpreter=probe.python, where=where)


def _judge_probe(
    report: Report, info: dict[str, Any], *, kernel: str, interpreter: str, where: str
) -> None:
    install = f"`{sys.executable} -m ipykernel install --sys-prefix --name {kernel}`"
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
    if not version_ok(version):
        report.add(
            FAIL,
            f"Jupyter kernel {kernel!r} runs Python {'.'.join(map(str, version))}",
            f"(the course needs {supported()}; {exe})",
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
    here = Path(__file__).resolve().parents[2]
    theirs = info.get("recsys_ref", "")
    if theirs and Path(theirs).resolve().parent != here:
        report.add(
            WARN,
            "the kernel imports another copy of recsys_ref",
            f"({Path(theirs).parent}, not {here})",
            f"`{exe} -m pip install -e {course_root()}` so the notebooks use this checkout",
        )
