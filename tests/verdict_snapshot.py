"""Every catalogue variant's verdict message at seed 0, as stored in
``tests/data/verdict_messages_before.json`` (written by the code before the
verdict became data; ``tests/test_verdict.py`` compares the current code with it).

Run ``python -m tests.verdict_snapshot OUT.json`` to write a new snapshot.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from pathlib import Path

import tests.catalogue as catalogue
from recsys_ref.course import all_exercises, run_check
from recsys_ref.course.grading.grade import redact

SNAPSHOT = Path(__file__).parent / "data" / "verdict_messages_before.json"


def snapshot(seed: int = 0) -> dict[str, dict]:
    """``"task/wrong|correct/variant" -> {status, misconception, message, redacted}``."""
    out = {}
    exercises = all_exercises()
    folder = Path(catalogue.__file__).parent
    for m in sorted(x.name for x in pkgutil.iter_modules([str(folder)])):
        if m not in exercises:
            continue
        mod = importlib.import_module(f"tests.catalogue.{m}")
        for group, variants in (("wrong", mod.WRONG), ("correct", mod.CORRECT)):
            for v in variants:
                r = run_check(m, v.fn, seed=seed)
                out[f"{m}/{group}/{v.name}"] = {
                    "status": str(r.status),
                    "misconception": r.misconception,
                    "message": r.message,
                    "redacted": redact(r),
                }
    return out


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(
        json.dumps(snapshot(), indent=1, ensure_ascii=False, sort_keys=True) + "\n",
        encoding="utf-8",
    )
