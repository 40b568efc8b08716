"""From a loaded CTR table to training: the split, the encoder fitted on train only, numpy labels,
and a validation split with one class (AUC undefined, said once, training goes on)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from recsys_ref.ctr_metrics import UndefinedAUCWarning, auc
from recsys_ref.data.avazu import AVAZU_COLUMNS, read_avazu
from recsys_ref.data.criteo import CTRTable
from recsys_ref.data.prepare import prepare_ctr, split_rows
from recsys_ref.fm import FM
from recsys_ref.train_ctr import train_ctr


def avazu_file(tmp_path: Path, hours: list[str], clicks: list[int], sites: list[str]) -> Path:
    lines = [",".join(AVAZU_COLUMNS)]
    for n, (h, c, s) in enumerate(zip(hours, clicks, sites)):
        lines.append(",".join([str(n), str(c), h, "1005", "0", s, *[f"v{k}" for k in range(18)]]))
    path = tmp_path / "train.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_time_split_holds_out_the_latest_rows(tmp_path: Path) -> None:
    hours = [
        "14102105",
        "14102101",
        "14102203",
        "14102100",
        "14102300",
        "14102102",
        "14102210",
        "14102104",
        "14102201",
        "14102103",
    ]
    table = read_avazu(avazu_file(tmp_path, hours, [0, 1] * 5, [f"s{n}" for n in range(10)]))
    d = prepare_ctr(table, split="time", val_frac=0.3)
    assert sorted(np.asarray(hours)[d.val_rows].tolist()) == ["14102203", "14102210", "14102300"]
    assert min(int(h) for h in np.asarray(hours)[d.val_rows]) > max(
        int(h) for h in np.asarray(hours)[d.train_rows]
    )
    assert d.train[1].tolist() == table.y[d.train_rows].astype(float).tolist()


def test_random_split_fits_the_encoder_on_train_only() -> None:
    rows = [[f"a{n % 3}", f"only{n}"] for n in range(20)]
    table = CTRTable(np.array([n % 2 for n in range(20)], np.int8), rows, ["f", "g"])
    d = prepare_ctr(table, split="random", val_frac=0.25, seed=3)
    assert len(d.train_rows) == 15 and len(d.val_rows) == 5
    assert set(d.train_rows) | set(d.val_rows) == set(range(20)) and not set(d.train_rows) & set(
        d.val_rows
    )
    g_offset = d.field_dims[0]
    assert (d.val[0][:, 1] == g_offset).all()  # each val token of g is unseen in train → code 0
    assert d.encoder.field_dims == [4, 16]  # code 0 + 3 values; code 0 + the 15 training tokens
    again = prepare_ctr(table, split="random", val_frac=0.25, seed=3)
    assert (again.val_rows == d.val_rows).all()


def test_split_errors() -> None:
    with pytest.raises(ValueError, match="split must be one of"):
        split_rows(10, "chronological")
    with pytest.raises(ValueError, match="needs the rows' times"):
        split_rows(10, "time")
    with pytest.raises(ValueError, match="one part would be empty"):
        split_rows(2, "random", 0.1)


def _data(n: int = 400, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, 10, (n, 3), generator=g) + torch.tensor([0, 10, 20])
    y = (torch.rand(n, generator=g) < 0.3).float()
    return idx, y


def test_numpy_labels_train_like_torch_labels() -> None:
    idx, y = _data()
    runs = []
    for pair in ((idx, y), (idx.numpy(), y.numpy().astype(np.int64))):
        torch.manual_seed(0)
        runs.append(train_ctr(FM(30, k=2), pair, (idx[:50], y[:50]), epochs=2, progress=False).rows)
    assert runs[0] == runs[1]


def test_one_class_validation_gives_undefined_auc_once_and_training_goes_on() -> None:
    idx, y = _data()
    val = (idx[:40], torch.zeros(40))  # no click at all in the validation split
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = train_ctr(FM(30, k=2), (idx, y), val, epochs=3, progress=False)
    assert len(h["val_auc"]) == 3 and all(math.isnan(a) for a in h["val_auc"])
    assert all(math.isfinite(v) for v in h["val_logloss"]) and h.best_epoch is not None
    undefined = [w for w in caught if issubclass(w.category, UndefinedAUCWarning)]
    assert len(undefined) == 1 and "40 labels, all non-clicks" in str(undefined[0].message)


def test_auc_one_class_modes() -> None:
    with pytest.raises(ValueError, match="all clicks"):
        auc([1, 1], [0.2, 0.3])
    with pytest.warns(UndefinedAUCWarning, match="undefined"):
        assert math.isnan(auc([0, 0], [0.2, 0.3], one_class="nan"))
    assert auc([0, 1], [0.2, 0.3], one_class="nan") == 1.0


def test_an_empty_training_set_is_refused() -> None:
    with pytest.raises(ValueError, match="hold no row"):
        train_ctr(
            FM(30, k=2),
            (torch.zeros(0, 3, dtype=torch.long), torch.zeros(0)),
            epochs=1,
            progress=False,
        )
