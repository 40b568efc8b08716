"""``recsys-course data fetch NAME``: download a public data set the loaders read, into a cache.

Nothing here runs at import, in the tests' default path or in a notebook's default path: the
course's notebooks use their embedded generators, and a learner runs this command on purpose.

- cache folder: ``--cache DIR``, else ``$RECSYS_COURSE_DATA``, else ``$XDG_CACHE_HOME/recsys-course``
  (``~/.cache/recsys-course``); each set goes to ``<cache>/<name>/``;
- a progress bar (tqdm) while downloading;
- a SHA-256 recorded here for each file and verified after the download; a mismatch keeps the
  file aside as ``*.bad`` and raises.  A checksum is recorded only for a file that was actually
  downloaded and verified when the entry was written; where the source could not be reached
  then, ``sha256`` is None, the command refuses unless ``--unverified`` is given, and it prints
  the digest it computed so that it can be recorded;
- resume: the download goes to ``*.part``; a later run asks the server for the rest
  (HTTP Range) and starts over when the server does not support it;
- a clear message when offline or when the server answers with an error (404 …).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import shutil
import sys
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class FetchError(RuntimeError):
    """A download that failed; the message says why and what to do."""


@dataclass(frozen=True)
class Source:
    """One file to download; ``extract`` lists the members to unpack from a zip (``{}``: keep as is).

    extract: archive member → file name in the data set's folder.
    sha256: of the downloaded file, or None when it could not be verified (see the module doc).
    """

    url: str
    filename: str
    sha256: str | None
    size: int | None = None
    extract: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    sources: tuple[Source, ...]
    loader: str  # how to read it once fetched
    note: str = ""
    manual: str = ""  # no public URL: how to get the files by hand


_ML100K = {f"ml-100k/{f}": f for f in ("u.data", "u.item", "u.user", "u.info", "u.genre", "README")}
_ML1M = {f"ml-1m/{f}": f for f in ("ratings.dat", "movies.dat", "users.dat", "README")}
_RECBOLE = "recbole/dataset_example/ml-100k/"
_LIGHTGCN = "https://raw.githubusercontent.com/gusye1234/LightGCN-PyTorch/master/data/gowalla/"
UNREACHABLE = (
    "not recorded: this source could not be reached when the entry was written, so no "
    "checksum was verified; run with --unverified and record the printed digest"
)

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset(
            "ml-100k-recbole",
            "MovieLens-100K as RecBole's atomic files, from the recbole 1.2.1 wheel on PyPI",
            (
                Source(
                    "https://files.pythonhosted.org/packages/ab/fe/"
                    "7d606cb7cd2b166a36b100cb9435d21014ceee16c192d972deb0976967a8/recbole-1.2.1-py3-none-any.whl",
                    "recbole-1.2.1-py3-none-any.whl",
                    "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407",
                    2_130_151,
                    {_RECBOLE + f: f for f in ("ml-100k.inter", "ml-100k.item", "ml-100k.user")},
                ),
            ),
            "loaders.read_recbole_inter('<dir>/ml-100k.inter')",
            note="checksum verified against PyPI's index (pip download) when recorded",
        ),
        Dataset(
            "ml-100k",
            "MovieLens-100K from GroupLens (u.data, u.item, u.user)",
            (
                Source(
                    "https://files.grouplens.org/datasets/movielens/ml-100k.zip",
                    "ml-100k.zip",
                    None,
                    None,
                    _ML100K,
                ),
            ),
            "loaders.load_movielens_100k('<dir>')",
            note=UNREACHABLE,
        ),
        Dataset(
            "ml-1m",
            "MovieLens-1M from GroupLens (ratings.dat, movies.dat, users.dat)",
            (
                Source(
                    "https://files.grouplens.org/datasets/movielens/ml-1m.zip",
                    "ml-1m.zip",
                    None,
                    None,
                    _ML1M,
                ),
            ),
            "loaders.load_movielens_1m('<dir>')",
            note=UNREACHABLE,
        ),
        Dataset(
            "gowalla",
            "the NGCF/LightGCN split of Gowalla (train.txt, test.txt)",
            (
                Source(_LIGHTGCN + "train.txt", "train.txt", None),
                Source(_LIGHTGCN + "test.txt", "test.txt", None),
            ),
            "loaders.load_ngcf_split('<dir>')",
            note=UNREACHABLE,
        ),
        Dataset(
            "criteo",
            "Criteo Display Advertising Challenge (Kaggle, 2014)",
            (),
            "criteo.read_criteo('<dir>/train.txt')",
            manual="no public direct URL is recorded: download dac.tar.gz from the Criteo AI Lab "
            "dataset page or Kaggle (criteo-display-ad-challenge), unpack train.txt into <dir>",
        ),
        Dataset(
            "avazu",
            "Avazu Click-Through Rate Prediction (Kaggle, 2014)",
            (),
            "avazu.read_avazu('<dir>/train.gz')",
            manual="Kaggle requires a login: `kaggle competitions download -c avazu-ctr-prediction`, "
            "then put train.gz into <dir> (read as is; no need to unpack)",
        ),
    ]
}


def cache_dir(cache: str | Path | None = None) -> Path:
    """The cache folder: ``cache``, else $RECSYS_COURSE_DATA, else $XDG_CACHE_HOME/recsys-course."""
    if cache is not None:
        return Path(cache).expanduser()
    if os.environ.get("RECSYS_COURSE_DATA"):
        return Path(os.environ["RECSYS_COURSE_DATA"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "recsys-course"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _bar(total: int | None, initial: int, desc: str, progress: bool):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=desc,
        disable=not progress,
        leave=False,
    )


def download(
    src: Source,
    dest: Path,
    *,
    progress: bool = True,
    timeout: float = 30.0,
    unverified: bool = False,
    log: Callable[[str], None] = print,
) -> Path:
    """Download ``src`` to ``dest`` (resuming ``dest.part``), verify its SHA-256; returns ``dest``.

    A complete ``dest`` whose checksum matches is not downloaded again.  Steps: open (with a
    Range header when a part exists) → copy the body into the part → verify → rename.
    """
    if src.sha256 is None and not unverified:
        raise FetchError(f"{src.filename}: no checksum is recorded for {src.url} ({UNREACHABLE})")
    if dest.is_file() and (src.sha256 is None or sha256_of(dest) == src.sha256):
        log(f"already there: {dest}")
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    response = _open(src, dest, have, timeout)
    if response is not None:
        with response:
            _receive(response, src, part, have, progress, log)
    return _verify(src, dest, part, log)


def _open(src: Source, dest: Path, have: int, timeout: float) -> Any:
    """The server's response, asking for the bytes after ``have``; None when the part is complete."""
    request = urllib.request.Request(src.url, headers={"User-Agent": "recsys-course"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the part is already complete (or longer than the file)
            return None
        raise FetchError(
            f"{src.url}: the server answered HTTP {exc.code} {exc.reason}; the file "
            "may have moved: download it by hand and put it at "
            f"{dest}"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(
            f"cannot reach {src.url} ({reason}): are you offline? Connect and run the "
            f"command again (a partial download is resumed), or download the file by hand "
            f"and put it at {dest}"
        ) from None


def _receive(
    response: Any, src: Source, part: Path, have: int, progress: bool, log: Callable[[str], None]
) -> None:
    """Append the response's body to ``part`` (or start it again when the server does not resume)."""
    resumed = have and response.status == 206
    if have and not resumed:
        log(f"the server does not resume downloads: starting {src.filename} again")
        have = 0
    length = response.headers.get("Content-Length")
    total = have + int(length) if length is not None else src.size
    done = have
    with (
        part.open("ab" if resumed else "wb") as out,
        _bar(total, have, src.filename, progress) as bar,
    ):
        try:
            for chunk in iter(lambda: response.read(1 << 16), b""):
                out.write(chunk)
                done += len(chunk)
                bar.update(len(chunk))
        except (OSError, http.client.HTTPException) as exc:  # IncompleteRead, reset, timeout
            raise FetchError(
                f"{src.url}: the download stopped after {done:,} bytes "
                f"({type(exc).__name__}); run the command again to resume "
                f"from {part}"
            ) from None
    if total is not None and done < total:
        raise FetchError(
            f"{src.url}: the download stopped after {done:,} of {total:,} bytes; "
            f"run the command again to resume from {part}"
        )


def _verify(src: Source, dest: Path, part: Path, log: Callable[[str], None]) -> Path:
    """Check the part's SHA-256 and rename it to ``dest`` (a mismatch is kept aside as .bad)."""
    digest = sha256_of(part)
    if src.sha256 is not None and digest != src.sha256:
        bad = dest.with_name(dest.name + ".bad")
        part.replace(bad)
        raise FetchError(
            f"{src.filename}: checksum mismatch (sha256 {digest}, expected {src.sha256}); "
            f"the file is kept aside as {bad} and not used. Run the command again; if it "
            "persists, the source has changed"
        )
    part.replace(dest)
    if src.sha256 is None:
        log(f"UNVERIFIED {dest.name}: sha256 {digest} (no checksum recorded for this source)")
    else:
        log(f"verified {dest.name}: sha256 {digest}")
    return dest


def _extract(archive: Path, members: dict[str, str], folder: Path) -> list[Path]:
    out = []
    try:
        with zipfile.ZipFile(archive) as z:
            for member, name in members.items():
                target = folder / name
                with z.open(member) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
                out.append(target)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise FetchError(
            f"{archive}: not the archive expected ({exc}); delete it and fetch again"
        ) from None
    return out


def fetch(
    name: str,
    cache: str | Path | None = None,
    *,
    progress: bool = True,
    unverified: bool = False,
    datasets: dict[str, Dataset] | None = None,
    log: Callable[[str], None] = print,
    timeout: float = 30.0,
) -> Path:
    """Download the data set ``name`` into ``<cache>/<name>/`` and return that folder."""
    datasets = DATASETS if datasets is None else datasets
    if name not in datasets:
        raise FetchError(f"unknown data set {name!r}; known: {', '.join(sorted(datasets))}")
    ds = datasets[name]
    folder = cache_dir(cache) / name
    if ds.manual:
        raise FetchError(f"{name}: {ds.manual.replace('<dir>', str(folder))}")
    for src in ds.sources:
        path = download(
            src,
            folder / src.filename,
            progress=progress,
            unverified=unverified,
            log=log,
            timeout=timeout,
        )
        if src.extract:
            for p in _extract(path, src.extract, folder):
                log(f"unpacked {p}")
    log(f"{ds.description}: in {folder}; read it with {ds.loader.replace('<dir>', str(folder))}")
    return folder


# ------------------------------------------------------------------ the command line


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="data_command", metavar="ACTION")
    f = sub.add_parser("fetch", help="download a public data set into the cache")
    f.add_argument("name", help=f"one of: {', '.join(DATASETS)}")
    f.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="cache folder (default: $RECSYS_COURSE_DATA or ~/.cache/recsys-course)",
    )
    f.add_argument(
        "--unverified",
        action="store_true",
        help="also download a source with no recorded checksum (prints its sha256)",
    )
    f.add_argument("--no-progress", action="store_true")
    sub.add_parser("list", help="the data sets `fetch` knows, and where each goes")


def run(args: argparse.Namespace) -> int:
    if args.data_command == "list":
        for ds in DATASETS.values():
            how = (
                "manual download"
                if ds.manual
                else (
                    "checksum verified"
                    if all(s.sha256 for s in ds.sources)
                    else "no checksum recorded (--unverified)"
                )
            )
            print(f"{ds.name:<16} {ds.description} [{how}]")
        return 0
    if args.data_command != "fetch":
        print("usage: recsys-course data fetch NAME | recsys-course data list", file=sys.stderr)
        return 2
    try:
        fetch(args.name, args.cache, progress=not args.no_progress, unverified=args.unverified)
    except FetchError as exc:
        print(f"recsys-course data fetch: {exc}", file=sys.stderr)
        return 1
    return 0
