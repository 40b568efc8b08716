"""The doctor's report: one line per finding, a fix under each failure or warning.

Also where the course folder is (``course_root``), which the fixes name.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED = ((3, 11), (3, 14))  # inclusive range of (major, minor); = requires-python

OK, WARN, FAIL, NOTE = "ok", "warn", "fail", "note"
_SYMBOLS = {OK: ("✓", "OK"), WARN: ("!", "WARN"), FAIL: ("✗", "FAIL"), NOTE: ("·", "-")}


@dataclass
class Finding:
    """One line of the report; ``fix`` is printed under a failure or warning."""

    status: str
    title: str
    detail: str = ""
    fix: str = ""


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)

    def add(self, status: str, title: str, detail: str = "", fix: str = "") -> None:
        self.findings.append(Finding(status, title, detail, fix))

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.status == FAIL]


def version_ok(v: tuple[int, ...]) -> bool:
    return SUPPORTED[0] <= tuple(v[:2]) <= SUPPORTED[1]


def supported() -> str:
    (a, b), (c, d) = SUPPORTED
    return f"{a}.{b}–{c}.{d}"


def course_root() -> Path:
    """The course folder (a checkout or a workspace: ``workspace.find_course``), else the current one."""
    from ..nbtools.workspace import CourseNotFound, find_course

    try:
        return find_course().root
    except CourseNotFound:
        return uploaded_course() or Path.cwd()


def uploaded_course() -> Path | None:
    """A course folder found as the setup cell finds it (here, above, or one folder inside)."""
    from ..bootstrap import find_course_folder

    return find_course_folder(Path.cwd())


def _can_print(text: str) -> bool:
    try:
        text.encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def format_report(report: Report) -> str:
    fancy = _can_print("✓✗·–→")
    lines = []
    for f in report.findings:
        symbol = _SYMBOLS[f.status][0 if fancy else 1]
        lines.append(f"  {symbol} {f.title}" + (f" {f.detail}" if f.detail else ""))
        if f.fix and f.status in (FAIL, WARN):
            lines.append(f"      fix: {f.fix}")
    problems = report.problems
    if problems:
        many = len(problems) != 1
        lines.append(
            f"{len(problems)} problem{'s' if many else ''} found; fix "
            f"{'them' if many else 'it'} and run `recsys-course doctor` again."
        )
    else:
        lines.append(
            "All green: start JupyterLab with `jupyter lab notebooks/` and open "
            "00_start_here.ipynb."
        )
    text = "\n".join(lines)
    return text if fancy else text.replace("–", "-").replace("→", "->")
