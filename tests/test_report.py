"""``recsys-course report`` on hand-written grading results (fast: nothing is graded).

A class of ten learners is written as ``grading.json`` files (``Result.to_dict()`` rows)
from one construction table; every count of the class and mistake tables is checked
against a count of that table made here, the agenda's ranking and grouping, the privacy
threshold, the cell pointers against the notebook read independently, the Gradescope
download, the change over time, and that no feedback text reaches any output.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import pytest

from recsys_ref.course.engine.evaluate import CRASHED, FAILED, MISSING, NOT_STARTED_STATUS, PASSED
from recsys_ref.course.engine.registry import all_exercises, get
from recsys_ref.course.grading import report, report_render
from recsys_ref.course.grading.explain import format_agenda, personal_agenda
from recsys_ref.course.grading.pointers import faq_entries, outline
from recsys_ref.course.nbtools.notebook import read_notebook, tags

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SECRET = "SECRET-INPUT tensor([1.25, 2.5])"  # in every message: must never reach the report

# learner → task → (status, misconception); ngcf_1 is in nobody's work
CLASS: dict[str, dict[str, tuple[str, str | None]]] = {}
_WARMUP = (
    [(PASSED, None)] * 3
    + [(FAILED, "cosine")] * 4
    + [(FAILED, "transposed")] * 2
    + [(MISSING, None)]
)
_FM4 = (
    [(FAILED, "complexity")] * 3
    + [(NOT_STARTED_STATUS, None)] * 5
    + [(MISSING, None)]
    + [(CRASHED, None)]
)
for _i in range(10):
    CLASS[f"learner{_i:02d}"] = {
        "warmup": _WARMUP[_i],
        "fm_4": _FM4[_i],
        "ngcf_1": (NOT_STARTED_STATUS if _i % 2 else MISSING, None),
    }
TASKS = [t for t in all_exercises() if t in {"warmup", "fm_4", "ngcf_1"}]  # course order


def write_graded(folder: Path, klass: dict = CLASS) -> Path:
    for learner, tasks in klass.items():
        rows = [
            {
                "task": t,
                "status": status,
                "message": f"✗ {t}: {SECRET}",
                "points": float(status == PASSED),
                "max_points": 1,
                "misconception": m,
            }
            for t, (status, m) in tasks.items()
        ]
        (folder / learner).mkdir(parents=True)
        (folder / learner / "grading.json").write_text(json.dumps({"tasks": rows}))
    return folder


@pytest.fixture
def graded(tmp_path) -> Path:
    return write_graded(tmp_path / "week1")


def expected_statuses(task: str) -> Counter:
    c = Counter(s for tasks in CLASS.values() for s, _ in [tasks[task]])
    c[FAILED] += c.pop(CRASHED, 0)  # crashed counts as failed
    return c


def test_class_table_counts(graded):
    data = report.build_report([report.load_run(graded)], notebooks=NOTEBOOKS)
    assert [r["task"] for r in data["class_table"]] == TASKS
    for row in data["class_table"]:
        want = expected_statuses(row["task"])
        assert row["learners"] == len(CLASS)
        assert row["passed"] == want[PASSED]
        assert row["failed"] == want[FAILED]
        assert row["not_started"] == want[NOT_STARTED_STATUS]
        assert row["missing"] == want[MISSING]
        assert row["submitted"] == len(CLASS) - want[MISSING]
        assert row["pass_rate"] == pytest.approx(want[PASSED] / len(CLASS))


@pytest.mark.parametrize("threshold", [1, 2, 3, 5])
def test_mistake_counts_and_privacy_threshold(graded, threshold):
    data = report.build_report([report.load_run(graded)], threshold=threshold)
    for task in TASKS:
        made = Counter(
            (m or ("crashed" if s == CRASHED else report.UNNAMED))
            for tasks in CLASS.values()
            for s, m in [tasks[task]]
            if s in (FAILED, CRASHED)
        )
        failed = sum(made.values())
        rows = {m["diagnosis"]: m for m in data["misconceptions"] if m["task"] == task}
        shown = {d: n for d, n in made.items() if n >= threshold}
        other = sum(n for n in made.values() if n < threshold)
        assert {d: r["count"] for d, r in rows.items() if d != report.OTHER} == shown
        assert rows.get(report.OTHER, {"count": 0})["count"] == other
        for r in rows.values():
            assert r["share_of_failed"] == pytest.approx(r["count"] / failed)
            assert r["count"] >= threshold or r["diagnosis"] == report.OTHER


def test_agenda_ranking_grouping_and_nobody_started(graded):
    data = report.build_report([report.load_run(graded)], threshold=3, notebooks=NOTEBOOKS)
    # cosine blocks 4, complexity 3; transposed (2) and the crash (1) are below the threshold
    assert data["agenda"]["ranked"] == [("warmup", "cosine"), ("fm_4", "complexity")]
    groups = [g["notebook"] for g in data["agenda"]["notebooks"]]
    assert groups == [get("warmup").notebook, get("fm_4").notebook]  # course order
    assert data["agenda"]["nobody_started"] == ["ngcf_1"]
    data1 = report.build_report([report.load_run(graded)], threshold=1, top=2)
    assert data1["agenda"]["ranked"] == [("warmup", "cosine"), ("fm_4", "complexity")]
    data1 = report.build_report([report.load_run(graded)], threshold=1, top=10)
    ranked = data1["agenda"]["ranked"]
    assert ranked[2:] == [("warmup", "transposed"), ("fm_4", "crashed")]


def _cell_of(notebook: str, tag: str) -> int:
    nb = read_notebook(NOTEBOOKS / f"{notebook}.ipynb")
    return 1 + max(i for i, c in enumerate(nb.cells) if tag in tags(c))


@pytest.mark.skipif(not list(NOTEBOOKS.glob("*.ipynb")), reason="no notebooks/ (build first)")
def test_pointers_come_from_the_notebook_and_the_spec(graded, capsys):
    data = report.build_report([report.load_run(graded)], notebooks=NOTEBOOKS)
    for m in data["misconceptions"]:
        ex = get(m["task"])
        p = m["pointers"]
        assert p["open"]["notebook"] == f"notebooks/{ex.notebook}.ipynb"
        assert p["open"]["cell"] == _cell_of(ex.notebook, f"task:{m['task']}")
        assert p["open"]["check_cell"] == _cell_of(ex.notebook, f"check:{m['task']}")
        assert m["task"] in p["open"]["heading"] or p["open"]["heading"]
        assert m["equation"] == ex.where
        if p["faq"]:
            entries = faq_entries(outline(ex.notebook, NOTEBOOKS))
            assert (p["faq"]["cell"] - 1, p["faq"]["question"]) in [(c, q) for c, q, _ in entries]
        q = p["question"]
        if q["id"]:
            assert get(q["id"]).notebook == ex.notebook and get(q["id"]).kind == "question"
            assert q["cell"] == _cell_of(ex.notebook, f"task:{q['id']}") and q["text"]
    cosine = next(m for m in data["misconceptions"] if m["diagnosis"] == "cosine")
    spec = next(x for x in get("warmup").misconceptions if x.name == "cosine")
    assert cosine["meaning"] == spec.message
    snippet = cosine["pointers"]["demonstration"]["snippet"]
    capsys.readouterr()
    exec(snippet, {})  # the demonstration runs, and the check names the mistake
    assert spec.message in capsys.readouterr().out


def test_outputs_name_nobody_and_carry_no_feedback(graded, tmp_path, capsys):
    out = tmp_path / "report"
    rc = run_cli(graded, "--out", out, "--names", "--notebooks", NOTEBOOKS)
    assert rc == 0
    for name in ("report.html", "report.md", "report.json", "pass_rate.png", "misconceptions.png"):
        assert (out / name).is_file(), name
    for name in ("report.html", "report.md", "report.json"):
        text = (out / name).read_text(encoding="utf-8")
        assert "SECRET" not in text and "1.25" not in text
        assert not any(learner in text for learner in CLASS), name
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2 and "id='agenda'" in html
    assert "src='http" not in html and 'src="http' not in html  # self-contained
    names = (out / "TA-ONLY-names.md").read_text(encoding="utf-8")
    assert names.startswith("# TA ONLY")
    cosine_line = next(line for line in names.splitlines() if line.startswith("- cosine"))
    want = sorted(n for n, t in CLASS.items() if t["warmup"][1] == "cosine")
    assert cosine_line == f"- cosine ({len(want)}): {', '.join(want)}"
    printed = capsys.readouterr().out
    assert "warmup · cosine" in printed and "SECRET" not in printed


def test_default_output_folder_is_never_a_submission_name(graded, capsys):
    assert run_cli(graded, "--no-plots") == 0
    assert (graded / report.DEFAULT_OUT / "report.html").is_file()
    from recsys_ref.course.grading.grade import _safe_name

    assert _safe_name(report.DEFAULT_OUT) != report.DEFAULT_OUT
    # the report folder is not read back as a learner
    assert len(report.load_run(graded).learners) == len(CLASS)


def run_cli(*argv) -> int:
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    return report.run(parser.parse_args([str(a) for a in argv]))


def test_an_unreadable_result_is_counted_not_named(graded):
    (graded / "learner03" / "grading.json").write_text("{not json")
    run = report.load_run(graded)
    assert len(run.learners) == len(CLASS) - 1 and "learner03" not in run.learners
    assert run.skipped == ["1 submission folder(s) with unreadable results"]


def test_not_a_grading_folder_is_a_clear_error(tmp_path, capsys):
    assert run_cli(tmp_path) == 2
    assert "grading.json" in capsys.readouterr().err
    assert run_cli(tmp_path / "absent") == 2


def test_diagnosis_fields_of_the_verdict_data_are_read():
    v = report.verdict("a", {"task": "warmup", "status": FAILED, "misconception": "cosine"})
    assert (v.diagnosis, v.kind) == ("cosine", "named")
    v = report.verdict(
        "a",
        {
            "task": "warmup",
            "status": FAILED,
            "misconception": None,
            "diagnosis": "scaled",
            "diagnosis_kind": "relational",
        },
    )
    assert (v.diagnosis, v.kind) == ("scaled", "relational")
    v = report.verdict(
        "a", {"task": "warmup", "status": FAILED, "diagnosis": {"name": "x2", "kind": "near-miss"}}
    )
    assert (v.diagnosis, v.kind) == ("x2", "near-miss")
    v = report.verdict("a", {"task": "warmup", "status": FAILED, "misconception": "dtype"})
    assert v.kind == "check"
    v = report.verdict("a", {"task": "warmup", "status": PASSED, "misconception": "cosine"})
    assert v.diagnosis is None


def test_the_kind_the_grader_writes_is_the_kind_reported():
    """grading.json carries ``Result.to_dict()``: a relational or near-miss name is reported
    with that kind, not as a named misconception of the spec."""
    from recsys_ref.course.engine.verdict import Kind, Result, Status

    for kind, name, want in (
        (Kind.RELATIONAL, "transposed", "relational"),
        (Kind.NEAR_MISS, "cosine", "near-miss"),
        (Kind.NAMED, "cosine", "named"),
        (Kind.CONTRACT, "dtype", "check"),
    ):
        r = Result("warmup", Status.FAILED, "✗ warmup: …", 0.0, 1.0, name, kind=kind)
        v = report.verdict("a", r.to_dict())
        assert (v.diagnosis, v.kind) == (name, want), kind


def test_gradescope_download(tmp_path):
    """results.json as ``grade.gradescope`` writes it (extra_data), and a bare one."""
    from recsys_ref.course.engine.evaluate import Result
    from recsys_ref.course.grading.grade import gradescope

    folder = tmp_path / "gradescope"
    for learner, tasks in CLASS.items():
        results = [
            Result(t, s, f"{SECRET}", float(s == PASSED), 1, m) for t, (s, m) in tasks.items()
        ]
        (folder / learner).mkdir(parents=True)
        (folder / learner / "results.json").write_text(json.dumps(gradescope(results, 1.0)))
    run = report.load_run(folder)
    assert run.source == "gradescope"
    from_gs = report.build_report([run])
    from_grade = report.build_report([report.load_run(write_graded(tmp_path / "g"))])
    assert from_gs["class_table"] == from_grade["class_table"]
    assert from_gs["agenda"]["ranked"] == from_grade["agenda"]["ranked"]
    bare = tmp_path / "bare" / "someone"
    bare.mkdir(parents=True)
    (bare / "results.json").write_text(
        json.dumps(
            {"tests": [{"name": "warmup: x", "score": 0, "max_score": 1, "status": "failed"}]}
        )
    )
    (row,) = report.build_report([report.load_run(bare.parent)])["class_table"]
    assert (row["failed"], row["passed"]) == (1, 0)


def test_change_over_time(graded, tmp_path):
    week2 = {
        learner: dict(
            tasks, warmup=(PASSED, None) if tasks["warmup"][1] == "cosine" else tasks["warmup"]
        )
        for learner, tasks in CLASS.items()
    }
    later = write_graded(tmp_path / "week2", week2)
    data = report.build_report([report.load_run(graded), report.load_run(later)])
    assert data["runs"] == ["week1", "week2"]
    warm = next(t for t in data["trend"] if t["task"] == "warmup")
    first, second = warm["runs"]
    assert first["pass_rate"] == pytest.approx(3 / 10) and first["change"] is None
    assert second["pass_rate"] == pytest.approx(7 / 10)
    assert second["change"] == pytest.approx(4 / 10)
    assert (first["top_mistake"], first["top_count"]) == ("cosine", 4)
    assert second["top_mistake"] is None  # transposed: 2 learners, below the threshold
    assert first["top_mistakes"] == [["cosine", 4]] and second["top_mistakes"] == []
    md = report_render.markdown(data)
    assert "## Over time" in md and "30 %; cosine (4)" in md and "70 % (+40); –" in md


@pytest.mark.skipif(not list(NOTEBOOKS.glob("*.ipynb")), reason="no notebooks/ (build first)")
def test_personal_agenda_in_course_order():
    rows = [
        {"task": "fm_4", "status": FAILED, "misconception": "complexity"},
        {"task": "warmup", "status": PASSED, "misconception": None},
        {"task": "ngcf_1", "status": NOT_STARTED_STATUS, "misconception": None},
        {"task": "warmup", "status": FAILED, "misconception": "cosine"},
    ]
    items = personal_agenda(rows, NOTEBOOKS)
    assert [(i["task"], i["status"]) for i in items] == [
        ("warmup", FAILED),
        ("ngcf_1", NOT_STARTED_STATUS),
        ("fm_4", FAILED),
    ]
    assert items[0]["open"]["cell"] == _cell_of("00_start_here", "task:warmup")
    text = format_agenda(items)
    spec = next(x for x in get("warmup").misconceptions if x.name == "cosine")
    assert spec.message in text and f"cell {_cell_of('10_graph_laplacian', 'task:ngcf_1')}" in text
    assert format_agenda([]).startswith("Nothing to reread")
