"""The layout rules of docs/design.md §3, read from the import graph (every import, lazy ones too).

Each module of ``recsys_ref`` is parsed (never imported); an import names the
modules it binds: ``from ..engine import runner`` is an edge to
``recsys_ref.course.engine.runner``.  The core-never-imports-course rule is
``tests/test_packaging.py::test_core_never_imports_course``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from recsys_ref.course._moved import MOVED

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "recsys_ref"
COURSE = "recsys_ref.course"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path) -> set[str]:
    """The modules (of any package) that ``path`` imports, as absolute names."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + [node.module or ""])
                base = base.rstrip(".")
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES)
    return found


GRAPH = {name: imported(path) for name, path in MODULES.items()}


def inside(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def edges(sources: tuple[str, ...], targets: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{src} imports {dst}"
        for src, dsts in GRAPH.items()
        if inside(src, *sources)
        for dst in dsts
        if inside(dst, *targets)
    )


ENGINE, TASKS = f"{COURSE}.engine", f"{COURSE}.tasks"
NBTOOLS, GRADING, SANDBOX = f"{COURSE}.nbtools", f"{COURSE}.grading", f"{COURSE}.sandbox"
WORKER_SIDE = (f"{SANDBOX}.worker", f"{SANDBOX}.confine", f"{SANDBOX}.codec")


def test_the_graph_sees_the_subpackages() -> None:
    """The rules below are not vacuous: each subpackage has modules and edges."""
    for package in (ENGINE, TASKS, NBTOOLS, GRADING, SANDBOX):
        assert sum(inside(m, package) for m in MODULES) >= 3, package
    assert f"{ENGINE}.runner" in GRAPH[f"{SANDBOX}.worker"]  # a relative, lazy `from ..engine`
    assert f"{SANDBOX}.client" in GRAPH[f"{GRADING}.grade"]
    assert f"{ENGINE}.spec" in GRAPH[f"{TASKS}.fm.pairwise"]  # a task module of a track package


def test_engine_and_tasks_never_import_grading_sandbox_or_notebook_tools() -> None:
    """The engine runs in a learner's kernel and in a worker: no grader, no notebook files."""
    assert edges((ENGINE, TASKS), (GRADING, SANDBOX, NBTOOLS)) == []


def test_notebook_tools_never_import_grading_or_sandbox() -> None:
    assert edges((NBTOOLS,), (GRADING, SANDBOX)) == []


def test_worker_side_never_imports_grading_or_the_client() -> None:
    """What runs in the fork server and its children never reaches the judging side."""
    assert edges(WORKER_SIDE, (GRADING, f"{SANDBOX}.client")) == []


def test_only_the_command_line_imports_grading() -> None:
    users = {src.split(" imports ")[0] for src in edges((COURSE,), (GRADING,))}
    assert {u for u in users if not inside(u, GRADING)} <= {f"{COURSE}.cli"}


def test_no_module_imports_a_private_module_of_another_package() -> None:
    """``a.b._m`` of this package is imported only from ``a.b`` and below (``course._moved``)."""
    wrong = []
    for src, dsts in GRAPH.items():
        for dst in dsts & set(MODULES):
            owner, _, last = dst.rpartition(".")
            if last.startswith("_") and not last.startswith("__") and not inside(src, owner):
                wrong.append(f"{src} imports {dst}")
    assert wrong == []


@pytest.mark.parametrize(
    "folder", ["recsys_ref", "tests", "benchmarks"], ids=lambda f: f.replace("/", "_")
)
def test_code_uses_the_new_module_paths(folder: str) -> None:
    """The old paths in ``course/_moved.py`` exist for saved notebooks only, not for code."""
    old = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        if path.name == "_moved.py":
            continue
        text = path.read_text(encoding="utf-8")
        old += [f"{path.relative_to(ROOT)}: {name}" for name in MOVED if name in text]
    assert old == []


TASK_MODULES = {
    name: path
    for name, path in MODULES.items()
    if inside(name, TASKS) and path.name != "__init__.py" and not path.name.startswith("_")
}


def test_tasks_one_package_per_track_one_module_per_task() -> None:
    """Each task module under ``course/tasks/`` (a track's package, or a module at the top level)
    holds its specs itself, in ``EXERCISES``; a track never imports another track's modules."""
    tracks = {n.split(".")[3] for n in TASK_MODULES if n.count(".") == 4}
    assert {"start", "ngcf", "fm", "capstone"} <= tracks  # not vacuous
    without = []
    for name, path in TASK_MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assigned = {
            t.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for t in node.targets
            if isinstance(t, ast.Name)
        }
        if "EXERCISES" not in assigned:
            without.append(name)
    assert without == [], "a task module without EXERCISES (shared code goes in a _private module)"
    crossing = [
        f"{src} imports {dst}"
        for track in tracks
        for src, dst in (e.split(" imports ") for e in edges((f"{TASKS}.{track}",), (TASKS,)))
        if inside(dst, *(f"{TASKS}.{t}" for t in tracks - {track}))
    ]
    assert crossing == []


GENERATOR_HELPERS = {
    "gen",
    "_gen",
    "randn",
    "_randn",
    "normal",
    "uniform",
    "_uniform",
    "f64",
    "_f64",
}


def test_seeded_generators_are_written_once() -> None:
    """Only ``tasks/_generators.py`` makes a ``torch.Generator`` or defines a drawing helper; every
    task module draws its cases through it (one definition, the same seeds everywhere)."""
    home = f"{TASKS}._generators"
    assert home in MODULES
    found = []
    for name, path in MODULES.items():
        if not inside(name, TASKS) or name == home:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr == "Generator":
                    found.append(f"{name}: torch.Generator()")
            elif isinstance(node, ast.FunctionDef) and node.name in GENERATOR_HELPERS:
                found.append(f"{name}: def {node.name}")
    assert found == [], "draw through recsys_ref.course.tasks._generators"
