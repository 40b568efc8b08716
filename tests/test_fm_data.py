"""CTR loaders and encoders on files the tests write in each real format, checked by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from recsys_ref.data.avazu import AVAZU_COLUMNS, read_avazu
from recsys_ref.data.criteo import BadRowError, read_criteo
from recsys_ref.data.ctr import collapse_rare, make_ctr
from recsys_ref.data.encoding import (
    FieldEncoder,
    add_offsets,
    discretize_int,
    field_offsets,
    label_encode,
    one_hot,
)

SAMPLES = next(
    (
        p / "shared" / "data" / "samples"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "data" / "samples").is_dir()
    ),
    Path("shared/data/samples"),
)  # beside a checkout

# 10 rows: I1 varies, I2..I13 missing, C1 varies, C2..C26 constant "x".
I1 = ["0", "1", "3", "3", "10", "10", "10", "", "", "100"]
C1 = ["a", "a", "a", "b", "b", "c", "d", "a", "b", "e"]
LABELS = [0, 0, 1, 0, 0, 0, 0, 1, 0, 0]


def _criteo_rows(as_float: bool) -> list[list[str]]:
    rows = []
    for y, i1, c1 in zip(LABELS, I1, C1):
        i1 = f"{float(i1):.1f}" if (as_float and i1) else i1
        rows.append([str(y), i1] + [""] * 12 + [c1] + ["x"] * 25)
    return rows


def write_criteo_tab(path: Path) -> Path:
    path.write_text("".join("\t".join(r) + "\n" for r in _criteo_rows(False)))
    return path


def write_criteo_csv(path: Path) -> Path:
    header = ",".join(["label"] + [f"I{i}" for i in range(1, 14)] + [f"C{i}" for i in range(1, 27)])
    path.write_text(header + "\n" + "".join(",".join(r) + "\n" for r in _criteo_rows(True)))
    return path


def test_discretize_int_rule():
    assert discretize_int("") == "NA"
    assert [discretize_int(v) for v in ["-1", "0", "1", "2", "2.0"]] == [
        "SP-1",
        "SP0",
        "SP1",
        "SP2",
        "SP2",
    ]
    for v in [3, 10, 100, 260, 17668]:  # ⌊ln(v)²⌋, computed here independently
        assert discretize_int(str(v)) == str(int(math.log(v) ** 2))
        assert discretize_int(f"{v}.0") == str(int(math.log(v) ** 2))
    assert (
        discretize_int("3") == "1" and discretize_int("10") == "5" and discretize_int("100") == "21"
    )
    with pytest.raises(ValueError, match="not a number"):
        discretize_int("abc")


@pytest.mark.parametrize("writer", [write_criteo_tab, write_criteo_csv])
def test_criteo_ten_rows_offsets_and_rare_values_by_hand(tmp_path, writer):
    table = read_criteo(writer(tmp_path / "criteo.txt"))
    assert table.y.tolist() == LABELS and len(table) == 10 and table.skipped == 0
    assert [r[0] for r in table.rows] == ["SP0", "SP1", "1", "1", "5", "5", "5", "NA", "NA", "21"]
    enc = FieldEncoder(table.fields, min_count=2).fit(table.rows)
    # I1 kept: "5" (3×), then "1" and "NA" (2× each, by token); SP0, SP1, 21 are rare → code 0
    assert enc.field_dims == [4] + [2] * 12 + [3] + [2] * 25
    idx = enc.transform(table.rows)
    assert idx[:, 0].tolist() == [0, 0, 2, 2, 1, 1, 1, 3, 3, 0]
    assert idx[:, 1].tolist() == [5] * 10  # I2 starts at offset 4; "NA" is its code 1
    assert idx[:, 12].tolist() == [4 + 2 * 11 + 1] * 10  # I13 at offset 26
    # C1 at offset 28: a → 1, b → 2, the rest (seen once) → the shared code 0
    assert idx[:, 13].tolist() == [29, 29, 29, 30, 30, 28, 28, 29, 30, 28]
    assert idx[:, 14].tolist() == [32] * 10
    assert enc.n_features == 4 + 24 + 3 + 50


def test_criteo_tab_and_csv_give_the_same_tokens(tmp_path):
    a = read_criteo(write_criteo_tab(tmp_path / "a.txt"))
    b = read_criteo(write_criteo_csv(tmp_path / "b.csv"))
    assert a.rows == b.rows and a.y.tolist() == b.y.tolist()


def test_criteo_bad_rows_name_file_and_line(tmp_path):
    rows = _criteo_rows(False)
    rows[2] = rows[2][:-1]  # line 3: 39 fields
    rows[4][2] = "abc"  # line 5: I2 not a number
    path = tmp_path / "bad.txt"
    path.write_text("".join("\t".join(r) + "\n" for r in rows))
    with pytest.raises(BadRowError, match=r"bad\.txt, line 3: expected 40"):
        read_criteo(path)
    table = read_criteo(path, skip_bad=True)
    assert table.skipped == 2 and len(table) == 8
    assert "line 5: I2" in table.problems[1] and "'abc'" in table.problems[1]


def test_avazu_format(tmp_path):
    header = ",".join(AVAZU_COLUMNS)
    base = [
        "1000009418151094273",
        "0",
        "14102100",
        "1005",
        "0",
        "1fbe01fe",
        "f3845767",
        "28905ebd",
        "ecad2386",
        "7801e8d9",
        "07d7df22",
        "a99f214a",
        "ddd2926e",
        "44956a24",
        "1",
        "2",
        "15706",
        "320",
        "50",
        "1722",
        "0",
        "35",
        "-1",
        "79",
    ]
    second = base.copy()
    second[1], second[2], second[5] = "1", "14102513", "85f751fd"
    path = tmp_path / "avazu.csv"
    path.write_text(header + "\n" + ",".join(base) + "\n" + ",".join(second) + "\n")
    t = read_avazu(path)
    assert t.y.tolist() == [0, 1]
    # 2014-10-21 was a Tuesday, 2014-10-25 a Saturday
    assert t.rows[0][:3] == ["00", "Tue", "1005"] and t.rows[1][:2] == ["13", "Sat"]
    assert (
        t.rows[1][t.fields.index("site_id")] == "85f751fd" and len(t.rows[0]) == len(t.fields) == 23
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(header + "\n" + ",".join(base) + "\n" + ",".join(base[:-2]) + "\n")
    with pytest.raises(BadRowError, match=r"bad\.csv, line 3: expected 24"):
        read_avazu(bad)
    assert read_avazu(bad, skip_bad=True).skipped == 1


def test_encoder_save_load_round_trip_with_unseen_values(tmp_path):
    rows = [["a", "x"], ["a", "y"], ["b", "x"], ["a", "x"]]
    enc = FieldEncoder(["f", "g"], min_count=2).fit(rows)
    enc.save(tmp_path / "enc.json")
    assert "vocab" in (tmp_path / "enc.json").read_text()
    back = FieldEncoder.load(tmp_path / "enc.json")
    new = [["a", "x"], ["zzz", "x"], ["b", "never"]]
    assert back.transform(new).tolist() == enc.transform(new).tolist()
    # f: a → 1, rare b and unseen zzz → 0;  g (offset 2): x → 1, rare y / unseen → 0
    assert back.transform(new).tolist() == [[1, 3], [0, 3], [0, 2]]
    with pytest.raises(ValueError, match="2 fields"):
        back.transform([["a"]])


def test_label_encode_offsets_and_one_hot():
    rows = [["1", "1"], ["2", "1"], ["1", "3"]]
    idx, dims = label_encode(rows)
    # without offsets "1" of both fields would be index 0: with them field 1 starts at 2
    assert dims == [2, 2] and idx.tolist() == [[0, 2], [1, 2], [0, 3]]
    assert field_offsets([3, 1, 4]).tolist() == [0, 3, 4]
    assert add_offsets(torch.tensor([[2, 0, 3]]), [3, 1, 4]).tolist() == [[2, 3, 7]]
    x = one_hot(idx, 4)
    assert x.is_sparse and x.to_dense().tolist() == [[1, 0, 1, 0], [0, 1, 1, 0], [1, 0, 0, 1]]
    V = torch.randn(4, 3, dtype=torch.float64)
    assert torch.allclose(x.to_dense() @ V, V[idx].sum(1))  # x V == the embedding lookup, summed


def test_synthetic_ctr_is_seeded_and_realistic():
    a, b = make_ctr(20_000, seed=3), make_ctr(20_000, seed=3)
    assert torch.equal(a.idx, b.idx) and torch.equal(a.y, b.y)
    assert 0.03 <= a.y.mean().item() <= 0.25
    assert abs(a.y.mean().item() - a.p_true.mean().item()) < 0.01
    assert max(a.field_dims) >= 10_000
    offsets = field_offsets(a.field_dims)
    codes = a.idx - offsets
    assert (codes >= 0).all() and (codes < torch.tensor(a.field_dims)).all()
    site = torch.bincount(codes[:, 0])
    assert (site == 1).sum() > 1000  # long tail: many site ids seen once
    tr, va = a.split(0.25, seed=0)
    assert len(tr) == 15_000 and len(va) == 5_000
    tr2, va2 = collapse_rare(tr, va, min_count=5)
    counts = torch.bincount(tr2.idx.reshape(-1), minlength=a.n_features)
    kept = counts > 0
    shared = torch.isin(torch.arange(a.n_features), offsets)
    assert (counts[kept & ~shared] >= 5).all()  # only the shared index holds rare values
    assert set(va2.idx.reshape(-1).tolist()) <= set(tr2.idx.reshape(-1).tolist()) | set(
        offsets.tolist()
    )


def test_real_samples_parse():
    crit, ava = SAMPLES / "criteo_sample.txt", SAMPLES / "avazu_sample.txt"
    if not (crit.exists() and ava.exists()):
        pytest.skip(f"real samples not found under {SAMPLES}")
    c = read_criteo(crit)
    assert len(c) == 200 and c.skipped == 0 and 0 < c.positive_rate < 0.5
    a = read_avazu(ava)
    assert len(a) == 100 and a.skipped == 0
    idx = FieldEncoder(c.fields, min_count=2).fit_transform(c.rows)
    assert idx.shape == (200, 39) and np.unique(idx.numpy()).size > 39
