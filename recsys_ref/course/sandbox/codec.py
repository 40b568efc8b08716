"""Plain values to and from an ``.npz`` file, with no pickle anywhere.

The grader ships a task's inputs to the learner's process and gets the
outputs back through this codec (docs/design.md §6).  A value is split into a JSON
structure (the tree of lists, tuples, dicts and scalars, with the kind, dtype
and layout of every array) and the raw arrays it refers to.  Both go into one
``.npz``: the arrays as ``a0, a1, …`` and the structure as UTF-8 bytes under
``__meta__``.  Reading uses ``np.load(allow_pickle=False)`` after the archive's
declared sizes and every array header have been checked, so a file written by
untrusted code can at worst be rejected with ``CodecError``.

Supported values:

- ``torch.Tensor``: dense (dtype kept, bfloat16 included), sparse COO and
  sparse CSR/CSC (layout, dtype and shape kept; indices are validated when
  decoding); ``requires_grad`` is dropped;
- ``numpy.ndarray`` (no object dtype) and numpy scalars;
- ``scipy.sparse`` matrices and arrays (format and class kind kept);
- ``int``, ``float`` (NaN and ±inf included), ``bool``, ``str``, ``None``;
- ``list``, ``tuple`` and ``dict`` (keys: any supported scalar) of the above.

Anything else raises ``CodecError`` naming the type and where it sits, e.g.
"output[1]['model'] is a Linear; only tensors, arrays, numbers, …".
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from typing import Any

import numpy as np
import torch

__all__ = ["CodecError", "encode", "decode", "dumps", "loads"]

META = "__meta__"
MAX_DEPTH = 64
SUPPORTED = (
    "only torch tensors (dense, sparse COO/CSR/CSC), numpy arrays, scipy.sparse "
    "matrices, int, float, bool, str, None and lists/tuples/dicts of those can be "
    "sent between processes"
)


class CodecError(ValueError):
    """A value that cannot be encoded, or a file that is not a valid encoding."""


# ---------------------------------------------------------------- encoding


def _scipy_sparse():
    try:
        import scipy.sparse as sp
    except ImportError:  # pragma: no cover - scipy is a dependency
        return None
    return sp


class _Writer:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def add(self, a: np.ndarray) -> str:
        a = np.asarray(a)
        if a.dtype.hasobject or a.dtype.kind == "V":
            raise CodecError(f"arrays of dtype {a.dtype} cannot be sent; use a numeric dtype")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = a if a.flags.c_contiguous else a.copy(order="C")
        return key

    def node(self, x: Any, where: str, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise CodecError(f"{where} is nested more than {MAX_DEPTH} levels deep")
        if x is None:
            return {"t": "none"}
        if isinstance(x, bool):
            return {"t": "bool", "v": x}
        if isinstance(x, int):  # int(x), float(x), str(x): subclasses (enums, …) as plain values
            return {"t": "int", "v": str(int(x))}  # a string: JSON readers may round big ints
        if isinstance(x, float):
            return {"t": "float", "v": float.hex(float(x))}
        if isinstance(x, str):
            return {"t": "str", "v": str(x)}
        if isinstance(x, np.generic):
            return {"t": "npscalar", "a": self.add(np.asarray(x))}
        if isinstance(x, np.ndarray):
            return {"t": "ndarray", "a": self.add(x)}
        if isinstance(x, torch.Tensor):
            return self.tensor(x, where)
        sp = _scipy_sparse()
        if sp is not None and sp.issparse(x):
            return self.scipy(x, sp)
        if isinstance(x, (list, tuple)):
            return {
                "t": "list" if isinstance(x, list) else "tuple",
                "v": [self.node(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(x)],
            }
        if isinstance(x, dict):
            items = []
            for k, v in x.items():
                if not (k is None or isinstance(k, (bool, int, float, str, tuple))):
                    raise CodecError(
                        f"{where} has a key of type {type(k).__name__}; "
                        "dict keys must be str, int, float, bool, None or tuples"
                    )
                items.append(
                    [
                        self.node(k, f"{where} key", depth + 1),
                        self.node(v, f"{where}[{k!r}]", depth + 1),
                    ]
                )
            return {"t": "dict", "v": items}
        raise CodecError(f"{where} is a {type(x).__module__}.{type(x).__qualname__}; {SUPPORTED}")

    def dense(self, t: torch.Tensor) -> dict[str, Any]:
        dtype = str(t.dtype).replace("torch.", "")
        t = t.detach().cpu()
        if t.is_conj():
            t = t.resolve_conj()
        if t.dtype == torch.bfloat16:
            a = t.float().numpy()  # numpy has no bfloat16; float32 holds every bfloat16 exactly
        else:
            try:
                a = t.numpy()
            except (TypeError, RuntimeError) as exc:
                raise CodecError(f"a tensor of dtype {dtype} cannot be sent ({exc})") from exc
        return {"a": self.add(a), "dtype": dtype}

    def tensor(self, t: torch.Tensor, where: str) -> dict[str, Any]:
        shape = [int(s) for s in t.shape]
        if t.layout == torch.strided:
            return {"t": "tensor", **self.dense(t)}
        if t.layout == torch.sparse_coo:
            coalesced = bool(t.is_coalesced())
            return {
                "t": "coo",
                "shape": shape,
                "coalesced": coalesced,
                "indices": self.dense(t._indices()),
                "values": self.dense(t._values()),
            }
        if t.layout in (torch.sparse_csr, torch.sparse_csc):
            csr = t.layout == torch.sparse_csr
            compressed = t.crow_indices() if csr else t.ccol_indices()
            plain = t.col_indices() if csr else t.row_indices()
            return {
                "t": "csr" if csr else "csc",
                "shape": shape,
                "compressed": self.dense(compressed),
                "plain": self.dense(plain),
                "values": self.dense(t.values()),
            }
        raise CodecError(f"{where} is a tensor with layout {t.layout}; {SUPPORTED}")

    def scipy(self, x: Any, sp: Any) -> dict[str, Any]:
        fmt = x.format
        is_array = isinstance(x, getattr(sp, "sparray", ()))
        m = x.tocoo()
        return {
            "t": "scipy",
            "format": fmt,
            "array": is_array,
            "shape": [int(s) for s in m.shape],
            "row": self.add(np.asarray(m.row, dtype=np.int64)),
            "col": self.add(np.asarray(m.col, dtype=np.int64)),
            "data": self.add(m.data),
        }


def encode(value: Any, where: str = "value") -> tuple[Any, dict[str, np.ndarray]]:
    """``value`` → (JSON-able structure, arrays it refers to). ``where`` names it in errors."""
    w = _Writer()
    return w.node(value, where, 0), w.arrays


# ---------------------------------------------------------------- decoding


class _Reader:
    def __init__(
        self, arrays: dict[str, np.ndarray], max_elements: int | None, max_nodes: int | None
    ) -> None:
        self.arrays = arrays
        self.budget = max_elements
        self.nodes = max_nodes

    def spend(self, n: int, what: str) -> None:
        if self.budget is None:
            return
        self.budget -= n
        if self.budget < 0:
            raise CodecError(f"{what} is too large to be compared (more elements than allowed)")

    def array(self, key: Any) -> np.ndarray:
        if not isinstance(key, str) or key not in self.arrays:
            raise CodecError(f"the file refers to a missing array {key!r}")
        a = self.arrays[key]
        self.spend(int(a.size), "an array")
        return a

    def tdense(self, d: Any) -> torch.Tensor:
        if not isinstance(d, dict):
            raise CodecError("malformed tensor entry")
        a = self.array(d.get("a"))
        dtype = getattr(torch, str(d.get("dtype")), None)
        if not isinstance(dtype, torch.dtype):
            raise CodecError(f"unknown torch dtype {d.get('dtype')!r}")
        if a.dtype.kind not in "biufc":
            raise CodecError(f"a tensor cannot hold numpy dtype {a.dtype}")
        t = torch.from_numpy(np.array(a, copy=True))
        return t.to(dtype) if t.dtype != dtype else t

    def shape(self, s: Any, what: str) -> list[int]:
        if not (isinstance(s, list) and all(isinstance(v, int) and v >= 0 for v in s)):
            raise CodecError(f"malformed shape for {what}")
        self.spend(math.prod(s), f"a {what} of shape {tuple(s)}")  # compared densely later
        return s

    def node(self, n: Any, depth: int) -> Any:
        if depth > MAX_DEPTH or not isinstance(n, dict):
            raise CodecError("malformed or too deeply nested structure")
        if self.nodes is not None:
            self.nodes -= 1
            if self.nodes < 0:
                raise CodecError("the structure has more entries than allowed")
        t, v = n.get("t"), n.get("v")
        try:
            if t == "none":
                return None
            if t == "bool" and isinstance(v, bool):
                return v
            if t == "int" and isinstance(v, str) and len(v) < 5000:
                return int(v)
            if t == "float" and isinstance(v, str):
                return float.fromhex(v)
            if t == "str" and isinstance(v, str):
                return v
            if t == "npscalar":
                a = self.array(n.get("a"))
                if a.shape != ():
                    raise CodecError("a numpy scalar must be 0-dimensional")
                return a[()]
            if t == "ndarray":
                return np.array(self.array(n.get("a")), copy=True)
            if t == "tensor":
                return self.tdense(n)
            if t == "coo":
                shape = self.shape(n.get("shape"), "sparse tensor")
                idx, val = self.tdense(n.get("indices")), self.tdense(n.get("values"))
                out = torch.sparse_coo_tensor(idx, val, shape, check_invariants=True)
                return out.coalesce() if n.get("coalesced") is True else out
            if t in ("csr", "csc"):
                shape = self.shape(n.get("shape"), "sparse tensor")
                comp, plain = self.tdense(n.get("compressed")), self.tdense(n.get("plain"))
                make = torch.sparse_csr_tensor if t == "csr" else torch.sparse_csc_tensor
                return make(comp, plain, self.tdense(n.get("values")), shape, check_invariants=True)
            if t == "scipy":
                return self.scipy(n)
            if t in ("list", "tuple") and isinstance(v, list):
                items = [self.node(x, depth + 1) for x in v]
                return items if t == "list" else tuple(items)
            if t == "dict" and isinstance(v, list):
                pairs: dict[Any, Any] = {}
                for pair in v:
                    if not (isinstance(pair, list) and len(pair) == 2):
                        raise CodecError("malformed dict entry")
                    pairs[self.node(pair[0], depth + 1)] = self.node(pair[1], depth + 1)
                return pairs
        except CodecError:
            raise
        except (TypeError, ValueError, RuntimeError, IndexError, OverflowError) as exc:
            raise CodecError(f"invalid {t} entry ({type(exc).__name__}: {exc})") from exc
        raise CodecError(f"unknown entry {str(t)[:40]!r}")

    def scipy(self, n: dict[str, Any]) -> Any:
        import scipy.sparse as sp

        shape = self.shape(n.get("shape"), "sparse matrix")
        if len(shape) != 2:
            raise CodecError("a scipy.sparse matrix must be 2-D")
        row, col, data = (self.array(n.get(k)) for k in ("row", "col", "data"))
        if not (row.ndim == col.ndim == data.ndim == 1 and len(row) == len(col) == len(data)):
            raise CodecError("malformed scipy.sparse entry")
        if (
            data.dtype.kind not in "biufc"
            or row.dtype.kind not in "iu"
            or col.dtype.kind not in "iu"
        ):
            raise CodecError("malformed scipy.sparse entry (dtypes)")
        if len(row) and (
            row.min() < 0 or col.min() < 0 or row.max() >= shape[0] or col.max() >= shape[1]
        ):
            raise CodecError("a scipy.sparse entry has indices outside its shape")
        kind = sp.coo_array if n.get("array") is True else sp.coo_matrix
        m = kind((data, (row, col)), shape=tuple(shape))
        fmt = n.get("format")
        if fmt not in ("csr", "csc", "coo", "lil", "dok", "dia", "bsr"):
            raise CodecError(f"unknown scipy.sparse format {fmt!r}")
        return m.asformat(fmt)


def decode(
    structure: Any,
    arrays: dict[str, np.ndarray],
    *,
    max_elements: int | None = None,
    max_nodes: int | None = None,
) -> Any:
    """Inverse of ``encode``.  ``max_elements`` caps the elements of all arrays
    plus the dense size of sparse values (their comparison densifies them);
    ``max_nodes`` the entries of the structure (lists, numbers, strings, ...)."""
    try:
        return _Reader(arrays, max_elements, max_nodes).node(structure, 0)
    except RecursionError as exc:
        raise CodecError("the structure is nested too deeply") from exc


# ---------------------------------------------------------------- files


def dumps(value: Any, where: str = "value") -> bytes:
    """The ``.npz`` bytes of ``value`` (uncompressed: the grader's cases are small)."""
    structure, arrays = encode(value, where)
    buf = io.BytesIO()
    meta = np.frombuffer(json.dumps(structure).encode("utf-8"), dtype=np.uint8)
    np.savez(buf, **{META: meta}, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


def _checked_arrays(data: bytes, max_bytes: int) -> dict[str, np.ndarray]:
    """Every member, after its declared size and its .npy header were checked."""
    from ..engine import syntax

    with syntax.LOCK:  # numpy reads each .npy header with ast.literal_eval (engine/syntax.py)
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            _check_members(zf, max_bytes)
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}


def _check_members(zf: zipfile.ZipFile, max_bytes: int) -> None:
    from ..engine import syntax

    infos = zf.infolist()
    if len(infos) > 100_000:
        raise CodecError("the file holds too many arrays")
    if sum(i.file_size for i in infos) > max_bytes:
        raise CodecError(f"the file would expand to more than {max_bytes:,} bytes")
    for info in infos:
        if not info.filename.endswith(".npy") or "/" in info.filename:
            raise CodecError(f"unexpected member {info.filename[:60]!r}")
        with zf.open(info) as f, syntax.LOCK:  # the header is read with ast.literal_eval
            try:
                version = np.lib.format.read_magic(f)
                read_header = {
                    (1, 0): np.lib.format.read_array_header_1_0,
                    (2, 0): np.lib.format.read_array_header_2_0,
                }.get(version)
                if read_header is None:
                    raise ValueError(f"unsupported .npy version {version}")
                shape, _, dtype = read_header(f)
            except (ValueError, SyntaxError, TypeError) as exc:
                raise CodecError(f"member {info.filename[:60]!r} is not a valid array") from exc
            if dtype.hasobject:
                raise CodecError("the file holds an object array (refused: no pickle)")
            if math.prod(shape) * dtype.itemsize > info.file_size:
                raise CodecError(f"member {info.filename[:60]!r} declares more data than it holds")


def loads(
    data: bytes,
    *,
    max_bytes: int = 1 << 30,
    max_elements: int | None = None,
    max_structure_bytes: int | None = None,
    max_nodes: int | None = None,
) -> Any:
    """Inverse of ``dumps``; ``CodecError`` for anything that is not a valid encoding.

    ``max_structure_bytes`` caps the JSON structure before it is parsed (parsing
    makes a Python object per entry: 24 MB of tiny entries is a gigabyte), and
    ``max_nodes`` its entries while decoding."""
    if len(data) > max_bytes:
        raise CodecError(f"the file is larger than {max_bytes:,} bytes")
    try:
        arrays = _checked_arrays(data, max_bytes)
    except CodecError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise CodecError(f"not a valid .npz file ({type(exc).__name__}: {exc})") from exc
    meta = arrays.pop(META, None)
    if meta is None or meta.dtype != np.uint8 or meta.ndim != 1:
        raise CodecError("the file has no valid __meta__ entry")
    if max_structure_bytes is not None and meta.size > max_structure_bytes:
        raise CodecError(f"the structure is larger than {max_structure_bytes:,} bytes")
    try:
        structure = json.loads(meta.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CodecError(f"the structure is not valid JSON ({exc})") from exc
    return decode(structure, arrays, max_elements=max_elements, max_nodes=max_nodes)
