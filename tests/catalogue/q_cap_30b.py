"""q_cap_30b: answers as learners type them."""

from recsys_ref.course.engine.questions import wrong_name
from tests.catalogue import Variant

WRONG = [
    Variant("A", lambda: "A", wrong_name("q_cap_30b", "A")),
    Variant("B", lambda: "B", wrong_name("q_cap_30b", "B")),
    Variant("lower-case A", lambda: "a", wrong_name("q_cap_30b", "A")),
    Variant("not a choice", lambda: "D", None),
    Variant("two letters", lambda: "AC", None),
    Variant("a number", lambda: 2, None),
    Variant("the explanation instead of a letter", lambda: "because of the circle", None),
]
CORRECT = [
    Variant("upper case", lambda: "C"),
    Variant("lower case with a dot", lambda: " c. "),
    Variant("with a parenthesis", lambda: "C)"),
]
