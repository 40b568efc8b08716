"""q_cap_30a: answers as learners type them."""

from recsys_ref.course.engine.questions import wrong_name
from tests.catalogue import Variant

WRONG = [
    Variant("A", lambda: "A", wrong_name("q_cap_30a", "A")),
    Variant("C", lambda: "C", wrong_name("q_cap_30a", "C")),
    Variant("lower-case A", lambda: "a", wrong_name("q_cap_30a", "A")),
    Variant("not a choice", lambda: "D", None),
    Variant("two letters", lambda: "AB", None),
    Variant("a number", lambda: 2, None),
    Variant("the explanation instead of a letter", lambda: "because of the circle", None),
]
CORRECT = [
    Variant("upper case", lambda: "B"),
    Variant("lower case with a dot", lambda: " b. "),
    Variant("with a parenthesis", lambda: "B)"),
]
