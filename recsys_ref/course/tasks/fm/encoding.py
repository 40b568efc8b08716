"""FM tasks fm_1 (label encoding with per-field offsets) and fm_2 (the one-hot matrix from the codes).

Cases share strings across fields, so offsets missing make fields collide.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ....data.encoding import field_offsets, label_encode, one_hot
from ...engine.spec import Case, Exercise, Misconception
from .._generators import BATCH_OF_ONE, SMALLEST, UNUSED_LAST_INDEX, gen, global_idx
from . import NB20

# ---------------------------------------------------------------- fm_1 label encoding


def _rows_cases(seed: int) -> list[Case]:
    g = gen(seed)

    def rows(B: int, vocab: list[list[str]]) -> list[list[str]]:
        return [
            [v[int(torch.randint(0, len(v), (1,), generator=g))] for v in vocab] for _ in range(B)
        ]

    shared = ["1", "2", "3", "NA"]  # the same strings in several fields: offsets keep them apart
    first = rows(8, [shared, ["a", "b", "1"], shared[:2], ["mon", "tue", "wed"]])
    first[0] = ["1", "1", "1", "mon"]  # every field present with value "1" …
    first[1] = ["NA", "a", "2", "tue"]
    return [
        Case("8 rows, 4 fields sharing strings", (first,)),
        Case("one row", (rows(1, [shared, ["x", "y"]]),)),
        Case("one field", (rows(6, [shared]),)),
        Case("a field with a single value", (rows(5, [["only"], shared, ["a", "b", "c"]]),)),
        Case(
            "Criteo-like tokens",
            (
                rows(
                    12,
                    [
                        ["SP0", "SP1", "1", "5", "21", "NA"],
                        ["05db9164", "68fd1e64", "8cf07265"],
                        shared,
                    ],
                ),
            ),
        ),
    ]


def _label_encode_no_offsets(rows: list[list[str]]) -> tuple[Tensor, list[int]]:
    idx, dims = label_encode(rows)
    return idx - field_offsets(dims), dims


def _label_encode_inclusive(rows: list[list[str]]) -> tuple[Tensor, list[int]]:
    idx, dims = label_encode(rows)
    return idx + torch.as_tensor(dims), dims  # offset_f = Σ_{g≤f}: shifted by one field


def _label_encode_from_one(rows: list[list[str]]) -> tuple[Tensor, list[int]]:
    idx, dims = label_encode(rows)
    return idx + 1, dims  # codes 1..field_dims[f] (offsets still Σ_{g<f} field_dims[g])


def _label_encode_first_seen(rows: list[list[str]]) -> tuple[Tensor, list[int]]:
    columns = list(zip(*rows))
    vocabs = [{v: c for c, v in enumerate(dict.fromkeys(col))} for col in columns]
    dims = [len(v) for v in vocabs]
    codes = torch.tensor([[vocabs[f][v] for f, v in enumerate(r)] for r in rows], dtype=torch.long)
    return codes + field_offsets(dims), dims


def _label_encode_max_code(rows: list[list[str]]) -> tuple[Tensor, list[int]]:
    columns = list(zip(*rows))
    vocabs = [{v: c for c, v in enumerate(sorted(set(col)))} for col in columns]
    dims = [max(v.values()) for v in vocabs]  # the largest code, one short of the count
    codes = torch.tensor([[vocabs[f][v] for f, v in enumerate(r)] for r in rows], dtype=torch.long)
    return codes + field_offsets(dims), dims


def _label_encode_one_vocab(rows: list[list[str]]) -> tuple[Tensor, list[int]]:
    _, dims = label_encode(rows)
    vocab = {v: c for c, v in enumerate(sorted({v for r in rows for v in r}))}
    return torch.tensor([[vocab[v] for v in r] for r in rows], dtype=torch.long), dims


# ---------------------------------------------------------------- fm_2 one-hot


def _one_hot_cases(seed: int) -> list[Case]:
    g = gen(seed)
    return [
        Case("5 rows, fields of sizes 3, 4, 2", (global_idx(g, 5, [3, 4, 2]), 9)),
        Case("batch of one", (global_idx(g, 1, [6, 2, 5, 3]), 16)),
        Case("one field", (global_idx(g, 4, [5]), 5)),
        Case("wider than the indices used", (global_idx(g, 3, [2, 2]), 10)),
        Case("the last row alone in its columns", (torch.tensor([[0, 3], [1, 3], [2, 4]]), 6)),
    ]


def _one_hot_repeat(idx: Tensor, n_features: int) -> Tensor:
    B, n_fields = idx.shape
    rows = torch.arange(B).repeat(n_fields)  # 0 1 … B−1 0 1 …: not row-major
    return torch.sparse_coo_tensor(
        torch.stack([rows, idx.reshape(-1)]),
        torch.ones(B * n_fields, dtype=torch.float64),
        (B, n_features),
    ).coalesce()


def _one_hot_no_size(idx: Tensor, n_features: int) -> Tensor:
    B, n_fields = idx.shape
    rows = torch.arange(B).repeat_interleave(n_fields)
    return torch.sparse_coo_tensor(
        torch.stack([rows, idx.reshape(-1)]), torch.ones(B * n_fields, dtype=torch.float64)
    ).coalesce()  # shape inferred


def _one_hot_per_field(idx: Tensor, n_features: int) -> Tensor:
    return torch.nn.functional.one_hot(idx, n_features).double().to_sparse()  # (B, F, n)


def _one_hot_transposed(idx: Tensor, n_features: int) -> Tensor:
    return one_hot(idx, n_features).t().coalesce()  # (n, B)


EXERCISES = [
    Exercise(
        task_id="fm_1",
        title="label encoding with per-field offsets",
        notebook=NB20,
        func_name="label_encode",
        reference=label_encode,
        make_cases=_rows_cases,
        edges=((SMALLEST, "rows=1"),),
        outputs=("idx", "field_dims"),
        equation="label encoding: global index = offset_f + code, offset_f = Σ_{g<f} field_dims[g]",
        misconceptions=(
            Misconception(
                "no offsets",
                _label_encode_no_offsets,
                'offsets missing: every field\'s codes start at 0, so "1" in field 0 and '
                '"1" in field 1 collide on one index; add offset_f = Σ_{g<f} field_dims[g]',
            ),
            Misconception(
                "inclusive offsets",
                _label_encode_inclusive,
                "your offsets include the field's own size (Σ_{g≤f}); the first field must "
                "start at 0: offset_f = Σ_{g<f} field_dims[g]",
            ),
            Misconception(
                "codes from 1",
                _label_encode_from_one,
                "your codes start at 1; field f's codes are 0..field_dims[f]−1, so its first "
                "value is at offset_f itself (global indices 0..n−1)",
            ),
            Misconception(
                "first-seen order",
                _label_encode_first_seen,
                "you numbered each field's values in the order they first appear; the task "
                "sorts them (sorted(set(column))), so the codes do not depend on the row order",
            ),
            Misconception(
                "field_dims = max code",
                _label_encode_max_code,
                "field_dims[f] is the number of distinct values of field f (the largest code "
                "+ 1); you used the largest code, so fields overlap by one index",
            ),
            Misconception(
                "one vocabulary",
                _label_encode_one_vocab,
                "you used one vocabulary for all fields, so a string in two fields gets "
                "one index (fields collide); code each field on its own, then add offset_f",
            ),
        ),
    ),
    Exercise(
        task_id="fm_2",
        title="one-hot matrix from label codes",
        notebook=NB20,
        func_name="one_hot",
        reference=one_hot,
        make_cases=_one_hot_cases,
        edges=(
            (UNUSED_LAST_INDEX, "idx", "n_features"),
            (BATCH_OF_ONE, "idx:0"),
            (SMALLEST, "idx:1=1"),
        ),
        equation="x_b = Σ_f e_{idx[b, f]} (one 1 per field), x ∈ R^{B×n}",
        misconceptions=(
            Misconception(
                "repeat",
                _one_hot_repeat,
                "the row indices come out as 0, 1, …, B−1, 0, 1, …: that is .repeat(F); row b "
                "holds idx[b, :], so the rows are torch.arange(B).repeat_interleave(F)",
            ),
            Misconception(
                "no size",
                _one_hot_no_size,
                "you let torch infer the shape from the indices; x is (B, n_features) even "
                "when the last features are unused: pass size=(B, n_features)",
            ),
            Misconception(
                "per field",
                _one_hot_per_field,
                "you returned one one-hot vector per field (B, F, n); FM's x has one row "
                "per example with F ones: x_b = Σ_f e_{idx[b, f]}, shape (B, n)",
            ),
            Misconception(
                "transposed",
                _one_hot_transposed,
                "you returned (n, B); rows are examples: x has shape (B, n)",
            ),
        ),
    ),
]
