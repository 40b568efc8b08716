"""Syntax trees are built one thread at a time (``engine/syntax.py``).

On CPython before 3.11.8 / 3.12.1, two threads converting syntax trees at once can
raise ``SystemError: AST constructor recursion depth mismatch`` (gh-106905).  The
grader's ``--jobs`` threads parse learners' cells, reference sources and ``.npy``
headers, so one such error once made a correct-or-wrong ``ngcf_1`` "could not be
judged".  Two tests hold the class:

* a search over the package's sources: every call that builds ``ast`` objects
  (``ast.parse``, ``ast.literal_eval``, ``PyCF_ONLY_AST``) or makes numpy read
  ``.npy`` headers (``np.load``, ``read_array_header_*``) is in ``syntax.py`` or
  inside ``with syntax.LOCK:``;
* a stress run that makes the race happen (finalizers run by the garbage collector
  in the middle of a parse, a tiny thread switch interval): bare ``ast.parse`` fails
  under it where the interpreter has the bug, and the course's parsing entry points
  never do.
"""

from __future__ import annotations

import ast
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from recsys_ref.course.engine import syntax
from recsys_ref.course.sandbox import codec, withheld

PACKAGE = Path(__file__).resolve().parents[1] / "recsys_ref"
PARSING = {"parse", "literal_eval", "load"}  # called; read_array_header_* also when only named


def _is_lock(item: ast.withitem) -> bool:
    e = item.context_expr
    return isinstance(e, ast.Attribute) and e.attr == "LOCK" and ast.unparse(e.value) == "syntax"


def _unlocked_calls(path: Path) -> list[str]:
    """``file:line call`` for each tree-building call in ``path`` outside ``with syntax.LOCK``."""
    found: list[str] = []

    def visit(node: ast.AST, locked: bool) -> None:
        if isinstance(node, ast.With) and any(_is_lock(i) for i in node.items):
            locked = True
        name = None
        if isinstance(node, ast.Call):
            f = node.func
            name = (
                f.attr
                if isinstance(f, ast.Attribute)
                else f.id
                if isinstance(f, ast.Name)
                else None
            )
            owner = ast.unparse(f.value) if isinstance(f, ast.Attribute) else ""
            numpy_load = name == "load" and owner in ("np", "numpy")
            if name == "load" and not numpy_load:
                name = None  # json.load, pickle.load, ...: no syntax trees
            elif name == "parse" and owner not in ("ast", ""):
                name = None  # urllib.parse, email.parser, ...
            if name not in PARSING:
                name = None
        if isinstance(node, ast.Attribute) and node.attr == "PyCF_ONLY_AST":
            name = "PyCF_ONLY_AST"
        if isinstance(node, ast.Attribute) and node.attr.startswith("read_array_header"):
            name = node.attr  # called, or taken to be called later
        if name is not None and not locked:
            found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {name}")  # type: ignore[attr-defined]
        for child in ast.iter_child_nodes(node):
            visit(child, locked)

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def test_every_tree_building_call_in_the_package_holds_the_lock() -> None:
    files = [p for p in PACKAGE.rglob("*.py") if p.name != "syntax.py" or p.parent.name != "engine"]
    assert len(files) > 100
    unlocked = [c for p in files for c in _unlocked_calls(p)]
    assert unlocked == [], (
        "calls that build syntax trees outside engine/syntax.py's lock (parse with "
        "syntax.parse, or wrap the call in `with syntax.LOCK:`):\n" + "\n".join(unlocked)
    )


def test_the_search_finds_an_unlocked_call(tmp_path: Path, monkeypatch) -> None:
    """The search is not blind: each kind of call it looks for is reported when unlocked,
    and not when locked or when it is another module's ``load``/``parse``."""
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path)
    f = tmp_path / "m.py"
    f.write_text(
        "import ast, json, numpy as np, urllib.parse\n"
        "from ..engine import syntax\n"
        "ast.parse('x')\n"
        "ast.literal_eval('1')\n"
        "np.load('f.npz')\n"
        "np.lib.format.read_array_header_1_0(None)\n"
        "pick = {1: np.lib.format.read_array_header_2_0}\n"
        "compile('x', 'f', 'exec', ast.PyCF_ONLY_AST)\n"
        "json.load(None)\n"
        "urllib.parse.quote('x')\n"
        "with syntax.LOCK:\n"
        "    ast.parse('y')\n"
    )
    got = [c.split(" ")[1] for c in _unlocked_calls(f)]
    assert got == [
        "parse",
        "literal_eval",
        "load",
        "read_array_header_1_0",
        "read_array_header_2_0",
        "PyCF_ONLY_AST",
    ]


# ---------------------------------------------------------------- the race itself

SOURCE = (Path(__file__).parent / "catalogue" / "ngcf_1.py").read_text(encoding="utf-8") * 5


def _race(call: Callable[[], object], threads: int = 4, rounds: int = 80) -> list[str]:
    """SystemErrors raised by ``call`` run at once in ``threads`` threads, each round after
    making cyclic garbage whose finalizer runs Python code (so a collection in the middle
    of a parse lets another thread in)."""
    errors: list[str] = []

    class Finalized:
        def __del__(self) -> None:
            sum(range(100))

    def work() -> None:
        for _ in range(rounds):
            for _ in range(200):
                a = Finalized()
                a.self = a  # type: ignore[attr-defined]
            try:
                call()
            except SystemError as exc:
                errors.append(repr(exc))
                return

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        pool = [threading.Thread(target=work) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    finally:
        sys.setswitchinterval(old)
    return errors


AFFECTED = sys.version_info < (3, 11, 8) or (3, 12) <= sys.version_info < (3, 12, 1)


@pytest.mark.slow
@pytest.mark.skipif(not AFFECTED, reason="this interpreter has the fix for gh-106905")
def test_the_stress_breaks_bare_parsing() -> None:
    """The control: the stress below is strong enough to show the interpreter's race (here it
    shows in 3 of 4 threads on every try; up to five tries, for a machine that schedules the
    threads otherwise)."""
    assert any(_race(lambda: ast.parse(SOURCE)) for _ in range(5)), (
        "bare ast.parse survived the stress five times"
    )


NPZ = codec.dumps([np.arange(i + 1, dtype=np.float64) for i in range(40)])  # 41 .npy headers


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, call",
    [
        ("syntax.parse", lambda: syntax.parse(SOURCE)),
        ("the pasted-code search", lambda: withheld._function_in(SOURCE, "build_adjacency")),
        ("the reply decoder's .npy headers", lambda: codec.loads(NPZ)),
    ],
)
def test_the_course_parses_safely_under_the_stress(name: str, call: Callable[[], object]) -> None:
    assert _race(call, rounds=40) == [], f"{name} raised SystemError under concurrent parsing"
