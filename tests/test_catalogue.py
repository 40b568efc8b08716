"""The mistake catalogue (``tests/catalogue/<task_id>.py``) against the checks.

For every task with a catalogue module: each wrong variant fails on every
seed with the diagnosis its ``expect`` names (a spec misconception, or one of
the contract's, gradient's, guard's and input-mutation check's names in
``evaluate``), never with
another name; each unusual correct variant passes; and at least 90 % of the
wrong variants get a named diagnosis.  A module's ``EDGE`` variants (the wrong
answers an edge rule's case exists to catch) fail on every seed with one of the
verdicts their ``expect`` lists.  The figure is printed per task (with
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
from recsys_ref.course.engine.relations import RELATIONS
from recsys_ref.course.engine.verdict import Kind
from tests.catalogue._relational import variants as relational_variants

SEEDS = (0, 1, 2)
MIN_WRONG, MIN_NAMED = 6, 0.9
MIN_RELATIONAL, MIN_BEYOND = 4, 0.6  # class-4 variants per task; named beyond the spec's list
# per task: (variants outside the spec's misconceptions, of them named by a relation or near miss)
BEYOND: dict[str, tuple[int, int]] = {}
MODULES = sorted(
    m.name
    for m in pkgutil.iter_modules([str(Path(catalogue.__file__).parent)])
    if not m.name.startswith("_")
)
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
    spec_names = {m.name for m in TASKS[task_id].misconceptions}
    known = spec_names | set(DIAGNOSES) | set(RELATIONS)
    relational = [*getattr(module, "RELATIONAL", []), *relational_variants(TASKS[task_id])]
    passed, misnamed, refused, named, generic = [], [], [], 0, 0
    beyond, beyond_named = 0, 0
    for v in [*wrong, *relational]:
        assert v.expect is None or v.expect in known, (
            f"{task_id}: {v.name} expects unknown {v.expect!r}"
        )
        is_relational = v in relational
        kinds = set()
        for r in verdicts(task_id, v.fn):
            kinds.add(r.kind)
            if r.passed:
                passed.append(f"{v.name}: {r.message}")
            elif r.misconception != v.expect and not (is_relational and r.kind == Kind.NAMED):
                misnamed.append(
                    f"{v.name}: expected {v.expect!r}, got {r.misconception!r}: {r.message}"
                )
        outside = is_relational or v.expect is None or v.expect not in spec_names
        if outside and v.expect not in DIAGNOSES:
            beyond += 1
            beyond_named += kinds <= {Kind.RELATIONAL, Kind.NEAR_MISS, Kind.NAMED} and bool(kinds)
        if not is_relational:
            named += v.expect is not None
            generic += v.expect is None
    BEYOND[task_id] = (beyond, beyond_named)
    for v in getattr(module, "EDGE", []):  # the variants an edge rule's case catches
        allowed = v.expect if isinstance(v.expect, tuple) else (v.expect,)
        assert all(a is None or a in known for a in allowed), f"{task_id}: {v.name}: {allowed}"
        for r in verdicts(task_id, v.fn):
            if r.passed:
                passed.append(f"{v.name} (edge): {r.message}")
            elif r.misconception not in allowed:
                misnamed.append(f"{v.name} (edge): expected one of {allowed}, got {r.message}")
    for v in correct:
        refused += [f"{v.name}: {r.message}" for r in verdicts(task_id, v.fn) if not r.passed]
    share = named / max(len(wrong), 1)
    with capsys.disabled():
        print(
            f"\n[catalogue] {task_id}: {len(wrong)} wrong ({named} named, {generic} generic, "
            f"{len(misnamed)} misnamed, {len(passed)} passed) {share:.0%} named; "
            f"{len(correct)} correct ({len(refused)} refused); {len(relational)} relational, "
            f"{len(getattr(module, 'EDGE', []))} edge, "
            f"{beyond_named}/{beyond} outside the spec's list named; seeds {SEEDS}"
        )
    assert not passed, "wrong variants that pass:\n" + "\n".join(passed)
    assert not misnamed, "misnamed:\n" + "\n".join(misnamed)
    assert not refused, "correct variants refused:\n" + "\n".join(refused)
    assert len(wrong) >= MIN_WRONG, (
        f"{task_id}: {len(wrong)} wrong variants, at least {MIN_WRONG} needed"
    )
    assert share >= MIN_NAMED, f"{task_id}: {share:.0%} named, at least {MIN_NAMED:.0%} needed"
    assert correct, f"{task_id}: no unusual correct variant"
    assert len(relational) >= MIN_RELATIONAL or task_id in FEWER_RELATIONAL, (
        f"{task_id}: {len(relational)} relational variants, at least {MIN_RELATIONAL} needed"
    )


# tasks allowed fewer than MIN_RELATIONAL relational variants (none: ngcf_8's triples and
# fm_9's step have learner-written ones in their catalogue modules' RELATIONAL lists)
FEWER_RELATIONAL: set[str] = set()


def test_named_beyond_the_catalogue(capsys: pytest.CaptureFixture) -> None:
    """Over every task run above: the share of wrong variants outside the spec's named
    misconceptions that still get a relational or near-miss name (issue 21: ≥ 60 %)."""
    if not BEYOND:
        pytest.skip("run with the catalogue tests")
    total = sum(b for b, _ in BEYOND.values())
    named = sum(n for _, n in BEYOND.values())
    share = named / max(total, 1)
    with capsys.disabled():
        print(
            f"\n[catalogue] overall: {named} of {total} variants outside the spec's "
            f"misconceptions named by a relation or near miss ({share:.0%})"
        )
    assert share >= MIN_BEYOND
