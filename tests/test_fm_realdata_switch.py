"""Notebook 22's optional real-data switch: runs on a small Criteo file written here, skips without one.

The cell runs in a namespace holding only what earlier cells of the notebook define, so a name the cell
uses without importing it (``Path`` once) fails here, not in a learner's run with ``REAL_DATA`` set.
"""

from __future__ import annotations

import random
from pathlib import Path

import nbformat
import torch

from recsys_ref.ffm import FFM
from recsys_ref.fm import FM
from recsys_ref.lr import LogisticRegression
from recsys_ref.train_ctr import train_ctr

ROOT = Path(__file__).resolve().parents[1]


def _cell() -> str:
    nb = nbformat.read(ROOT / "solutions" / "22_fm_ffm_generalisation.ipynb", as_version=4)
    return next(
        c.source for c in nb.cells if c.cell_type == "code" and "REAL_DATA is None" in c.source
    )


def _namespace(path) -> dict:
    # only what the notebook's earlier cells define: the cell imports the rest itself
    return dict(
        torch=torch,
        FFM=FFM,
        FM=FM,
        LogisticRegression=LogisticRegression,
        train_ctr=train_ctr,
        REAL_DATA=path,
        REAL_ROWS=400,
        MIN_COUNT=2,
        K_FM=4,
        K_FFM=2,
        SEED=0,
        EPOCHS=1,
        BATCH=128,
        LR=0.05,
    )


def test_real_data_switch_trains_three_models_on_a_criteo_file(tmp_path, capsys):
    rng = random.Random(0)
    lines = []
    for _ in range(500):  # Kaggle train.txt layout: label, I1..I13, C1..C26, tab separated
        ints = [str(rng.randint(0, 40)) if rng.random() > 0.2 else "" for _ in range(13)]
        cats = [f"{rng.randint(0, 20):08x}" for _ in range(26)]
        lines.append("\t".join(["1" if rng.random() < 0.25 else "0", *ints, *cats]))
    path = tmp_path / "train.txt"
    path.write_text("\n".join(lines) + "\n")
    exec(_cell(), _namespace(str(path)))
    out = capsys.readouterr().out
    assert "400 rows" in out and "39 fields" in out
    assert all(f"{m} " in out and "validation logloss" in out for m in ("LR", "FM", "FFM"))


def test_real_data_switch_skips_without_a_file(tmp_path, capsys):
    for path in (None, str(tmp_path / "absent.txt")):
        exec(_cell(), _namespace(path))
        assert "skipped" in capsys.readouterr().out
