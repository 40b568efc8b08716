"""The KMA ASOS daily CSV (종관기상관측 일자료) as users download it from the data portal.

data.kma.go.kr → 기후통계분석/자료 → 종관기상관측(ASOS) → 일자료 → CSV.  One row per station
and day; the header is Korean, e.g.::

    지점,지점명,일시,평균기온(°C),최저기온(°C),최고기온(°C),일강수량(mm),평균 풍속(m/s),평균 상대습도(%)
    108,서울,2024-01-01,1.2,-2.5,5.0,,2.1,63.4

A downloaded file has many more columns (times of the extremes, sunshine, snow …):
they are ignored.  Files come encoded in CP949 / EUC-KR (the portal's default) or in
UTF-8 with a byte-order mark (after a round trip through a spreadsheet); both are
read.  A blank cell is a missing value (NaN); on a day without rain 일강수량 is blank
too, so ``rain_mm`` keeps NaN and ``rain_or_zero`` treats it as 0 mm.

A file that cannot be read raises ``KMAFormatError`` naming the file and the line.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

STATION, NAME, DATE = "지점", "지점명", "일시"
COLUMNS = {  # header → attribute of ASOSDaily
    "평균기온(°C)": "t_mean",
    "최저기온(°C)": "t_min",
    "최고기온(°C)": "t_max",
    "일강수량(mm)": "rain_mm",
    "평균 풍속(m/s)": "wind_ms",
    "평균 상대습도(%)": "humidity",
}
REQUIRED = (STATION, DATE, "평균기온(°C)")
ENCODINGS = ("utf-8-sig", "cp949")  # cp949 ⊃ euc-kr


class KMAFormatError(ValueError):
    """A file that is not an ASOS daily CSV: the message names the file and the line."""


@dataclass
class ASOSDaily:
    """Daily observations, one entry per row of the file(s); NaN where the cell was blank.

    station (N,) int, station_name list[str], day (N,) datetime64[D], and float64 (N,)
    t_mean, t_min, t_max (°C), rain_mm (mm), wind_ms (m/s), humidity (%).
    """

    station: np.ndarray
    station_name: list[str]
    day: np.ndarray
    t_mean: np.ndarray
    t_min: np.ndarray
    t_max: np.ndarray
    rain_mm: np.ndarray
    wind_ms: np.ndarray
    humidity: np.ndarray
    source: str = ""

    def __len__(self) -> int:
        return len(self.station)

    @property
    def month(self) -> np.ndarray:
        """(N,) month 1..12."""
        return self.day.astype("datetime64[M]").astype(int) % 12 + 1

    @property
    def rain_or_zero(self) -> np.ndarray:
        """(N,) rain in mm with blanks as 0 (the portal leaves dry days blank)."""
        return np.nan_to_num(self.rain_mm, nan=0.0)


def _decode(path: Path, raw: bytes) -> str:
    for enc in ENCODINGS:
        try:
            return raw.decode(enc)
        except UnicodeDecodeError as err:
            last = err
    line = raw[: last.start].count(b"\n") + 1
    raise KMAFormatError(
        f"{path}, line {line}: neither UTF-8 nor CP949/EUC-KR text "
        f"(byte {last.start}); save the file as CSV in one of these encodings"
    )


def _number(path: Path, line: int, header: str, cell: str) -> float:
    cell = cell.strip()
    if cell == "":
        return float("nan")
    try:
        return float(cell)
    except ValueError:
        raise KMAFormatError(
            f"{path}, line {line}: column {header!r} holds {cell!r}, "
            f"expected a number or a blank cell"
        ) from None


def _day(path: Path, line: int, cell: str) -> np.datetime64:
    s = cell.strip()
    try:
        if len(s) == 8 and s.isdigit():
            return np.datetime64(date(int(s[:4]), int(s[4:6]), int(s[6:])), "D")
        return np.datetime64(date.fromisoformat(s[:10]), "D")
    except ValueError:
        raise KMAFormatError(
            f"{path}, line {line}: column {DATE!r} holds {cell!r}, expected a date YYYY-MM-DD"
        ) from None


def read_asos_daily(path: str | Path) -> ASOSDaily:
    """Read one ASOS daily CSV (CP949/EUC-KR or UTF-8 with or without BOM)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no such file (download it from data.kma.go.kr, ASOS 일자료)"
        )
    text = _decode(path, path.read_bytes())
    rows = csv.reader(io.StringIO(text, newline=""))
    header = next(rows, None)
    if header is None or not any(h.strip() for h in header):
        raise KMAFormatError(
            f"{path}, line 1: the file is empty; expected a header starting with 지점,지점명,일시"
        )
    header = [h.strip() for h in header]
    missing = [h for h in REQUIRED if h not in header]
    if missing:
        raise KMAFormatError(
            f"{path}, line 1: the header lacks {', '.join(missing)}; an ASOS daily CSV "
            f"starts with 지점,지점명,일시,평균기온(°C),… (got {','.join(header[:4])}…)"
        )
    col = {h: i for i, h in enumerate(header)}
    out: dict[str, list] = {a: [] for a in ("station", "station_name", "day", *COLUMNS.values())}
    for line, row in enumerate(rows, start=2):
        if not row or all(c.strip() == "" for c in row):
            continue
        if len(row) != len(header):
            raise KMAFormatError(
                f"{path}, line {line}: {len(row)} cells, the header has {len(header)}"
            )
        st = row[col[STATION]].strip()
        if not st.isdigit():
            raise KMAFormatError(
                f"{path}, line {line}: column '지점' holds {st!r}, expected a station number"
            )
        out["station"].append(int(st))
        out["station_name"].append(row[col[NAME]].strip() if NAME in col else "")
        out["day"].append(_day(path, line, row[col[DATE]]))
        for h, attr in COLUMNS.items():
            out[attr].append(_number(path, line, h, row[col[h]]) if h in col else float("nan"))
    return ASOSDaily(
        station=np.asarray(out["station"], dtype=np.int64),
        station_name=out["station_name"],
        day=np.asarray(out["day"], dtype="datetime64[D]"),
        **{a: np.asarray(out[a], dtype=np.float64) for a in COLUMNS.values()},
        source=str(path),
    )


def write_asos_daily(
    path: str | Path, rows: list[dict[str, object]], encoding: str = "cp949"
) -> Path:
    """Write rows (keys: the Korean headers) in the portal's format: for tests and examples.

    ``encoding`` "cp949", "euc-kr" or "utf-8-sig"; None values are written as blank cells.
    """
    path = Path(path)
    header = [STATION, NAME, DATE, *COLUMNS]
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if r.get(h) is None else r.get(h) for h in header])
    path.write_bytes(buf.getvalue().encode(encoding))
    return path
