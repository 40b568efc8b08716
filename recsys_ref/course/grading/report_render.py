"""The office-hour report (``report.build_report``'s data) as HTML, Markdown, JSON, plots and
a terminal summary.

The HTML page is self-contained: the plots are embedded as base64 PNG, the style is inline,
nothing is loaded from elsewhere (it opens from a USB stick or an LMS upload).  Every text
comes from the report's data (spec sentences, notebook headings), escaped.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

from .report import OTHER

TRACK_COLOURS = {"0": "#6b8e23", "1": "#1f77b4", "2": "#d2691e", "3": "#7b52ab"}


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f} %"


def _change(x: float | None) -> str:
    return "" if x is None else f"{100 * x:+.0f}"


def _where(p: dict) -> str:
    """ "notebooks/21_fm_okn_trick.ipynb, cell 12 (§ 3. Task fm_4 …)" for the open pointer."""
    o = p["open"]
    cell = f"cell {o['cell']}" if o["cell"] else f"the cell tagged task:{o.get('task', '')}"
    heading = f" (§ {o['heading']})" if o["heading"] else ""
    return f"{o['notebook']}, {cell}{heading}"


def _faq(p: dict) -> str:
    f = p["faq"]
    return f"FAQ (cell {f['cell']}): {f['question']}" if f else "no FAQ entry yet"


def _label(m: dict) -> str:
    return f"{m['task']} · {m['diagnosis']}"


# ---------------------------------------------------------------- plots


def plot_pass_rate(data: dict):
    """Pass rate per task along the course map (bars coloured by track, one line per run)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = data["class_table"]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(table) + 2), 3.6))
    xs = range(len(table))
    colours = [TRACK_COLOURS.get(r["notebook"][0], "#777") for r in table]
    ax.bar(xs, [100 * r["pass_rate"] for r in table], color=colours, label=data["run"])
    if data.get("trend"):
        runs = data["runs"]
        for j, label in enumerate(runs[:-1]):
            ys = [t["runs"][j]["pass_rate"] for t in data["trend"]]
            ax.plot(
                xs,
                [float("nan") if y is None else 100 * y for y in ys],
                marker="o",
                linestyle=":",
                label=label,
            )
    previous = None
    for i, r in enumerate(table):
        if r["notebook"] != previous:
            if previous is not None:
                ax.axvline(i - 0.5, color="#bbb", lw=0.8)
            ax.text(i - 0.4, 103, r["notebook"].split("_", 1)[0], fontsize=7, color="#555")
            previous = r["notebook"]
    ax.set_xticks(list(xs), [r["task"] for r in table], rotation=60, ha="right", fontsize=7)
    ax.set_ylim(0, 110)
    ax.set_ylabel("passed (% of learners)")
    ax.set_title(f"Pass rate per task, in course order ({data['learners']} learners)", fontsize=10)
    if data.get("trend"):
        ax.legend(fontsize=7, loc="upper right")
    w = fig.get_figwidth()  # margins in inches (tight_layout costs a second draw)
    fig.subplots_adjust(left=0.8 / w, right=1 - 0.2 / w, top=0.88, bottom=0.28)
    return fig


def plot_misconceptions(data: dict, top: int = 12):
    """The most common mistakes (merged counts only: never a name) as horizontal bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(
        (m for m in data["misconceptions"] if m["diagnosis"] != OTHER),
        key=lambda m: -m["count"],
    )[:top]
    fig, ax = plt.subplots(figsize=(7, 0.35 * max(len(rows), 2) + 1.2))
    labels = [_label(m) for m in rows][::-1]
    counts = [m["count"] for m in rows][::-1]
    colours = [TRACK_COLOURS.get(m["notebook"][0], "#777") for m in rows][::-1]
    ax.barh(range(len(rows)), counts, color=colours)
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.set_xlabel("learners")
    ax.xaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]
    fig.suptitle(
        f"Top mistakes (diagnoses of fewer than {data['threshold']} learners merged)", fontsize=10
    )
    if not rows:
        ax.text(0.5, 0.5, "no diagnosis reaches the threshold", ha="center", transform=ax.transAxes)
    label_in = 0.3 + 0.07 * max([len(s) for s in labels] + [10])  # inches for the labels
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=min(0.6, label_in / w), right=0.97, top=1 - 0.45 / h, bottom=0.5 / h)
    return fig


def png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


# ---------------------------------------------------------------- text


def _class_rows(data: dict) -> list[list[str]]:
    return [
        [
            r["task"],
            r["notebook"],
            str(r["learners"]),
            str(r["submitted"]),
            str(r["passed"]),
            str(r["failed"]),
            str(r["not_started"]),
            str(r["missing"]),
            _pct(r["pass_rate"]),
        ]
        for r in data["class_table"]
    ]


CLASS_HEAD = [
    "task",
    "notebook",
    "learners",
    "submitted",
    "passed",
    "failed",
    "not started",
    "missing",
    "pass rate",
]
MIS_HEAD = ["task", "diagnosis", "kind", "learners", "of failed", "equation", "cell", "FAQ"]


def _mis_rows(data: dict) -> list[list[str]]:
    return [
        [
            m["task"],
            str(m["diagnosis"]),
            m["kind"] or "",
            str(m["count"]),
            _pct(m["share_of_failed"]),
            m["equation"],
            _where(m["pointers"]),
            _faq(m["pointers"]),
        ]
        for m in data["misconceptions"]
    ]


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    def cell(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _agenda_items(data: dict):
    for group in data["agenda"]["notebooks"]:
        yield group["notebook"], group["items"]


def markdown(data: dict) -> str:
    """The report as Markdown (the same content as the HTML page, without the plots)."""
    out = [
        f"# Office hours: {data['run']} ({data['learners']} learners)",
        "",
        f"Diagnoses made by fewer than {data['threshold']} learners are merged into "
        '"other"; no learner is named.',
        "",
        "## Agenda",
        "",
    ]
    for nb, items in _agenda_items(data):
        out.append(f"### {nb}")
        out.append("")
        for m in items:
            p = m["pointers"]
            out.append(
                f"{m['rank']}. **{m['task']} · {m['diagnosis']}** — blocks {m['count']} "
                f"learners ({_pct(m['share_of_failed'])} of those who failed {m['task']}); "
                f"{m['equation']}. {m['meaning']}"
            )
            out.append(f"   - open: {_where(p)}")
            demo = p["demonstration"]
            if demo["snippet"]:
                out.append("   - run the mistake live:")
                out.append("")
                out.append("     ```python")
                out += [f"     {line}" for line in demo["snippet"].splitlines()]
                out.append("     ```")
            if demo["experiment_cell"]:
                out.append(
                    f"   - then run the experiment (cell {demo['experiment_cell']}): "
                    f"{demo['experiment']}"
                )
            q = p["question"]
            qwhere = f" ({q['id']}, cell {q['cell']})" if q["id"] else ""
            out.append(f"   - ask the room{qwhere}: {q['text']}")
            out.append(f"   - {_faq(p)}")
        out.append("")
    if data["agenda"]["nobody_started"]:
        out.append("**Nobody has started:** " + ", ".join(data["agenda"]["nobody_started"]))
        out.append("")
    out += ["## Class", "", _md_table(CLASS_HEAD, _class_rows(data)), ""]
    out += ["## Mistakes", "", _md_table(MIS_HEAD, _mis_rows(data)), ""]
    if data["trend"]:
        out += ["## Over time", "", _md_table(*_trend_table(data)), ""]
    return "\n".join(out)


def _trend_table(data: dict) -> tuple[list[str], list[list[str]]]:
    head = ["task"] + [f"{r}: pass rate (change); top mistakes" for r in data["runs"]]
    rows = []
    for t in data["trend"]:
        cells = [t["task"]]
        for c in t["runs"]:
            top = ", ".join(f"{d} ({n})" for d, n in c["top_mistakes"]) or "–"
            change = f" ({_change(c['change'])})" if c["change"] is not None else ""
            cells.append(f"{_pct(c['pass_rate'])}{change}; {top}")
        rows.append(cells)
    return head, rows


def terminal(data: dict, width: int = 100) -> str:
    """A short summary for the terminal: pass rates and the agenda's first items."""
    lines = [f"{data['run']}: {data['learners']} learners"]
    for r in data["class_table"]:
        bar = "█" * round(20 * r["pass_rate"])
        lines.append(
            f"  {r['task']:<12} {_pct(r['pass_rate']):>5} {bar:<20} "
            f"✓{r['passed']} ✗{r['failed']} …{r['not_started']} ?{r['missing']}"
        )
    lines.append("top mistakes (learners blocked → the cell to open):")
    ranked = sorted((m for _, items in _agenda_items(data) for m in items), key=lambda m: m["rank"])
    for m in ranked:
        line = f"  {m['rank']:>2}. {m['count']:>3}  {m['task']} · {m['diagnosis']} → {_where(m['pointers'])}"
        lines.append(line if len(line) <= width else line[: width - 1] + "…")
    if data["agenda"]["nobody_started"]:
        lines.append("  nobody has started: " + ", ".join(data["agenda"]["nobody_started"]))
    if data["trend"]:
        changes = [
            f"{t['task']} {_change(t['runs'][-1]['change'])}"
            for t in data["trend"]
            if t["runs"][-1]["change"]
        ]
        lines.append(
            f"pass rate since {data['runs'][-2]} (points): " + (", ".join(changes) or "no change")
        )
    return "\n".join(lines)


def names_markdown(names: dict[str, dict[str, list[str]]], data: dict) -> str:
    """``--names``: who made which mistake.  For the TA only."""
    out = [
        "# TA ONLY — who made which mistake",
        "",
        "Do not share or project this file: it names learners. The report itself "
        f"(report.html) names nobody. Run {data['run']}.",
        "",
    ]
    for task, diagnoses in names.items():
        out.append(f"## {task}")
        for d, learners in sorted(diagnoses.items(), key=lambda kv: -len(kv[1])):
            out.append(f"- {d} ({len(learners)}): {', '.join(sorted(learners))}")
        out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------- HTML

STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3} td.num{text-align:right}
.agenda li{margin:.6em 0} .nb{margin-top:1em} pre{background:#f6f6f6;padding:.5em;overflow-x:auto}
.note{color:#555;font-size:.9em} img.plot{max-width:100%;border:1px solid #ddd;margin:.5em 0}
"""


def _h(s: object) -> str:
    return html.escape(str(s))


def _html_table(
    head: list[str], rows: list[list[str]], num: frozenset[int] | set[int] = frozenset()
) -> str:
    out = ["<table><thead><tr>" + "".join(f"<th>{_h(c)}</th>" for c in head) + "</tr></thead>"]
    out.append("<tbody>")
    for r in rows:
        out.append(
            "<tr>"
            + "".join(
                f'<td class="num">{_h(c)}</td>' if i in num else f"<td>{_h(c)}</td>"
                for i, c in enumerate(r)
            )
            + "</tr>"
        )
    out.append("</tbody></table>")
    return "\n".join(out)


def to_html(data: dict, images: dict[str, bytes]) -> str:
    """The self-contained page: agenda, plots (base64 PNG), class and mistake tables, trend."""
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Office hours: {_h(data['run'])}</title><style>{STYLE}</style></head><body>",
        f"<h1>Office hours: {_h(data['run'])} ({data['learners']} learners)</h1>",
        f"<p class='note'>Diagnoses made by fewer than {data['threshold']} learners are merged "
        "into “other”; no learner is named on this page.</p>",
        "<section id='agenda'><h2>Agenda</h2>",
    ]
    for nb, items in _agenda_items(data):
        parts.append(f"<div class='nb'><h3>{_h(nb)}</h3><ol class='agenda'>")
        for m in items:
            p = m["pointers"]
            demo, q = p["demonstration"], p["question"]
            qwhere = f" ({_h(q['id'])}, cell {q['cell']})" if q["id"] else ""
            parts.append(
                f"<li value='{m['rank']}' data-task='{_h(m['task'])}' "
                f"data-diagnosis='{_h(m['diagnosis'])}'><b>{_h(m['task'])} · "
                f"{_h(m['diagnosis'])}</b> — blocks <b>{m['count']}</b> learners "
                f"({_pct(m['share_of_failed'])} of those who failed); {_h(m['equation'])}. "
                f"{_h(m['meaning'])}<ul><li>open: {_h(_where(p))}</li>"
            )
            if demo["snippet"]:
                parts.append(f"<li>run the mistake live:<pre>{_h(demo['snippet'])}</pre></li>")
            if demo["experiment_cell"]:
                parts.append(
                    f"<li>then the experiment (cell {demo['experiment_cell']}): "
                    f"{_h(demo['experiment'])}</li>"
                )
            parts.append(f"<li>ask the room{qwhere}: {_h(q['text'])}</li>")
            parts.append(f"<li>{_h(_faq(p))}</li></ul></li>")
        parts.append("</ol></div>")
    if data["agenda"]["nobody_started"]:
        parts.append(
            "<p id='nobody-started'><b>Nobody has started:</b> "
            + _h(", ".join(data["agenda"]["nobody_started"]))
            + "</p>"
        )
    parts.append("</section><section id='plots'><h2>Plots</h2>")
    for name, blob in images.items():
        b64 = base64.b64encode(blob).decode("ascii")
        parts.append(
            f"<img class='plot' id='plot-{_h(name)}' alt='{_h(name.replace('_', ' '))}' "
            f"src='data:image/png;base64,{b64}'>"
        )
    parts.append("</section><section id='class'><h2>Class</h2>")
    parts.append(_html_table(CLASS_HEAD, _class_rows(data), set(range(2, 9))))
    parts.append("</section><section id='mistakes'><h2>Mistakes</h2>")
    parts.append(_html_table(MIS_HEAD, _mis_rows(data), {3, 4}))
    parts.append("</section>")
    if data["trend"]:
        parts.append("<section id='trend'><h2>Over time</h2>")
        parts.append(_html_table(*_trend_table(data)))
        parts.append("</section>")
    if data["skipped"]:
        parts.append("<p class='note'>Skipped: " + _h("; ".join(data["skipped"])) + "</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write(data: dict, out: Path, plots: bool = True) -> list[Path]:
    """report.json, report.md, the plots and report.html into ``out``; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    images: dict[str, bytes] = {}
    if plots:
        images = {
            "pass_rate": png(plot_pass_rate(data)),
            "misconceptions": png(plot_misconceptions(data)),
        }
    written = []
    for name, blob in images.items():
        (out / f"{name}.png").write_bytes(blob)
        written.append(out / f"{name}.png")
    for name, text in (
        ("report.json", json.dumps(data, indent=1, ensure_ascii=False) + "\n"),
        ("report.md", markdown(data) + "\n"),
        ("report.html", to_html(data, images)),
    ):
        (out / name).write_text(text, encoding="utf-8")
        written.append(out / name)
    return written
