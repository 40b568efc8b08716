"""Avazu CTR logs (Kaggle ``train.csv``) → labels and tokens per field.

Header ``id,click,hour,C1,banner_pos,site_id,...,C14,...,C21`` (24 columns).
``click`` is the label (0 = an impression without a click); ``id`` is dropped;
``hour`` (YYMMDDHH) becomes two fields, hour of day and weekday (the date itself
never repeats between train and test); every other column is a categorical token.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from .criteo import BadRowError, CTRTable, bad_row, no_rows, parse_label
from .encoding import MISSING
from .textio import DataFormatError, expect_kind, numbered_lines, open_text

AVAZU_COLUMNS = [
    "id",
    "click",
    "hour",
    "C1",
    "banner_pos",
    "site_id",
    "site_domain",
    "site_category",
    "app_id",
    "app_domain",
    "app_category",
    "device_id",
    "device_ip",
    "device_model",
    "device_type",
    "device_conn_type",
    "C14",
    "C15",
    "C16",
    "C17",
    "C18",
    "C19",
    "C20",
    "C21",
]
AVAZU_FIELDS = ["hour_of_day", "weekday", *AVAZU_COLUMNS[3:]]
_WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def split_hour(value: str) -> tuple[str, str]:
    """ "14102100" (YYMMDDHH) → ("00", "Tue"): hour of day and weekday."""
    v = value.strip()
    if len(v) != 8 or not v.isdigit():
        raise ValueError(f"hour must be YYMMDDHH (8 digits), got {value!r}")
    try:
        day = dt.date(2000 + int(v[:2]), int(v[2:4]), int(v[4:6]))
    except ValueError:
        raise ValueError(f"hour {value!r} is not a valid date YYMMDDHH") from None
    if int(v[6:]) > 23:
        raise ValueError(f"hour {value!r} has hour {v[6:]} > 23")
    return v[6:], _WEEKDAYS[day.weekday()]


def read_avazu(
    path: str | Path, *, skip_bad: bool = False, max_rows: int | None = None
) -> CTRTable:
    """Read an Avazu CSV with its header (Kaggle's ``train.gz`` too: gzip is read transparently).

    Bad rows (wrong column count, label not 0/1, malformed ``hour``) raise ``BadRowError`` with
    file and line, or are counted with ``skip_bad``.  An empty file, a header without rows, a
    file of another known kind (Criteo, MovieLens) raise ``BadRowError``."""
    path = Path(path)
    ys: list[int] = []
    rows: list[list[str]] = []
    problems: list[str] = []
    times: list[int] = []
    what = "an Avazu CSV (header id,click,hour,…)"
    with open_text(path, what) as fh:
        lines = numbered_lines(fh, path)
        first = next(lines, (1, ""))[1]
        if not first.strip():
            raise BadRowError(f"{path}: the file is empty; expected {what}")
        try:
            expect_kind(path, first, "avazu")
        except DataFormatError as exc:
            raise BadRowError(str(exc)) from None
        header = first.split(",")
        if header[:2] != ["id", "click"] or len(header) != len(AVAZU_COLUMNS):
            raise BadRowError(
                f"{path}, line 1: expected the Avazu header id,click,hour,… with "
                f"{len(AVAZU_COLUMNS)} columns, got {len(header)} starting {header[:3]}"
            )
        for lineno, line in lines:
            if max_rows is not None and len(rows) >= max_rows:
                break
            if not line:
                continue
            parts = line.split(",")
            try:
                if len(parts) != len(AVAZU_COLUMNS):
                    raise ValueError(
                        f"expected {len(AVAZU_COLUMNS)} comma-separated fields, got {len(parts)}"
                    )
                label = parse_label(parts[1])
                hour, weekday = split_hour(parts[2])
            except ValueError as exc:
                bad_row(path, lineno, exc, skip_bad, problems)
                continue
            ys.append(label)
            rows.append([hour, weekday, *[v if v != "" else MISSING for v in parts[3:]]])
            times.append(int(parts[2]))
    no_rows(path, rows, problems, True)
    return CTRTable(
        np.asarray(ys, dtype=np.int8),
        rows,
        list(AVAZU_FIELDS),
        len(problems),
        problems,
        np.asarray(times, dtype=np.int64),
    )
