"""The FM track's specs beyond the generic exercise tests: the complexity guards of fm_4/fm_5."""

from __future__ import annotations

import pytest
import torch

from recsys_ref.course import run_check
from recsys_ref.fm import fm_pairwise_loops, fm_pairwise_naive


def _fast(x: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    xv = x @ V  # (B, k)
    return 0.5 * (xv.pow(2) - x.pow(2) @ V.pow(2)).sum(dim=1)


def _naive_by_gram(x: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    G = torch.triu(V @ V.T, diagonal=1)  # (n, n): correct, but O(n²)
    return ((x @ G) * x).sum(dim=1)


@pytest.mark.fm_4
@pytest.mark.parametrize("seed", [0, 1])
def test_fm_4_guard_rejects_naive_forms_whatever_the_speed(seed):
    for naive in (fm_pairwise_naive, _naive_by_gram):
        r = run_check("fm_4", naive, seed=seed)
        assert not r.passed and r.misconception == "complexity"
        assert "n×n" in r.message and "Lemma 3.1" in r.message and "1000×1000" in r.message
    assert run_check("fm_4", _fast, seed=seed).passed


@pytest.mark.fm_3
def test_fm_3_accepts_the_literal_double_loop():
    assert run_check("fm_3", fm_pairwise_loops, seed=3).passed


@pytest.mark.fm_5
def test_fm_5_guard_rejects_all_field_pairs():
    def all_pairs(idx, V):
        e = V[idx]  # (B, F, k)
        return torch.triu(e @ e.transpose(1, 2), diagonal=1).sum(dim=(1, 2))  # (B, F, F)

    def lemma(idx, V):
        e = V[idx]  # (B, F, k)
        return 0.5 * (e.sum(1).pow(2) - e.pow(2).sum(1)).sum(1)

    r = run_check("fm_5", all_pairs, seed=0)
    assert not r.passed and r.misconception == "complexity" and "B×F×F" in r.message
    assert run_check("fm_5", lemma, seed=0).passed
