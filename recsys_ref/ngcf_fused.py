"""NGCF's training forward as one autograd function: eq. 7 layers, message dropout, eq. 9 rows.

The same maths as ``NGCF.propagate`` + ``ngcf._rows`` for the reference layer (``ngcf_layer``,
eq. 7: E' = LeakyReLU((L+I) E W1 + (L E ⊙ E) W2), then §2.4.2 message dropout), with a
hand-written backward that makes fewer passes over the (N, d) buffers than autograd does:

- every (N, d) buffer comes from a ``Workspace`` kept from step to step (no page faults on
  fresh memory) and is written by the op that fills it (``out=``; L E by ``addmm`` with β = 0:
  no zero fill, no copy);
- LeakyReLU and dropout are one factor per entry: LeakyReLU(z) · m / (1 − p) = c z · S with
  S = slope(z) · m (m = 1 kept, 0 dropped) and c = 1/(1 − p) > 0.  c rides on the weights
  (c W: d × d' products, free), S is built in two in-place passes (the mask as 0/1, then LeakyReLU's own
  backward of it at Z), the forward multiplies Z by S in place and the backward multiplies the
  incoming gradient by the same S, in place;
- the backward of a layer is four GEMMs, Lᵀ g from a stored Lᵀ, and two fused passes
  (∂E = gA + gB ⊙ side and ∂side = gA + gB ⊙ E by ``addcmul``); Lᵀ ∂side is added into ∂E by
  the sparse product itself (``addmm_``, β = 1), not through a temporary;
- the batch's rows of every layer (eq. 9 for 3B nodes) are added into that layer's gradient in
  place: one zero-filled (N, d) buffer per step (the top layer's), not one per layer.

The dropout masks are drawn exactly as ``ngcf.message_dropout`` draws them, in the same order
(one (N, d_l) int32 draw after each layer), so a seed gives the same masks as the unfused path;
results differ from it by float rounding only (tested in ``tests/test_ngcf_fused.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from .ngcf import NEGATIVE_SLOPE

# Letters: N nodes, d / d' a layer's input / output width, R the batch's rows (3B).

_leaky_relu_backward = torch.ops.aten.leaky_relu_backward.grad_input  # g·(z > 0 ? 1 : slope)


class Workspace:
    """Reusable (N, d) buffers for the step: taken in the forward, given back in the backward.

    A step holds about sixteen (N, d) buffers at once.  Freed, a buffer that size goes back to
    the operating system, and the next step's first touch of a fresh one page-faults every page
    (the kernel zero-fills it): on Gowalla that was ~30 k faults and ~13 % of a step.  A buffer
    is given back only once nothing refers to it (the layer's backward is done, or no backward
    will run); a graph dropped without its backward just leaves its buffers to the collector.
    Copies of a model get an empty workspace of their own.
    """

    def __init__(self) -> None:
        self._free: dict[tuple, list[Tensor]] = {}

    def take(self, shape: Sequence[int], like: Tensor, dtype: torch.dtype | None = None) -> Tensor:
        """An uninitialised buffer of this shape (like's device, dtype or like's)."""
        key = (tuple(shape), dtype or like.dtype, like.device)
        free = self._free.get(key)
        return free.pop() if free else torch.empty(shape, dtype=key[1], device=key[2])

    def give(self, *buffers: Tensor) -> None:
        for b in buffers:
            self._free.setdefault((tuple(b.shape), b.dtype, b.device), []).append(b)

    def __len__(self) -> int:
        return sum(len(v) for v in self._free.values())

    def __deepcopy__(self, memo: dict) -> Workspace:
        return Workspace()

    def __getstate__(self) -> dict:
        return {"_free": {}}


def _slope_and_mask(Z: Tensor, p: float, training: bool, ws: Workspace) -> Tensor:
    """S (N, d'): LeakyReLU's slope at Z times the message-dropout mask m (1 kept, 0 dropped).

    The 1/(1 − p) scale is not in S (the caller puts it on the weights).  Two passes, both into
    S: m as 0/1 floats from the 31-bit draw, then LeakyReLU's backward of m at Z (m where
    Z > 0, slope · m elsewhere: exactly the derivative ``F.leaky_relu``'s autograd uses).
    """
    S = ws.take(Z.shape, Z)  # (N, d')
    if training and p > 0.0:
        r = ws.take(Z.shape, Z, torch.int32).random_()  # (N, d')  as message_dropout draws it
        m = torch.ge(r, round(p * 2**31), out=S)  # (N, d')  1 kept, 0 dropped
        ws.give(r)
    else:
        m = Z.new_ones(()).expand_as(Z)  # (N, d')  no dropout: one 1, stride 0
    return _leaky_relu_backward(m, Z, NEGATIVE_SLOPE, False, grad_input=S)


def _dropout_scale(p: float, training: bool) -> float:
    """c = 1/(1 − p) while training with message dropout, else 1."""
    return 1.0 / (1.0 - p) if training and p > 0.0 else 1.0


class _Propagation(torch.autograd.Function):
    @staticmethod
    def forward(ctx, idx, L, Lt, p, training, ws, backward_follows, E0, *weights):
        n_layers = len(weights) // 2
        W1s, W2s = weights[:n_layers], weights[n_layers:]
        c = _dropout_scale(p, training)
        N = E0.shape[0]
        E, saved, rows = E0, [], [E0.index_select(0, idx)]
        for W1, W2 in zip(W1s, W2s):
            d, d_out = W1.shape
            side = ws.take((N, d), E)
            torch.addmm(side, L, E, beta=0.0, out=side)  # (N, d)  L E (β = 0: no zero fill)
            A = torch.add(side, E, out=ws.take((N, d), E))  # (N, d)   (L + I) E
            Bm = torch.mul(side, E, out=ws.take((N, d), E))  # (N, d)   L E ⊙ E
            Z = torch.mm(A, c * W1, out=ws.take((N, d_out), E))  # (N, d')  c (L+I) E W1
            Z.addmm_(Bm, c * W2)  # (N, d')  c ((L+I) E W1 + (L E ⊙ E) W2)
            S = _slope_and_mask(Z, p, training, ws)  # (N, d')  slope(Z) · m
            out = Z.mul_(S)  # (N, d')  LeakyReLU, then dropout
            saved.append((E, side, A, Bm, S))
            rows.append(out.index_select(0, idx))  # (R, d')
            E = out
        if backward_follows:
            ctx.saved = saved
            ctx.layout = (L, Lt, idx, [r.shape[1] for r in rows], W1s, W2s, c, ws)
        else:  # nothing will read the buffers again
            ws.give(*(b for layer in saved for b in layer[1:]), *(layer[0] for layer in saved[1:]))
        if E is not E0:  # the top layer's output: only its batch rows are kept
            ws.give(E)
        return torch.cat(rows, dim=1)  # (R, d*)  eq. 9 for the batch's rows

    @staticmethod
    def backward(ctx, grad_rows):
        L, Lt, idx, widths, W1s, W2s, c, ws = ctx.layout
        saved, ctx.saved = ctx.saved, None
        parts = list(grad_rows.split(widths, dim=1))  # [(R, d_l)]
        g = ws.take(saved[-1][4].shape, grad_rows).zero_()  # (N, d_L)  the top layer's gradient
        gW1s, gW2s = [None] * len(W1s), [None] * len(W2s)
        for layer in range(len(saved) - 1, -1, -1):
            E, side, A, Bm, S = saved[layer]
            W1, W2 = W1s[layer], W2s[layer]
            g.index_add_(0, idx, parts[layer + 1])  # the rows the batch scores
            gZ = g.mul_(S)  # (N, d')  ∂/∂(c Z): through dropout and LeakyReLU
            gW1s[layer], gW2s[layer] = (A.T @ gZ).mul_(c), (Bm.T @ gZ).mul_(c)  # (d, d')
            gA = torch.mm(gZ, (c * W1).T, out=ws.take(E.shape, E))  # (N, d)  ∂/∂A
            gB = torch.mm(gZ, (c * W2).T, out=ws.take(E.shape, E))  # (N, d)  ∂/∂Bm
            # ∂E^(0) leaves for autograd: a fresh buffer, never given back
            gE = torch.empty_like(E) if layer == 0 else ws.take(E.shape, E)
            torch.addcmul(gA, gB, side, out=gE)  # (N, d)  A = side + E, Bm = side ⊙ E: E paths
            g_side = gA.addcmul_(gB, E)  # (N, d)  the side paths
            g = gE.addmm_(Lt, g_side)  # (N, d)  + Lᵀ ∂side, added by the product itself
            ws.give(gZ, gA, gB, side, A, Bm, S, *([E] if layer > 0 else []))
        g.index_add_(0, idx, parts[0])  # E^(0)'s own rows
        return (None, None, None, None, None, None, None, g, *gW1s, *gW2s)


def propagated_rows(
    E0: Tensor,
    W1s: list[Tensor],
    W2s: list[Tensor],
    L: Tensor,
    Lt: Tensor,
    idx: Tensor,
    message_dropout: float,
    training: bool,
    workspace: Workspace | None = None,
) -> Tensor:
    """e*[idx] (R, d*) = E^(0)[idx] ‖ E^(1)[idx] ‖ … for eq.-7 layers with message dropout.

    L, Lt: the normalised Laplacian and its transpose as sparse CSR (``SparseOperator.L/.Lt``).
    workspace: buffers kept from step to step (``NGCF`` keeps one); None: fresh buffers.
    """
    weights = [*W1s, *W2s]
    backward_follows = torch.is_grad_enabled() and any(t.requires_grad for t in (E0, *weights))
    ws = Workspace() if workspace is None else workspace
    return _Propagation.apply(
        idx, L, Lt, float(message_dropout), bool(training), ws, backward_follows, E0, *weights
    )
