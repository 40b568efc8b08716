"""The mistake catalogue: per task, wrong variants written as learners write
them and unusual correct ones (``tests/catalogue/<task_id>.py``).

Each module defines ``WRONG`` and ``CORRECT``, lists of ``Variant``.  A wrong
variant's ``expect`` is the misconception name its check must report, or
``None`` where only a generic (but failing) verdict is acceptable;
``tests/test_catalogue.py`` runs every module it finds.  An optional ``EDGE``
list holds the wrong variants an edge rule's case exists to catch (a size read
off the data, a clip bound, an update by hand: ``Exercise.edges``); their
``expect`` may name several verdicts, a tuple, where the drawn inputs decide
which one shows (a crash after an earlier case ran is ``hard_coded_size``, a
crash on the first case is generic).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Variant:
    """One learner-written function for a task: ``name`` says what it does."""

    name: str
    fn: Callable[..., Any]
    expect: str | None | tuple[str | None, ...] = None
