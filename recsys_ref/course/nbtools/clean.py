"""Keep notebooks reviewable: remove volatile metadata, keep outputs (``python -m recsys_ref.course.nbtools.clean``).

``solutions/`` keep their outputs (nbval compares them) and execution counts,
but nothing that changes on every run without changing the notebook: per-cell
execution timestamps (nbclient's ``execution``, the ExecuteTime extension's),
view state a reader toggles (``scrolled``, ``collapsed``, heading collapse),
the interpreter's patch version and widget state.  ``refresh`` writes clean
notebooks itself; the pre-commit hook and ``tests/test_clean.py`` catch the
rest (a notebook saved from JupyterLab, say).

    python -m recsys_ref.course.nbtools.clean solutions/*.ipynb          # clean in place
    python -m recsys_ref.course.nbtools.clean --check solutions/*.ipynb  # exit 1 when one is not clean
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

VOLATILE_CELL_METADATA = (
    "execution",
    "ExecuteTime",
    "scrolled",
    "collapsed",
    "heading_collapsed",
    "hidden",
    "jp-MarkdownHeadingCollapsed",
)
VOLATILE_NOTEBOOK_METADATA = ("widgets", "signature")


def volatile(nb: dict) -> list[str]:
    """What is volatile in a notebook (as JSON), one short description each."""
    found = []
    for key in VOLATILE_NOTEBOOK_METADATA:
        if key in nb.get("metadata", {}):
            found.append(f"metadata.{key}")
    if "version" in nb.get("metadata", {}).get("language_info", {}):
        found.append("metadata.language_info.version")
    for index, cell in enumerate(nb.get("cells", []), start=1):
        for key in VOLATILE_CELL_METADATA:
            if key in cell.get("metadata", {}):
                found.append(f"cell {index}: metadata.{key}")
    return found


def clean(nb: dict) -> dict:
    """The notebook without its volatile metadata (modified in place and returned)."""
    meta = nb.setdefault("metadata", {})
    for key in VOLATILE_NOTEBOOK_METADATA:
        meta.pop(key, None)
    meta.get("language_info", {}).pop("version", None)
    for cell in nb.get("cells", []):
        for key in VOLATILE_CELL_METADATA:
            cell.get("metadata", {}).pop(key, None)
    return nb


def clean_text(text: str) -> str:
    """Clean notebook JSON, written the way nbformat and JupyterLab write it."""
    import nbformat

    nb = nbformat.reads(text, as_version=4)
    return nbformat.writes(nbformat.from_dict(clean(nb))) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m recsys_ref.course.nbtools.clean", description=__doc__.split("\n")[0]
    )
    p.add_argument("notebooks", nargs="+", type=Path)
    p.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when a notebook is not clean"
    )
    args = p.parse_args(argv)
    dirty = 0
    for path in args.notebooks:
        text = path.read_text(encoding="utf-8")
        found = volatile(json.loads(text))
        if not found:
            continue
        dirty += 1
        if args.check:
            print(
                f"{path}: volatile metadata: {', '.join(found[:5])}"
                + (f" and {len(found) - 5} more" if len(found) > 5 else ""),
                file=sys.stderr,
            )
        else:
            path.write_text(clean_text(text), encoding="utf-8")
            print(f"cleaned {path} ({len(found)} volatile entries)")
    if args.check and dirty:
        print(
            "Run `python -m recsys_ref.course.nbtools.clean` on them (or `make clean-notebooks`).",
            file=sys.stderr,
        )
    return 1 if args.check and dirty else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
