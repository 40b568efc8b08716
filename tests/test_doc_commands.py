"""Every command README.md and INSTRUCTORS.md give runs as written.

The fenced ``bash`` blocks (and the commands inline in the README's command
table) are extracted; each command is then held to what can be checked here:

- ``make TARGET [VAR=value]``: the target exists and ``make -n`` accepts it;
- ``recsys-course SUB [--flag …]``: the subcommand exists and takes every flag;
- the safe ones are run: ``recsys-course progress``, ``doctor``, ``build
  --check`` and ``pytest -m TASK --learner-notebooks DIR`` — in the checkout,
  and (the pytest and progress commands) in a pip workspace made by
  ``recsys-course init``;
- the rest (apt, pip, conda, zip, jupyter, nbgrader, gh …) name a known program.

Task and function names in the docs' example outputs come from the registry.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from recsys_ref.course import all_exercises
from recsys_ref.course.nbtools.course_map import learner_function

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["README.md", "INSTRUCTORS.md"]
BIN = Path(sys.executable).parent
KNOWN = {
    "sudo", "apt", "apt-get", "add-apt-repository", "xcode-select", "brew", "pip", "python",
    "python3", "conda", "jupyter", "zip", "chmod", "cd", "nbgrader", "gh", "git", "cp",
    "source", "playwright",
}  # fmt: skip


def _commands(doc: str) -> list[str]:
    """Shell commands of the fenced bash blocks of ``doc`` (comments and prompts removed)."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[") and out:  # a usage synopsis continued on the next line
                out[-1] += " " + line
                continue
            if line.startswith(("#!", "set ", "TASKS=", "OUT=", "status=", "if ", "fi", "cat ")):
                continue
            try:
                words = shlex.split(line, comments=True)
            except ValueError:
                continue
            for part in " ".join(shlex.quote(w) for w in words).split(" '&&' "):
                if part.strip():
                    out.append(part.strip())
    return out


def _program(cmd: str) -> str:
    return Path(shlex.split(cmd)[0]).name


ALL = [(doc, cmd) for doc in DOCS for cmd in _commands(doc)]


def test_the_docs_have_commands() -> None:
    programs = {_program(c) for _, c in ALL}
    assert {"make", "recsys-course", "pytest"} <= programs, programs


@pytest.mark.parametrize(("doc", "cmd"), ALL, ids=[f"{d}:{c[:50]}" for d, c in ALL])
def test_every_command_is_known(doc: str, cmd: str) -> None:
    program = _program(cmd)
    words = shlex.split(cmd)
    if program == "make":
        targets = [w for w in words[1:] if "=" not in w and not w.startswith("-")]
        for target in targets:
            assert re.search(rf"^{re.escape(target)}:", (ROOT / "Makefile").read_text(), re.M), (
                f"{doc}: `{cmd}`: no make target {target}"
            )
        done = subprocess.run(
            ["make", "-n", *words[1:]], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, f"{doc}: `{cmd}`: {done.stderr[-500:]}"
    elif program == "recsys-course":
        sub = next((w for w in words[1:] if not w.startswith("-")), None)
        code, text = _help(sub)
        assert code == 0, f"{doc}: `{cmd}`: {text[-500:]}"
        for flag in re.findall(r"(?<![\w-])--[a-z][\w-]*", cmd):  # [--flag N] of a synopsis too
            assert flag in text, f"{doc}: `{cmd}`: {sub} has no {flag}"
    elif program == "pytest":
        assert "--learner-notebooks" in cmd or "-m" in words, cmd
    else:
        assert program in KNOWN, f"{doc}: `{cmd}`: an unknown program {program}"


@functools.cache
def _help(sub: str | None) -> tuple[int, str]:
    """``recsys-course [SUB] --help`` (once per subcommand: a loaded machine starts Python slowly)."""
    done = subprocess.run(
        [str(BIN / "recsys-course"), *([sub] if sub else []), "--help"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.returncode, done.stdout + done.stderr


def _run(cmd: str, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    words = shlex.split(cmd)
    exe = Path(words[0]).name
    argv = [str(BIN / exe), *words[1:]]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


SAFE = [
    c
    for _, c in ALL
    if re.match(r"(\S*/)?recsys-course (progress|doctor|build --check)\b", c)
    or re.match(r"(\S*/)?pytest -m \w+ --learner-notebooks", c)
]


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("cmd", sorted(set(SAFE)))
def test_safe_commands_run_in_a_checkout(cmd: str) -> None:
    done = _run(cmd, ROOT)
    out = done.stdout + done.stderr
    assert "unrecognized arguments" not in out and "usage:" not in out.splitlines()[0:1], out
    if "pytest" in cmd:
        # the learner stubs of notebooks/ are "not started": the task's check runs and fails
        task = shlex.split(cmd)[2]
        assert done.returncode in (0, 1), out[-3000:]
        assert re.search(rf"test_learner_notebook\[{task}\]", out) or "passed" in out, out[-3000:]
    else:
        assert done.returncode in (0, 1), out[-3000:]  # 1: what the command reports, not a crash
        assert "Traceback" not in out, out[-3000:]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_pytest_command_in_a_pip_workspace(tmp_path: Path) -> None:
    """`pytest -m TASK --learner-notebooks notebooks/` where no test suite exists (a workspace)."""
    ws = tmp_path / "my-course"
    made = subprocess.run(
        [str(BIN / "recsys-course"), "init", str(ws)], capture_output=True, text=True, timeout=300
    )
    assert made.returncode == 0, made.stderr
    task = "ngcf_2"
    notebook = all_exercises()[task].notebook
    cmd = f"pytest -m {task} --learner-notebooks notebooks/ -p no:cacheprovider"
    stub = _run(cmd, ws)
    assert stub.returncode == 1 and "not started" in stub.stdout, stub.stdout[-3000:]
    assert "1 failed" in stub.stdout and "deselected" in stub.stdout, stub.stdout[-3000:]
    shutil.copy(ROOT / "solutions" / f"{notebook}.ipynb", ws / "notebooks")
    solved = _run(cmd, ws)
    assert solved.returncode == 0 and "1 passed" in solved.stdout, solved.stdout[-3000:]
    spaced = _run(
        cmd.replace("--learner-notebooks notebooks/", "--learner-notebooks=notebooks/"), ws
    )
    assert spaced.returncode == 0, spaced.stdout[-3000:]


# --- names: from the registry --------------------------------------------------------------------


def test_example_outputs_name_each_task_s_function() -> None:
    """`✗ ngcf_2 sym_laplacian`, `ngcf_2 not started: sym_laplacian`: the learner's function."""
    exercises = all_exercises()
    seen = 0
    for doc in DOCS:
        text = (ROOT / doc).read_text(encoding="utf-8")
        for task, func in re.findall(r"[✓✗] (\w+) (\w+):", text) + re.findall(
            r"(\w+) not started: (\w+) still raises", text
        ):
            if task in exercises:
                seen += 1
                assert func in (learner_function(task), exercises[task].func_name), (
                    doc,
                    task,
                    func,
                )
    assert seen >= 3


def test_no_hand_written_task_ranges() -> None:
    """No "ngcf_1 … ngcf_7"-style list: the registry is the one list of tasks."""
    for doc in [*DOCS, "CONTRIBUTING.md"]:
        text = (ROOT / doc).read_text(encoding="utf-8")
        assert not re.search(r"\b(ngcf|fm|cap)_\d+` *(…|\.\.\.|–) *`?(ngcf|fm|cap)_\d+", text), doc


def test_ngcf_9_is_named_by_what_the_learner_writes() -> None:
    assert learner_function("ngcf_9") == "train_step"
    assert "`train_step`" in (ROOT / "README.md").read_text()
