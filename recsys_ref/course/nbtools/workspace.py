"""Where the course is, and ``recsys-course init [DIR]``.

Two kinds of course folder (docs/design.md §3):

- a **checkout** of the repository: ``solutions/`` and ``notebooks/`` side by side;
- a learner's **workspace**, made by ``recsys-course init``: ``notebooks/`` and a
  marker file ``.recsys-course`` (what was copied, from which version).

``find_course()`` looks in the current folder and its parents, then in the
checkout the package runs from (an editable install), and otherwise raises
``CourseNotFound`` with one sentence saying where it looked.

``init`` copies the learner notebooks that ship inside the package (a wheel
install) or sit in the checkout (an editable install) into ``DIR/notebooks/``.
It never replaces a file that is already there: a second ``init`` adds what is
missing and keeps every notebook the learner has.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

MARKER = ".recsys-course"
PACKAGED = Path(__file__).resolve().parents[1] / "learner_notebooks"  # setup.py fills it in a wheel
CHECKOUT = Path(__file__).resolve().parents[3]  # the repository, for an editable install


class CourseNotFound(LookupError):
    """No checkout and no workspace where the command looked; the message says where."""


@dataclass(frozen=True)
class Course:
    root: Path
    notebooks: Path
    solutions: Path | None  # None in a learner's workspace

    @property
    def kind(self) -> str:
        return "checkout" if self.solutions is not None else "workspace"


def _course_at(folder: Path) -> Course | None:
    if (folder / "solutions").is_dir():
        return Course(folder, folder / "notebooks", folder / "solutions")
    if (folder / MARKER).is_file():
        return Course(folder, folder / "notebooks", None)
    return None


def find_course(start: Path | None = None) -> Course:
    """The course the current folder belongs to (see the module docstring)."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        found = _course_at(folder)
        if found is not None:
            return found
    found = _course_at(CHECKOUT)
    if found is not None and found.solutions is not None:
        return found
    raise CourseNotFound(
        f"no course found: looked for solutions/ (a checkout) or {MARKER} (a workspace) in "
        f"{start} and every folder above it, and in {CHECKOUT}; run `recsys-course init` "
        "to make a workspace here"
    )


def learner_notebook_source() -> Path:
    """The folder the learner notebooks are copied from."""
    if any(PACKAGED.glob("*.ipynb")):
        return PACKAGED
    if any((CHECKOUT / "notebooks").glob("*.ipynb")):
        return CHECKOUT / "notebooks"
    raise CourseNotFound(
        f"the installed package has no learner notebooks (looked in {PACKAGED} "
        f"and {CHECKOUT / 'notebooks'}); reinstall recsys-course from a wheel"
    )


@dataclass
class InitReport:
    workspace: Path
    copied: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)  # the learner's file differs: left alone


def init(target: Path, source: Path | None = None) -> InitReport:
    """Copy the learner notebooks into ``target/notebooks``, never over an existing file."""
    from ... import __version__
    from .build import MANIFEST, sha256

    source = source or learner_notebook_source()
    target = target.resolve()
    notebooks = target / "notebooks"
    notebooks.mkdir(parents=True, exist_ok=True)
    report = InitReport(target)
    manifest_path = notebooks / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        manifest = {}
    for nb in sorted(source.glob("*.ipynb")):
        dest = notebooks / nb.name
        data = nb.read_bytes()
        if dest.exists():
            (report.unchanged if dest.read_bytes() == data else report.kept).append(dest)
            continue
        shutil.copyfile(nb, dest)
        manifest[nb.name] = sha256(data)  # the build may later replace only what init wrote
        report.copied.append(dest)
    if not report.copied and not report.unchanged and not report.kept:
        raise CourseNotFound(f"{source}: no learner notebooks to copy")
    manifest_path.write_text(
        json.dumps(dict(sorted(manifest.items())), indent=1) + "\n", encoding="utf-8"
    )
    marker = target / MARKER
    if not marker.exists() and not (target / "solutions").is_dir():
        marker.write_text(
            json.dumps({"course": "recsys-course", "version": __version__}) + "\n", encoding="utf-8"
        )
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dir",
        nargs="?",
        type=Path,
        default=Path("."),
        help="the workspace folder (default: the current one)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        report = init(args.dir)
    except (CourseNotFound, OSError) as exc:
        print(f"recsys-course init: {exc}", file=sys.stderr)
        return 2
    for p in report.copied:
        print(f"copied {p}")
    for p in report.kept:
        print(f"kept your {p} (it differs from the course's copy; rename it to get a fresh one)")
    where = report.workspace / "notebooks"
    print(
        f"{len(report.copied)} notebooks copied, {len(report.kept) + len(report.unchanged)} "
        f"already there. Start with: jupyter lab {where / '00_start_here.ipynb'}"
    )
    return 0
