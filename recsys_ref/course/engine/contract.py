"""The output contract: is the learner's output of the kind the reference's is?

The first judging step after a case ran (``evaluate``'s step 1): container
(torch tensor, numpy array, Python scalar, scipy.sparse), layout (dense,
sparse COO, CSR) and dtype must match the reference's output exactly; shapes
and values are ``compare``'s job.  Also the words every message uses for what
a value is ("a dense torch tensor (float32)").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

# Names of the diagnoses the output contract, the gradient check, the guard and the
# input-mutation check give (``Result.misconception``), beside the names of a spec's
# own misconceptions.
CONTAINER, DTYPE, LAYOUT, NO_GRADIENT, GRADIENT, GUARD_VALUE, COMPLEXITY, LOOP, IN_PLACE = (
    "container",
    "dtype",
    "layout",
    "no_gradient",
    "gradient",
    "guard_value",
    "complexity",
    "loop",
    "in_place",
)
DIAGNOSES = (
    CONTAINER,
    DTYPE,
    LAYOUT,
    NO_GRADIENT,
    GRADIENT,
    GUARD_VALUE,
    COMPLEXITY,
    LOOP,
    IN_PLACE,
)

Problem = tuple[str, str]  # (diagnosis, sentence)


# ---------------------------------------------------------------- what a value is


def is_scipy_sparse(x: Any) -> bool:
    return hasattr(x, "toarray") and hasattr(x, "nnz") and hasattr(x, "format")


def is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(
        x, (bool, np.bool_)
    )


def layout_name(t: torch.Tensor) -> str:
    return {
        torch.strided: "dense",
        torch.sparse_coo: "sparse COO",
        torch.sparse_csr: "sparse CSR",
        torch.sparse_csc: "sparse CSC",
    }.get(t.layout, str(t.layout).replace("torch.", ""))


def dtype_name(x: Any) -> str:
    return str(x.dtype).replace("torch.", "") if hasattr(x, "dtype") else type(x).__name__


def kind_of(x: Any) -> str:
    """What ``x`` is, in the words of the messages ("a dense torch tensor (float32)")."""
    if x is None:
        return "None (does your function end with `return ...`?)"
    if isinstance(x, torch.Tensor):
        return f"a {layout_name(x)} torch tensor ({dtype_name(x)})"
    if isinstance(x, np.ndarray):
        return f"a numpy array ({x.dtype})"
    if is_scipy_sparse(x):
        return f"a scipy.sparse {x.format} matrix ({x.dtype})"
    if isinstance(x, (bool, np.bool_)):
        return "a Python bool"
    if isinstance(x, (np.integer, np.floating)):
        return f"a numpy scalar ({x.dtype})"
    if isinstance(x, (int, float, str)):
        return f"a Python {type(x).__name__}"
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of {len(x)}"
    if isinstance(x, dict):
        return "a dict"
    return f"a {type(x).__name__}"


def asked(want: Any) -> str:
    """What the task asks for, from the reference's output."""
    if isinstance(want, torch.Tensor):
        return f"a {layout_name(want)} torch tensor ({dtype_name(want)})"
    if isinstance(want, np.ndarray):
        return f"a numpy array ({want.dtype})"
    if is_scipy_sparse(want):
        return f"a scipy.sparse {want.format} matrix"
    if isinstance(want, bool):
        return "a Python bool"
    if isinstance(want, int):
        return "a Python int"
    if isinstance(want, float):
        return "a Python float"
    if isinstance(want, (tuple, list)):
        return f"a {type(want).__name__} of {len(want)}"
    return kind_of(want)


def returned(what: str, got: Any, want: Any) -> str:
    """ "your function returned X; the task asks for Y" (or "element 1 of … is X; …")."""
    head = (
        f"your function returned {kind_of(got)}"
        if what == "the output"
        else f"{what} is {kind_of(got)}"
    )
    return f"{head}; the task asks for {asked(want)}"


def element(what: str, i: int, names: Sequence[str]) -> str:
    """The words for element ``i`` of a tuple output ("the `ndcg` output")."""
    if what == "the output" and i < len(names):
        return f"the `{names[i]}` output"
    return f"element {i} of {what}"


def to_numpy(t: torch.Tensor) -> np.ndarray:
    t = t.detach().cpu()
    return t.numpy() if t.dtype != torch.bfloat16 else t.float().numpy()


# ---------------------------------------------------------------- the contract


def contract_problem(
    got: Any, want: Any, what: str = "the output", names: Sequence[str] = ()
) -> Problem | None:
    """``(diagnosis, sentence)`` when ``got`` is not of the kind ``want`` is, else None.

    Container (torch tensor vs numpy vs Python scalar vs scipy.sparse), layout
    (dense vs sparse COO vs CSR) and dtype must match the reference's output
    exactly; shapes and values are the comparison's job.
    """
    if isinstance(want, torch.Tensor):
        return _tensor_problem(got, want, what)
    if isinstance(want, np.ndarray) or is_scipy_sparse(want):
        same = isinstance(got, np.ndarray) if isinstance(want, np.ndarray) else is_scipy_sparse(got)
        if not same:
            return CONTAINER, returned(what, got, want)
        if got.dtype != want.dtype:
            return DTYPE, f"{what} has dtype {got.dtype}; the task asks for {want.dtype}"
        return None
    if isinstance(want, (bool, np.bool_, int, np.integer, float, np.floating)):
        return _scalar_problem(got, want, what)
    if isinstance(want, (tuple, list, dict)):
        return _container_problem(got, want, what, names)
    if isinstance(want, str):
        return None if isinstance(got, str) else (CONTAINER, returned(what, got, want))
    if want is None:
        return None if got is None else (CONTAINER, returned(what, got, want))
    return None


def _tensor_problem(got: Any, want: torch.Tensor, what: str) -> Problem | None:
    """The contract of a tensor output: a tensor of the reference's layout and dtype."""
    if isinstance(got, torch.Tensor):
        if got.layout != want.layout:
            if want.layout == torch.sparse_coo:
                how = (
                    "build it with torch.sparse_coo_tensor"
                    if got.layout == torch.strided
                    else "convert with .to_sparse_coo()"
                )
            elif want.layout == torch.strided:
                how = "convert with .to_dense() only at the end, or use a sparse × dense product"
            else:
                how = f"return the {layout_name(want)} layout"
            return LAYOUT, f"{what} is {kind_of(got)}; the task asks for {asked(want)}: {how}"
        if got.dtype != want.dtype:
            return DTYPE, f"{what} has dtype {dtype_name(got)}; the task asks for " + (
                f"{dtype_name(want)} {_dtype_cause(got, want)}"
            )
        return None
    if is_number(got) or isinstance(got, (bool, np.bool_)):
        return CONTAINER, (
            f"{returned(what, got, want)}: return a tensor; `.item()` and `float()` "
            "cut the autograd graph"
        )
    if isinstance(got, np.ndarray) or is_scipy_sparse(got):
        return CONTAINER, (
            f"{returned(what, got, want)}: stay in torch (a numpy round trip "
            "cuts the autograd graph and changes dtypes)"
        )
    return CONTAINER, returned(what, got, want)


def _scalar_problem(got: Any, want: Any, what: str) -> Problem | None:
    """The contract of a bool, int or float output (numpy scalars count as Python's)."""
    if isinstance(want, (bool, np.bool_)):
        return None if isinstance(got, (bool, np.bool_)) else (CONTAINER, returned(what, got, want))
    if isinstance(want, (int, np.integer)):
        if isinstance(got, (int, np.integer)) and not isinstance(got, (bool, np.bool_)):
            return None
        return CONTAINER, returned(what, got, want) + (
            ": convert with int(...)" if isinstance(got, torch.Tensor) else ""
        )
    if is_number(got):
        return None
    return CONTAINER, returned(what, got, want) + (
        ": convert with float(...) or .item()" if isinstance(got, torch.Tensor) else ""
    )


def _container_problem(
    got: Any, want: tuple | list | dict, what: str, names: Sequence[str]
) -> Problem | None:
    """The contract of a tuple, list or dict output: the same container, element by element."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return CONTAINER, returned(what, got, want)
        for k in want:
            if k in got:
                p = contract_problem(got[k], want[k], f"{what}[{k!r}]")
                if p:
                    return p
        return None
    if not isinstance(got, (tuple, list)):
        return CONTAINER, returned(what, got, want)
    if len(got) != len(want):
        return CONTAINER, (
            f"{what} has {len(got)} elements; the task asks for {len(want)}"
            + (f" ({', '.join(names)})" if len(names) == len(want) else "")
        )
    for i, (g, w) in enumerate(zip(got, want)):
        p = contract_problem(g, w, element(what, i, names))
        if p:
            return p
    return None


def _dtype_cause(got: torch.Tensor, want: torch.Tensor) -> str:
    """The likely cause of a dtype mismatch, from what the values are."""
    integer = not (want.is_floating_point() or want.is_complex() or want.dtype == torch.bool)
    if integer and (got.is_floating_point() or got.is_complex()):
        try:
            vals = to_numpy(got if got.layout == torch.strided else got.to_dense())
            whole = bool(np.all(np.isfinite(vals)) and np.all(vals == np.round(vals)))
        except Exception:  # noqa: BLE001
            whole = True
        if not whole:
            return (
                "(your values are not whole numbers: indices were asked for, and these look "
                "like scores — e.g. `topk(...).values` where `.indices` is meant)"
            )
        return (
            "(your values are whole numbers stored as floats: look for a .float(), a division, "
            "or torch.tensor/torch.zeros without dtype=torch.long)"
        )
    return "(look for a .float(), a torch.tensor/torch.ones without dtype=, or a numpy round trip)"
