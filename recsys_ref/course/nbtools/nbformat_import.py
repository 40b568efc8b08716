"""``nbformat`` imported without the grammars jsonschema builds for a format no notebook uses.

``import nbformat`` imports ``jsonschema``, whose format checkers import ``rfc3987_syntax`` when
it is installed (Jupyter's ``jsonschema[format-nongpl]`` installs it) and build its ~40 Lark
grammars at import time: measured 29–31 s of a 30 s ``import nbformat`` on the loaded 2-core
machine (load ~12), 2.8–3.5 s without it.  Those grammars check the "iri" string formats, which
the notebook schema does not use (and nbformat validates without a format checker).  Blocked
only while nbformat is first imported, and only when jsonschema is not imported yet; a later
``import rfc3987_syntax`` works as usual.
"""

from __future__ import annotations

import sys
from types import ModuleType


def import_nbformat() -> ModuleType:
    """``nbformat``, imported (the first time) without ``rfc3987_syntax``."""
    if "nbformat" in sys.modules:
        return sys.modules["nbformat"]
    block = "rfc3987_syntax" not in sys.modules and "jsonschema" not in sys.modules
    if block:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # import → ImportError
    try:
        import nbformat
    finally:
        if block and sys.modules.get("rfc3987_syntax", 0) is None:
            del sys.modules["rfc3987_syntax"]
    return nbformat
