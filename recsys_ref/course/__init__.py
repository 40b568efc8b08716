"""Course machinery: exercise specs, ``check()``, notebook build, progress, grading.

Notebooks use ``from recsys_ref.course import check``.
"""

from .check import check, ready, run_check
from .notebook import load_exercise
from .questions import answer, question
from .registry import all_exercises, get
from .spec import Case, ComplexityGuard, Exercise, Misconception

__all__ = ["answer", "question", "check", "ready", "run_check", "all_exercises", "get", "load_exercise",
           "Case", "ComplexityGuard", "Exercise", "Misconception"]
