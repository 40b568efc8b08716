"""Explanations of a context model's score: the logit split into its terms of eq. 1.

``pair_contributions`` splits the logit into w0, the linear terms (B, F) and the field-pair
terms ⟨x_a v_a, x_b v_b⟩ (B, F, F), which sum to the logit; ``top_pairs`` lists the largest;
``contrastive_pairs`` answers *why this outfit today*: each pair against its mean over the
candidates in the same context, so pairs that are the same for every candidate drop out.

Letters: B batch (or M candidates), F fields, k latent size.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .models import ContextFM


def pair_contributions(model: nn.Module, idx: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The logit split into w0 (), linear terms (B, F) and field-pair terms (B, F, F) (upper triangle).

    For ``ContextFM``: pair (a, b) is ⟨x_a v_a, x_b v_b⟩; for ``recsys_ref.ffm.FFM``:
    ⟨w_{j_a, b}, w_{j_b, a}⟩.  w0 + lin.sum(1) + pairs.sum((1, 2)) equals the logit.
    """
    with torch.no_grad():
        if isinstance(model, ContextFM):
            e, lin = model.parts(idx)  # (B, F, k), (B, F)
            P = e @ e.transpose(1, 2)  # (B, F, F)
            return model.fm.w0.detach(), lin, torch.triu(P, diagonal=1)
        if hasattr(model, "weight_table"):  # FFM (or any model with its tables)
            ffm: Any = model
            E = ffm.weight_table[idx]  # (B, F, F, k)  E[b, a, c] = w_{j_a, c}
            P = (E * E.transpose(1, 2)).sum(dim=3)  # (B, F, F)
            return ffm.w0.detach(), ffm.w(idx).squeeze(2), torch.triu(P, diagonal=1)
    raise TypeError(
        f"pair_contributions explains ContextFM or FFM models, got {type(model).__name__}"
    )


def top_pairs(
    model: nn.Module, idx: Tensor, names: list[str], n: int = 3
) -> list[list[tuple[str, float]]]:
    """For each row of idx (B, F): the ``n`` field pairs with the largest |contribution|, as ("a × b", value)."""
    _, _, P = pair_contributions(model, idx)
    F_ = P.shape[1]
    a, b = torch.triu_indices(F_, F_, offset=1)
    flat = P[:, a, b]  # (B, F(F-1)/2)
    order = flat.abs().argsort(dim=1, descending=True)[:, :n]
    return [
        [(f"{names[a[j]]} × {names[b[j]]}", float(flat[r, j])) for j in order[r]]
        for r in range(idx.shape[0])
    ]


def contrastive_pairs(
    model: nn.Module,
    candidates: Tensor,
    row: int,
    names: list[str],
    n: int = 3,
    sides: tuple[list[str], list[str]] | None = None,
) -> list[tuple[str, float]]:
    """Why candidate ``row`` rather than the others in the same context.

    ``candidates`` (M, F) are the rows of every outfit in one context (``context_rows``).  Each field
    pair's term of eq. 1 is taken against its mean over the candidates: a pair that is the same for
    every candidate (user × context, user × user) contrasts to exactly 0, so what remains is what
    sets this outfit apart today.  ``sides = (A, B)`` keeps only the pairs with one field in A and
    the other in B (e.g. outfit fields × context fields).  Returns the ``n`` pairs with the largest
    |contrast|, as ("a × b", value); the contrasts of all pairs sum to the logit minus the mean
    logit of the candidates, less the linear terms' share.
    """
    _, _, P = pair_contributions(model, candidates)  # (M, F, F) upper triangle
    diff = P[row] - P.mean(dim=0)  # (F, F)
    F_ = diff.shape[0]
    a, b = torch.triu_indices(F_, F_, offset=1)
    keep = torch.ones(a.shape[0], dtype=torch.bool)
    if sides is not None:
        A, B = set(sides[0]), set(sides[1])
        keep = torch.tensor(
            [
                (names[i] in A and names[j] in B) or (names[i] in B and names[j] in A)
                for i, j in zip(a.tolist(), b.tolist())
            ]
        )
    a, b = a[keep], b[keep]
    flat = diff[a, b]  # (pairs,)
    order = flat.abs().argsort(descending=True)[:n]
    return [(f"{names[a[j]]} × {names[b[j]]}", float(flat[j])) for j in order]
