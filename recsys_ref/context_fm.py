"""The former single module of the capstone's models, kept as an alias of ``recsys_ref.context``.

Notebooks and code written before the split import from here; every name is
``recsys_ref.context``'s (fields, models, explain, rank, train, draw).
"""

from __future__ import annotations

from .context import *  # noqa: F403
from .context import __all__ as __all__
