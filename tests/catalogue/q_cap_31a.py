"""q_cap_31a: answers as learners type them (L × M = 8 × 2)."""

from recsys_ref.course.engine.questions import wrong_name
from tests.catalogue import Variant

WRONG = [
    Variant("one per level", lambda: 8, wrong_name("q_cap_31a", 8)),
    Variant("one level's heights", lambda: 2, wrong_name("q_cap_31a", 2)),
    Variant("eight knots assumed", lambda: 64, None),
    Variant("as a string", lambda: "16", None),
    Variant("plus a bias per level", lambda: 24, None),
    Variant("not a number", lambda: float("nan"), None),
]
CORRECT = [
    Variant("int", lambda: 16),
    Variant("float", lambda: 16.0),
    Variant("product", lambda: 8 * 2),
]
