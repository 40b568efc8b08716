"""Logistic regression on label codes: the linear baseline of the FM track.

Paper → code (Rendle 2010, eq. 1 without the pairwise term):
ŷ(x) = w0 + Σ_i w_i x_i → ``LogisticRegression``;  w0 → w0;  w → w (an nn.Embedding (n, 1)).
With one-hot x and label codes idx (B, F), Σ_i w_i x_i = Σ_f w[idx_f].
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class LogisticRegression(nn.Module):
    """ŷ = w0 + Σ_f w[idx_f]: logits (B,) from idx (B, F) global feature indices.

    ``sparse=True`` gives sparse gradients for Adagrad/SparseAdam;
    ``normalize`` sets each active x_i to 1/√F (instance-wise normalisation).
    """

    def __init__(self, n_features: int, *, sparse: bool = True, normalize: bool = False):
        super().__init__()
        self.w0 = nn.Parameter(torch.zeros(()))  # ()
        self.w = nn.Embedding(n_features, 1, sparse=sparse)  # (n, 1)
        with torch.no_grad():
            self.w.weight.zero_()
        self.normalize = normalize

    def forward(self, idx: Tensor) -> Tensor:
        """idx (B, F) → logits (B,)."""
        lin = self.w(idx).squeeze(2).sum(dim=1)  # (B,)
        if self.normalize:
            lin = lin / math.sqrt(idx.shape[1])
        return self.w0 + lin  # (B,)

    def penalty(self, idx: Tensor) -> Tensor:
        """½ Σ w² over the rows the batch touches."""
        return 0.5 * self.w(idx).pow(2).sum()
