"""Packaging and layout promises: one dependency list, valid conda file, CI = README, layout rule."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from recsys_ref.course import all_exercises
from recsys_ref.course.nbtools.course_map import task_table

ROOT = Path(__file__).resolve().parents[1]


def pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11+")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def requirement_lines() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def test_every_requirement_is_pinned() -> None:
    for line in requirement_lines():
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[\w.]+", line), f"not pinned: {line}"
    assert "torch==2.13.0" in requirement_lines()


def test_environment_yml_is_a_valid_conda_file() -> None:
    env = environment()
    assert set(env) <= {"name", "channels", "dependencies", "variables", "prefix"}
    assert isinstance(env["name"], str) and env["name"]
    deps = env["dependencies"]
    conda = [d for d in deps if isinstance(d, str)]
    pip_sections = [d for d in deps if isinstance(d, dict)]
    assert "pip" in conda
    assert any(re.fullmatch(r"python=3\.1[1-3](\.\*)?", d) for d in conda), conda
    assert len(pip_sections) == 1 and list(pip_sections[0]) == ["pip"]
    for spec in conda:  # conda match specs: name, then an optional =version
        assert re.fullmatch(r"[a-z0-9_.\-]+(=[\w.*]+)?", spec), spec


CPU_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"


def test_environment_yml_installs_the_same_set_as_requirements_txt() -> None:
    pip = next(d["pip"] for d in environment()["dependencies"] if isinstance(d, dict))
    assert [p for p in pip if not p.startswith("-")] == requirement_lines()
    assert "-e ." in pip  # the course package itself
    assert pip[0] == CPU_INDEX  # Linux gets the CPU build of torch, not the CUDA one


def test_binder_environment_is_the_same_set_and_starts_on_the_start_page() -> None:
    binder = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())
    root = environment()
    assert binder["dependencies"][:-1] == root["dependencies"][:-1]  # python, pip
    pip = next(d["pip"] for d in binder["dependencies"] if isinstance(d, dict))
    assert pip == [CPU_INDEX, *requirement_lines()]  # the package comes from postBuild
    post = ROOT / "binder" / "postBuild"
    assert post.stat().st_mode & 0o111, "binder/postBuild must be executable"
    text = post.read_text()
    assert "pip install --no-deps -e ." in text
    start = re.search(r'default_url = "/lab/tree/([^"]+)"', text)
    assert (
        start
        and (ROOT / start.group(1)).is_file()
        and start.group(1) == "notebooks/00_start_here.ipynb"
    )


def test_one_version_source() -> None:
    from recsys_ref import __version__

    project = pyproject()
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "recsys_ref.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert str(cff["version"]) == __version__
    assert f"## [{__version__}]" in (ROOT / "CHANGELOG.md").read_text()


def test_setuptools_is_new_enough_for_the_spdx_license() -> None:
    project = pyproject()
    assert project["project"]["license"] == "MIT"
    req = project["build-system"]["requires"]
    m = re.fullmatch(r"setuptools>=(\d+)", req[0])
    assert m and int(m.group(1)) >= 77, req


def test_citation_cites_the_course_and_the_three_papers() -> None:
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software" and cff["title"]
    titles = " | ".join(r["title"] for r in cff["references"])
    for paper in (
        "Neural Graph Collaborative Filtering",
        "Factorization Machines",
        "Field-aware Factorization Machines",
    ):
        assert paper in titles, paper
    assert all(r.get("year") and r.get("authors") for r in cff["references"])


def test_the_design_is_in_the_repository() -> None:
    design = (ROOT / "docs" / "design.md").read_text()
    sections = re.findall(r"^## (\d+)\. ", design, re.M)
    assert sections == [str(n) for n in range(1, len(sections) + 1)]
    cited = set()
    for path in [
        *ROOT.glob("*.md"),
        *ROOT.glob("*.toml"),
        *(ROOT / "recsys_ref").rglob("*.py"),
        *(ROOT / "tests").rglob("*.py"),
        *(ROOT / "benchmarks").rglob("*.py"),
        *(ROOT / "docs").rglob("*.md"),
    ]:
        text = path.read_text(encoding="utf-8")
        for old in ("COURSE" + ".md", "STYLE" + ".md"):  # documents that are not in the repository
            assert old not in text, f"{path.relative_to(ROOT)} cites {old}; cite docs/design.md"
        cited |= {int(n) for n in re.findall(r"docs/design\.md §(\d+)", text)}
    assert cited and max(cited) <= len(sections), (
        f"cited sections {sorted(cited)} of {len(sections)}"
    )


def test_pyproject_has_static_dependencies_and_the_console_script() -> None:
    project = pyproject()
    assert "dependencies" not in project["project"]["dynamic"]
    assert "dependencies" not in project["tool"]["setuptools"].get("dynamic", {})
    assert project["project"]["scripts"]["recsys-course"] == "recsys_ref.course.cli:main"


def test_every_task_has_a_registered_marker(pytestconfig: pytest.Config) -> None:
    """conftest.py registers one marker per exercise from the registry; none is kept by hand."""
    registered = {m.split(":", 1)[0] for m in pytestconfig.getini("markers")}
    missing = set(all_exercises()) - registered
    assert not missing, f"conftest.py's pytest_configure did not register {sorted(missing)}"
    ini = pyproject()["tool"]["pytest"]["ini_options"]
    by_hand = {m.split(":", 1)[0] for m in ini["markers"]} & set(all_exercises())
    assert not by_hand, f"task markers come from the registry, not pyproject.toml: {by_hand}"
    assert "--strict-markers" in ini["addopts"].split()


def test_a_misspelt_task_marker_is_an_error(tmp_path: Path) -> None:
    """--strict-markers with the registry's markers: `fm_4` collects, `fm_99` is refused."""
    for name, marker in (("known", "fm_4"), ("typo", "fm_99")):
        test = f"import pytest\n\n\n@pytest.mark.{marker}\ndef test_{name}():\n    pass\n"
        (tmp_path / f"test_{name}.py").write_text(test)
    pytest_args = ["-p", "no:cacheprovider", "-p", "conftest", "--continue-on-collection-errors"]
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            *pytest_args,
            "-c",
            str(ROOT / "pyproject.toml"),
            ".",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # `-p conftest`: the repository's
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "1 passed" in run.stdout and "1 error" in run.stdout, run.stdout + run.stderr
    assert "'fm_99' not found in `markers`" in run.stdout, run.stdout


def _requirements_of_pyproject() -> list[tuple[str, str]]:
    """(where, requirement) for the runtime dependencies and every extra."""
    project = pyproject()["project"]
    rows = [("dependencies", r) for r in project["dependencies"]]
    for extra, reqs in project["optional-dependencies"].items():
        rows += [(f"extra {extra}", r) for r in reqs]
    return rows


def test_every_pin_of_the_lock_lies_inside_the_ranges_of_pyproject() -> None:
    """requirements.txt (the tested lock) is one of the sets the wheel and its extras accept."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    lock = {canonicalize_name(ln.split("==")[0]): ln.split("==")[1] for ln in requirement_lines()}
    seen = set()
    for where, text in _requirements_of_pyproject():
        req = Requirement(text)
        name = canonicalize_name(req.name)
        if name in lock:
            seen.add(name)
            assert req.specifier.contains(lock[name], prereleases=True), (where, text, lock[name])
    assert seen == set(lock), f"pinned in requirements.txt but in no range: {set(lock) - seen}"


def _third_party_imports() -> set[str]:
    """Top-level modules outside the standard library that recsys_ref imports (anywhere)."""
    found = set()
    for path in (ROOT / "recsys_ref").rglob("*.py"):
        if path.name == "pytest_plugin.py":  # loaded by pytest itself (entry point pytest11)
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
        for module, where in IMPORTED_BY_NAME.items():
            if path.relative_to(ROOT).as_posix() == where:
                assert f'"{module}"' in path.read_text(encoding="utf-8"), (module, where)
                found.add(module)
    return {m for m in found if m not in sys.stdlib_module_names and m != "recsys_ref"}


# Modules imported with importlib by a name in a string (the first that imports wins): the file
# that names it.  Debian's `seccomp` (python3-seccomp) is tried first, PyPI's pyseccomp is required.
IMPORTED_BY_NAME = {"pyseccomp": "recsys_ref/course/sandbox/confine.py"}


# Modules that come with a declared requirement (jupyter_client is nbclient's own dependency).
PROVIDED_BY = {"jupyter_client": "nbclient"}
TOOLS = {"pytest", "pytest-timeout", "pytest-xdist", "nbval", "hypothesis", "ruff", "pyyaml"}
TOOLS |= {"jupyterlab", "ipykernel", "sphinx", "myst-nb", "nbgrader", "uv", "playwright"}


def test_wheel_requires_what_recsys_ref_imports_and_no_tool(tmp_path: Path) -> None:
    """The built wheel's Requires-Dist (its METADATA, from setuptools) = what the package imports."""
    setuptools = pytest.importorskip("setuptools")
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    need = int(re.match(r"\d+", pyproject()["build-system"]["requires"][0].split(">=")[1])[0])
    if int(setuptools.__version__.split(".")[0]) < need:
        pytest.skip(f"setuptools {setuptools.__version__} here; the build needs >= {need}")
    out = tmp_path / "meta"
    out.mkdir()
    code = (
        "import sys; from setuptools import build_meta as b; "
        "print(b.prepare_metadata_for_build_wheel(sys.argv[1]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(out)], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    metadata = (out / done.stdout.strip().splitlines()[-1] / "METADATA").read_text()
    requires = [
        ln.split(":", 1)[1].strip()
        for ln in metadata.splitlines()
        if ln.startswith("Requires-Dist:")
    ]
    runtime = [Requirement(r) for r in requires if "extra ==" not in r]
    names = {canonicalize_name(r.name) for r in runtime}
    assert not names & TOOLS, f"test/lint/lab tools required at run time: {sorted(names & TOOLS)}"
    assert all(r.specifier and "==" not in str(r.specifier) for r in runtime), runtime
    imported = {canonicalize_name(PROVIDED_BY.get(m, m)) for m in _third_party_imports()}
    assert names == imported, (
        f"required but not imported: {names - imported}; imported but not required: {imported - names}"
    )
    extras = {r.split("extra ==", 1)[1].strip(" \"'") for r in requires if "extra ==" in r}
    assert {"test", "lint", "lab", "site", "notebook"} <= extras, extras


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "make lab" in quick and "make test" in quick
    command = re.search(r"^(make test EXTRAS=[\w,]+)$", ci, re.M)
    assert command, "CI must run `make test EXTRAS=...`"
    assert command.group(1) in readme  # the maintainers' section tells the same
    extras = set(command.group(1).split("=", 1)[1].split(","))
    assert extras <= set(pyproject()["project"]["optional-dependencies"]), extras


def test_readme_task_table_matches_the_registry() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `(\w+)` \| `([\w.]+)` \| `(\w+)` \| `pytest -m (\w+)` \|", readme, re.M)
    fix = "run `recsys-course refresh` or `python -m recsys_ref.course.nbtools.course_map`"
    assert [(t, nb, fn) for t, nb, fn, _ in rows] == [
        (t, nb, fn) for t, nb, fn, _ in task_table()
    ], fix
    assert all(t == m for t, _, _, m in rows)


def test_module_entry_point_matches_console_script() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "recsys_ref.course", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for command in ("build", "progress", "grade", "doctor"):
        assert command in out


CORE = [p for p in (ROOT / "recsys_ref").rglob("*.py") if "course" not in p.relative_to(ROOT).parts]


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(ROOT)))
def test_core_never_imports_course(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [("." * node.level) + (node.module or "")]
        for name in names:
            assert "course" not in name.split("."), (
                f"{path.name} imports {name} (docs/design.md §3)"
            )


FORMAT_PENDING = ROOT / "tests" / "format_pending.txt"
LINTED = ["recsys_ref", "tests", "benchmarks", "docs", "conftest.py", "setup.py"]


def test_make_lint_checks_format_and_lint() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert f"LINTED := {' '.join(LINTED)}" in makefile
    assert "ruff format --check $(LINTED)" in makefile and "ruff check $(LINTED)" in makefile


def test_ruff_format_clean() -> None:
    """`ruff format --check` over what `make lint` checks, except the files listed in
    tests/format_pending.txt (formatted once by the lead after merging, then the list goes)."""
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        pytest.skip("ruff is not installed in this environment")
    pending = set()
    if FORMAT_PENDING.exists():
        lines = FORMAT_PENDING.read_text().splitlines()
        pending = {ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")}
        missing = sorted(p for p in pending if not (ROOT / p).exists())
        assert not missing, f"tests/format_pending.txt names files that do not exist: {missing}"
    done = subprocess.run(
        [str(ruff), "format", "--check", "--output-format", "concise", *LINTED],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    unformatted = {
        ln.split(":", 1)[0]
        for ln in done.stdout.splitlines() + done.stderr.splitlines()
        if ": unformatted" in ln
    }
    assert done.returncode in (0, 1), done.stderr
    assert not unformatted - pending, f"run `ruff format` on: {sorted(unformatted - pending)}"
