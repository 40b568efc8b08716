"""RecBole's atomic ``.inter`` files (header ``user_id:token item_id:token rating:float ...``).

Read through ``textio`` as every loader is (gzip, a BOM, an empty file, a malformed line named
with its number); ``loaders`` re-exports ``read_recbole_inter``.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import numpy as np

from .textio import DataFormatError, TextLines, numbered_lines, open_text


def read_recbole_inter(path: str | Path | IO[str], name: str | None = None) -> np.ndarray:
    """A RecBole atomic ``.inter`` file (header ``user_id:token item_id:token rating:float ...``,
    tab separated) → (n, 3) int64 of 0-based user, 0-based item (ids 1-based in the file), rating.

    path: a file, or an open text stream (e.g. read from the recbole wheel) named by ``name``."""
    fh: TextLines | IO[str]
    if isinstance(path, (str, Path)):
        label = str(path)
        fh = open_text(path, "a RecBole atomic .inter file")
    else:
        label, fh = name or "<stream>", path
    with fh:
        lines = numbered_lines(fh, label)
        header = next(lines, (1, ""))[1]
        cols = [c.split(":")[0] for c in header.split("\t")]
        if not {"user_id", "item_id", "rating"} <= set(cols):
            raise DataFormatError(
                f"{label}:1: expected a RecBole header with user_id:token, item_id:token "
                f"and rating:float, got {header[:60]!r}"
            )
        cu, ci, cr = cols.index("user_id"), cols.index("item_id"), cols.index("rating")
        rows = []
        for lineno, line in lines:
            if not line.strip():
                continue
            parts = line.split("\t")
            try:
                rows.append((int(parts[cu]) - 1, int(parts[ci]) - 1, int(float(parts[cr]))))
            except (ValueError, IndexError):
                raise DataFormatError(
                    f"{label}:{lineno}: expected integer user and item ids and a rating "
                    f"in {len(cols)} tab-separated columns, got {line[:60]!r}"
                ) from None
    if not rows:
        raise DataFormatError(f"{label}: holds a header and no interaction")
    out = np.array(rows, dtype=np.int64)
    if out[:, :2].min() < 0:
        raise DataFormatError(f"{label}: ids must be 1-based positive integers")
    return out
