"""Step 1 of a grading run, *discover*: the submissions named on the command line and
the task list (parent side; docs/design.md §6).

A submission is a notebook, a folder of notebooks (searched recursively; links,
checkpoints and oversized notebooks skipped with a note) or a ``.zip`` of either
(extracted with path-traversal, link, size and member-count guards).  Result
folder names are made unique, case-blind.  The task list is the course's
registry or ``--tasks``, never a learner's notebook metadata.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..engine.registry import all_exercises

ZIP_MAX_BYTES = 200 * 2**20  # uncompressed notebooks extracted from one zip
ZIP_MAX_MEMBERS = 2000
RESERVED = {"class.csv", "class.json"}  # files of the output folder, never a submission's folder
SKIP_DIRS = {".ipynb_checkpoints", "__MACOSX", ".git", ".backups"}
NOTEBOOK_MAX_BYTES = 50 * 2**20  # one notebook of a folder or a zip (read whole by the parent)


class GradeError(Exception):
    """A problem with the command line or the output folder (exit code 2)."""


@dataclass
class Submission:
    """One learner's work: its name (results folder), where it came from, its notebooks."""

    name: str
    source: Path
    notebooks: list[Path] = field(default_factory=list)
    root: Path | None = None  # folder the notebooks are relative to
    problem: str = ""  # why nothing could be read (a bad zip, an empty folder)
    cleanup: list[Path] = field(default_factory=list)  # temporary extraction folders
    notes: list[str] = field(default_factory=list)  # what was skipped, and why
    incomplete: bool = False  # a notebook could not be graded (grader problem): regrade on resume

    def relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root)) if self.root else path.name
        except ValueError:
            return path.name

    def content_hash(self) -> str:
        h = hashlib.sha256()
        if self.source.is_file():
            h.update(b"file\0" + self.source.read_bytes())
        for p in sorted(self.notebooks, key=self.relative):
            h.update(self.relative(p).encode() + b"\0")
            try:
                h.update(p.read_bytes())
            except OSError:
                h.update(b"<unreadable>")
        return h.hexdigest()


def _notebooks_in(folder: Path, notes: list[str] | None = None) -> list[Path]:
    """The notebooks below ``folder``; symbolic links (files or folders) are skipped."""
    found = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        for d in list(dirnames):
            if (here / d).is_symlink() and notes is not None:
                notes.append(f"{(here / d).relative_to(folder)}/ is a symbolic link: skipped")
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in SKIP_DIRS and not d.startswith(".") and not (here / d).is_symlink()
        )
        for f in sorted(filenames):
            if not f.endswith(".ipynb") or f.startswith("."):
                continue
            try:
                st = os.lstat(here / f)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                if notes is not None:
                    notes.append(
                        f"{(here / f).relative_to(folder)} is a symbolic link or not a "
                        "regular file: skipped (submit the notebook itself)"
                    )
                continue
            if st.st_size > NOTEBOOK_MAX_BYTES or total + st.st_size > ZIP_MAX_BYTES:
                if notes is not None:
                    notes.append(
                        f"{(here / f).relative_to(folder)} is larger than "
                        f"{NOTEBOOK_MAX_BYTES // 2**20} MB (or the notebooks together exceed "
                        f"{ZIP_MAX_BYTES // 2**20} MB): skipped (clear the outputs and resubmit)"
                    )
                continue
            total += st.st_size
            found.append(here / f)
    return found


def _safe_name(name: str) -> str:
    name = re.sub(r"[^\w.@+-]+", "_", name, flags=re.UNICODE).strip("._") or "submission"
    return name[:100]


def _extract_zip(path: Path) -> tuple[Path, str]:
    """Extract the notebooks of ``path`` into a new temp folder; (folder, problem)."""
    target = Path(tempfile.mkdtemp(prefix="recsys-grade-zip-"))
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > ZIP_MAX_MEMBERS:
                return target, f"the zip holds more than {ZIP_MAX_MEMBERS} files"
            total = 0
            for info in infos:
                name = info.filename.replace("\\", "/")
                parts = PurePosixPath(name).parts
                if info.is_dir() or not name.endswith(".ipynb"):
                    continue
                if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
                    continue  # path traversal: ignored, never extracted
                if any(p in SKIP_DIRS or p.startswith(".") for p in parts):
                    continue
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    continue  # a symbolic link
                if info.file_size > NOTEBOOK_MAX_BYTES:
                    continue  # skipped like an oversized notebook of a folder
                total += info.file_size
                if total > ZIP_MAX_BYTES:
                    return target, f"the notebooks in the zip exceed {ZIP_MAX_BYTES // 2**20} MB"
                dest = target.joinpath(*parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(dest, "wb") as out:
                    copied = 0
                    while chunk := src.read(1 << 20):
                        copied += len(chunk)
                        if copied > info.file_size or copied > ZIP_MAX_BYTES:
                            return target, "a file in the zip is larger than it declares"
                        out.write(chunk)
                try:  # the zip's own date: "the newest copy" must mean the learner's newest
                    stamp = time.mktime((*info.date_time, 0, 0, -1))
                    os.utime(dest, (stamp, stamp))
                except (OverflowError, ValueError, OSError):
                    pass
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
        return target, f"the zip cannot be read ({type(exc).__name__}: {exc})"
    return target, ""


def _submission(path: Path) -> Submission:
    if path.suffix.lower() == ".zip" and path.is_file():
        folder, problem = _extract_zip(path)
        sub = Submission(path.stem, path, _notebooks_in(folder), folder, problem, [folder])
    elif path.is_dir():
        notes: list[str] = []
        sub = Submission(path.name, path, _notebooks_in(path, notes), path, notes=notes)
        for z in sorted(path.glob("*.zip")):  # e.g. Gradescope's folder holding an uploaded zip
            try:
                regular = stat.S_ISREG(os.lstat(z).st_mode)
            except OSError:
                regular = False
            if not regular:  # a link could name a classmate's zip
                sub.notes.append(f"{z.name} is a symbolic link or not a regular file: skipped")
                continue
            folder, problem = _extract_zip(z)
            sub.cleanup.append(folder)
            sub.notebooks += _notebooks_in(folder)
            if problem and not sub.notebooks:
                sub.problem = f"{z.name}: {problem}"
    else:
        sub = Submission(path.stem, path, [path], path.parent)
    if not sub.notebooks and not sub.problem:
        sub.problem = "no notebook (.ipynb) was found in it"
    return sub


def find_submissions(paths: Iterable[Path]) -> list[Submission]:
    """One submission per path named on the command line, in that order."""
    subs: list[Submission] = []
    for p in paths:
        if not p.exists():
            raise GradeError(f"{p} does not exist")
        if p.is_dir() or p.suffix.lower() in (".ipynb", ".zip"):
            subs.append(_submission(p))
        else:
            raise GradeError(f"{p} is not a notebook, a folder or a .zip")
    taken: set[str] = set()
    for s in subs:  # distinct result folders, in the order given
        base = _safe_name(s.name)
        name, n = base, 1
        while name.casefold() in taken or name.casefold() in RESERVED:  # also on case-blind disks
            n += 1
            name = f"{base}-{n}"
        taken.add(name.casefold())
        s.name = name
    return subs


def parse_tasks(spec: str | None) -> list[str]:
    """The graded tasks: ``--tasks`` (task ids or notebook names, comma-separated), else every
    task of the course's registry.  Never what a learner's notebook says."""
    exercises = all_exercises()
    if not spec:
        return list(exercises)
    tasks: list[str] = []
    for item in (t.strip() for t in spec.split(",")):
        if not item:
            continue
        named = [t for t, ex in exercises.items() if ex.notebook == item.removesuffix(".ipynb")]
        if item in exercises:
            named = [item]
        if not named:
            notebooks = sorted({ex.notebook for ex in exercises.values()})
            raise GradeError(
                f"unknown task or notebook {item!r}; the course has the tasks "
                f"{', '.join(exercises)} in the notebooks {', '.join(notebooks)}"
            )
        tasks += [t for t in named if t not in tasks]
    return tasks


# ---------------------------------------------------------------- grading
