"""q_cap_31b: answers as learners type them."""

from recsys_ref.course.engine.questions import wrong_name
from tests.catalogue import Variant

WRONG = [
    Variant("B", lambda: "B", wrong_name("q_cap_31b", "B")),
    Variant("C", lambda: "C", wrong_name("q_cap_31b", "C")),
    Variant("lower-case B", lambda: "b", wrong_name("q_cap_31b", "B")),
    Variant("not a choice", lambda: "D", None),
    Variant("two letters", lambda: "BA", None),
    Variant("a number", lambda: 2, None),
    Variant("the explanation instead of a letter", lambda: "because of the circle", None),
]
CORRECT = [
    Variant("upper case", lambda: "A"),
    Variant("lower case with a dot", lambda: " a. "),
    Variant("with a parenthesis", lambda: "A)"),
]
