"""Plant the trees back (docs/design.md §2): the learner's own NGCF pieces drive a full training and evaluation.

``plant_back`` collects the learner's functions — adjacency and Laplacian (ngcf_1, ngcf_2, notebook
10), the layer (ngcf_4, notebook 11), scores, loss and metric (ngcf_5 … ngcf_7, notebook 12), sampler
and step (ngcf_8, ngcf_9, notebook 14; where each is written comes from the registry) — by task id, from the exercise cell that defines each: the running kernel's executed
inputs (``history``, IPython's ``In``: the last input that defines the task's function, re-run in a
fresh namespace) or the saved notebooks in ``folder``.  A piece is never looked up by a global name,
so a later cell that rebinds the name (an import of the reference under the learner's name) cannot
pass the reference off as the learner's.  A piece is used when it passes its check; otherwise the
reference stands in, and the report says which and why (``REFERENCE_STOOD_IN``).  The same pipeline is then run with the reference pieces only,
on the same seed, and both test recall@20 / ndcg@20 are returned.

The pipeline is the paper's model: eq. 8's L, eq. 7 layers, eq. 9–10 scores (no per-layer
normalisation, so the learner's ``ngcf_scores`` is exactly the model's score), eq. 11 with L2 over
Θ, the per-interaction sampler, full-ranking recall@20 (§4.2.1).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .engine.check import run_check
from .engine.registry import get

NGCF_TASKS = ("ngcf_1", "ngcf_2", "ngcf_4", "ngcf_5", "ngcf_6", "ngcf_7", "ngcf_8", "ngcf_9")
# task id → the notebook that writes it, from the registry
NOTEBOOK_OF = {t: get(t).notebook for t in NGCF_TASKS}
HERE = NOTEBOOK_OF["ngcf_9"]  # the notebook that runs the plant-back (its last task's)


# The FM track's plant-back (notebook 23, section 5): the task ids it plants and where each is written.
FM_NOTEBOOK_OF = {t: get(t).notebook for t in ("fm_1", "fm_2", "fm_5", "fm_6", "fm_7", "fm_9")}


REFERENCE_STOOD_IN = "reference stood in"
NOT_IN_HISTORY = "no cell run in this kernel defines"
YOURS = "yours"


def exercise_function(
    history: Sequence[str], task_id: str, name: str | None = None
) -> tuple[Callable[..., Any] | None, str]:
    """The function ``name`` (the task's, by default) as the learner's exercise cell last defined it.

    ``history`` is the kernel's executed inputs in order (IPython's ``In``; a kernel run without
    history, as nbval runs it, leaves it empty, and the callers then read the saved notebook).  The last input that
    defines ``name`` with ``def`` is run again in a fresh namespace, after the top-level imports of
    the inputs run before it; a later input that rebinds the name (``from recsys_ref.losses import
    bpr_loss``) is not that cell and changes nothing.  Returns (function or None, why not).
    """
    from .nbtools.notebook import defined_functions, strip_magics, top_level_imports

    name = name or get(task_id).func_name
    sources = [strip_magics(str(s or "")) for s in history]
    defining = [k for k, s in enumerate(sources) if name in defined_functions(s)]
    if not defining:
        return None, f"{NOT_IN_HISTORY} {name}"
    k = defining[-1]
    namespace: dict[str, Any] = {"__name__": f"exercise_{task_id}"}
    for s in sources[:k]:
        for line in top_level_imports(s):
            try:
                exec(line, namespace)  # noqa: S102 - the learner's own imports, in the learner's kernel
            except Exception:  # noqa: BLE001 - an import that fails here failed there too
                pass
    try:
        exec(compile(sources[k], f"<input {k}: {task_id}>", "exec"), namespace)  # noqa: S102
    except Exception as exc:  # noqa: BLE001 - a broken cell: say so, use the reference
        return None, f"its cell does not run ({type(exc).__name__})"
    fn = namespace.get(name)
    return (fn, "") if callable(fn) else (None, f"its cell leaves {name} undefined")


@dataclass
class PlantReport:
    """Which piece came from where, and the two runs' test metrics."""

    # task id → "yours" or "reference stood in (why)"
    used: dict[str, str] = field(default_factory=dict)
    mine: dict[str, float] = field(default_factory=dict)
    reference: dict[str, float] = field(default_factory=dict)

    @property
    def stood_in(self) -> list[str]:
        return [t for t, how in self.used.items() if how != YOURS]

    def lines(self) -> list[str]:
        out = []
        for t, how in self.used.items():
            ex = get(t)
            name = "train_step" if t == "ngcf_9" else ex.func_name
            out.append(f"  {t:7s} {name:18s} {how}")
        return out


def _rebound(fn: Callable[..., Any], name: str, value: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with the global ``name`` bound to ``value``, in a copy of its globals: the learner's
    namespace (a notebook's kernel) is never changed."""
    import types

    glb = getattr(fn, "__globals__", None)
    if glb is None or name not in fn.__code__.co_names:
        return fn
    return types.FunctionType(
        fn.__code__, {**glb, name: value}, fn.__name__, fn.__defaults__, fn.__closure__
    )


def _on_state(step: Callable[..., Any]) -> Callable[..., Any]:
    from ..train_bpr import run_step

    def step_on_state(state, users, pos, neg, lam):
        return run_step(step, state, users, pos, neg, lam)

    return step_on_state


def _reference_pieces() -> dict[str, Callable[..., Any]]:
    from ..train_bpr import bpr_train_step

    return {t: get(t).reference for t in NOTEBOOK_OF} | {"ngcf_9": bpr_train_step}


def _load_from(path: Path, task_id: str) -> tuple[Callable[..., Any] | None, str]:
    """The function of ``task_id`` from the saved notebook ``path``, or None and why not."""
    from .nbtools.notebook import load_exercise

    if not path.exists():
        return None, f"no {path.name} here"
    try:
        fn = load_exercise(path, task_id)
    except Exception as exc:  # noqa: BLE001 - a broken cell: say so, use the reference
        return None, f"{path.name}'s cell does not run ({type(exc).__name__})"
    return fn, "" if fn is not None else f"no {task_id} cell in {path.name}"


def _load(folder: Path, task_id: str) -> tuple[Callable[..., Any] | None, str]:
    return _load_from(folder / f"{NOTEBOOK_OF[task_id]}.ipynb", task_id)


def collect(
    folder: str | Path = ".",
    own: Mapping[str, Callable[..., Any]] | None = None,
    *,
    history: Sequence[str] | None = None,
    here: str = HERE,
) -> tuple[dict[str, Callable[..., Any]], dict[str, str]]:
    """The pieces to use (the learner's when they pass their check) and where each came from.

    The tasks of notebook ``here`` come from ``history`` (the kernel's inputs, see
    ``exercise_function``) when it is given; every other task from its saved notebook in ``folder``.
    ``own`` maps task ids to functions directly (tests).
    """
    folder, own = Path(folder), dict(own or {})
    ref = _reference_pieces()
    pieces, used = {}, {}
    fn: Callable[..., Any] | None
    for t in NOTEBOOK_OF:
        if t in own:
            fn, why = own[t], ""
        elif history is not None and NOTEBOOK_OF[t] == here:
            name = "train_step" if t == "ngcf_9" else None
            fn, why = exercise_function(history, t, name)
            if fn is None and why.startswith(NOT_IN_HISTORY):  # a kernel that keeps no history
                fn, why = _load(folder, t)
        else:
            fn, why = _load(folder, t)
        if t == "ngcf_9" and fn is not None:  # train_step, checked through step_on_state
            step = (
                fn
                if fn.__name__ == "train_step"
                else getattr(fn, "__globals__", {}).get("train_step")
            )
            ok = step is not None and run_check(t, _on_state(step)).passed
            fn = step if ok else None
            why = why or ("" if ok else "does not pass its check yet")
        elif fn is not None and not run_check(t, fn).passed:
            fn, why = None, "does not pass its check yet"
        pieces[t] = fn if fn is not None else ref[t]
        used[t] = YOURS if fn is not None else f"{REFERENCE_STOOD_IN} ({why})"
    return pieces, used


def _pipeline(
    pieces: Mapping[str, Callable[..., Any]],
    data,
    *,
    seed: int,
    epochs: int,
    dim: int,
    lr: float,
    lam: float,
    message_dropout: float,
    reference_model: bool,
) -> dict[str, float]:
    from ..data.sampler import DrawSampler
    from ..graph import as_sparse_coo
    from ..ngcf import NGCF
    from ..train_bpr import set_seed, train_bpr

    R = as_sparse_coo(data.train).double()
    L = pieces["ngcf_2"](pieces["ngcf_1"](R)).coalesce().float()  # eq. 8, (N, N)
    step = pieces["ngcf_9"]  # the step calls the learner's eq. 11, under either name
    for name in ("bpr_loss", "eq11_loss"):
        step = _rebound(step, name, pieces["ngcf_6"])
    set_seed(seed)
    model = NGCF(
        data.n_users,
        data.n_items,
        L,
        dim=dim,
        layer_dims=(dim,) * 3,
        message_dropout=message_dropout,
        layer=None if reference_model else pieces["ngcf_4"],
    )
    train_bpr(
        model,
        data.train,
        None,
        epochs=epochs,
        lr=lr,
        lam=lam,
        seed=seed,
        device="cpu",
        progress=False,
        step=step,
        sampler=DrawSampler(data.train, fn=pieces["ngcf_8"], seed=seed),
    )
    model.eval()
    scorer = _rebound(
        pieces["ngcf_5"], "ngcf_layer", pieces["ngcf_4"]
    )  # eq. 9–10 over the learner's eq. 7
    with torch.no_grad():
        E0 = model.embedding.double()
        Ld = L.double()
        scores = scorer(
            E0, Ld, [W.double() for W in model.W1], [W.double() for W in model.W2], data.n_users
        )
        train = torch.from_numpy((data.train + data.val).toarray() != 0).double()
        test = torch.from_numpy(data.test.toarray() != 0).double()
        users = test.sum(1) > 0
        recall, ndcg = pieces["ngcf_7"](scores[users], train[users], test[users], 20)
    return {"recall": float(recall.mean()), "ndcg": float(ndcg.mean())}


def plant_back(
    folder: str | Path = ".",
    data=None,
    *,
    own: Mapping[str, Callable[..., Any]] | None = None,
    history: Sequence[str] | None = None,
    seed: int = 0,
    epochs: int = 30,
    dim: int = 32,
    lr: float = 5e-3,
    lam: float = 1e-5,
    message_dropout: float = 0.1,
) -> PlantReport:
    """Train and evaluate NGCF twice on the same seed: with the learner's pieces, with the reference's."""
    if data is None:
        from ..data.implicit import make_implicit

        data = make_implicit(seed=seed)
    pieces, used = collect(folder, own, history=history)
    kw: dict[str, Any] = dict(
        seed=seed, epochs=epochs, dim=dim, lr=lr, lam=lam, message_dropout=message_dropout
    )
    mine = _pipeline(pieces, data, reference_model=False, **kw)
    ref = _pipeline(_reference_pieces(), data, reference_model=True, **kw)
    np.testing.assert_(np.isfinite(mine["recall"]))
    return PlantReport(used, mine, ref)


def choose(
    notebook_of: Mapping[str, str],
    references: Mapping[str, Callable[..., Any]],
    *,
    history: Sequence[str] | None = None,
    here: str = "",
    folder: str | Path = ".",
) -> tuple[dict[str, Callable[..., Any]], PlantReport]:
    """Any track's plant-back: for each task id, the learner's function when it passes its check,
    else ``references[task]``; taken by task id from the kernel's inputs (``history``, for the
    tasks of notebook ``here``) or from the saved notebook ``folder / notebook_of[task]``."""
    folder = Path(folder)
    pieces: dict[str, Callable[..., Any]] = {}
    used: dict[str, str] = {}
    for t, stem in notebook_of.items():
        fn, why = None, NOT_IN_HISTORY
        if history is not None and stem == here:
            fn, why = exercise_function(history, t)
        if fn is None and why.startswith(NOT_IN_HISTORY):  # not this kernel's, or no history kept
            fn, why = _load_from(folder / f"{stem}.ipynb", t)
        if fn is not None and not run_check(t, fn).passed:
            fn, why = None, "does not pass its check yet"
        pieces[t] = fn if fn is not None else references[t]
        used[t] = YOURS if fn is not None else f"{REFERENCE_STOOD_IN} ({why})"
    return pieces, PlantReport(used)
