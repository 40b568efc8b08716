"""The course website (``make site``): Sphinx + myst-nb over the repository root, offline.

Why Sphinx with myst-nb and not Jupyter Book: Jupyter Book 2 builds with the
Node.js ``mystmd`` tool and fetches its page theme at build time, so it cannot
build offline from the pinned Python environment; Sphinx and myst-nb are pure
Python, read the notebooks with their stored outputs (nothing is re-executed:
``nb_execution_mode = "off"``), and MathJax is served from the site itself
(``jupyter-server-mathjax`` ships MathJax 2.7), so the pages render equations
with no network at all.  docs/design.md §10 has the rest.

Two editions (``RECSYS_SITE_EDITION``; ``recsys_ref.course.nbtools.site_pages``): ``learner``,
the default and the one to publish (the learner notebooks with the figures of the cells
a learner does not write: no solution code, no solved outputs), and ``instructor`` (the
solutions with their outputs, under a banner).  The page notebooks are written to
``site/pages-<edition>/`` before Sphinx reads them.  Theme: furo (wide code, a
sidebar that folds away on a phone).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import jupyter_server_mathjax

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from recsys_ref import __version__  # noqa: E402
from recsys_ref.course.nbtools.site_pages import EDITIONS, write_pages  # noqa: E402

EDITION = os.environ.get("RECSYS_SITE_EDITION", "learner")
if EDITION not in EDITIONS:
    raise ValueError(f"RECSYS_SITE_EDITION={EDITION!r}: expected one of {', '.join(EDITIONS)}")
PAGES = f"site/pages-{EDITION}"  # relative to the repository root (Sphinx's source folder)
write_pages(ROOT / "solutions", ROOT / PAGES, EDITION)

project = "recsys-course"
author = "the recsys-course authors"
copyright = "the recsys-course authors, MIT licence"
version = release = __version__

extensions = ["myst_nb"]
# Sphinx reads the repository root (so docs/img/ needs no copying), but only these:
root_doc = "docs/site/index"
include_patterns = ["docs/site/*.md", f"{PAGES}/*.ipynb", "docs/design.md"]
exclude_patterns = ["**/.ipynb_checkpoints"]

nb_execution_mode = "off"  # the stored outputs of solutions/ (validated by nbval) are the pages
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type"]

html_theme = "furo"
html_title = f"recsys-course {version}" + (
    " — instructor edition" if EDITION == "instructor" else ""
)
html_theme_options = {
    "announcement": (
        "Instructor edition: these pages show the SOLUTIONS. Do not publish them where learners "
        "can read them (INSTRUCTORS.md)."
        if EDITION == "instructor"
        else None
    ),
}
html_css_files = ["course.css"]
html_show_sourcelink = False

# MathJax 2.7 from the site's own _static/mathjax (no CDN: the site works offline).
_MATHJAX = Path(jupyter_server_mathjax.__file__).parent / "static"
html_static_path = [os.path.relpath(_MATHJAX, Path(__file__).parent), "static"]
mathjax_path = "MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
mathjax2_config = {
    "tex2jax": {
        "inlineMath": [["\\(", "\\)"]],
        "displayMath": [["\\[", "\\]"]],
        "processEscapes": True,
        "processClass": "math|output_area",
        "ignoreClass": "document",
    },
    "MMLorHTML": {"prefer": "HTML"},  # HTML-CSS output in every browser (not native MathML)
    # jupyter-server-mathjax ships the STIX-Web web fonts only (as Jupyter's classic notebook used)
    "HTML-CSS": {
        "availableFonts": [],
        "preferredFont": None,
        "webFont": "STIX-Web",
        "imageFont": None,
    },
    "showMathMenu": False,
    "messageStyle": "none",
}


def _redirect_root(app, exception) -> None:
    """site/html/index.html: the start page (the book's root document sits at docs/site/)."""
    if exception is None and app.builder.format == "html":
        Path(app.outdir, "index.html").write_text(
            '<!DOCTYPE html><html><head><meta charset="utf-8"><title>recsys-course</title>'
            '<meta http-equiv="refresh" content="0; url=docs/site/index.html"></head>'
            '<body><a href="docs/site/index.html">recsys-course</a></body></html>\n',
            encoding="utf-8",
        )


CAPSTONE = """
```{toctree}
:maxdepth: 1
:caption: Capstone track
:glob:

../../solutions/3*
```
"""


def _pages(app, docname: str, source: list[str]) -> None:
    """The start page's toctrees point at this edition's page folder; the tracks are globbed
    (1*, 2*) and the capstone's toctree appears once its notebooks exist."""
    if docname != "docs/site/index":
        return
    text = source[0].replace("../../solutions/", f"../../{PAGES}/")
    if any((ROOT / "solutions").glob("3*.ipynb")):
        marker = "<!-- conf.py adds"
        head, sep, tail = text.partition(marker)
        text = head + CAPSTONE.replace("solutions/", f"{PAGES}/") + sep + tail if sep else text
    edition = LEARNER_NOTE if EDITION == "learner" else INSTRUCTOR_NOTE
    source[0] = text.replace("<!-- conf.py: edition -->", edition)


LEARNER_NOTE = """These pages are the learner notebooks: the statements, derivations and figures,
with the exercise cells left for you to write. To work through the course, install it and
run `recsys-course init`, then open `notebooks/00_start_here.ipynb` (README)."""
INSTRUCTOR_NOTE = """**Instructor edition.** These pages are the solutions notebooks with their stored
outputs, for office hours. Never publish them where learners can read them: `make site`
builds the learner edition (INSTRUCTORS.md)."""


def setup(app):
    app.connect("source-read", _pages)
    app.connect("build-finished", _redirect_root)
