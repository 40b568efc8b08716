"""bench_realdata's data path on files the test writes: u.data, an .inter file and a wheel-shaped
zip give the same interactions; one short run per model and setting goes through."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
bench = pytest.importorskip("bench_realdata")

ROWS = [
    (u, i, 1 + (u * 7 + i * 3) % 5) for u in range(1, 31) for i in range(1, 41) if (u + i) % 3 == 0
]
U_DATA = "".join(f"{u}\t{i}\t{r}\t8812509{n:02d}\n" for n, (u, i, r) in enumerate(ROWS))
INTER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n" + U_DATA


def test_three_sources_give_the_same_ratings(tmp_path: Path) -> None:
    (tmp_path / "u.data").write_text(U_DATA)
    (tmp_path / "ml-100k.inter").write_text(INTER)
    wheel = tmp_path / "recbole-0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(bench.WHEEL_INTER, INTER)
    a = bench.read_ml100k_any(tmp_path)  # the folder holding u.data
    b = bench.read_ml100k_any(tmp_path / "ml-100k.inter")
    c = bench.read_ml100k_any(wheel)
    expected = np.array([(u - 1, i - 1, r) for u, i, r in ROWS])
    assert (a == expected).all() and (b == expected).all() and (c == expected).all()


@pytest.mark.parametrize("model", ["MF-BPR", "NGCF", "NGCF-norm", "NGCF-official", "LightGCN"])
@pytest.mark.parametrize("setting", ["course", "library"])
def test_one_short_run(model: str, setting: str) -> None:
    ratings = np.array([(u - 1, i - 1, 5) for u, i, _ in ROWS])
    data = bench.implicit_from_ratings(ratings, "toy")
    assert data.train.nnz + data.val.nnz + data.test.nnz == len(ROWS)
    r = bench.run_one(model, setting, data, 0, dict(epochs=2, eval_every=1, patience=None))
    assert 0.0 <= r["recall"] <= 1.0 and r["epochs"] == 2 and r["best_epoch"] in (1, 2)
