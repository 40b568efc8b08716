"""The course website (``make site``) built offline and read in a real browser.

Builds the site with Sphinx + myst-nb into a temporary folder (the ``site``
extra), serves it from a local file server on 127.0.0.1, and opens every page
in Debian's Chromium (playwright, headless) to assert what a reader must see:

- every equation typeset by MathJax (each ``.math`` element holds MathJax's
  output, none an error), MathJax loaded from the site itself;
- every image loaded (``naturalWidth > 0``): the course map and the plots;
- every link within the site answering 200, and its ``#fragment`` naming an
  element of the target page; links to other sites are listed, not followed
  (the test runs offline);
- the learner edition (what ``make site`` builds) holds no solution region's
  code on any page, and pages read at 400 px (a phone: no sideways scrolling of
  the page, the heading on the first screen) and at 1280 px; the screenshots
  are saved under ``artifacts/site-screenshots/`` (CI keeps that folder).

Runs with ``pytest -m e2e`` or ``RECSYS_E2E=1`` like the JupyterLab test, and
skips, saying why, without Sphinx/myst-nb, playwright or Chromium.
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def _selected(config: pytest.Config) -> bool:
    expr = config.getoption("markexpr") or ""
    return ("e2e" in expr and "not e2e" not in expr) or os.environ.get("RECSYS_E2E") == "1"


SPHINX = "-m sphinx -b html -q -W --keep-going -c docs/site"


def build_site(out: Path, edition: str = "learner") -> subprocess.CompletedProcess:
    """What ``make site`` (or ``make site-instructor``) runs (warnings are errors), into ``out``."""
    return subprocess.run(
        [
            sys.executable,
            *SPHINX.split(),
            "-d",
            str(out / "doctrees"),
            str(ROOT),
            str(out / "html"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
        env={**os.environ, "RECSYS_SITE_EDITION": edition},
    )


def test_make_site_runs_what_this_test_builds() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert f"SPHINX = $(BIN)/python {SPHINX}" in makefile
    assert "RECSYS_SITE_EDITION=learner $(SPHINX) -d site/doctrees-learner . site/html" in makefile
    site_rule = makefile.split("\nsite:", 1)[1].split("\n\n", 1)[0]
    assert "RECSYS_SITE_EDITION=learner" in site_rule and "instructor" not in site_rule
    assert "RECSYS_SITE_EDITION=instructor" in makefile.split("\nsite-instructor:", 1)[1]


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not _selected(request.config):
        pytest.skip("site browser test: run it with `pytest -m e2e` (about 2 minutes)")
    for module, extra in (
        ("sphinx", "site"),
        ("myst_nb", "site"),
        ("jupyter_server_mathjax", "site"),
        ("playwright.sync_api", "e2e"),
    ):
        pytest.importorskip(module, reason=f"{module} is missing: `pip install -e '.[{extra}]'`")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"no Chromium at {CHROMIUM}: `sudo apt-get install chromium`")
    out = tmp_path_factory.mktemp("site")
    env_offline = build_site(out)
    assert env_offline.returncode == 0, f"the site does not build:\n{env_offline.stderr[-4000:]}"
    return out / "html"


@pytest.fixture(scope="module")
def server(site: Path):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest's output readable
        pass


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_every_page_renders_math_images_and_links(site: Path, server: str) -> None:
    from playwright.sync_api import sync_playwright

    pages = sorted(
        p.relative_to(site).as_posix()
        for p in site.rglob("*.html")
        if "_static" not in p.parts and "_sources" not in p.parts
    )
    assert "docs/site/index.html" in pages and "index.html" in pages
    notebooks = sorted((ROOT / "solutions").glob("*.ipynb"))
    for nb in notebooks:
        assert f"site/pages-learner/{nb.stem}.html" in pages, f"{nb.name} has no page"

    problems: list[str] = []
    ids: dict[str, set[str]] = {}
    wanted: list[tuple[str, str, str]] = []  # (from page, target page, fragment)
    external: set[str] = set()
    math_pages, images_seen = 0, 0
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        requests_out: list[str] = []
        page.on("request", lambda r: requests_out.append(r.url))
        failed: list[str] = []  # a missing MathJax font or script is a 404, not an exception
        page.on(
            "response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None
        )
        for rel in pages:
            if rel == "index.html":  # the redirect to the start page
                page.goto(server + rel)
                page.wait_for_url("**/docs/site/index.html", timeout=30_000)
                continue
            page.goto(server + rel, wait_until="load", timeout=60_000)
            n_math = page.locator(
                ".math.notranslate"
            ).count()  # Sphinx's math (MathJax adds .math too)
            if n_math:
                math_pages += 1
                page.wait_for_function("() => window.MathJax && MathJax.Hub", timeout=60_000)
                page.evaluate(
                    "() => new Promise(done => MathJax.Hub.Register.StartupHook('End', done))"
                )
                bad = page.evaluate("""() => [...document.querySelectorAll('.math.notranslate')]
                    .filter(m => !m.querySelector('.MathJax, .MathJax_Display, .MathJax_CHTML, .MathJax_SVG'))
                    .map(m => m.textContent.slice(0, 60))""")
                errors = page.evaluate("""() => [...document.querySelectorAll('.math.notranslate')]
                    .filter(m => m.textContent.includes('Math Processing Error')
                                 || m.querySelector('merror, .merror, .MathJax_Error'))
                    .map(m => m.textContent.slice(0, 80))""")
                if bad or errors:
                    problems.append(
                        f"{rel}: {len(bad)} of {n_math} equations not typeset "
                        f"({bad[:2]}), {len(errors)} MathJax errors ({errors[:2]})"
                    )
            images = page.evaluate("""() => [...document.images].map(i => [i.currentSrc || i.src,
                                       i.complete && i.naturalWidth > 0])""")
            images_seen += len(images)
            problems += [f"{rel}: image {src} did not load" for src, ok in images if not ok]
            ids[rel] = set(
                page.evaluate("() => [...document.querySelectorAll('[id]')].map(e => e.id)")
            )
            for href in page.evaluate(
                "() => [...document.querySelectorAll('a[href]')].map(a => a.href)"
            ):
                url = urllib.parse.urlsplit(href)
                if not href.startswith(server):
                    if url.scheme in ("http", "https"):
                        external.add(href)
                    continue
                target = url.path.lstrip("/") or "index.html"
                if target.endswith("/"):
                    target += "index.html"
                wanted.append((rel, target, url.fragment))
        browser.close()
    finally:
        pw.stop()

    checked: dict[str, int] = {}
    for origin, target, fragment in wanted:
        if target not in checked:
            checked[target] = _status(server + target)
        if checked[target] != 200:
            problems.append(f"{origin}: link to {target} answers {checked[target]}")
        elif fragment and target in ids and urllib.parse.unquote(fragment) not in ids[target]:
            problems.append(f"{origin}: link to {target}#{fragment}: no such anchor")
    offsite = [u for u in requests_out if not u.startswith((server, "data:", "about:", "blob:"))]
    assert not offsite, (
        f"the pages fetched from other sites (the site must work offline): {offsite[:5]}"
    )
    # MathJax 2 first probes for its TeX web fonts, which jupyter-server-mathjax does not ship,
    # then falls back to STIX-Web (configured in docs/site/conf.py); the typesetting checks above
    # are what shows the equations rendered.
    failed = [
        f
        for f in failed
        if not f.endswith("/favicon.ico") and "/_static/fonts/HTML-CSS/TeX/" not in f
    ]
    assert not failed, f"requests that failed: {failed[:10]}"
    assert not problems, "\n".join(problems[:40])
    assert math_pages >= 3, f"only {math_pages} pages with equations"
    assert images_seen >= 5, f"only {images_seen} images on the whole site"
    assert len(wanted) > len(pages), "hardly any links were found"
    print(
        f"\nsite: {len(pages)} pages, {math_pages} with equations, {images_seen} images, "
        f"{len(wanted)} internal links checked, {len(external)} links to other sites not followed"
    )


def _page_text(path: Path) -> str:
    """The text a reader (or a search engine) gets from one HTML page, whitespace collapsed."""
    import html
    import re

    raw = path.read_text(encoding="utf-8")
    raw = re.sub(r"<(script|style)\b.*?</\1>", " ", raw, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", raw)).split())


def test_the_learner_site_shows_no_solution_code(site: Path) -> None:
    """Every solution region's code (whole, and each distinctive line) is absent from every page."""
    import nbformat

    from recsys_ref.course.nbtools.site_pages import solution_code

    pages = {
        p.relative_to(site).as_posix(): _page_text(p)
        for p in site.rglob("*.html")
        if "_static" not in p.parts
    }
    everything = "\n".join(pages.values())
    learner_src = " ".join(
        " ".join(p.read_text(encoding="utf-8").split())
        for p in (ROOT / "notebooks").glob("*.ipynb")
    )
    leaks, searched = [], 0
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        for region in solution_code(nbformat.read(path, as_version=4)):
            searched += 1
            if " ".join(region.split()) in everything:
                leaks.append(f"{path.name}: a whole region: {region[:80]!r}")
            for line in region.splitlines():
                line = " ".join(line.split())
                if len(line) >= 20 and line not in learner_src and line in everything:
                    where = next(k for k, v in pages.items() if line in v)
                    leaks.append(f"{path.name}: {line!r} on {where}")
    assert searched >= 20, searched
    assert not leaks, "\n".join(leaks[:20])
    assert any("NotImplementedError" in v for v in pages.values())  # the stubs are there


ARTIFACTS = ROOT / "artifacts" / "site-screenshots"
SCREENED = ["docs/site/index.html", "site/pages-learner/10_graph_laplacian.html"]


@pytest.mark.parametrize("width", [400, 1280])
def test_pages_read_on_a_phone_and_a_laptop(site: Path, server: str, width: int) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems = []
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": width, "height": 900})
        for rel in SCREENED:
            page.goto(server + rel, wait_until="load", timeout=60_000)
            name = rel.replace("/", "_").removesuffix(".html")
            page.screenshot(path=str(ARTIFACTS / f"{name}-{width}px.png"), full_page=False)
            over = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            if over > 2:
                problems.append(f"{rel} at {width}px: the page scrolls sideways by {over}px")
            top = page.evaluate(
                "() => { const h = document.querySelector('article h1, main h1, h1');"
                " const r = h.getBoundingClientRect(); return [r.top, r.width]; }"
            )
            if not (0 <= top[0] < 900 and top[1] > 0):
                problems.append(f"{rel} at {width}px: the heading is not on the first screen {top}")
        browser.close()
    finally:
        pw.stop()
    assert not problems, "\n".join(problems)
    assert len(list(ARTIFACTS.glob(f"*-{width}px.png"))) >= len(SCREENED)
