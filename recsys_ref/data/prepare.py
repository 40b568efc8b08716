"""From a loaded CTR table to training without glue: split, fit the encoder on train, encode.

    table = read_avazu("train.gz", max_rows=200_000)
    data = prepare_ctr(table, split="time", val_frac=0.2, min_count=5)
    history = train_ctr(FFM(data.n_features, data.n_fields), data.train, data.val)

The encoder (``encoding.FieldEncoder``) is fitted on the training rows only, so validation
tokens never seen in training land on their field's shared code 0, as at serving time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .criteo import CTRTable
from .encoding import FieldEncoder

SPLITS = ("random", "time")


@dataclass
class PreparedCTR:
    """``train``/``val``: (idx (N, F) long global indices, y (N,) float32), ready for ``train_ctr``;
    ``encoder`` fitted on the training rows; ``train_rows``/``val_rows``: the table rows used."""

    train: tuple[Tensor, Tensor]
    val: tuple[Tensor, Tensor]
    encoder: FieldEncoder
    train_rows: np.ndarray
    val_rows: np.ndarray

    @property
    def field_dims(self) -> list[int]:
        return self.encoder.field_dims

    @property
    def n_features(self) -> int:
        return int(sum(self.encoder.field_dims))

    @property
    def n_fields(self) -> int:
        return len(self.encoder.fields)


def split_rows(
    n: int,
    split: str = "random",
    val_frac: float = 0.2,
    seed: int = 0,
    time: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers (train, val): a seeded random split, or by time (the last ``val_frac`` of the
    rows in time order are the validation part; ties keep file order)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if not 0.0 < val_frac < 1.0:
        raise ValueError(f"val_frac must be in (0, 1), got {val_frac}")
    n_val = int(round(val_frac * n))
    if n_val == 0 or n_val == n:
        raise ValueError(
            f"{n} rows cannot be split {1 - val_frac:.0%}/{val_frac:.0%}: one part would be empty"
        )
    if split == "random":
        order = np.random.default_rng(seed).permutation(n)
    else:
        if time is None:
            raise ValueError("split='time' needs the rows' times (the table has none)")
        order = np.argsort(time, kind="stable")
    return np.sort(order[: n - n_val]), np.sort(order[n - n_val :])


def prepare_ctr(
    table: CTRTable, split: str = "random", val_frac: float = 0.2, seed: int = 0, min_count: int = 1
) -> PreparedCTR:
    """Split ``table`` (random or time-ordered), fit a ``FieldEncoder`` on the training rows
    (tokens seen < ``min_count`` times share code 0), encode both parts."""
    if not len(table):
        raise ValueError("the table holds no row")
    tr, va = split_rows(len(table), split, val_frac, seed, table.time)
    enc = FieldEncoder(table.fields, min_count=min_count).fit([table.rows[i] for i in tr])
    y = torch.from_numpy(np.asarray(table.y, dtype=np.float32))

    def part(rows: np.ndarray) -> tuple[Tensor, Tensor]:
        return enc.transform([table.rows[i] for i in rows]), y[torch.from_numpy(rows)]

    return PreparedCTR(part(tr), part(va), enc, tr, va)
