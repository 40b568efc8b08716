"""No reference in the worker (issue 20, classes 1-2): every route to the course's
reference from a learner's cell ends in a refusal, and no points.

The submissions are written here as a learner would write them; each attack
returns the reference's value when it gets through, so "passed" would mean a leak.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

from recsys_ref.course.engine.evaluate import PASSED
from recsys_ref.course.engine.registry import all_exercises, get
from recsys_ref.course.sandbox import client as sandbox
from recsys_ref.course.sandbox import withheld
from tests.exercise_notebook import write

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox's layers are Linux's")

TASKS = [t for t, ex in all_exercises().items() if ex.kind == "task"]


def calling(task: str, module: str, name: str) -> str:
    """A cell whose function only calls ``module.name``."""
    fn = get(task).func_name
    return (
        f"from {module} import {name} as _given\n\n\n"
        f"def {fn}(*args, **kwargs):\n    return _given(*args, **kwargs)\n"
    )


def assert_no_points(results, why: str = "") -> None:
    for r in results:
        assert r.status != PASSED and r.points == 0, (why, r.task_id, r.message)


# ---------------------------------------------------------------- the search


def test_every_equivalent_found_by_the_search_is_withheld():
    """Call every public function of the core package on every task's cases: each one
    that returns the reference's output is listed in ``withheld.EQUIVALENTS``."""
    found = withheld.search_equivalents(all_exercises())
    missing = {t: sorted(keys - set(withheld.EQUIVALENTS.get(t, ()))) for t, keys in found.items()}
    assert not {t: k for t, k in missing.items() if k}, missing
    assert found, "the search found nothing: it is not calling the package's functions"


def _released_imports(task: str) -> set[str]:
    """ "module:name" imported from recsys_ref by the released exercise cell of ``task``."""
    ex = get(task)
    path = ROOT / "notebooks" / f"{ex.notebook}.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for cell in nb["cells"]:
        if f"task:{task}" not in cell.get("metadata", {}).get("tags", []):
            continue
        source = "".join(cell["source"])
        source = "\n".join(
            line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("recsys_ref"):
                out.update(f"{node.module}:{a.name}" for a in node.names)
    return out


def test_given_helpers_are_those_the_released_cells_import():
    """``GIVEN`` lists, for each task, the other tasks whose reference its released cell
    imports: exactly those stay reachable (or are replaced by the learner's own)."""
    if not (ROOT / "notebooks").exists():
        pytest.skip("no notebooks/ (recsys-course build)")
    exercises = all_exercises()
    import importlib

    owner = {}
    for t, ex in exercises.items():
        owner[id(ex.reference)] = t
    for task in TASKS:
        given = set()
        for key in _released_imports(task):
            module, _, name = key.partition(":")
            obj = getattr(importlib.import_module(module), name, None)
            if id(obj) in owner and owner[id(obj)] != task:
                given.add(owner[id(obj)])
        assert given == set(withheld.GIVEN.get(task, ())), (task, given)


def test_given_helpers_never_compute_a_task_of_their_worker():
    """A helper exempted for one task is never the reference or an equivalent of a task
    graded in the same worker (``withheld_keys`` keeps those withheld anyway)."""
    exercises = all_exercises()
    for task, deps in withheld.GIVEN.items():
        nb_tasks = [t for t, e in exercises.items() if e.notebook == exercises[task].notebook]
        keys = withheld.withheld_keys(nb_tasks, exercises)
        for t in nb_tasks:
            assert withheld.key_of(exercises[t].reference) in keys
            assert set(withheld.EQUIVALENTS.get(t, ())) <= keys
        for d in deps:
            dep_key = withheld.key_of(exercises[d].reference)
            assert (dep_key in keys) == (exercises[d].notebook == exercises[task].notebook)


# ---------------------------------------------------------------- plain imports


def test_a_plain_import_of_each_reference_gets_no_points(tmp_path):
    """Every task's cell only calls its own reference, imported by name: no points,
    and the feedback says why."""
    cells = [(t, calling(t, get(t).reference.__module__, get(t).reference.__name__)) for t in TASKS]
    results = sandbox.run_tasks(write(tmp_path / "refs.ipynb", *cells), TASKS, seed=3)
    assert_no_points(results, "reference")
    for r in results:
        assert withheld.NOT_AVAILABLE in r.message, (r.task_id, r.message)


def test_a_plain_import_of_each_equivalent_gets_no_points(tmp_path):
    """The package functions equal to a reference (the search's list), imported by name."""
    for i in range(max(len(v) for v in withheld.EQUIVALENTS.values())):
        cells = []
        for t, keys in withheld.EQUIVALENTS.items():
            if i < len(keys):
                module, _, name = keys[i].partition(":")
                cells.append((t, calling(t, module, name)))
        ids = [t for t, _ in cells]
        results = sandbox.run_tasks(write(tmp_path / f"eq{i}.ipynb", *cells), ids, seed=3)
        assert_no_points(results, f"equivalent #{i}")


# ---------------------------------------------------------------- routes to the original

FM4 = get("fm_4")
TARGET = FM4.reference.__name__  # fm_pairwise
ROUTES = {
    # a closure of any function of the package that holds the original
    "closure": (
        "import sys, types\n"
        "def _find():\n"
        "    for name, mod in list(sys.modules.items()):\n"
        "        if not name.startswith('recsys_ref'):\n"
        "            continue\n"
        "        for v in list(vars(mod).values()):\n"
        "            for f in (v, getattr(v, '__wrapped__', None)):\n"
        "                for c in getattr(f, '__closure__', None) or ():\n"
        "                    try:\n"
        "                        o = c.cell_contents\n"
        "                    except ValueError:\n"
        "                        continue\n"
        "                    if getattr(getattr(o, '__code__', None), 'co_name', '') == NAME:\n"
        "                        return o\n"
        "    raise LookupError('no closure holds it')\n"
    ),
    # every object the collector tracks, and the code objects they refer to
    "heap_walk": (
        "import gc, sys, types\n"
        "def _find():\n"
        "    seen, todo = set(), list(sys.modules.values()) + gc.get_objects()\n"
        "    while todo and len(seen) < 3_000_000:\n"
        "        o = todo.pop()\n"
        "        if id(o) in seen:\n"
        "            continue\n"
        "        seen.add(id(o))\n"
        "        if isinstance(o, types.CodeType) and o.co_name == NAME \\\n"
        "                and o.co_filename != '<withheld>' and 'fm' in o.co_filename:\n"
        "            return types.FunctionType(o, sys.modules['recsys_ref.fm'].__dict__)\n"
        "        if isinstance(o, types.FunctionType):\n"
        "            todo.append(o.__code__)\n"
        "            todo.extend(c.cell_contents for c in (o.__closure__ or ()) if c)\n"
        "        elif isinstance(o, (dict, list, tuple, set, frozenset, types.ModuleType)):\n"
        "            todo.extend(gc.get_referents(o))\n"
        "        elif isinstance(o, types.CodeType):\n"
        "            todo.extend(c for c in o.co_consts if isinstance(c, types.CodeType))\n"
        "    raise LookupError('not on the heap')\n"
    ),
    # code compiled under the package's own file name (the old wrapper trusted it)
    "compile_file_name": (
        "import recsys_ref.fm as _fm\n"
        "def _find():\n"
        "    ns = {}\n"
        "    exec(compile('from recsys_ref.fm import ' + NAME + ' as f', _fm.__file__, 'exec'),"
        " ns)\n"
        "    return ns['f']\n"
    ),
    # the registry's spec, and a reload of the module from its source
    "registry_and_reload": (
        "import importlib\n"
        "def _find():\n"
        "    from recsys_ref.course.engine.registry import get\n"
        "    try:\n"
        "        f = get('fm_4').reference\n"
        "        f(*ARGS)\n"
        "        return f\n"
        "    except Exception:\n"
        "        import recsys_ref.fm as m\n"
        "        return getattr(importlib.reload(m), NAME)\n"
    ),
    # the spec module's own helpers (wrong variants, oracles): every function reachable
    # from the task modules, called; the one that returns the right value is used
    "spec_helpers": (
        "import sys, types\n"
        "def _find():\n"
        "    for name, mod in list(sys.modules.items()):\n"
        "        if not name.startswith('recsys_ref.course.tasks'):\n"
        "            continue\n"
        "        for v in list(vars(mod).values()):\n"
        "            if isinstance(v, types.FunctionType):\n"
        "                try:\n"
        "                    v(*ARGS)\n"
        "                    return v\n"
        "                except Exception:\n"
        "                    continue\n"
        "    raise LookupError('no helper')\n"
    ),
    # the reply record: the cell rewrites how outcomes are written, hiding any refusal
    "reply_record": (
        "import recsys_ref.course.engine.runner as _r\n"
        "_plain = _r.Outcome.to_plain\n"
        "def _quiet(self, *a, **k):\n"
        "    d = _plain(self, *a, **k)\n"
        "    d['message'] = ''\n"
        "    return d\n"
        "_r.Outcome.to_plain = _quiet\n"
        "def _find():\n"
        "    from recsys_ref.fm import fm_pairwise\n"
        "    return fm_pairwise\n"
    ),
}


@pytest.mark.parametrize("route", list(ROUTES))
def test_routes_to_the_original_reference_get_no_points(tmp_path, route):
    code = (
        "import torch\n"
        f"NAME = {TARGET!r}\n"
        "ARGS = (torch.ones(2, 3, dtype=torch.float64), torch.ones(3, 2, dtype=torch.float64))\n"
        + ROUTES[route]
        + f"\n\ndef {FM4.func_name}(x, V):\n    return _find()(x, V)\n"
    )
    (r,) = sandbox.run_tasks(write(tmp_path / f"{route}.ipynb", ("fm_4", code)), ["fm_4"], seed=5)
    assert r.status != PASSED and r.points == 0, r.message


def test_the_learners_own_earlier_function_stands_in_for_a_given_helper(tmp_path):
    """``ngcf_9``'s released cell calls ``bpr_loss``: in the worker it is the learner's own
    ``bpr_loss`` (task ngcf_6) — a wrong one makes the step wrong."""
    cells = {}
    for task in ("ngcf_6", "ngcf_9"):  # each from the notebook the registry names
        nb = json.loads((ROOT / "solutions" / f"{get(task).notebook}.ipynb").read_text())
        for cell in nb["cells"]:
            if f"task:{task}" in cell.get("metadata", {}).get("tags", []):
                cells[task] = "".join(cell["source"])
    right = sandbox.run_tasks(
        write(tmp_path / "right.ipynb", *cells.items()), ["ngcf_6", "ngcf_9"], seed=2
    )
    assert [r.status for r in right] == [PASSED, PASSED], [r.message for r in right]
    wrong_loss = cells["ngcf_6"].replace("softplus(", "softplus(2 * ")
    assert wrong_loss != cells["ngcf_6"]
    wrong = sandbox.run_tasks(
        write(tmp_path / "wrong.ipynb", ("ngcf_6", wrong_loss), ("ngcf_9", cells["ngcf_9"])),
        ["ngcf_6", "ngcf_9"],
        seed=2,
    )
    assert_no_points(wrong, "the learner's own wrong bpr_loss")


# ---------------------------------------------------------------- pasted reference code


def _renamed_reference(task: str) -> str:
    """The reference's source as a learner would paste it: the task's function name,
    every parameter renamed, the docstring dropped, spacing changed."""
    import inspect
    import re

    ex = get(task)
    src = inspect.getsource(ex.reference)
    params = list(inspect.signature(ex.reference).parameters)
    src = src.replace(f"def {ex.reference.__name__}(", f"def {ex.func_name}(", 1)
    for i, p in enumerate(params):
        src = re.sub(rf"\b{re.escape(p)}\b", f"arg_{i}", src)
    src = re.sub(r'"""(.|\n)*?"""', "", src, count=1)
    return src.replace(" = ", "=")


def test_pasted_reference_code_is_flagged_with_the_route(tmp_path):
    code = "import torch\nfrom torch import Tensor\nfrom recsys_ref.fm import *\n\n\n"
    code += _renamed_reference("fm_4")
    assert withheld.pasted_from(code, FM4.func_name, FM4), code
    (r,) = sandbox.run_tasks(write(tmp_path / "pasted.ipynb", ("fm_4", code)), ["fm_4"], seed=5)
    assert "flagged for review" in r.message and "fm_pairwise" in r.message, r.message


def test_no_solution_is_flagged_as_pasted():
    from recsys_ref.course.nbtools.notebook import find_exercise, read_notebook

    exercises = all_exercises()
    for t in TASKS:
        path = ROOT / "solutions" / f"{exercises[t].notebook}.ipynb"
        if not path.exists():
            continue
        src = find_exercise(read_notebook(path), t, exercises[t].func_name)
        assert src is not None, t
        assert withheld.pasted_from(src.code, src.func_name, exercises[t]) == "", t
