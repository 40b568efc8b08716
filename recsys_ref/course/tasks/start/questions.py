"""Concept questions of 00_start_here: how a check works, and eq. 10's shape."""

from __future__ import annotations

from ...engine.questions import question
from . import NB00

EXERCISES = [
    question(
        "q_start_00a",
        NB00,
        "what a check does with a stub",
        "sha256:3ff30e00a694da737090962af72b452f62c885c11d85b88eb3e5dbbff37123a3",
        'a stub that still raises NotImplementedError is reported as "not started" and the '
        "check returns, so Run All goes on to the next task; only a wrong answer raises.",
        choices="ABC",
        wrong={
            "sha256:99d95ec9b75a90c26434c69b6ebe01c861c66edd1ff5a0030666697a3923c36e": "an AssertionError is what a *wrong* answer gets; a stub is not wrong yet, "
            "only not started, and Run All must not stop on it",
            "sha256:d0c2cbb9d82a7aa57bfdf17d2ce52635436850e24a1c6a5e2ad4eaaf78046451": 'nothing is skipped silently: the check prints a "not started" line so you '
            "can see which tasks remain",
        },
    ),
    question(
        "q_start_00b",
        NB00,
        "how many scores eq. 10 gives",
        "sha256:d3a37c462c0376942b996725335a992592251a0b118982cf719992c8ebd1c890:10.0:e6887230b6b9921e",
        "dot_scores(U, I) is U Iᵀ: one inner product per (user, item) pair, 5 × 7 = 35, "
        "whatever the embedding size d.",
        wrong={
            "sha256:195dead25fc0d4c801580b1a16f08faa21a3dc498194ae4ec94172f9148a29e8:1.0:646ebfe6fdee43a6": "3 is d, the embedding size; eq. 10 sums over it, it does not appear in the output",
            "sha256:51f8ed75ccc7ec09e97237701dad131891a8d690baeed86cafe9b4df64a0cc57:1.0:1511fcdf557527bb": "5 + 7 counts the users and items; the scores are one per (user, item) pair",
            "sha256:7c050ae85ebb99251f07637a2dc80874d6aeb2c5c3239be9aa3bca8fa33b144b:10.0:b84f78bea36e8bbe": "5 × 7 × 3 counts the products inside the sums; each inner product adds its d "
            "products into one score",
        },
    ),
]
