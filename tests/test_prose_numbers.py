"""Numbers in prose come from outputs: every figure a markdown cell of a solution notebook states is
printed by a cell of the same notebook, or stands in a measured table under ``benchmarks/`` (``*.md``).

The convention: a *quoted figure* is a decimal number (``0.633``,
``2.6``), a number after ``≈``, or a factor (``78×``, ``×4.6``) in a markdown cell, outside LaTeX
(``$…$``), inline code (```…```), links and section references (``§2.5.2``).  It is backed when an
output of the same notebook holds the same number — exactly, or rounded to the digits the prose gives —
or, in a cell that cites ``benchmarks/`` (its source), when a table in ``benchmarks/*.md`` holds it.  A re-execution that moves a number therefore fails here until the
prose follows it.  The few figures no cell can print (a paper's table, a unit conversion) are allowed by
name below, each with its reason.
"""

from __future__ import annotations

import copy
import re
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"

# Figures that no cell prints, by notebook: number → why it may stand in prose.
ALLOWED: dict[str, dict[str, str]] = {
    "11_embedding_propagation": {
        "1.6": "NGCF paper, Table 1: Gowalla's 810,128 interactions are 1.6 million directed edges",
    },
    "13_beyond": {
        "0.1830": "LightGCN paper, Table 3 (Gowalla recall@20, LightGCN)",
        "0.1570": "LightGCN paper, Table 3 (Gowalla recall@20, NGCF)",
    },
}

_STRIP = [
    re.compile(r"\$\$.*?\$\$", re.S),  # display maths
    re.compile(r"\$[^$\n]*\$"),  # inline maths
    re.compile(r"`[^`\n]*`"),  # inline code
    re.compile(r"\]\([^)]*\)"),  # link targets
    re.compile(r"https?://\S+"),
    re.compile(r"§\s*[\d.]+\d"),  # section references
    re.compile(r"arXiv\s*\d+\.\d+(v\d+)?", re.I),
    re.compile(r"(?:eq\.|eqs\.|Table|Figure|Fig\.|Lemma|Theorem)\s*\d+(?:\.\d+)?"),
]
_QUOTED = re.compile(
    r"(?<![\w.])(\d+\.\d+)(?![\w.]*\d)"  # a decimal
    r"|≈\s*(\d+(?:\.\d+)?)"  # a number after ≈
    r"|(\d+(?:\.\d+)?)\s*×"  # a factor 78×
    r"|×\s*(\d+(?:\.\d+)?)"  # a factor ×4.6
)
_NUMBER = re.compile(r"(?<![\w.])[-−]?(\d+(?:\.\d+)?)")


def quoted_figures(markdown: str) -> list[str]:
    """The figures a markdown cell states, in order."""
    text = markdown
    for pattern in _STRIP:
        text = pattern.sub(" ", text)
    return [next(g for g in m.groups() if g) for m in _QUOTED.finditer(text)]


def output_text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        for out in cell.get("outputs", []):
            if "text" in out:
                parts.append("".join(out["text"]))
            for mime in ("text/plain", "text/markdown", "text/html"):
                data = out.get("data", {}).get(mime)
                if data:
                    parts.append("".join(data))
    return "\n".join(parts)


def numbers_in(text: str) -> set[str]:
    return {m.group(1) for m in _NUMBER.finditer(text)}


def _digits(n: str) -> int:
    return len(n.split(".")[1]) if "." in n else 0


def backed(figure: str, pool: set[str]) -> bool:
    """``figure`` is in ``pool`` exactly, or a number of ``pool`` with more digits rounds to it."""
    if figure in pool:
        return True
    places = Decimal(1).scaleb(-_digits(figure))
    want = Decimal(figure)
    for x in pool:
        if _digits(x) <= _digits(figure):
            continue
        try:
            d = Decimal(x)
        except InvalidOperation:
            continue
        if want in (d.quantize(places, ROUND_HALF_UP), d.quantize(places, ROUND_HALF_EVEN)):
            return True
    return False


def measured_tables() -> set[str]:
    return set().union(*(numbers_in(p.read_text()) for p in (ROOT / "benchmarks").glob("*.md")))


def unbacked(nb: nbformat.NotebookNode, stem: str, tables: set[str]) -> list[str]:
    """'cell k: figure' for every quoted figure that neither an output nor a table holds."""
    printed = numbers_in(output_text(nb))
    allowed = ALLOWED.get(stem, {})
    found = []
    for k, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "markdown":
            continue
        pool = printed | tables if "benchmarks/" in cell.source else printed
        for fig in quoted_figures(cell.source):
            if fig not in allowed and not backed(fig, pool):
                found.append(f"cell {k}: {fig}")
    return found


@pytest.fixture(scope="module")
def tables() -> set[str]:
    return measured_tables()


@pytest.mark.parametrize("path", sorted(SOLUTIONS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_quoted_figure_is_printed_or_measured(path, tables):
    nb = nbformat.read(path, as_version=4)
    assert unbacked(nb, path.stem, tables) == [], (
        f"{path.name}: figures in prose that no output of the notebook and no benchmarks/*.md table "
        "holds; quote the printed number, or print it"
    )


def test_the_convention_reads_figures_and_skips_maths_code_and_references():
    md = (
        "NGCF 0.633 ± 0.022 (best epoch ≈ 87), 78× smaller, ratios ×4.6; §2.5.2, eq. 7.1, "
        "$\\lambda = 0.5$, `lr=0.005`, [arXiv 1905.08108](https://arxiv.org/abs/1905.08108)."
    )
    assert quoted_figures(md) == ["0.633", "0.022", "87", "78", "4.6"]
    assert backed("0.35", {"0.3499"}) and backed("0.633", {"0.633"})
    assert not backed("0.681", {"0.704", "0.68"})


def _only_printed(nb: nbformat.NotebookNode, tables: set[str]) -> list[str]:
    """The figures with three decimals or more the prose quotes that only an output of this notebook backs."""
    outputs = numbers_in(output_text(nb))
    return [
        f
        for c in nb.cells
        if c.cell_type == "markdown"
        for f in quoted_figures(c.source)
        if _digits(f) >= 3
        and f in outputs
        and not ("benchmarks/" in c.source and backed(f, tables))
    ]


def test_a_moved_number_fails(tables):
    """Re-executing a notebook so that a number its prose quotes moves breaks the build here."""
    found = [
        (p, nb, figs)
        for p in sorted(SOLUTIONS.glob("*.ipynb"))
        for nb in [nbformat.read(p, as_version=4)]
        for figs in [_only_printed(nb, tables)]
        if figs
    ]
    assert found, "no notebook's prose quotes a printed figure: nothing to move"
    path, nb, figures = found[0]
    assert unbacked(nb, path.stem, tables) == []
    figure = figures[0]
    moved = copy.deepcopy(nb)
    bumped = f"{Decimal(figure) + Decimal(1).scaleb(-_digits(figure)) * 7}"
    pattern = re.compile(rf"(?<![\w.]){re.escape(figure)}(?![\d])")
    for cell in moved.cells:
        for out in cell.get("outputs", []):
            if "text" in out:
                out["text"] = pattern.sub(bumped, "".join(out["text"]))
            for mime, data in list(out.get("data", {}).items()):
                if mime.startswith("text/"):
                    out["data"][mime] = pattern.sub(bumped, "".join(data))
    assert any(line.endswith(f": {figure}") for line in unbacked(moved, path.stem, tables)), (
        path.name,
        figure,
    )
