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
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

from recsys_ref.course.bootstrap import (
    MARKER,
    course_places,
    find_course_folder,
    missing_requirements,
    notebook_requirements,
)
from recsys_ref.course.nbtools.build import BOOTSTRAP, BOOTSTRAP_METADATA, BOOTSTRAP_TAG

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
    (tmp_path / "pyproject.toml").write_text(
        '[project]\ndependencies = ["torch==0.0.1", "numpy<0.1  # older than the installed one"]\n'
        '[project.optional-dependencies]\nnotebook = ["surely-not-installed-package>=1.0"]\n'
        'lab = ["another-not-installed-package"]\n'
    )
    assert missing_requirements(tmp_path) == ["surely-not-installed-package>=1.0"]


def test_the_cell_installs_what_the_notebooks_import() -> None:
    """The runtime dependencies + the `notebook` extra cover every module a notebook imports."""
    tomllib = pytest.importorskip("tomllib")
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    names = {canonicalize_name(Requirement(r).name) for r in notebook_requirements(ROOT)}
    imported = set()
    for path in [*(ROOT / "notebooks").glob("*.ipynb"), *(ROOT / "solutions").glob("*.ipynb")]:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                src = "".join(cell["source"])
                imported |= set(re.findall(r"^\s*(?:from|import) ([A-Za-z_]\w*)", src, re.M))
    third = {m for m in imported if m not in sys.stdlib_module_names and m != "recsys_ref"}
    assert {canonicalize_name(m) for m in third} <= names, third
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lab = {canonicalize_name(Requirement(r).name) for r in project["optional-dependencies"]["lab"]}
    assert not names & (lab | {"pytest", "nbval", "ruff", "hypothesis"}), names


def test_the_cell_shows_one_line() -> None:
    """Colab's form view shows the @title line only; JupyterLab folds the source."""
    assert BOOTSTRAP.splitlines()[0].startswith("# @title ")
    assert BOOTSTRAP_METADATA == {"cellView": "form", "jupyter": {"source_hidden": True}}
    first = json.loads((ROOT / "notebooks" / "00_start_here.ipynb").read_text())["cells"][0]
    assert {k: first["metadata"].get(k) for k in BOOTSTRAP_METADATA} == BOOTSTRAP_METADATA


LAYOUTS = {
    "course here": ("course", "course"),
    "inside the course": ("course/notebooks", "course"),
    "uploaded into a subfolder": ("content", "content/recsys-course-main"),
    "nothing": ("empty", None),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_cell_and_doctor_find_the_course_the_same_way(
    layout: str, tmp_path: Path, monkeypatch
) -> None:
    from recsys_ref.course import doctor

    cwd_rel, course_rel = LAYOUTS[layout]
    if course_rel:
        (tmp_path / course_rel / "recsys_ref" / "course").mkdir(parents=True)
        (tmp_path / course_rel / MARKER).write_text("")
    cwd = tmp_path / cwd_rel
    cwd.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(cwd)
    cell = BOOTSTRAP.split("except ImportError:", 1)[1].split("\n", 1)[1]
    cell = cell.split("    if _root is None", 1)[0]  # the lines that look for the course
    scope: dict = {}
    exec(compile(textwrap.dedent(cell), "<setup cell>", "exec"), scope)
    want = (tmp_path / course_rel) if course_rel else None
    assert scope["_root"] == want
    assert find_course_folder(cwd) == want
    assert course_places(cwd) == scope["_places"]
    if want is not None and not (ROOT / MARKER).is_relative_to(tmp_path):
        assert doctor._uploaded_course() == want


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


def _platform_dir(dest: Path, top: str) -> list[str]:
    """Symlinks to ``top`` and its whole requirement closure as installed here (a preinstalled
    torch, as Colab has it), for a .pth line; returns the distributions linked."""
    import importlib.metadata as md

    from packaging.requirements import Requirement

    dest.mkdir()
    todo, done = [top], []
    while todo:
        name = todo.pop()
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        if dist.metadata["Name"].lower() in done:
            continue
        done.append(dist.metadata["Name"].lower())
        base = Path(str(dist.locate_file("")))
        for root in {Path(f).parts[0] for f in dist.files or [] if not str(f).startswith("..")}:
            if not (dest / root).exists() and (base / root).exists():
                (dest / root).symlink_to(base / root)
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return done


@pytest.mark.slow
@pytest.mark.network
@pytest.mark.timeout(1200)
def test_a_colab_shaped_python_keeps_its_packages_and_pip_check_is_clean(tmp_path: Path) -> None:
    """Colab: an older jupyter-server and a preinstalled torch. After the setup cell (run from the
    folder above the uploaded course, as Colab's /content) both are kept and `pip check` is clean."""
    if os.environ.get("RECSYS_OFFLINE") == "1":
        pytest.skip("RECSYS_OFFLINE=1: this test installs from the package registry")
    content = tmp_path / "content"
    _clean_copy(content / "recsys-course-main")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = str(env_dir / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    purelib = subprocess.run(
        [py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # The venv's bundled setuptools 65 would shadow the platform's (torch asks for >= 77): a real
    # platform is consistent, so the simulated one keeps its own setuptools, linked below.
    subprocess.run(
        [py, "-m", "pip", "uninstall", "-y", "-q", "setuptools"], capture_output=True, check=True
    )
    linked = _platform_dir(tmp_path / "platform", "torch")
    (Path(purelib) / "_platform.pth").write_text(str(tmp_path / "platform") + "\n")
    old = subprocess.run(
        [py, "-m", "pip", "install", "--quiet", "jupyter-server==1.24.0"],
        capture_output=True,
        text=True,
        env=env,
    )
    if old.returncode != 0 and any(
        s in old.stderr for s in ("No matching distribution", "Could not find", "connection")
    ):
        pytest.skip("jupyter-server 1.24.0 is not available from the package registry here")
    assert old.returncode == 0, old.stderr[-3000:]
    probe = (
        "import importlib.metadata as m, torch; "
        "print(m.version('jupyter-server'), m.version('torch'), torch.__file__)"
    )
    before = subprocess.run([py, "-c", probe], capture_output=True, text=True, env=env, check=True)
    assert before.stdout.split()[0] == "1.24.0" and "torch" in linked
    done = subprocess.run(
        [py, "-c", BOOTSTRAP], cwd=content, capture_output=True, text=True, env=env, timeout=1100
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert "Setting up the course from" in done.stdout, done.stdout
    after = subprocess.run([py, "-c", probe], capture_output=True, text=True, env=env, check=True)
    assert after.stdout == before.stdout  # jupyter-server 1.24.0 and the same torch, same place
    check = subprocess.run([py, "-m", "pip", "check"], capture_output=True, text=True, env=env)
    assert check.returncode == 0, check.stdout + check.stderr
