"""fm_9 one SGD step with L2 on the touched rows: wrong variants as learners write them, unusual correct ones."""

import torch

from tests.catalogue import Variant


def _scores(idx, w0, w, V):
    e = V[idx]
    s = e.sum(1)
    return w0 + w[idx].sum(1) + 0.5 * (s * s - (e * e).sum(1)).sum(1)


def _grads(idx, y, w0, w, V, sign=1.0, scale=None, own=True, link=torch.sigmoid):
    B, F = idx.shape
    g = sign * (link(_scores(idx, w0, w, V)) - y) / (B if scale is None else scale)
    e = V[idx]
    s = e.sum(1, keepdim=True)
    dv = g[:, None, None] * ((s - e) if own else s.expand_as(e))
    gw = torch.zeros_like(w).index_add(0, idx.flatten(), g.repeat_interleave(F))
    gV = torch.zeros_like(V).index_add(0, idx.flatten(), dv.reshape(B * F, -1))
    return g.sum(), gw, gV


def _l2_touched(idx, w, V, l2):
    rows = torch.unique(idx)
    rw, rV = torch.zeros_like(w), torch.zeros_like(V)
    rw[rows] = l2 * w[rows]
    rV[rows] = l2 * V[rows]
    return rw, rV


def dense_l2(idx, y, w0, w, V, lr, l2):
    g0, gw, gV = _grads(idx, y, w0, w, V)
    return w0 - lr * g0, w - lr * (gw + l2 * w), V - lr * (gV + l2 * V)


def linear_term_forgotten(idx, y, w0, w, V, lr, l2):
    g0, _, gV = _grads(idx, y, w0, w, V)
    _, rV = _l2_touched(idx, w, V, l2)
    return w0 - lr * g0, w.clone(), V - lr * (gV + rV)


def y_minus_p(idx, y, w0, w, V, lr, l2):
    g0, gw, gV = _grads(idx, y, w0, w, V, sign=-1.0)
    rw, rV = _l2_touched(idx, w, V, l2)
    return w0 - lr * g0, w - lr * (gw + rw), V - lr * (gV + rV)


def forgot_minus_own(idx, y, w0, w, V, lr, l2):
    g0, gw, gV = _grads(idx, y, w0, w, V, own=False)
    rw, rV = _l2_touched(idx, w, V, l2)
    return w0 - lr * g0, w - lr * (gw + rw), V - lr * (gV + rV)


def summed_loss(idx, y, w0, w, V, lr, l2):
    g0, gw, gV = _grads(idx, y, w0, w, V, scale=1)
    rw, rV = _l2_touched(idx, w, V, l2)
    return w0 - lr * g0, w - lr * (gw + rw), V - lr * (gV + rV)


def l2_every_use(idx, y, w0, w, V, lr, l2):
    g0, gw, gV = _grads(idx, y, w0, w, V)
    flat = idx.flatten()
    gw = gw.index_add(0, flat, l2 * w[flat])
    gV = gV.index_add(0, flat, l2 * V[flat])
    return w0 - lr * g0, w - lr * gw, V - lr * gV


def bias_regularised(idx, y, w0, w, V, lr, l2):
    g0, gw, gV = _grads(idx, y, w0, w, V)
    rw, rV = _l2_touched(idx, w, V, l2)
    return w0 - lr * (g0 + l2 * w0), w - lr * (gw + rw), V - lr * (gV + rV)


def no_sigmoid(idx, y, w0, w, V, lr, l2):
    g0, gw, gV = _grads(idx, y, w0, w, V, link=lambda z: z)
    rw, rV = _l2_touched(idx, w, V, l2)
    return w0 - lr * g0, w - lr * (gw + rw), V - lr * (gV + rV)


def in_place(idx, y, w0, w, V, lr, l2):
    g0, gw, gV = _grads(idx, y, w0, w, V)
    rw, rV = _l2_touched(idx, w, V, l2)
    w -= lr * (gw + rw)  # writes into the caller's tensor
    V -= lr * (gV + rV)
    return w0 - lr * g0, w, V


def with_autograd(idx, y, w0, w, V, lr, l2):
    w0_, w_, V_ = (t.detach().clone().requires_grad_(True) for t in (w0, w, V))
    z = _scores(idx, w0_, w_, V_)
    rows = torch.unique(idx)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y) + 0.5 * l2 * (
        w_[rows].pow(2).sum() + V_[rows].pow(2).sum()
    )
    g0, gw, gV = torch.autograd.grad(loss, (w0_, w_, V_))
    return w0 - lr * g0, w - lr * gw, V - lr * gV


def loop_over_rows(idx, y, w0, w, V, lr, l2):
    B = idx.shape[0]
    gw, gV = torch.zeros_like(w), torch.zeros_like(V)
    g0 = torch.zeros_like(w0)
    for b in range(B):
        e = V[idx[b]]  # (F, k)
        z = w0 + w[idx[b]].sum() + 0.5 * ((e.sum(0) ** 2) - (e**2).sum(0)).sum()
        d = (torch.sigmoid(z) - y[b]) / B
        g0 = g0 + d
        for f, i in enumerate(idx[b].tolist()):
            gw[i] += d
            gV[i] += d * (e.sum(0) - e[f])
    for i in set(idx.flatten().tolist()):
        gw[i] += l2 * w[i]
        gV[i] += l2 * V[i]
    return w0 - lr * g0, w - lr * gw, V - lr * gV


WRONG = [
    Variant("L2 on the whole table", dense_l2, "L2 on all rows"),
    Variant("w not updated", linear_term_forgotten, "no linear term"),
    Variant("y − σ(ŷ)", y_minus_p, "wrong sign"),
    Variant("∂ŷ/∂v_i = Σ_j v_j", forgot_minus_own, "no − v_i"),
    Variant("summed batch loss", summed_loss, "sum, not mean"),
    Variant("λ per occurrence", l2_every_use, "L2 per occurrence"),
    Variant("w0 regularised", bias_regularised, "L2 on w0"),
    Variant("ŷ − y", no_sigmoid, "no sigmoid"),
    Variant("updates w and V in place", in_place, "in_place"),
]

CORRECT = [
    Variant("autograd on the objective", with_autograd),
    Variant("loops over rows and fields", loop_over_rows),
]


def fields_hard_coded(idx, y, w0, w, V, lr, l2):
    """Written for the first example's three fields."""
    idx = idx.reshape(len(y), 3)  # F = 3, as in the example
    w0n, wn, Vn = (t.clone() for t in (w0, w, V))
    g0, gw, gV = _grads(idx, y, w0, w, V)
    rw, rV = _l2_touched(idx, w, V, l2)
    return w0n - lr * g0, wn - lr * (gw + rw), Vn - lr * (gV + rV)


def one_field_not_written(idx, y, w0, w, V, lr, l2):
    if idx.shape[1] == 1:
        raise NotImplementedError("a single field: no pair, to do")
    g0, gw, gV = _grads(idx, y, w0, w, V)
    rw, rV = _l2_touched(idx, w, V, l2)
    return w0 - lr * g0, w - lr * (gw + rw), V - lr * (gV + rV)


def lr_twice(idx, y, w0, w, V, lr, l2):
    """The step applied twice to every parameter (θ − 2η ∂L/∂θ)."""
    g0, gw, gV = _grads(idx, y, w0, w, V)
    rw, rV = _l2_touched(idx, w, V, l2)
    return w0 - 2 * lr * g0, w - 2 * lr * (gw + rw), V - 2 * lr * (gV + rV)


def half_step(idx, y, w0, w, V, lr, l2):
    """η/2: the ½ of ½λ‖θ‖² carried over to the whole step."""
    g0, gw, gV = _grads(idx, y, w0, w, V)
    rw, rV = _l2_touched(idx, w, V, l2)
    return w0 - 0.5 * lr * g0, w - 0.5 * lr * (gw + rw), V - 0.5 * lr * (gV + rV)


# learner-written mistakes outside the spec's list, each named by a relation (issue 21, class 4)
RELATIONAL = [
    Variant("three fields hard-coded", fields_hard_coded, "hard_coded_size"),
    Variant("the one-field branch not written", one_field_not_written, "branch_not_written"),
    Variant("the step applied twice", lr_twice, "step_scaled"),
    Variant("half a step", half_step, "step_scaled"),
]
