"""logloss and AUC against slow, literal references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_ref.ctr_metrics import auc, logloss, logloss_logits


def slow_auc(y, s):
    """Count (click, non-click) pairs: 1 if the click scores higher, ½ for a tie."""
    pos = [si for yi, si in zip(y, s) if yi == 1]
    neg = [si for yi, si in zip(y, s) if yi == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


@settings(max_examples=50, deadline=None)
@given(n=st.integers(2, 40), seed=st.integers(0, 10_000), levels=st.integers(2, 6))
def test_auc_equals_pair_counting_with_ties(n, seed, levels):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[0], y[1] = 0, 1
    s = rng.integers(0, levels, n).astype(float)  # few levels: many ties
    assert auc(y, s) == pytest.approx(slow_auc(y.tolist(), s.tolist()))


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 30), seed=st.integers(0, 10_000))
def test_logloss_equals_the_sum(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    z = rng.normal(0, 3, n)
    p = 1 / (1 + np.exp(-z))
    want = -sum(math.log(pi) if yi else math.log(1 - pi) for yi, pi in zip(y, p)) / n
    assert logloss(y, p) == pytest.approx(want, rel=1e-9)
    assert logloss_logits(y, z) == pytest.approx(want, rel=1e-9)


def test_metric_edge_cases():
    assert auc([0, 1], [0.2, 0.9]) == 1.0 and auc([0, 1], [0.5, 0.5]) == 0.5
    assert logloss([1, 0], [0.5, 0.5]) == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match="one click and one non-click"):
        auc([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="probabilities"):
        logloss([1, 0], [2.0, 0.1])
    with pytest.raises(ValueError, match="0/1"):
        logloss([2, 0], [0.5, 0.1])
