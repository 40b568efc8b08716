"""The module paths the notebooks imported before the subpackages, resolved to the new ones.

``solutions/00_start_here`` imports ``recsys_ref.course.course_map`` and
``solutions/21_fm_okn_trick`` imports ``recsys_ref.course.runner``; a learner's
saved copy keeps those lines.  An import of an old path gets the moved module
itself (one module object under two names), imported only when asked for.
Code in this repository uses the new paths (tests/test_layout.py).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from importlib.abc import Loader

MOVED = {
    "recsys_ref.course.course_map": "recsys_ref.course.nbtools.course_map",
    "recsys_ref.course.runner": "recsys_ref.course.engine.runner",
}


class _Alias:
    """A meta path finder and its loader (the protocol, without importlib.abc's import cost)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, cast("Loader", self))

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module: ModuleType) -> None:
        pass  # already executed under its new name


def install() -> None:
    """Put the alias finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.append(_Alias())
