"""docs/design.md's task lists are the registry's: a task that moves notebook moves there too.

design.md §4 lists each notebook's tasks in one form, "Notebooks: NN title (`task`, …)", with a range
`a`–`b` for consecutive ids of one prefix.  The lists are read back here and compared, notebook by
notebook, with the tasks (not the concept questions) whose spec names that notebook; every notebook
of the registry and of solutions/ must be listed.
"""

from __future__ import annotations

import re
from pathlib import Path

from recsys_ref.course.engine.registry import all_exercises

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT / "docs" / "design.md"

# "Notebooks: …" up to the end of its paragraph (a blank line or the end of the page)
_LISTS = re.compile(r"Notebooks:(.*?)(?:\n\s*\n|\Z)", re.S)
# "NN title (…)": two digits, a title without parentheses, then the parenthesised list
_ENTRY = re.compile(r"(?<![\w`])(\d\d) [^()]*?\(([^()]*)\)")
_ID = re.compile(r"`([a-z]+(?:_[a-z]+)*?)(?:_(\d+))?`(?:\s*[–-]\s*`([a-z_]+?)_(\d+)`)?")


def listed_tasks(text: str) -> dict[str, set[str]]:
    """Notebook number → the task ids its entry lists, ranges expanded."""
    out: dict[str, set[str]] = {}
    for block in _LISTS.findall(text):
        for number, inside in _ENTRY.findall(" ".join(block.split())):
            ids: set[str] = set()
            for prefix, first, range_prefix, last in _ID.findall(inside):
                if not first:
                    ids.add(prefix)
                elif range_prefix:
                    assert range_prefix == prefix, f"a range across prefixes: {inside!r}"
                    ids |= {f"{prefix}_{k}" for k in range(int(first), int(last) + 1)}
                else:
                    ids.add(f"{prefix}_{first}")
            assert number not in out, f"notebook {number} is listed twice in docs/design.md"
            out[number] = ids
    return out


def registry_tasks() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for task_id, ex in all_exercises().items():
        tasks = out.setdefault(ex.notebook[:2], set())
        if ex.kind == "task":
            tasks.add(task_id)
    for path in (ROOT / "solutions").glob("*.ipynb"):
        out.setdefault(path.stem[:2], set())
    return out


def mismatches(listed: dict[str, set[str]], registry: dict[str, set[str]]) -> list[str]:
    """One line per notebook whose list differs from the registry's (or is missing or extra)."""
    out = [f"{nb}: not listed" for nb in sorted(set(registry) - set(listed))]
    out += [f"{nb}: listed, but no such notebook" for nb in sorted(set(listed) - set(registry))]
    out += [
        f"{nb}: listed {sorted(listed[nb])}, registry {sorted(registry[nb])}"
        for nb in sorted(set(listed) & set(registry))
        if listed[nb] != registry[nb]
    ]
    return out


def test_design_lists_each_notebooks_tasks_as_the_registry_does() -> None:
    found = mismatches(listed_tasks(DESIGN.read_text(encoding="utf-8")), registry_tasks())
    assert found == [], "docs/design.md §4 does not follow the registry:\n" + "\n".join(found)


def test_the_lists_are_read_back() -> None:
    text = "Notebooks: 20 data (`fm_1`, `fm_2`), 21 trick\n(`fm_3`–`fm_5`, `fm_8`).\n\nNot a list (`fm_9`)."
    assert listed_tasks(text) == {"20": {"fm_1", "fm_2"}, "21": {"fm_3", "fm_4", "fm_5", "fm_8"}}
    text = "Notebooks: 00 start here (`warmup`), 13 beyond (cold start; no task)."
    assert listed_tasks(text) == {"00": {"warmup"}, "13": set()}


def test_a_moved_task_fails() -> None:
    """A task the page lists in another notebook than its spec names is reported, both notebooks."""
    registry = registry_tasks()
    listed = listed_tasks(DESIGN.read_text(encoding="utf-8"))
    home = next(nb for nb, tasks in registry.items() if "fm_9" in tasks)
    other = next(nb for nb in sorted(listed) if nb != home and nb.startswith("2"))
    moved = {nb: set(tasks) for nb, tasks in listed.items()}
    moved[home].discard("fm_9")
    moved[other].add("fm_9")
    found = mismatches(moved, registry)
    assert [line.split(":")[0] for line in found] == sorted([home, other])
