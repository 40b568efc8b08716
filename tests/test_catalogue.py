"""The mistake catalogue (``tests/catalogue/<task_id>.py``) against the checks.

For every task with a catalogue module: each wrong variant fails on every
seed with the diagnosis its ``expect`` names (a spec misconception, or one of
the contract's, gradient's, guard's and input-mutation check's names in
``evaluate``), never with
another name; each unusual correct variant passes; and at least 90 % of the
wrong variants get a named diagnosis.  The figure is printed per task (with
pytest's output capture disabled, so it shows in every run).
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import tests.catalogue as catalogue
from recsys_ref.course import all_exercises, run_check
from recsys_ref.course.engine.evaluate import DIAGNOSES

SEEDS = (0, 1, 2)
MIN_WRONG, MIN_NAMED = 6, 0.9
MODULES = sorted(m.name for m in pkgutil.iter_modules([str(Path(catalogue.__file__).parent)]))
TASKS = {t: ex for t, ex in all_exercises().items() if ex.kind == "task"}


def test_every_task_has_a_catalogue() -> None:
    missing = sorted(set(TASKS) - set(MODULES))
    assert not missing, f"tasks without tests/catalogue/<task_id>.py: {missing}"
    unknown = sorted(set(MODULES) - set(all_exercises()))
    assert not unknown, f"catalogue modules that name no registered task: {unknown}"


def verdicts(task_id: str, fn) -> list:
    return [run_check(task_id, fn, seed=s) for s in SEEDS]


@pytest.mark.parametrize("task_id", [m for m in MODULES if m in TASKS])
def test_catalogue(task_id: str, capsys: pytest.CaptureFixture) -> None:
    module = importlib.import_module(f"tests.catalogue.{task_id}")
    wrong, correct = module.WRONG, module.CORRECT
    known = {m.name for m in TASKS[task_id].misconceptions} | set(DIAGNOSES)
    passed, misnamed, refused, named, generic = [], [], [], 0, 0
    for v in wrong:
        assert v.expect is None or v.expect in known, (
            f"{task_id}: {v.name} expects unknown {v.expect!r}"
        )
        for r in verdicts(task_id, v.fn):
            if r.passed:
                passed.append(f"{v.name}: {r.message}")
            elif r.misconception != v.expect:
                misnamed.append(
                    f"{v.name}: expected {v.expect!r}, got {r.misconception!r}: {r.message}"
                )
        named += v.expect is not None
        generic += v.expect is None
    for v in correct:
        refused += [f"{v.name}: {r.message}" for r in verdicts(task_id, v.fn) if not r.passed]
    share = named / max(len(wrong), 1)
    with capsys.disabled():
        print(
            f"\n[catalogue] {task_id}: {len(wrong)} wrong ({named} named, {generic} generic, "
            f"{len(misnamed)} misnamed, {len(passed)} passed) {share:.0%} named; "
            f"{len(correct)} correct ({len(refused)} refused); seeds {SEEDS}"
        )
    assert not passed, "wrong variants that pass:\n" + "\n".join(passed)
    assert not misnamed, "misnamed:\n" + "\n".join(misnamed)
    assert not refused, "correct variants refused:\n" + "\n".join(refused)
    assert len(wrong) >= MIN_WRONG, (
        f"{task_id}: {len(wrong)} wrong variants, at least {MIN_WRONG} needed"
    )
    assert share >= MIN_NAMED, f"{task_id}: {share:.0%} named, at least {MIN_NAMED:.0%} needed"
    assert correct, f"{task_id}: no unusual correct variant"
