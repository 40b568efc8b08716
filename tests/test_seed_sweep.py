"""Seed sweep (slow; run with ``RECSYS_SWEEP=1``): no wrong variant of the catalogue
passes, and no correct one is refused, on any of ``RECSYS_SWEEP_SEEDS`` seeds (200
by default, from ``RECSYS_SWEEP_START``, 0 by default).

The catalogue test runs three seeds per variant; a wrong variant that agrees with
the reference on most draws (one that ignores the optimiser, a clip bound that no
case reaches) passes there only by luck, so the release sweep draws many more.
About 2 s per variant and seed on one core: run it per task, ``-k fm_4``.
"""

from __future__ import annotations

import importlib
import os

import pytest

from recsys_ref.course import run_check
from tests.catalogue._relational import variants as relational_variants
from tests.test_catalogue import MODULES, TASKS

SEEDS = range(
    int(os.environ.get("RECSYS_SWEEP_START", "0")),
    int(os.environ.get("RECSYS_SWEEP_START", "0"))
    + int(os.environ.get("RECSYS_SWEEP_SEEDS", "200")),
)
pytestmark = pytest.mark.skipif(
    not os.environ.get("RECSYS_SWEEP"), reason="the seed sweep is slow: set RECSYS_SWEEP=1"
)


@pytest.mark.timeout(0)  # 200 seeds of one task: 1-12 min on one core, more under load
@pytest.mark.parametrize("task_id", [m for m in MODULES if m in TASKS])
def test_seed_sweep(task_id: str, capsys: pytest.CaptureFixture) -> None:
    module = importlib.import_module(f"tests.catalogue.{task_id}")
    wrong = [
        *module.WRONG,
        *getattr(module, "RELATIONAL", []),
        *getattr(module, "EDGE", []),
        *relational_variants(TASKS[task_id]),
    ]
    passed, refused = [], []
    for seed in SEEDS:
        for v in wrong:
            r = run_check(task_id, v.fn, seed=seed)
            if r.passed:
                passed.append(f"{v.name} (seed {seed})")
        for v in module.CORRECT:
            r = run_check(task_id, v.fn, seed=seed)
            if not r.passed:
                refused.append(f"{v.name} (seed {seed}): {r.message}")
    with capsys.disabled():
        print(
            f"\n[sweep] {task_id}: {len(wrong)} wrong, {len(module.CORRECT)} correct variants on "
            f"seeds {SEEDS.start}..{SEEDS.stop - 1}: {len(passed)} wrong passed, "
            f"{len(refused)} correct refused"
        )
    assert not passed, "wrong variants that pass:\n" + "\n".join(passed)
    assert not refused, "correct variants refused:\n" + "\n".join(refused)
