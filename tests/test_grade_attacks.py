"""The worker is the adversary (issue 20, classes 5-9): forged replies, shared resources,
links, text aimed at the TA's tools, and determinism under ``--jobs``.

Each submission is written here as a learner would write it; INSTRUCTORS.md ("Threat
model") names these tests.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from recsys_ref.course.engine.evaluate import PASSED
from recsys_ref.course.engine.registry import get
from recsys_ref.course.grading import grade, submissions
from recsys_ref.course.sandbox import client as sandbox
from recsys_ref.course.sandbox import isolation
from recsys_ref.course.sandbox.workdirs import remove_tree
from tests.exercise_notebook import write

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox's layers are Linux's")

GOOD = "import torch\n\n\ndef dot_scores(U, I):\n    return U @ I.T\n"
FAST = (
    "import torch\n\n\ndef fm_pairwise_fast(x, V):\n"
    "    return 0.5 * ((x @ V) ** 2 - (x * x) @ (V * V)).sum(dim=1)\n"
)


def grade_cli(*argv) -> int:
    parser = argparse.ArgumentParser()
    grade.add_arguments(parser)
    return grade.run(parser.parse_args([str(a) for a in argv]))


def results_of(out: Path, name: str) -> dict[str, dict]:
    data = json.loads((out / name / "results.json").read_text())
    return {t["name"].split(":")[0]: t for t in data["tests"]}


# ---------------------------------------------------------------- 6. forged replies

FORGED = {  # field -> what the learner's cell makes the worker send for it
    "max_numel_inf": "d['max_numel'] = float('inf')",
    "ops_nan": "d['ops'] = float('nan')",
    "largest_not_list": "d['largest'] = 7",
    "grads_not_list": "d['grads'] = 5",
    "kind_unknown": "d['kind'] = 'passed'",
    "message_not_text": "d['message'] = [1, 2]",
    "huge_int": "d['max_numel'] = 10 ** 4000",
    "many_nodes": "d['creator'] = [None] * 300_000",
}


@pytest.mark.parametrize("field", list(FORGED))
def test_forged_reply_fields_fail_that_task_only(tmp_path, field):
    """The cell rewrites how the worker writes each outcome; that task gets no points,
    the notebook's other task is graded, results.json is written and the run exits 0."""
    forge = (
        "import recsys_ref.course.engine.runner as _r\n"
        "_plain = _r.Outcome.to_plain\n"
        "def _forged(self, *a, **k):\n"
        "    d = _plain(self, *a, **k)\n"
        f"    {FORGED[field]}\n"
        "    return d\n"
        "_r.Outcome.to_plain = _forged\n"
    )
    sub = write(tmp_path / "class" / "forger.ipynb", ("warmup", forge + GOOD))
    honest = write(tmp_path / "class" / "honest.ipynb", ("warmup", GOOD), ("fm_4", FAST))
    out = tmp_path / "out"
    rc = grade_cli(sub, honest, "--out", out, "--tasks", "warmup,fm_4", "--quiet", "--seed", 4)
    assert rc == 0
    forged, ok = results_of(out, "forger"), results_of(out, "honest")
    assert forged["warmup"]["score"] == 0, forged["warmup"]["output"]
    assert ok["warmup"]["score"] == 1 and ok["fm_4"]["score"] == 1, ok


def test_a_fault_in_the_graders_own_judging_fails_that_task_only(tmp_path, monkeypatch, caplog):
    """A judging error nothing foresaw (the interpreter's own SystemError once did this):
    that task says it could not be judged, the other task is graded, the TA's log has the
    traceback, and the run exits 0."""
    judge = sandbox._judge

    def faulty(job, *args, **kwargs):
        if job.ex.task_id == "warmup":
            raise SystemError("AST constructor recursion depth mismatch")
        return judge(job, *args, **kwargs)

    monkeypatch.setattr(sandbox, "_judge", faulty)
    sub = write(tmp_path / "class" / "learner.ipynb", ("warmup", GOOD), ("fm_4", FAST))
    out = tmp_path / "out"
    with caplog.at_level("ERROR", logger=sandbox.__name__):
        rc = grade_cli(sub, "--out", out, "--tasks", "warmup,fm_4", "--quiet", "--seed", 4)
    assert rc == 0
    got = results_of(out, "learner")
    assert got["warmup"]["score"] == 0
    assert "could not be judged (SystemError)" in got["warmup"]["output"]
    assert got["fm_4"]["score"] == 1, got["fm_4"]["output"]
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is SystemError]
    assert logged and "warmup" in logged[0].getMessage()


# ---------------------------------------------------------------- 5. learner against learner


def test_remove_tree_handles_trees_deeper_than_any_path(tmp_path):
    top = tmp_path / "w1"
    top.mkdir()
    here = os.getcwd()
    os.chdir(top)
    try:
        for _ in range(2500):  # ~5,000 characters of path: beyond what one path can name
            os.mkdir("d")
            os.chdir("d")
            Path("f").write_text("x")
        os.mkdir("locked", 0)
    finally:
        os.chdir(here)
    keep = tmp_path / "keep.txt"
    keep.write_text("mine")
    os.symlink(keep, top / "link")
    remove_tree(str(top))
    assert not top.exists() and keep.read_text() == "mine"


DEEP = (
    "import os\n"
    "for _ in range(3000):\n"
    "    try:\n        os.mkdir('d')\n        os.chdir('d')\n"
    "    except OSError:\n        break\n" + GOOD
)


def test_a_deep_folder_tree_does_not_harm_the_next_learner(tmp_path):
    """A learner's 3,000-level tree in its working folder: the fork server removes it
    without crashing, and the learners graded after keep their points, with feedback that
    does not blame their code."""
    first = sandbox.run_tasks(write(tmp_path / "deep.ipynb", ("warmup", DEEP)), ["warmup"], seed=1)
    assert first[0].status == PASSED, first[0].message
    for i in range(2):
        (r,) = sandbox.run_tasks(
            write(tmp_path / f"next{i}.ipynb", ("warmup", GOOD)), ["warmup"], seed=1
        )
        assert r.status == PASSED and "os._exit" not in r.message, r.message


FILL = (  # fills its working folder until the kernel says no, then holds it while others run
    "import os, time\n"
    "block, n = b'x' * 2**20, 0\n"
    "try:\n"
    "    while True:\n"
    "        with open(f'fill{n}', 'wb') as f:\n"
    "            for _ in range(32):\n                f.write(block)\n"
    "        n += 1\n"
    "except OSError:\n    pass\n"
    "time.sleep(6)\n" + GOOD
)
SCRATCH = (  # a correct learner that uses its working folder for a scratch file
    "import time\nimport torch\n\n\ndef dot_scores(U, I):\n"
    "    time.sleep(2)\n"
    "    with open('scratch.bin', 'wb') as f:\n        f.write(b'y' * 2**20)\n"
    "    with open('scratch.bin', 'rb') as f:\n        assert len(f.read()) == 2**20\n"
    "    return U @ I.T\n"
)


def test_a_full_scratch_folder_does_not_fail_a_bystander(tmp_path):
    """One learner fills the space it may write in; a correct learner graded in the same
    run (``--jobs 2``) writes its scratch file in a folder of its own, keeps its points and
    its feedback blames nothing (each worker's working folder is a size-limited tmpfs of its
    own under bubblewrap: ``isolation.worker_slots``)."""
    if not isolation.layers()["bwrap"]:
        pytest.skip("without bubblewrap the working folders share the machine's temp folder")
    for name, code in (("filler", FILL), ("bystander", SCRATCH)):
        write(tmp_path / name / "00_start_here.ipynb", ("warmup", code))
    out = tmp_path / "out"
    args = [tmp_path / "filler", tmp_path / "bystander", "--out", out, "--jobs", "2"]
    assert grade_cli(*args, "--tasks", "warmup", "--seed", "3", "--quiet") == 0
    rows = {r["submission"]: r for r in csv.DictReader(open(out / "class.csv"))}
    assert float(rows["bystander"]["warmup"]) == get("warmup").points, rows
    data = json.loads((out / "bystander" / "results.json").read_text())
    (test,) = data["tests"]
    assert test["status"] == "passed", test["output"]
    for blame in ("os._exit", "No space", "ENOSPC", "OSError", "process running your code"):
        assert blame not in test["output"], test["output"]


def test_jobs_2_in_a_fresh_process_reads_every_notebook(tmp_path):
    """A TA's first run: nbformat not yet imported when two grading threads start; both
    submissions read, graded and given their points (before, the second thread got a
    half-imported nbformat and every notebook of its submission was "not a valid notebook")."""
    for name in ("a", "b", "c"):
        write(tmp_path / name / "00_start_here.ipynb", ("warmup", GOOD))
    out = tmp_path / "out"
    subs = [str(tmp_path / n) for n in ("a", "b", "c")]
    cmd = [sys.executable, "-m", "recsys_ref.course", "grade", *subs, "--out", str(out)]
    cmd += ["--jobs", "2", "--tasks", "warmup", "--seed", "1", "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = list(csv.DictReader(open(out / "class.csv")))
    assert [float(r["warmup"]) for r in rows] == [get("warmup").points] * 3, rows


def refused_only(attempts: str) -> str:
    """A warmup cell right only when every attempt raised PermissionError."""
    return (
        "import os, ctypes, signal\nimport torch\n\n\n"
        "def dot_scores(U, I):\n"
        f"{attempts}"
        "    return U @ I.T\n"
    )


def test_system_v_ipc_is_refused(tmp_path):
    if not isolation.layers()["seccomp"]:
        pytest.skip("no seccomp on this machine")
    code = refused_only(
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    for call in (lambda: libc.shmget(0, 1 << 20, 0o1666),\n"
        "                 lambda: libc.semget(0, 1, 0o1666),\n"
        "                 lambda: libc.msgget(0, 0o1666),\n"
        "                 lambda: libc.shmat(0, None, 0)):\n"
        "        if call() != -1 or ctypes.get_errno() != 1:  # EPERM from seccomp\n"
        "            raise RuntimeError('GOT THROUGH: System V IPC')\n"
    )
    (r,) = sandbox.run_tasks(write(tmp_path / "ipc.ipynb", ("warmup", code)), ["warmup"], seed=2)
    assert r.status == PASSED, r.message


def test_a_worker_cannot_signal_any_other_process(tmp_path, monkeypatch):
    """With Landlock hidden (as on kernels without ABI 6, whose scoping also stops signals),
    seccomp alone refuses kill() towards any pid but the worker's own."""
    if not isolation.layers()["seccomp"]:
        pytest.skip("no seccomp on this machine")
    monkeypatch.setitem(isolation.layers(), "landlock", None)
    code = refused_only(
        "    me = os.getpid()\n"
        "    for pid in range(1, 600):\n"
        "        if pid == me:\n            continue\n"
        "        try:\n            os.kill(pid, 0)\n"
        "        except PermissionError:\n            continue\n"
        "        except ProcessLookupError:\n            pass\n"
        "        raise RuntimeError(f'GOT THROUGH: pid {pid} reachable')\n"
        "    os.kill(me, 0)\n"
    )
    (r,) = sandbox.run_tasks(write(tmp_path / "kill.ipynb", ("warmup", code)), ["warmup"], seed=2)
    assert r.status == PASSED, r.message


def test_an_unseen_exit_does_not_blame_the_learner():
    died = sandbox._Died(None)
    assert "os._exit" not in died.sentence() and "not something your code" in died.sentence()


# ---------------------------------------------------------------- 7. links


def test_a_linked_zip_is_skipped_with_a_note(tmp_path):
    other = tmp_path / "classmate"
    other.mkdir()
    write(other / "00_start_here.ipynb", ("warmup", GOOD))
    zpath = tmp_path / "classmate.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.write(other / "00_start_here.ipynb", "00_start_here.ipynb")
    mine = tmp_path / "learner"
    mine.mkdir()
    os.symlink(zpath, mine / "work.zip")
    (sub,) = grade.find_submissions([mine])
    assert sub.notebooks == [] and any("work.zip" in n and "link" in n for n in sub.notes)


def test_notebooks_in_folders_are_capped_like_zips(tmp_path, monkeypatch):
    monkeypatch.setattr(submissions, "NOTEBOOK_MAX_BYTES", 1000)
    folder = tmp_path / "learner"
    write(folder / "00_start_here.ipynb", ("warmup", GOOD + "#" * 2000))
    (sub,) = grade.find_submissions([folder])
    assert sub.notebooks == [] and any("larger than" in n for n in sub.notes), sub.notes


# ---------------------------------------------------------------- 8. text for the TA's tools


def test_formula_like_names_are_text_in_class_csv(tmp_path):
    out = tmp_path / "out"
    names = ["+cmd", "-2+3", "@SUM(A1)", "=1+1", "\tx", "plain"]
    for n in names:
        (out / n).mkdir(parents=True)
        (out / n / "grading.json").write_text(
            json.dumps({"tasks": [{"task": "warmup", "points": 1}]})
        )
    grade.write_class_csv(out, ["warmup"], names)
    rows = list(csv.reader((out / "class.csv").open(encoding="utf-8")))[1:]
    for row in rows:
        assert row[0][:1] not in ("=", "+", "-", "@", "\t", "\r"), row
    assert [r[0] for r in rows][-1] == "plain"


def test_newlines_and_invisible_characters_are_neutralised(tmp_path):
    folder = tmp_path / "learner"
    folder.mkdir()
    os.symlink("/etc/hostname", folder / "x\nFAKE: all 45 points.ipynb")
    (sub,) = grade.find_submissions([folder])
    shown = [sandbox.clean_text(n) for n in sub.notes]
    assert shown and all("\n" not in s for s in shown), shown
    hidden = "a\u202eb\u200dc\u2066d\U000e0041e\u2028f\u2029g\u00adh"
    assert sandbox.clean_text(hidden) == "abcdefgh"


# ---------------------------------------------------------------- 9. determinism


def test_jobs_1_and_jobs_4_give_identical_results(tmp_path):
    """A class of 10 (the solutions of ngcf_6 and ngcf_9 — whose reference draws random
    numbers — each in the notebook the registry names, and a broken copy of ngcf_6) graded
    with one seed at --jobs 1 and --jobs 4."""
    sources = {ROOT / "solutions" / f"{get(t).notebook}.ipynb" for t in ("ngcf_6", "ngcf_9")}
    if not all(src.exists() for src in sources):
        pytest.skip("no solutions/")
    cls = tmp_path / "class"
    cls.mkdir()
    for i in range(10):
        (cls / f"s{i}").mkdir()
        for src in sources:
            copy = nbformat.read(src, as_version=4)
            if i % 3 == 2:
                for cell in copy.cells:
                    if "task:ngcf_6" in cell.metadata.get("tags", []):
                        cell.source = cell.source.replace("softplus(", "softplus(2 * ")
            nbformat.write(copy, cls / f"s{i}" / src.name)
    outs = []
    for jobs in (1, 4):
        out = tmp_path / f"out{jobs}"
        subs = sorted(cls.iterdir())
        args = ["--out", out, "--tasks", "ngcf_6,ngcf_9", "--quiet", "--seed", 11]
        assert grade_cli(*subs, *args, "--jobs", jobs) == 0
        outs.append(
            {
                s.name: [(t["score"], t["output"]) for t in results_of(out, s.name).values()]
                for s in subs
            }
        )
    assert outs[0] == outs[1]
    scores = [sum(s for s, _ in v) for v in outs[0].values()]
    assert scores.count(2) == 7 and all("flagged" not in o for v in outs[0].values() for _, o in v)
    shutil.rmtree(tmp_path / "out1")
