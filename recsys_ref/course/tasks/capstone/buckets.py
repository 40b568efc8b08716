"""Capstone task cap_3: temperature buckets without collisions, code b = #{edges ≤ t}.

Misconceptions: the boundary on the wrong side, the ends merged, a modulo wrap, no bucket 0,
evenly spaced edges assumed.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ....context_fm import bucketize
from ...engine.spec import Case, Exercise, Misconception
from .._generators import SMALLEST, f64, gen, uniform
from . import NB30

EDGES = [-5.0, 0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0]


def _bucket_cases(seed: int) -> list[Case]:
    g = gen(seed)
    e = f64(*EDGES)
    return [
        Case("feels-like temperatures", (uniform(g, 12, -12, 34), e)),
        Case("exactly on the edges", (f64(*EDGES), e)),
        Case("below the first edge, above the last", (f64(-20.0, -5.5, 30.0, 38.0), e)),
        Case("uneven edges", (uniform(g, 10, -5, 25), f64(-2.0, 3.0, 11.0, 23.0))),
        Case("one edge", (f64(-1.0, 0.0, 1.0), f64(0.0))),
    ]


def _bucket_left(t: Tensor, edges: Tensor) -> Tensor:
    return torch.bucketize(t, edges, right=False)


def _bucket_merged_ends(t: Tensor, edges: Tensor) -> Tensor:
    return bucketize(t, edges).clamp(1, len(edges) - 1) - 1


def _bucket_modulo(t: Tensor, edges: Tensor) -> Tensor:  # fixed width, wrapped into n buckets
    n = len(edges) + 1
    width = float(edges[1] - edges[0]) if len(edges) > 1 else 1.0
    return (torch.floor((t - edges[0]) / width).long() + 1) % n


def _bucket_no_lowest(t: Tensor, edges: Tensor) -> Tensor:  # codes 1..E, no code 0
    return bucketize(t, edges).clamp(min=1)


def _bucket_even_width(t: Tensor, edges: Tensor) -> Tensor:  # every bucket as wide as the first
    E = len(edges)
    width = float(edges[1] - edges[0]) if E > 1 else 1.0
    return (torch.floor((t - edges[0]) / width).long() + 1).clamp(0, E)


EXERCISES = [
    Exercise(
        task_id="cap_3",
        title="temperature buckets without collisions",
        notebook=NB30,
        func_name="bucketize",
        reference=bucketize,
        make_cases=_bucket_cases,
        edges=((SMALLEST, "edges:0=1"),),
        equation="code b = #{edges ≤ t} ∈ [0, E]; bucket b = [edges[b−1], edges[b])",
        misconceptions=(
            Misconception(
                "boundary on the wrong side",
                _bucket_left,
                "a value exactly on an edge belongs to the bucket above it, [edges[b−1], "
                "edges[b]): count the edges ≤ t (torch.bucketize(..., right=True))",
            ),
            Misconception(
                "ends merged",
                _bucket_merged_ends,
                "your first and last buckets collide with their neighbours: E edges make "
                "E + 1 buckets, codes 0 … E (below the first edge is 0, above the last is E)",
            ),
            Misconception(
                "modulo wrap",
                _bucket_modulo,
                "you wrapped fixed-width buckets with % n: very cold and very hot days share "
                "a code (a collision); count the edges ≤ t instead",
            ),
            Misconception(
                "no bucket 0",
                _bucket_no_lowest,
                "values below the first edge need their own code 0; yours share the second "
                "bucket's code",
            ),
            Misconception(
                "even width assumed",
                _bucket_even_width,
                "you assumed every bucket as wide as the first (a fixed step from edges[0]); "
                "edges need not be evenly spaced: the code is the number of edges ≤ t",
            ),
        ),
    ),
]
