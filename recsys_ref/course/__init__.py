"""Course machinery: exercise specs, ``check()``, notebook build, progress, grading.

Notebooks use ``from recsys_ref.course import check``.  Importing the package
does no work: each public name is imported where it is first used, so that
``recsys-course --help`` starts without torch.  The one-time costs of a check
(the registry's task modules, torch's first dispatch-mode entry, the first
sparse and autograd calls) are paid by ``warm_up()``, which the first
``check()`` calls and a notebook's setup may call earlier.

Subpackages, by where their code runs (docs/design.md §3): ``engine`` (the
learner's kernel, the grader's parent, the workers), ``tasks`` (wherever the
engine runs), ``nbtools`` (the author's and learner's shell), ``grading`` (the
grader's parent only), ``sandbox`` (the grader's parent and its workers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _moved

_moved.install()

if TYPE_CHECKING:
    from .engine.check import check, ready, run_check
    from .engine.questions import answer, question
    from .engine.registry import all_exercises, get
    from .engine.spec import Case, ComplexityGuard, Exercise, Misconception
    from .engine.warm import warm_up
    from .nbtools.notebook import load_exercise

__all__ = [
    "answer",
    "question",
    "check",
    "ready",
    "run_check",
    "all_exercises",
    "get",
    "load_exercise",
    "warm_up",
    "Case",
    "ComplexityGuard",
    "Exercise",
    "Misconception",
]


def __getattr__(name: str) -> Any:
    """The public names, imported on first use (PEP 562)."""
    if name in ("check", "ready", "run_check"):
        from .engine import check as _check

        value = getattr(_check, name)
    elif name in ("answer", "question"):
        from .engine import questions as _questions

        value = getattr(_questions, name)
    elif name in ("all_exercises", "get"):
        from .engine import registry as _registry

        value = getattr(_registry, name)
    elif name in ("Case", "ComplexityGuard", "Exercise", "Misconception"):
        from .engine import spec as _spec

        value = getattr(_spec, name)
    elif name == "warm_up":
        from .engine.warm import warm_up as value
    elif name == "load_exercise":
        from .nbtools.notebook import load_exercise as value
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
