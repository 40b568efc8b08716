"""The BPR objective of NGCF (Wang et al., SIGIR 2019, eq. 11; Rendle et al., UAI 2009).

Paper → code:  ŷ_ui, ŷ_uj → ``pos_scores``, ``neg_scores`` (B,);  Θ = {E, W1^(l), W2^(l)} → ``theta``
(a list of tensors, e.g. ``list(model.parameters())``);  λ → ``lam``.

    Loss = mean_{(u,i,j) ∈ batch} −ln σ(ŷ_ui − ŷ_uj) + λ ‖Θ‖²

Choice of the L2 term.  Eq. 11 regularises *all* trainable parameters Θ, and that is the default
here (``l2_on="theta"``): every step decays every embedding and every weight matrix.  Both official
codes (TensorFlow, and the PyTorch port) apply λ (‖e_u*‖² + ‖e_i*‖² + ‖e_j*‖²)/2/B to the batch's final
concatenated rows e*; because they L2-normalise every propagated layer, ‖e*‖² = ‖e⁽⁰⁾‖² + L and the
term reduces to the batch's ego rows — never the W's.  ``l2_on="batch"`` computes it on the ego rows
(``model.ego_rows``); without per-layer normalisation the term on e* would reach W1, W2 as well.  The two λ are not on the same
scale: ‖Θ‖² sums over all N·d embedding entries, so eq. 11 needs a much smaller λ.
The BPR term is averaged over the batch (the official code does the same), so λ does not depend on B.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ._checks import expect_same_size, expect_tensor


def bpr_loss(
    pos_scores: Tensor,
    neg_scores: Tensor,
    theta: list[Tensor],
    lam: float,
    batch_emb: list[Tensor] | None = None,
    l2_on: str = "theta",
) -> Tensor:
    """Eq. (11): mean −ln σ(ŷ_ui − ŷ_uj) + λ Σ_{θ∈Θ} ‖θ‖²  → scalar (0-d tensor).

    pos_scores, neg_scores (B,) float; theta: list of parameter tensors; lam ≥ 0.
    batch_emb: the batch's ego-embedding rows [(B, d), (B, d), (B, d)], used only with
    ``l2_on="batch"`` (the official code's λ (‖e_u‖² + ‖e_i‖² + ‖e_j‖²)/2/B).
    −ln σ(x) is computed as softplus(−x), which stays finite for large |x|.
    """
    expect_tensor("pos_scores", pos_scores, ndim=1, floating=True)
    expect_tensor("neg_scores", neg_scores, ndim=1, floating=True)
    expect_same_size("len(pos_scores)", pos_scores.shape[0], "len(neg_scores)", neg_scores.shape[0])
    if lam < 0:
        raise ValueError(f"lam must be ≥ 0, got {lam}")
    ranking = F.softplus(-(pos_scores - neg_scores)).mean()  # −ln σ(ŷ_ui − ŷ_uj), averaged
    if l2_on == "theta":
        reg: Tensor | float = sum(
            (t.pow(2).sum() for t in theta),
            torch.zeros((), dtype=pos_scores.dtype, device=pos_scores.device),
        )
    elif l2_on == "batch":
        if batch_emb is None:
            raise ValueError('l2_on="batch" needs batch_emb, the batch\'s ego-embedding rows')
        reg = sum(e.pow(2).sum() for e in batch_emb) / 2 / pos_scores.shape[0]
    else:
        raise ValueError(
            f'l2_on must be "theta" (eq. 11) or "batch" (official code), got {l2_on!r}'
        )
    return ranking + lam * reg
