"""``warm_up()``: the one-time costs of a first check, paid once per process.

A fresh kernel's first ``check()`` would otherwise pay the registry's imports
(every task module), torch's first dispatch-mode entry and its first sparse and
autograd calls (1.3-3.1 s, ``benchmarks/bench_check_first_call.py``).  The first
``run_check`` calls this; a notebook's setup cell may call it earlier, so that
the first check takes as long as the later ones.  Importing the package never
does (``recsys-course --help`` starts without torch).
"""

from __future__ import annotations

from functools import cache


@cache
def warm_up() -> None:
    """Import every task, and enter a dispatch mode, sparse and autograd once."""
    import torch

    from .registry import all_exercises
    from .runner import NumelRecorder

    all_exercises()
    x = torch.ones(2, 2, dtype=torch.float64, requires_grad=True)  # (2, 2)
    with NumelRecorder():
        s = torch.sparse_coo_tensor(
            torch.tensor([[0, 1], [1, 0]]),
            torch.ones(2, dtype=torch.float64),
            (2, 2),
            check_invariants=False,
        ).coalesce()  # (2, 2) sparse
        (s @ x.detach()).sum() + torch.zeros(1).topk(1).values.sum()
    torch.autograd.grad((x * 2).sum(), [x])
