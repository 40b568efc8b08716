"""Repository-wide pytest plugin: what a run prints about the notebooks.

- For nbval items (cells collected from ``.ipynb`` files, ``pytest --nbval``),
  each notebook's execution time (setup, i.e. kernel start, + every cell) is
  summed and printed in the terminal summary against the time budgets:
  45 s per notebook, 4 minutes for the whole course on 2 CPU cores.
- For the browser test (``pytest -m e2e``), the screenshots it saved and the
  Run All times it measured (recorded with ``record_property``).

Passive: it never changes an outcome.  ``benchmarks/bench_notebooks.py``
enforces the budgets (non-zero exit, "OVER BUDGET").

It also registers one marker per registered exercise (``pytest -m fm_4`` runs
every test of that task, docs/design.md §9), read from the registry, so that a
new task needs no hand-kept marker list; ``--strict-markers`` still rejects a
misspelt one.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

NOTEBOOK_BUDGET_S = 45.0
COURSE_BUDGET_S = 240.0

_notebook_seconds: dict[str, float] = defaultdict(float)
_notebook_failed: set[str] = set()
_screenshots: list[str] = []
_run_all: list[tuple[str, float]] = []


def pytest_configure(config: pytest.Config) -> None:
    from recsys_ref.course.engine.registry import all_exercises

    for task_id, ex in all_exercises().items():
        config.addinivalue_line(
            "markers", f"{task_id}: {ex.kind} {task_id}, {ex.title} ({ex.notebook})"
        )


def _notebook_of(nodeid: str) -> str | None:
    path = nodeid.split("::", 1)[0]
    return path if path.endswith(".ipynb") else None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    notebook = _notebook_of(report.nodeid)
    if notebook is not None:
        _notebook_seconds[notebook] += report.duration
        if report.failed:
            _notebook_failed.add(notebook)
    if report.when == "call":
        for name, value in getattr(report, "user_properties", ()):
            if name == "screenshot":
                _screenshots.append(str(value))
            elif name.startswith("run_all_seconds[") and isinstance(value, (int, float)):
                _run_all.append((name[len("run_all_seconds[") : -1], float(value)))


def notebook_table(seconds: dict[str, float], failed: set[str] = frozenset()) -> list[str]:
    """Rows of the per-notebook timing table ."""
    label = f"total ({len(seconds)} notebook{'s' if len(seconds) != 1 else ''})"
    width = max([len(n) for n in seconds] + [len(label)])
    lines = [
        f"{'notebook':<{width}}  {'seconds':>7}  {'budget':>6}  verdict",
        f"{'-' * width}  {'-' * 7}  {'-' * 6}  -------",
    ]
    for name in sorted(seconds):
        s = seconds[name]
        verdict = "OK" if s <= NOTEBOOK_BUDGET_S else "OVER"
        if name in failed:
            verdict += " (cells failed)"
        lines.append(f"{name:<{width}}  {s:7.1f}  {NOTEBOOK_BUDGET_S:5.0f}s  {verdict}")
    total = sum(seconds.values())
    lines.append(
        f"{label:<{width}}  {total:7.1f}  {COURSE_BUDGET_S:5.0f}s  "
        f"{'OK' if total <= COURSE_BUDGET_S else 'OVER'}"
    )
    return lines


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    tr = terminalreporter
    if _notebook_seconds:
        tr.write_sep("=", "notebook execution times (nbval: kernel start + all cells)")
        for line in notebook_table(dict(_notebook_seconds), _notebook_failed):
            tr.write_line(line)
        tr.write_line("(2-core budget; `python benchmarks/bench_notebooks.py` enforces it)")
    if _run_all or _screenshots:
        tr.write_sep("=", "browser test (JupyterLab + Chromium)")
        for name, seconds in _run_all:
            tr.write_line(f"Run All {name}: {seconds:.1f} s")
        for path in _screenshots:
            tr.write_line(f"screenshot: {path}")
