"""The exercise registry: task id → spec.

Each module under ``recsys_ref.course.tasks`` (a track's package such as ``tasks.ngcf``, one
module per task, or a module at the top level) defines ``EXERCISES``, a list of ``Exercise``; they
are collected here in the order of the course.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from .spec import Exercise


def _raise(name: str) -> None:
    """A task package that fails to import is an error, never a track silently missing."""
    raise ImportError(f"the task package {name} could not be imported")


@cache
def all_exercises() -> dict[str, Exercise]:
    """Every registered exercise, ordered by notebook then task id."""
    from .. import tasks

    found: dict[str, Exercise] = {}
    walked = pkgutil.walk_packages(tasks.__path__, f"{tasks.__name__}.", onerror=_raise)
    for info in sorted(walked, key=lambda m: m.name):
        module = importlib.import_module(info.name)
        for ex in getattr(module, "EXERCISES", []):
            if ex.task_id in found:
                raise RuntimeError(f"task id {ex.task_id!r} is registered twice")
            found[ex.task_id] = ex

    def order(ex: Exercise) -> tuple[str, str, int]:
        prefix, _, num = ex.task_id.rpartition("_")
        return (ex.notebook, prefix, int(num) if num.isdigit() else 0)

    return {ex.task_id: ex for ex in sorted(found.values(), key=order)}


def get(task_id: str) -> Exercise:
    """The spec of ``task_id``; a clear error listing the known ids otherwise."""
    exercises = all_exercises()
    if task_id not in exercises:
        raise KeyError(f"no task {task_id!r}; the course has: {', '.join(exercises)}")
    return exercises[task_id]
