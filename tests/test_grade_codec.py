"""The grader's codec: plain values survive the trip to the worker and back,
and a file written by untrusted code is either decoded or refused (never unpickled)."""

from __future__ import annotations

import io
import json
import math
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_ref.course.sandbox import codec


def same(a, b) -> bool:
    """Equal value, type, dtype and layout (an independent structural comparison)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, torch.Tensor):
        if a.layout != b.layout or a.dtype != b.dtype or a.shape != b.shape:
            return False
        da, db = (a.to_dense(), b.to_dense()) if a.layout != torch.strided else (a, b)
        return bool(torch.equal(da, db)) or bool(
            torch.isnan(da).any() and torch.equal(da.nan_to_num(), db.nan_to_num())
        )
    if isinstance(a, np.ndarray) or isinstance(a, np.generic):
        return (
            a.dtype == b.dtype
            and np.shape(a) == np.shape(b)
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    if sp.issparse(a):
        return (
            a.format == b.format and a.dtype == b.dtype and a.shape == b.shape and (a != b).nnz == 0
        )
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def roundtrip(x):
    return codec.loads(codec.dumps(x))


@pytest.mark.parametrize(
    "dtype",
    [
        torch.float64,
        torch.float32,
        torch.float16,
        torch.bfloat16,
        torch.int64,
        torch.int32,
        torch.int8,
        torch.uint8,
        torch.bool,
        torch.complex64,
    ],
)
def test_dense_tensor_keeps_dtype(dtype):
    x = (torch.arange(12).reshape(3, 4) % 3).to(dtype)
    y = roundtrip(x)
    assert same(x, y)


def test_noncontiguous_and_grad_tensors():
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    y = roundtrip((x.T, x[::2]))
    assert same(y[0], x.detach().T.contiguous()) and same(y[1], x.detach()[::2].contiguous())
    assert not y[0].requires_grad


def test_sparse_tensors_keep_layout():
    g = torch.Generator().manual_seed(0)
    d = torch.randn(5, 6, generator=g, dtype=torch.float64) * (torch.rand(5, 6, generator=g) < 0.3)
    uncoalesced = torch.sparse_coo_tensor([[0, 0, 2], [1, 1, 3]], [1.0, 2.0, 3.0], (3, 4))
    for x in (
        d.to_sparse(),
        d.to_sparse_csr(),
        d.to_sparse_csc(),
        uncoalesced,
        torch.sparse_coo_tensor(torch.zeros(2, 0, dtype=torch.long), torch.zeros(0), (0, 5)),
    ):
        y = roundtrip(x)
        assert y.layout == x.layout and y.dtype == x.dtype and y.shape == x.shape
        assert torch.equal(y.to_dense(), x.to_dense())
    assert roundtrip(d.to_sparse()).is_coalesced()


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil", "dok", "dia", "bsr"])
def test_scipy_sparse_formats(fmt):
    m = sp.random(6, 5, density=0.4, format=fmt, random_state=np.random.default_rng(1))
    a = sp.csr_array(m).asformat(fmt)
    for x in (m, a):
        y = roundtrip(x)
        assert type(y) is type(x) and same(y, x)


def test_python_scalars_and_containers():
    x = {
        "none": None,
        "t": True,
        "i": -(2**70),
        "f": [0.1, -0.0, math.inf, -math.inf, math.nan],
        "s": "ŷ_ui = e_uᵀ e_i 그래프",
        3: (1, (2.5, [])),
        (1, "a"): {},
        None: False,
        "np": [np.float32(1.5), np.int64(7), np.bool_(True)],
        "arr": np.arange(6.0).reshape(2, 3),
    }
    y = roundtrip(x)
    assert same(x, y)
    assert math.copysign(1.0, y["f"][1]) == -1.0  # -0.0 kept exactly (float.hex)


def test_subclasses_travel_as_plain_values():
    import enum
    from collections import OrderedDict, namedtuple

    class Level(enum.IntEnum):
        HIGH = 3

    Pair = namedtuple("Pair", "a b")
    y = roundtrip(
        [
            Level.HIGH,
            Pair(1, 2.0),
            OrderedDict(k=torch.Size([2, 3])),
            torch.nn.Parameter(torch.ones(2, dtype=torch.float64)),
        ]
    )
    assert y[0] == 3 and type(y[0]) is int
    assert y[1] == (1, 2.0) and type(y[1]) is tuple
    assert y[2] == {"k": (2, 3)}
    assert type(y[3]) is torch.Tensor and y[3].dtype == torch.float64 and not y[3].requires_grad


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(0, 4), min_size=0, max_size=3),
    dtype=st.sampled_from(["float64", "float32", "int64", "bool"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_property_arrays_and_tensors(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    a = np.asarray(rng.standard_normal(shape) * 10).astype(dtype)
    t = torch.from_numpy(a.copy())
    y = roundtrip([a, t, {"k": (a, t)}])
    assert same(y, [a, t, {"k": (a, t)}])


@pytest.mark.parametrize(
    "bad, what",
    [
        (torch.nn.Linear(2, 2), "Linear"),
        (lambda x: x, "function"),
        (np.array([object()]), "dtype object"),
        ({"a": [1, {2, 3}]}, "set"),
        ({frozenset(): 1}, "key"),
        ((x for x in range(3)), "generator"),
    ],
)
def test_unsupported_values_are_named(bad, what):
    with pytest.raises(codec.CodecError, match=what):
        codec.dumps({"out": bad}, "the output")


def test_nesting_limit():
    x: list = []
    for _ in range(codec.MAX_DEPTH + 5):
        x = [x]
    with pytest.raises(codec.CodecError, match="nested"):
        codec.dumps(x)


# ---------------------------------------------------------------- hostile files


def npz_bytes(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, allow_pickle=True)
    return buf.getvalue()


def meta(structure) -> bytes:
    return npy(np.frombuffer(json.dumps(structure).encode(), dtype=np.uint8))


def test_pickled_object_array_is_refused():
    data = npz_bytes(
        {
            "__meta__.npy": meta({"t": "ndarray", "a": "a0"}),
            "a0.npy": npy(np.array([{"x": 1}], dtype=object)),
        }
    )
    with pytest.raises(codec.CodecError, match="object array"):
        codec.loads(data)


def test_lying_header_and_zip_bomb_are_refused():
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**9,)}
    )
    lying = npz_bytes(
        {
            "__meta__.npy": meta({"t": "ndarray", "a": "a0"}),
            "a0.npy": header.getvalue() + b"\0" * 64,
        }
    )
    with pytest.raises(codec.CodecError, match="declares more data"):
        codec.loads(lying)
    bomb = npz_bytes(
        {"__meta__.npy": meta({"t": "ndarray", "a": "a0"}), "a0.npy": npy(np.zeros(2**22))},
        zipfile.ZIP_DEFLATED,
    )
    assert len(bomb) < 2**16
    with pytest.raises(codec.CodecError, match="expand"):
        codec.loads(bomb, max_bytes=2**20)


@pytest.mark.parametrize(
    "structure",
    [
        {"t": "ndarray", "a": "missing"},
        {"t": "eval", "v": "__import__('os')"},
        {"t": "tensor", "a": "a0", "dtype": "Tensor"},
        {
            "t": "coo",
            "shape": [2, 2],
            "indices": {"a": "a1", "dtype": "int64"},
            "values": {"a": "a0", "dtype": "float64"},
        },
        [1, 2],
    ],
)
def test_malformed_structures_are_refused(structure):
    data = npz_bytes(
        {
            "__meta__.npy": meta(structure),
            "a0.npy": npy(np.ones(3)),
            "a1.npy": npy(np.array([[0, 5, 1], [0, 0, 9]])),
        }
    )
    with pytest.raises(codec.CodecError):
        codec.loads(data)


def test_not_an_npz_is_refused():
    for data in (b"", b"PK\x03\x04garbage", b"\x80\x04\x95pickle"):
        with pytest.raises(codec.CodecError):
            codec.loads(data)


def test_element_cap_counts_the_dense_size_of_sparse_values():
    huge = torch.sparse_coo_tensor([[0], [0]], [1.0], (10**6, 10**6))
    data = codec.dumps(huge)
    assert codec.loads(data).shape == (10**6, 10**6)
    with pytest.raises(codec.CodecError, match="too large"):
        codec.loads(data, max_elements=10**7)
