"""The setup cell at the top of every learner notebook (the Colab path).

Where ``recsys_ref`` can be imported the cell does nothing; where it cannot
(Colab, a fresh Python) it installs the course from the folder the notebook
sits in and keeps the torch that is already there.  The slow test runs a
learner notebook in a fresh venv that has the course's dependencies but not
the course, from a copy of the course folder outside the checkout.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import site
import subprocess
import sysconfig
import venv
from pathlib import Path

import pytest

from recsys_ref.course.bootstrap import missing_requirements
from recsys_ref.course.nbtools.build import BOOTSTRAP, BOOTSTRAP_TAG

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_learner_notebook_starts_with_the_setup_cell(path: Path) -> None:
    first = json.loads(path.read_text(encoding="utf-8"))["cells"][0]
    assert first["cell_type"] == "code" and first["metadata"]["tags"] == [BOOTSTRAP_TAG]
    assert "".join(first["source"]) == BOOTSTRAP


def test_solutions_do_not_carry_it() -> None:
    for path in (ROOT / "solutions").glob("*.ipynb"):
        assert BOOTSTRAP_TAG not in path.read_text(encoding="utf-8"), path.name


def test_where_the_course_is_installed_the_cell_does_nothing(monkeypatch) -> None:
    def no_subprocess(*args, **kwargs):  # pragma: no cover - fails the test if reached
        raise AssertionError("the setup cell ran a command although recsys_ref is importable")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(BOOTSTRAP, "<setup cell>", "exec"), {})
    assert out.getvalue() == ""


def test_missing_requirements_keeps_what_is_installed(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "# comment\ntorch==0.0.1\nnumpy==0.0.1  # a pin older than the installed one\n"
        "surely-not-installed-package==1.0\n"
    )
    assert missing_requirements(tmp_path) == ["surely-not-installed-package==1.0"]


def _clean_copy(dest: Path) -> Path:
    ignore = shutil.ignore_patterns(
        ".git",
        ".venv",
        "build",
        "dist",
        "site",
        "artifacts",
        "*.egg-info",
        "__pycache__",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        ".ipynb_checkpoints",
        ".backups",
        "grades",
    )
    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_a_learner_notebook_installs_the_course_in_a_fresh_venv(tmp_path: Path) -> None:
    course = _clean_copy(tmp_path / "uploaded course")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    purelib = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # The "platform's" packages (torch, numpy, jupyter …): those of the running environment, through
    # a .pth line — which exposes no recsys_ref (an editable install's hook is not run from there).
    deps = [p for p in {sysconfig.get_path("purelib"), *site.getsitepackages()} if Path(p).is_dir()]
    (purelib / "_platform_packages.pth").write_text("\n".join(deps) + "\n")
    probe = "import importlib.util, torch; print(importlib.util.find_spec('recsys_ref')); print(torch.__file__)"
    before = subprocess.run(
        [str(py), "-c", probe], capture_output=True, text=True, env=env, check=True, cwd=tmp_path
    )
    assert before.stdout.splitlines()[0] == "None", before.stdout  # the course is not installed
    torch_before = before.stdout.splitlines()[1]

    kernels = tmp_path / "jupyter" / "kernels" / "python3"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(py), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "fresh venv",
                "language": "python",
            }
        )
    )
    env["JUPYTER_PATH"] = str(tmp_path / "jupyter")
    notebook = course / "notebooks" / "00_start_here.ipynb"
    run = (
        "import nbformat, nbclient, sys\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "nbclient.NotebookClient(nb, timeout=600, kernel_name='python3',\n"
        "    resources={'metadata': {'path': sys.argv[2]}}).execute()\n"
        "nbformat.write(nb, sys.argv[1])\n"
    )
    done = subprocess.run(
        [str(py), "-c", run, str(notebook), str(notebook.parent)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=1100,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]

    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]

    def text(o: dict) -> str:
        return "".join(o.get("text", ""))

    setup_out = "".join(text(o) for o in cells[0]["outputs"] if o.get("name") == "stdout")
    assert f"Setting up the course from {course}" in setup_out and "installed" in setup_out, (
        setup_out
    )
    texts = [text(o) for c in cells if c["cell_type"] == "code" for o in c["outputs"]]
    assert any("warmup" in t and "not started" in t for t in texts), texts
    assert not [
        o
        for c in cells
        if c["cell_type"] == "code"
        for o in c["outputs"]
        if o.get("output_type") == "error"
    ]
    after = subprocess.run(
        [str(py), "-c", probe.replace("find_spec('recsys_ref')", "find_spec('recsys_ref').origin")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=tmp_path,
    )
    origin, torch_after = after.stdout.splitlines()
    assert Path(origin).is_relative_to(purelib), origin  # installed into the venv, not editable
    assert torch_after == torch_before  # the platform's torch is kept
