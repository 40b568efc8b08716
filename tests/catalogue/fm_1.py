"""Mistake catalogue of fm_1 (label_encode with per-field offsets)."""

import numpy as np
import torch

from tests.catalogue import Variant


def _encode(
    rows,
    *,
    offsets="exclusive",
    start=0,
    order="sorted",
    dims_as="count",
    one_vocab=False,
    dtype=torch.long,
):
    columns = list(zip(*rows))
    if one_vocab:
        shared = sorted({v for col in columns for v in col})
        vocabs = [{v: c for c, v in enumerate(shared)} for _ in columns]
        dims = [len(set(col)) for col in columns]
    else:
        keys = [
            sorted(set(col)) if order == "sorted" else list(dict.fromkeys(col)) for col in columns
        ]
        vocabs = [{v: c + start for c, v in enumerate(k)} for k in keys]
        dims = [len(k) if dims_as == "count" else len(k) - 1 for k in keys]
    if offsets == "exclusive":
        off = [sum(dims[:f]) for f in range(len(dims))]
    elif offsets == "inclusive":
        off = [sum(dims[: f + 1]) for f in range(len(dims))]
    else:
        off = [0] * len(dims)
    idx = torch.tensor(
        [[vocabs[f][v] + off[f] for f, v in enumerate(r)] for r in rows], dtype=dtype
    )
    return idx, dims


WRONG = [
    Variant("no offsets", lambda rows: _encode(rows, offsets="none"), "no offsets"),
    Variant(
        "offsets include the field itself",
        lambda rows: _encode(rows, offsets="inclusive"),
        "inclusive offsets",
    ),
    Variant(
        "one vocabulary for all fields",
        lambda rows: _encode(rows, one_vocab=True, offsets="none"),
        "one vocabulary",
    ),
    Variant("codes start at 1", lambda rows: _encode(rows, start=1), "codes from 1"),
    Variant("first-seen order", lambda rows: _encode(rows, order="seen"), "first-seen order"),
    Variant(
        "field_dims = largest code",
        lambda rows: _encode(rows, dims_as="max"),
        "field_dims = max code",
    ),
    Variant(
        "field_dims as a tensor",
        lambda rows: (_encode(rows)[0], torch.tensor(_encode(rows)[1])),
        "container",
    ),
    Variant("int32 indices", lambda rows: _encode(rows, dtype=torch.int32), "dtype"),
]


def numpy_unique(rows):
    arr = np.array(rows, dtype=object)
    codes, dims = [], []
    for f in range(arr.shape[1]):
        values, inverse = np.unique(arr[:, f].astype(str), return_inverse=True)
        codes.append(inverse + sum(dims))
        dims.append(len(values))
    return torch.from_numpy(np.stack(codes, axis=1).astype(np.int64)), dims


def tuple_of_numpy_ints(rows):
    idx, dims = _encode(rows)
    return idx, tuple(np.int64(d) for d in dims)


def offsets_tensor(rows):
    columns = list(zip(*rows))
    vocabs = [{v: i for i, v in enumerate(sorted(set(c)))} for c in columns]
    dims = [len(v) for v in vocabs]
    codes = torch.tensor([[vocabs[f][v] for f, v in enumerate(r)] for r in rows])
    offsets = torch.cumsum(torch.tensor([0] + dims[:-1]), dim=0)
    return codes + offsets, dims


CORRECT = [
    Variant("np.unique(return_inverse=True)", numpy_unique),
    Variant("field_dims as a tuple of numpy ints", tuple_of_numpy_ints),
    Variant("offsets by torch.cumsum", offsets_tensor),
]
