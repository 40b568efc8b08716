"""Inner-product scores, the prediction of MF and NGCF (Wang et al., eq. 10).

Paper → code:  e_u*, e_i* → U (n_users, d), I (n_items, d);  ŷ_ui = e_u*ᵀ e_i* → scores (n_users, n_items)
"""

from __future__ import annotations

from torch import Tensor

from ._checks import expect_same_size, expect_tensor


def inner_product_scores(U: Tensor, I: Tensor) -> Tensor:
    """Eq. (10): ŷ_ui = ⟨e_u, e_i⟩ for every user–item pair.

    U (n_users, d), I (n_items, d), floating → (n_users, n_items), same dtype.
    """
    expect_tensor("U", U, ndim=2, floating=True)
    expect_tensor("I", I, ndim=2, floating=True)
    expect_same_size("U's embedding size", U.shape[1], "I's embedding size", I.shape[1])
    return U @ I.T  # (n_users, n_items)
