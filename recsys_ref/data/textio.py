"""Opening the text files the loaders read, so that no loader misleads about what it was given.

- gzip (``.gz``, recognised by its magic bytes, whatever the name) is read transparently —
  Kaggle ships Avazu as ``train.gz`` and Criteo as ``train.txt.gz``; zip, bz2 and xz archives get
  a one-line error naming the command that unpacks them;
- a UTF-8 byte-order mark (written by Excel) is stripped;
- undecodable bytes raise ``DataFormatError`` naming the file and the line;
- ``sniff`` names the known format of a file's first line, so that a loader given a file of
  another kind (``u.data`` to the NGCF-split loader, an Avazu file to the Criteo reader) says
  what it was given and which function reads it, instead of parsing nonsense.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
OTHER_ARCHIVES = {
    b"PK\x03\x04": ("a zip archive", "unzip it first (unzip FILE)"),
    b"BZh": ("a bzip2 archive", "decompress it first (bunzip2 FILE)"),
    b"\xfd7zXZ": ("an xz archive", "decompress it first (unxz FILE)"),
}


class DataFormatError(ValueError):
    """A file that does not fit its format; the message names the file and the line."""


class TextLines:
    """The lines of a (possibly gzip-compressed) file, decoded one line at a time, so that a
    decoding error names its line; the first line loses a UTF-8 byte-order mark.  Iterate it
    (lines keep their end of line, like a text file), use it as a context manager."""

    def __init__(self, raw: io.BufferedIOBase, path: Path, encoding: str):
        self.raw, self.path, self.encoding = raw, path, encoding
        self.lineno = 0

    def __enter__(self) -> TextLines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.raw.close()

    def __iter__(self) -> Iterator[str]:
        while True:
            try:
                data = self.raw.readline()
            except (EOFError, gzip.BadGzipFile, OSError, zlib.error) as exc:
                raise DataFormatError(
                    f"{self.path}:{self.lineno + 1}: the gzip stream is damaged or cut "
                    f"short ({exc}); download the file again"
                ) from None
            if not data:
                return
            self.lineno += 1
            if self.lineno == 1 and data.startswith(UTF8_BOM):
                data = data[len(UTF8_BOM) :]
            try:
                yield data.decode(self.encoding)
            except UnicodeDecodeError as exc:
                raise DataFormatError(
                    f"{self.path}:{self.lineno}: not {self.encoding} text ({exc.reason} "
                    f"at column {exc.start + 1}); is this the right file?"
                ) from None


def open_text(path: str | Path, what: str, encoding: str = "utf-8") -> TextLines:
    """Open ``path`` for reading text: gzip transparently, BOM stripped, errors with their line.

    what: the expected format, for the messages ("the NGCF/LightGCN split format").
    Raises FileNotFoundError / DataFormatError with the path in the message.
    """
    path = Path(path)
    if not path.is_file():
        hint = " (it is a folder)" if path.is_dir() else ""
        raise FileNotFoundError(f"{path}: no such file{hint}; expected {what}")
    with path.open("rb") as f:
        head = f.read(8)
    for magic, (kind, fix) in OTHER_ARCHIVES.items():
        if head.startswith(magic):
            raise DataFormatError(f"{path}: this is {kind}, not {what}; {fix}")
    raw: io.BufferedIOBase = (
        gzip.open(path, "rb") if head.startswith(GZIP_MAGIC) else path.open("rb")
    )
    return TextLines(raw, path, "UTF-8" if encoding.lower() in ("utf8", "utf-8") else encoding)


def numbered_lines(
    fh: Iterable[str], path: str | Path, start: int = 1
) -> Iterator[tuple[int, str]]:
    """(line number, line without its end-of-line) for each line of ``fh`` (a ``TextLines`` or
    any text stream)."""
    for lineno, line in enumerate(fh, start=start):
        yield lineno, line.rstrip("\r\n")


def first_line(path: str | Path, what: str, encoding: str = "utf-8") -> str:
    """The first non-blank line of ``path`` ('' for an empty file), through ``open_text``."""
    with open_text(path, what, encoding) as fh:
        for _, line in numbered_lines(fh, path):
            if line.strip():
                return line
    return ""


# ------------------------------------------------------------------ recognising the known formats

# (kind, a description, the function that reads it)
KINDS = {
    "ngcf": ("the NGCF/LightGCN split (space-separated 'user item item ...')", "load_ngcf_split"),
    "ml100k": (
        "MovieLens-100K u.data (tab-separated user item rating timestamp)",
        "load_movielens_100k",
    ),
    "ml1m": ("MovieLens-1M ratings.dat (UserID::MovieID::Rating::Timestamp)", "load_movielens_1m"),
    "recbole": ("a RecBole atomic file (header 'user_id:token ...')", "read_recbole_inter"),
    "criteo": ("a Criteo file (label, I1..I13, C1..C26)", "read_criteo"),
    "avazu": ("an Avazu file (header id,click,hour,...)", "read_avazu"),
    "movielens_csv": (
        "a MovieLens CSV with a header (user_id,movie_id,rating,...)",
        "pandas.read_csv",
    ),
    "html": ("an HTML page (an error page saved instead of the data?)", None),
}


def _ints(tokens: list[str]) -> bool:
    return bool(tokens) and all(t.isdigit() for t in tokens)


def sniff(line: str) -> str | None:
    """The kind (a key of ``KINDS``) of a file whose first non-blank line is ``line``, or None."""
    s = line.strip()
    low = s.lower()
    if not s:
        return None
    if low.startswith(("<!doctype html", "<html")):
        return "html"
    if "::" in s and _ints(s.split("::")[:4]) and len(s.split("::")) == 4:
        return "ml1m"
    first = s.split("\t")[0].split(",")[0].split(" ")[0]
    if ":" in first and first.split(":")[1] in ("token", "float", "token_seq", "float_seq"):
        return "recbole"
    if low.startswith("id,click"):
        return "avazu"
    if low.startswith("label,i1"):
        return "criteo"
    if low.startswith(("user_id,movie_id", "userid,movieid")):
        return "movielens_csv"
    tabs = line.rstrip("\r\n").split("\t")
    if len(tabs) == 40 and tabs[0].strip() in ("0", "1"):
        return "criteo"
    if (
        len(tabs) == 4
        and _ints([t.strip() for t in tabs])
        and tabs[2].strip() in "12345"
        and len(tabs[3].strip()) >= 9
    ):  # rating 1..5, a Unix timestamp
        return "ml100k"
    if "\t" not in s and "," not in s and _ints(s.split()):
        return "ngcf"
    return None


def expect_kind(path: str | Path, line: str, expected: str) -> None:
    """Raise ``DataFormatError`` when ``line`` (the file's first line) is recognisably another
    known format than ``expected``: the message names both and the function to use."""
    kind = sniff(line)
    if kind is None or kind == expected:
        return
    desc, reader = KINDS[kind]
    use = f"; read it with {reader}" if reader else ""
    raise DataFormatError(f"{path}:1: this looks like {desc}, not {KINDS[expected][0]}{use}")
