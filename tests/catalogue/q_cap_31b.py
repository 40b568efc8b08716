"""q_cap_31b: answers as learners type them."""

from tests.catalogue import Variant

WRONG = [
    Variant("B", lambda: "B", "B"),
    Variant("C", lambda: "C", "C"),
    Variant("lower-case B", lambda: "b", "B"),
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
