"""The ``recsys-course`` command (also ``python -m recsys_ref.course``).

Subcommands:
  init      copy the learner notebooks into a workspace (never over a file of yours)
  build     generate notebooks/ from solutions/ (never overwrites a learner's edits)
  refresh   re-execute solutions/ notebooks in place, then build (maintainers)
  progress  check the learner's notebooks task by task
  grade     grade a class of submissions (TAs)
  report    office hours from the grades: common mistakes and where the course answers them
  doctor    check that the course is installed and ready
  data      fetch a public data set into a cache (``data fetch NAME``, ``data list``)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

AddArguments = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]


def _root() -> Path:
    """The checkout build and refresh work in (``workspace.find_course``); exits saying why not."""
    from .nbtools.workspace import CourseNotFound, find_course

    try:
        course = find_course()
    except CourseNotFound as exc:
        raise SystemExit(f"recsys-course: {exc}") from None
    if course.solutions is None:
        raise SystemExit(
            f"recsys-course: {course.root} is a learner's workspace; build and refresh "
            "regenerate notebooks/ from solutions/, which only a checkout of the "
            "repository has (`recsys-course init` there adds missing notebooks)"
        )
    return course.root


def _build_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when notebooks/ differ from what solutions/ generate",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="also replace notebooks you edited (a timestamped backup is kept)",
    )
    p.add_argument("--solutions", type=Path, default=None, help="default: ./solutions")
    p.add_argument("--notebooks", type=Path, default=None, help="default: ./notebooks")
    p.add_argument(
        "--nbgrader",
        type=Path,
        default=None,
        metavar="COURSE_DIR",
        help="also write nbgrader's source/recsys-course/ folder into COURSE_DIR "
        "(INSTRUCTORS.md, nbgrader)",
    )


def _run_build(args: argparse.Namespace) -> int:
    from .nbtools import build as build_mod

    root = _root()
    solutions = args.solutions or root / "solutions"
    notebooks = args.notebooks or root / "notebooks"
    try:
        report = build_mod.build(solutions, notebooks, force=args.force, check=args.check)
        if getattr(args, "nbgrader", None) and not args.check:
            for path in build_mod.export_nbgrader(solutions, args.nbgrader):
                print(f"wrote {path}")
    except (build_mod.BuildError, ValueError) as exc:
        print(f"recsys-course build: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if report.differ:
            print("notebooks/ are out of date with solutions/:", file=sys.stderr)
            for line in report.differ:
                print(f"  {line}", file=sys.stderr)
            print("Run `recsys-course build` (maintainers) to regenerate them.", file=sys.stderr)
            return 1
        print(f"notebooks/ match solutions/ ({len(list(solutions.glob('*.ipynb')))} notebooks).")
        return 0
    for p in report.written:
        print(f"wrote {p}")
    for p in report.backups:
        print(f"kept a backup of your edits: {p}")
    for p in report.refused:
        print(
            f"NOT overwritten: {p} has edits of yours (it differs from what the build last "
            "wrote). Rename it to keep it, or run `recsys-course build --force` "
            "(your version is then copied to notebooks/.backups/ first).",
            file=sys.stderr,
        )
    if not report.written and not report.refused:
        print(f"notebooks/ already up to date ({len(report.unchanged)} notebooks).")
    return 1 if report.refused else 0


def _refresh_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("notebooks", nargs="*", type=Path, help="solutions notebooks (default: all)")
    p.add_argument("--timeout", type=int, default=600, help="seconds per cell")


def _run_refresh(args: argparse.Namespace) -> int:
    from .nbtools import build as build_mod

    root = _root()
    paths = args.notebooks or sorted((root / "solutions").glob("*.ipynb"))
    try:
        build_mod.execute_solutions(paths, timeout=args.timeout)
    except Exception as exc:  # noqa: BLE001 - report any execution failure in one line
        print(f"recsys-course refresh: {type(exc).__name__}: {str(exc)[-2000:]}", file=sys.stderr)
        return 1
    for p in paths:
        print(f"executed {p}")
    _write_task_table(root / "README.md")
    ns = argparse.Namespace(check=False, force=False, solutions=None, notebooks=None, nbgrader=None)
    return _run_build(ns)


def _write_task_table(readme: Path) -> None:
    """README's task table, regenerated from the registry (a new task needs no hand edit)."""
    from .nbtools.course_map import with_task_table

    text = readme.read_text(encoding="utf-8")
    new = with_task_table(text)
    if new != text:
        readme.write_text(new, encoding="utf-8")
        print(f"wrote the task table of {readme}")


class Command(NamedTuple):
    """A subcommand: its one-line help, and how to load its ``add_arguments`` and ``run``."""

    help: str
    load: Callable[[], tuple[AddArguments, Run]]


def _build() -> tuple[AddArguments, Run]:
    return _build_args, _run_build


def _refresh() -> tuple[AddArguments, Run]:
    return _refresh_args, _run_refresh


# Each loader imports its module explicitly, and only for the command given, so that
# ``recsys-course --help`` imports no torch; a module that fails to import fails loudly.
def _init() -> tuple[AddArguments, Run]:
    from .nbtools import workspace

    return workspace.add_arguments, workspace.run


def _progress() -> tuple[AddArguments, Run]:
    from .grading import progress

    return progress.add_arguments, progress.run


def _grade() -> tuple[AddArguments, Run]:
    from .grading import grade

    return grade.add_arguments, grade.run


def _report() -> tuple[AddArguments, Run]:
    from .grading import report

    return report.add_arguments, report.run


def _doctor() -> tuple[AddArguments, Run]:
    from . import doctor

    return doctor.add_arguments, doctor.run


def _data() -> tuple[AddArguments, Run]:
    from ..data import fetch

    return fetch.add_arguments, fetch.run


COMMANDS = {
    "init": Command("copy the learner notebooks into a workspace", _init),
    "build": Command("generate notebooks/ from solutions/", _build),
    "refresh": Command("re-execute solutions/ in place, then build (maintainers)", _refresh),
    "progress": Command("check your notebooks, task by task", _progress),
    "grade": Command("grade submissions (TAs)", _grade),
    "report": Command("office hours from the grades: what the class got wrong (TAs)", _report),
    "doctor": Command("check the installation", _doctor),
    "data": Command("download a public data set: data fetch NAME, data list", _data),
}


# The grader's confinement (fork, resource limits, namespaces) exists only on POSIX systems.
POSIX_ONLY = {"progress", "grade"}
POSIX_ONLY_SENTENCE = (
    "recsys-course {command}: the grader and progress are POSIX-only (Linux, "
    "macOS); on Windows use the check cells in the notebooks, or run the "
    "course in WSL."
)


def _is_posix() -> bool:
    return os.name == "posix"


def parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line; the arguments of ``command`` alone are added (its module imported)."""
    p = argparse.ArgumentParser(prog="recsys-course", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, cmd in COMMANDS.items():
        sp = sub.add_parser(name, help=cmd.help, description=cmd.help)
        if name == command:
            add_arguments, _ = cmd.load()
            add_arguments(sp)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # The top-level parser has no option that takes a value: the first word is the command.
    command = next((a for a in argv if not a.startswith("-")), None)
    p = parser(command if command in COMMANDS else None)
    args = p.parse_args(argv)
    if not args.command:
        p.print_help()
        return 0
    if args.command in POSIX_ONLY and not _is_posix():
        print(POSIX_ONLY_SENTENCE.format(command=args.command), file=sys.stderr)
        return 2
    _, run = COMMANDS[args.command].load()
    return int(run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
