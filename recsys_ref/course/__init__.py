"""Course machinery: exercise specs, ``check()``, notebook build, progress, grading.

Notebooks use ``from recsys_ref.course import check``.  Importing the package
pays the one-time costs of a check (the registry's task modules, torch's first
dispatch-mode entry, the first sparse and autograd calls), so that a learner's
first ``check()`` takes as long as the later ones.
"""

from .check import check, ready, run_check
from .notebook import load_exercise
from .questions import answer, question
from .registry import all_exercises, get
from .spec import Case, ComplexityGuard, Exercise, Misconception


def _warm_up() -> None:
    import torch

    from .runner import NumelRecorder

    all_exercises()
    x = torch.ones(2, 2, dtype=torch.float64, requires_grad=True)
    with NumelRecorder():
        s = torch.sparse_coo_tensor(
            torch.tensor([[0, 1], [1, 0]]),
            torch.ones(2, dtype=torch.float64),
            (2, 2),
            check_invariants=False,
        ).coalesce()
        y = (s @ x.detach()).sum() + torch.zeros(1).topk(1).values.sum()
    torch.autograd.grad((x * 2).sum(), [x])
    del y


_warm_up()

__all__ = [
    "answer",
    "question",
    "check",
    "ready",
    "run_check",
    "all_exercises",
    "get",
    "load_exercise",
    "Case",
    "ComplexityGuard",
    "Exercise",
    "Misconception",
]
