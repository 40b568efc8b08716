"""fm_8 ∂ŷ/∂V (eq. 4): wrong variants as learners write them, and unusual correct ones."""

import torch

from tests.catalogue import Variant


def no_diagonal(x, V):
    s = x @ V  # (B, k)
    return x[:, :, None] * s[:, None, :]


def x_not_squared(x, V):
    s = x @ V
    return x[:, :, None] * s[:, None, :] - V[None] * x[:, :, None]


def summed_over_f(x, V):
    total = (x @ V).sum(dim=1, keepdim=True)  # (B, 1)
    return x[:, :, None] * total[:, :, None] - V[None] * (x**2)[:, :, None]


def forgot_half_cancels(x, V):
    s = x @ V
    return 2 * (x.unsqueeze(-1) * s.unsqueeze(1) - V * x.pow(2).unsqueeze(-1))


def kept_half(x, V):
    s = x @ V
    return 0.5 * (x.unsqueeze(-1) * s.unsqueeze(1) - V * x.pow(2).unsqueeze(-1))


def plus_instead_of_minus(x, V):
    s = x @ V
    return x.unsqueeze(-1) * s.unsqueeze(1) + V * x.pow(2).unsqueeze(-1)


def summed_over_batch(x, V):
    s = x @ V
    return (x.unsqueeze(-1) * s.unsqueeze(1) - V * x.pow(2).unsqueeze(-1)).sum(dim=0)  # (n, k)


def pairwise_loops_n2(x, V):
    # Σ_{j≠i} x_i x_j v_{j,f} built from an (B, n, n) mask: correct values, O(n²) memory
    B, n = x.shape
    off = 1 - torch.eye(n, dtype=x.dtype)  # (n, n)
    xx = x.unsqueeze(2) * x.unsqueeze(1) * off  # (B, n, n)
    return xx @ V  # (B, n, k)


def autograd_per_row(x, V):
    # correct values, but V's gradient per row through autograd: fine, only slower
    out = []
    for b in range(x.shape[0]):
        Vb = V.detach().clone().requires_grad_(True)
        xv = x[b] @ Vb
        y = 0.5 * (xv.pow(2) - (x[b] ** 2) @ Vb.pow(2)).sum()
        (g,) = torch.autograd.grad(y, Vb)
        out.append(g)
    return torch.stack(out)


def einsum_form(x, V):
    s = torch.einsum("bn,nk->bk", x, V)
    return torch.einsum("bn,bk->bnk", x, s) - torch.einsum("bn,nk->bnk", x * x, V)


def leave_one_out(x, V):
    # x_i Σ_{j≠i} v_{j,f} x_j, written as the full sum minus i's own term
    s = (x @ V).unsqueeze(1)  # (B, 1, k)
    own = x.unsqueeze(2) * V.unsqueeze(0)  # (B, n, k)  x_i v_i
    return x.unsqueeze(2) * (s - own)


WRONG = [
    Variant("leaves out − v x²", no_diagonal, "no diagonal term"),
    Variant("subtracts v x, not v x²", x_not_squared, "x not squared"),
    Variant("sums x V over f", summed_over_f, "sum over f"),
    Variant("twice eq. 4", forgot_half_cancels, "factor 2"),
    Variant("half of eq. 4", kept_half, "factor ½"),
    Variant("adds the diagonal term", plus_instead_of_minus, "diagonal added"),
    Variant("sums the batch away", summed_over_batch, "summed over the batch"),
    Variant("right values via a B×n×n tensor", pairwise_loops_n2, "complexity"),
]

CORRECT = [
    Variant("autograd per row", autograd_per_row),
    Variant("einsum", einsum_form),
    Variant("leave-one-out sum", leave_one_out),
]
