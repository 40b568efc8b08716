"""The map of the course: every track, forest first, then the trees (tasks).

Drawn from the exercise registry, so it never drifts from the notebooks.
"""

from __future__ import annotations

from collections import OrderedDict

from ..engine.registry import all_exercises

TRACKS = OrderedDict(
    [
        ("0", ("Start", "how stubs, checks,\nprogress and grading work")),
        ("1", ("NGCF track", "forest: NGCF trained end to end,\nrecommendations for one user")),
        ("2", ("FM track", "forest: LR vs FM vs FFM\non CTR logs")),
        ("3", ("Capstone", "forest: what to wear today,\ncontext-aware FM by weather")),
    ]
)


def notebooks_by_track() -> dict[str, dict[str, list[str]]]:
    """Track prefix → notebook id → task ids (concept questions not included), in course order."""
    out: dict[str, dict[str, list[str]]] = {k: {} for k in TRACKS}
    for task_id, ex in all_exercises().items():
        nb = out.setdefault(ex.notebook[0], {}).setdefault(ex.notebook, [])
        if ex.kind == "task":
            nb.append(task_id)
    return out


def questions_by_notebook() -> dict[str, list[str]]:
    """Notebook id → its concept questions' ids, in course order."""
    out: dict[str, list[str]] = {}
    for task_id, ex in all_exercises().items():
        if ex.kind == "question":
            out.setdefault(ex.notebook, []).append(task_id)
    return out


def task_table() -> list[tuple[str, str, str, str]]:
    """(task id, notebook, function, title) for every task (not the concept questions)."""
    return [
        (t, f"{ex.notebook}.ipynb", learner_function(t), ex.title)
        for t, ex in all_exercises().items()
        if ex.kind == "task"
    ]


def learner_function(task_id: str) -> str:
    """The function the learner writes: the first one the task's cell of the learner notebook
    defines (ngcf_9: ``train_step``; its spec's ``func_name`` is the given wrapper calling it)."""
    from .notebook import TASK_TAG, cell_source, defined_functions, read_notebook, tags
    from .workspace import CourseNotFound, learner_notebook_source

    ex = all_exercises()[task_id]
    try:
        nb = read_notebook(learner_notebook_source() / f"{ex.notebook}.ipynb")
    except (CourseNotFound, OSError, ValueError):
        return ex.func_name
    for cell in nb.cells:
        if f"{TASK_TAG}{task_id}" in tags(cell):
            names = defined_functions(cell_source(cell))
            return names[0] if names else ex.func_name
    return ex.func_name


def draw(ax=None):
    """Draw the course map; returns the matplotlib figure."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    tracks = notebooks_by_track()
    if ax is None:
        _, ax = plt.subplots(figsize=(16, 1.5 * len(TRACKS) + 0.4))
    ax.set_axis_off()
    ax.set_xlim(0, 17.5)
    n_rows = len(TRACKS)
    questions = questions_by_notebook()
    ax.set_ylim(0, n_rows * 1.5)
    for row, (prefix, (name, forest)) in enumerate(TRACKS.items()):
        y = n_rows * 1.5 - 1.5 * (row + 1) + 0.25
        ax.text(0.05, y + 0.5, name, fontsize=11, fontweight="bold", va="center")
        box = FancyBboxPatch(
            (1.5, y), 2.6, 1.0, boxstyle="round,pad=0.05", fc="#cfe8cf", ec="#2f6f2f"
        )
        ax.add_patch(box)
        ax.text(2.8, y + 0.5, forest, ha="center", va="center", fontsize=8)
        x = 4.5
        notebooks = tracks.get(prefix, {})
        width = min(2.6, (17.4 - x) / max(1, len(notebooks)) - 0.4)
        for nb, tasks in notebooks.items():
            ax.annotate(
                "",
                xy=(x, y + 0.5),
                xytext=(x - 0.35, y + 0.5),
                arrowprops={"arrowstyle": "->", "color": "#555"},
            )
            ax.add_patch(
                FancyBboxPatch(
                    (x, y), width, 1.0, boxstyle="round,pad=0.05", fc="#f3ead2", ec="#8a6d1d"
                )
            )
            label = nb.split("_", 1)[0] + " " + nb.split("_", 1)[-1].replace("_", " ")
            ax.text(
                x + width / 2,
                y + 0.72,
                label,
                ha="center",
                va="center",
                fontsize=8,
                fontweight="bold",
            )
            lines = [
                " · ".join(tasks[i : i + 4]) for i in range(0, len(tasks), 4)
            ]  # four ids a line
            n_q = len(questions.get(nb, []))
            if n_q:
                lines.append(f"+ {n_q} question{'s' * (n_q != 1)}")
            ax.text(x + width / 2, y + 0.3, "\n".join(lines), ha="center", va="center", fontsize=7)
            x += width + 0.4
    ax.set_title(
        "From the forest to the trees: each track shows the whole model first (green), "
        "then one equation per task (tan)",
        fontsize=10,
    )
    return ax.figure


TABLE_HEADER = "| task | notebook | function | tests |"


def readme_table() -> list[str]:
    """README's task table, one row per task, in course order."""
    rows = [TABLE_HEADER, "|---|---|---|---|"]
    rows += [f"| `{t}` | `{nb}` | `{fn}` | `pytest -m {t}` |" for t, nb, fn, _ in task_table()]
    return rows


def with_task_table(readme: str) -> str:
    """``readme`` with its task table (the header line up to the first non-table line) replaced."""
    lines = readme.split("\n")
    if TABLE_HEADER not in lines:
        raise ValueError(f"README has no task table (a line {TABLE_HEADER!r})")
    start = lines.index(TABLE_HEADER)
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join([*lines[:start], *readme_table(), *lines[end:]])


def main(argv: list[str] | None = None) -> int:
    """Regenerate README's task table from the registry (``--check``: only say if it differs)."""
    import argparse
    from pathlib import Path

    p = argparse.ArgumentParser(
        prog="python -m recsys_ref.course.nbtools.course_map", description=main.__doc__
    )
    p.add_argument("--readme", type=Path, default=Path("README.md"))
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 when it differs")
    p.add_argument("--image", type=Path, default=None, help="also draw the map into this PNG")
    args = p.parse_args(argv)
    text = args.readme.read_text(encoding="utf-8")
    new = with_task_table(text)
    if args.check:
        if new != text:
            print(f"{args.readme}: the task table differs from the registry", flush=True)
            return 1
        return 0
    if new != text:
        args.readme.write_text(new, encoding="utf-8")
        print(f"wrote the task table of {args.readme}")
    if args.image is not None:
        draw().savefig(args.image, dpi=100, bbox_inches="tight")
        print(f"wrote {args.image}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
