"""Python syntax trees, built one thread at a time.

CPython before 3.11.8 and 3.12.1 keeps the depth counter of the conversion between
its C syntax tree and ``ast`` objects in one place per interpreter, not per thread
(python/cpython gh-106905).  When the garbage collector runs a Python finalizer in
the middle of ``ast.parse`` and the interpreter switches to another thread that
converts a tree too, both counters go wrong and one of them raises
``SystemError: AST constructor recursion depth mismatch``.  The grader judges
submissions in threads (``grade --jobs N``) and reads learners' cells there, so
every call in the course that builds ``ast`` objects from source (``ast.parse``,
``ast.literal_eval``, ``compile(..., PyCF_ONLY_AST)``) or source from them goes
through ``LOCK``: here, or under ``with LOCK:`` for a library call that parses
inside (numpy's ``.npy`` header reader uses ``ast.literal_eval``).
``tests/test_syntax_lock.py`` searches the package for any other such call.
"""

from __future__ import annotations

import ast
import threading
from typing import Any

# Re-entrant: a caller holding it (the codec's header reads) may call ``parse``.
LOCK = threading.RLock()


def parse(source: str, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse(source)`` under ``LOCK``; raises ``SyntaxError``/``ValueError`` as it does."""
    with LOCK:
        return ast.parse(source, filename)


def reparse(node: Any) -> Any:
    """A fresh copy of ``node`` (a statement), rebuilt from its source under ``LOCK``."""
    with LOCK:
        return ast.parse(ast.unparse(node)).body[0]
