"""The office-hour report (``report.html``) read in a real browser.

Writes the report of a hand-written class (tests/test_report.py's construction), opens the
page from disk in Debian's Chromium (playwright, headless) and asserts what an instructor must
see: both plots loaded (``naturalWidth > 0``), the agenda with its first item and its cell
pointer, the class table, and no request leaving the page (it is self-contained).  Saves a
screenshot to artifacts/e2e/report.png; ``RECSYS_SCREENSHOT_DIR=docs/img`` writes
INSTRUCTORS.md's ``office_hours.png`` instead.

Runs with ``pytest -m e2e`` or ``RECSYS_E2E=1`` like the other browser tests, and skips,
saying why, without playwright or Chromium.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from recsys_ref.course.grading import report, report_render
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.test_report import NOTEBOOKS, write_graded

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts" / "e2e"

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def _selected(config: pytest.Config) -> bool:
    expr = config.getoption("markexpr") or ""
    return ("e2e" in expr and "not e2e" not in expr) or os.environ.get("RECSYS_E2E") == "1"


def test_report_page_in_chromium(request, tmp_path, record_property):
    if not _selected(request.config):
        pytest.skip("browser test: run it with `pytest -m e2e`")
    pytest.importorskip(
        "playwright.sync_api", reason="playwright is missing: pip install -e '.[e2e]'"
    )
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"no Chromium at {CHROMIUM}: `sudo apt-get install chromium`")
    from playwright.sync_api import sync_playwright

    graded = write_graded(tmp_path / "week1")
    data = report.build_report([report.load_run(graded)], notebooks=NOTEBOOKS)
    out = tmp_path / "report"
    out.mkdir()
    report_render.write(data, out)
    page_file = out / "report.html"
    shots = Path(os.environ.get("RECSYS_SCREENSHOT_DIR", ARTIFACTS))
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / ("office_hours.png" if "RECSYS_SCREENSHOT_DIR" in os.environ else "report.png")
    first_task, first_diagnosis = data["agenda"]["ranked"][0]
    outside: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on(
                "request",
                lambda r: (
                    outside.append(r.url) if not r.url.startswith(("file:", "data:")) else None
                ),
            )
            page.goto(page_file.as_uri())
            for plot in ("pass_rate", "misconceptions"):
                img = page.locator(f"img#plot-{plot}")
                assert img.count() == 1, plot
                assert img.evaluate("e => e.complete && e.naturalWidth > 0"), plot
            agenda = page.locator("#agenda")
            assert agenda.is_visible()
            first = agenda.locator("ol.agenda > li").first
            assert first.get_attribute("data-task") == first_task
            assert first.get_attribute("data-diagnosis") == first_diagnosis
            assert "open: notebooks/" in first.inner_text()
            assert "Nobody has started" in agenda.inner_text()
            assert page.locator("#class table tbody tr").count() == len(data["class_table"])
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    assert not outside, f"the page requested {outside}"
    assert shot.stat().st_size > 10_000
    record_property("screenshot", str(shot))
