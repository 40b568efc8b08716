"""Criteo Display Advertising Challenge logs → labels and tokens per field.

Two layouts are read (detected from the first line; gzip read transparently, a BOM stripped):
- the Kaggle ``train.txt``: tab separated, no header, 40 columns
  ``label I1..I13 C1..C26``;
- the common comma-separated sample with the header ``label,I1,...,I13,C1,...,C26``.
label 1 = a click, 0 = an impression without a click (most rows: the classes are
imbalanced).  I1..I13 are counts, tokenised with ``discretize_int`` (⌊ln(v)²⌋ for
v > 2); C1..C26 are hashed categories kept as tokens; empty = missing → "NA".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .encoding import MISSING, discretize_int
from .textio import DataFormatError, expect_kind, numbered_lines, open_text

INT_FIELDS = [f"I{i}" for i in range(1, 14)]
CAT_FIELDS = [f"C{i}" for i in range(1, 27)]
CRITEO_FIELDS = INT_FIELDS + CAT_FIELDS


@dataclass
class CTRTable:
    """Labels (N,) int8 and one token per field for each row; ``skipped`` bad rows with reasons.

    ``time`` (N,) int64: when each row happened, for a time-ordered split — Avazu's ``hour``
    (YYMMDDHH as an integer); Criteo's rows are in time order in the file (Kaggle's train.txt
    covers 7 days in order), so there it is the line number.
    """

    y: np.ndarray
    rows: list[list[str]]
    fields: list[str]
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    time: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def positive_rate(self) -> float:
        return float(self.y.mean()) if len(self.y) else float("nan")


class BadRowError(DataFormatError):
    """A row that does not fit the format; the message names the file and the line."""


def bad_row(
    path: str | Path, lineno: int, exc: Exception, skip_bad: bool, problems: list[str]
) -> None:
    """Raise ``BadRowError`` naming file and line, or (``skip_bad``) count the row in ``problems``."""
    msg = f"{path}, line {lineno}: {exc}"
    if not skip_bad:
        raise BadRowError(msg) from None
    problems.append(msg)


def parse_label(value: str) -> int:
    v = value.strip()
    if v not in ("0", "1", "0.0", "1.0"):
        raise ValueError(f"label must be 0 or 1, got {value!r}")
    return int(float(v))


def read_criteo(
    path: str | Path, *, skip_bad: bool = False, max_rows: int | None = None
) -> CTRTable:
    """Read a Criteo file (Kaggle tab-separated or comma-separated with header; ``.gz`` too).

    A row with the wrong number of fields, a non-numeric integer feature or a
    label other than 0/1 raises ``BadRowError`` naming the file and line; with
    ``skip_bad=True`` it is counted in ``skipped`` (reason in ``problems``) instead.
    A file of another known kind (Avazu, MovieLens), an empty file, a header without rows and
    a file where every row was bad raise ``BadRowError``.
    """
    path = Path(path)
    ys: list[int] = []
    rows: list[list[str]] = []
    problems: list[str] = []
    times: list[int] = []
    what = "a Criteo file (label, I1..I13, C1..C26)"
    with open_text(path, what) as fh:
        lines = numbered_lines(fh, path)
        lineno, first = next(lines, (0, ""))
        if not first.strip():
            raise BadRowError(f"{path}: the file is empty; expected {what}")
        try:
            expect_kind(path, first, "criteo")
        except DataFormatError as exc:
            raise BadRowError(str(exc)) from None
        header = first.strip().lower().startswith("label,")
        sep = "," if header else "\t"
        if header:
            names = first.split(",")
            if names != ["label", *CRITEO_FIELDS]:
                raise BadRowError(
                    f"{path}, line 1: header must be label,I1..I13,C1..C26, got "
                    f"{','.join(names[:5])},…"
                )
        else:
            lines = _chain((lineno, first), lines)
        for lineno, line in lines:
            if max_rows is not None and len(rows) >= max_rows:
                break
            if not line:
                continue
            parts = line.split(sep)
            try:
                if len(parts) != 40:
                    raise ValueError(
                        f"expected 40 {'comma' if header else 'tab'}-separated fields "
                        f"(label, I1..I13, C1..C26), got {len(parts)}"
                    )
                label = parse_label(parts[0])
                toks = []
                for name, v in zip(INT_FIELDS, parts[1:14]):
                    try:
                        toks.append(discretize_int(v))
                    except ValueError as exc:
                        raise ValueError(f"{name}: {exc}") from None
                toks += [v if v != "" else MISSING for v in parts[14:40]]
            except ValueError as exc:
                bad_row(path, lineno, exc, skip_bad, problems)
                continue
            ys.append(label)
            rows.append(toks)
            times.append(lineno)
    no_rows(path, rows, problems, header)
    return CTRTable(
        np.asarray(ys, dtype=np.int8),
        rows,
        list(CRITEO_FIELDS),
        len(problems),
        problems,
        np.asarray(times, dtype=np.int64),
    )


def no_rows(path: Path, rows: list, problems: list[str], header: bool) -> None:
    """Raise when a file gave no row: header only, or every row bad (then the first reason)."""
    if rows:
        return
    if problems:
        raise BadRowError(f"{path}: all {len(problems)} rows are bad; the first: {problems[0]}")
    raise BadRowError(f"{path}: {'a header and no data row' if header else 'no data row'}")


def _chain(first, rest):
    yield first
    yield from rest
