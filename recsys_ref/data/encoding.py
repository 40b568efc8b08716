"""Encoding CTR logs for FM/FFM: tokens → per-field codes → global indices → one-hot rows.

- Integer features (Criteo I1..I13): ⌊ln(v)²⌋ for v > 2, else the value itself as
  a token ("SP1"), missing as its own token "NA" (the Criteo winners' rule).
- Label encoding with per-field offsets: field f's code c becomes the global
  index offset_f + c, offset_f = Σ_{g<f} field_dims[g], so two fields never
  share an index (without offsets "1" in field 0 and "1" in field 3 collide).
- Rare values (seen fewer than ``min_count`` times when fitting) and values
  unseen at fit time go to one shared index per field: code 0.
- One-hot: row b of x (B, n) has a 1 at each of its F global indices, so
  x V = Σ_f V[idx_f] — an embedding lookup (FM paper's x, V).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from .._checks import expect_tensor

MISSING = "NA"
RARE = 0  # the per-field code shared by rare and unseen values


def discretize_int(value: str) -> str:
    """The token of one integer feature: "NA" if empty, "SP<v>" for v ≤ 2, else str(⌊ln(v)²⌋).

    Accepts "260", "260.0" and "-1"; raises ``ValueError`` for anything that is not a number.
    """
    value = value.strip()
    if value == "":
        return MISSING
    try:
        v = float(value)
    except ValueError:
        raise ValueError(f"integer feature {value!r} is not a number") from None
    if not math.isfinite(v):
        raise ValueError(f"integer feature {value!r} is not a finite number")
    if v > 2:
        return str(int(math.floor(math.log(v) ** 2)))
    return f"SP{int(v)}" if v == int(v) else f"SP{v:g}"


def field_offsets(field_dims: Sequence[int]) -> Tensor:
    """offset_f = Σ_{g<f} field_dims[g]: (F,) long."""
    dims = torch.as_tensor(list(field_dims), dtype=torch.long)  # (F,)
    return torch.cumsum(dims, 0) - dims  # (F,)  exclusive prefix sum


def add_offsets(codes: Tensor, field_dims: Sequence[int]) -> Tensor:
    """Per-field codes (B, F), code < field_dims[f] → global indices (B, F)."""
    expect_tensor("codes", codes, ndim=2, integer=True)
    if codes.shape[1] != len(field_dims):
        raise ValueError(f"codes has {codes.shape[1]} fields but field_dims has {len(field_dims)}")
    dims = torch.as_tensor(list(field_dims), dtype=torch.long)
    if codes.numel() and ((codes < 0).any() or (codes >= dims).any()):
        raise ValueError("every code must satisfy 0 ≤ code < field_dims[field]")
    return codes.long() + field_offsets(field_dims)  # (B, F)


def label_encode(rows: list[list[str]]) -> tuple[Tensor, list[int]]:
    """Label-encode B rows of F string values with per-field offsets.

    Field f's distinct values, sorted, get codes 0..field_dims[f]−1; the global
    index adds offset_f.  Returns (idx (B, F) long, field_dims).
    """
    if not rows:
        raise ValueError("rows must hold at least one row of values")
    n_fields = len(rows[0])
    for i, r in enumerate(rows):
        if len(r) != n_fields:
            raise ValueError(f"row {i} has {len(r)} values, row 0 has {n_fields}")
    columns = list(zip(*rows))
    vocabs = [{v: c for c, v in enumerate(sorted(set(col)))} for col in columns]
    field_dims = [len(v) for v in vocabs]
    codes = torch.tensor([[vocabs[f][v] for f, v in enumerate(r)] for r in rows], dtype=torch.long)
    return codes + field_offsets(field_dims), field_dims  # (B, F)


def one_hot(idx: Tensor, n_features: int) -> Tensor:
    """The one-hot matrix x (B, n) of global indices idx (B, F): sparse COO, float64, F ones a row."""
    expect_tensor("idx", idx, ndim=2, integer=True)
    B, n_fields = idx.shape
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= n_features):
        raise ValueError(
            f"idx must lie in [0, {n_features}), got [{int(idx.min())}, {int(idx.max())}]"
        )
    rows = torch.arange(B).repeat_interleave(n_fields)  # (B·F,)
    values = torch.ones(B * n_fields, dtype=torch.float64)  # (B·F,)
    x = torch.sparse_coo_tensor(
        torch.stack([rows, idx.reshape(-1)]), values, (B, n_features), check_invariants=True
    )
    return x.coalesce()  # (B, n)


class FieldEncoder:
    """Token → global index, fitted on training rows, saved as JSON, applied to new rows.

    Per field: tokens seen ≥ ``min_count`` times get codes 1, 2, … (most
    frequent first, ties by token); code 0 is shared by rare and unseen tokens.
    """

    def __init__(self, fields: Sequence[str], min_count: int = 1):
        if min_count < 1:
            raise ValueError(f"min_count must be ≥ 1, got {min_count}")
        self.fields = list(fields)
        self.min_count = min_count
        self.vocab: list[dict[str, int]] | None = None

    def _check_rows(self, rows: Sequence[Sequence[str]]) -> None:
        for i, r in enumerate(rows):
            if len(r) != len(self.fields):
                raise ValueError(
                    f"row {i} has {len(r)} values; the encoder has {len(self.fields)} "
                    f"fields ({', '.join(self.fields[:4])}, …)"
                )

    def fit(self, rows: Sequence[Sequence[str]]) -> FieldEncoder:
        """Count tokens per field and keep those seen at least ``min_count`` times."""
        self._check_rows(rows)
        counts: list[Counter[str]] = [Counter() for _ in self.fields]
        for r in rows:
            for f, tok in enumerate(r):
                counts[f][tok] += 1
        self.vocab = []
        for c in counts:
            kept = sorted(
                (t for t, m in c.items() if m >= self.min_count), key=lambda t: (-c[t], t)
            )
            self.vocab.append({t: code for code, t in enumerate(kept, start=1)})
        return self

    def _fitted(self) -> list[dict[str, int]]:
        if self.vocab is None:
            raise RuntimeError(
                "the encoder is not fitted: call fit(rows) or FieldEncoder.load(path)"
            )
        return self.vocab

    @property
    def field_dims(self) -> list[int]:
        """Codes per field, the shared rare/unseen code 0 included."""
        return [len(v) + 1 for v in self._fitted()]

    @property
    def n_features(self) -> int:
        return sum(self.field_dims)

    def codes(self, rows: Sequence[Sequence[str]]) -> Tensor:
        """Per-field codes (B, F) long; rare and unseen tokens → 0."""
        vocab = self._fitted()
        self._check_rows(rows)
        return torch.tensor(
            [[vocab[f].get(t, RARE) for f, t in enumerate(r)] for r in rows], dtype=torch.long
        ).reshape(len(rows), len(self.fields))

    def transform(self, rows: Sequence[Sequence[str]]) -> Tensor:
        """Global indices (B, F) long: code + the field's offset."""
        return self.codes(rows) + field_offsets(self.field_dims)  # (B, F)

    def fit_transform(self, rows: Sequence[Sequence[str]]) -> Tensor:
        return self.fit(rows).transform(rows)

    def save(self, path: str | Path) -> None:
        """Write the fitted encoder as JSON (readable, no pickle)."""
        data = {
            "format": "recsys_ref.FieldEncoder/1",
            "fields": self.fields,
            "min_count": self.min_count,
            "vocab": self._fitted(),
        }
        Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> FieldEncoder:
        """Read an encoder written by ``save``."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != "recsys_ref.FieldEncoder/1":
            raise ValueError(f"{path}: not a FieldEncoder file (written by FieldEncoder.save)")
        enc = cls(data["fields"], data["min_count"])
        enc.vocab = [{str(t): int(c) for t, c in v.items()} for v in data["vocab"]]
        return enc
