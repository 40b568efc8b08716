"""cap_3 bucketize: learner-written temperature buckets."""

import torch

from tests.catalogue import Variant


def left_side(t, edges):
    return torch.bucketize(t, edges)


def merged_ends(t, edges):
    return (torch.bucketize(t, edges, right=True) - 1).clamp(0, len(edges) - 2)


def modulo(t, edges):
    n = len(edges) + 1
    w = float(edges[1] - edges[0]) if len(edges) > 1 else 1.0
    return (torch.floor((t - edges[0]) / w).long() + 1) % n


def no_zero(t, edges):
    return torch.bucketize(t, edges, right=True).clamp(min=1)


def float_codes(t, edges):
    return (t.unsqueeze(1) >= edges).sum(1).double()


def fixed_width(t, edges):  # assumes 5 °C steps from the first edge, clipped
    return (torch.floor((t - edges[0]) / 5).long() + 1).clamp(0, len(edges))


def greater_only(t, edges):  # counts edges < t: same as the left side
    return (t.unsqueeze(1) > edges).sum(1)


def loop_codes(t, edges):
    out = torch.zeros(len(t), dtype=torch.long)
    for i, v in enumerate(t.tolist()):
        out[i] = sum(1 for e in edges.tolist() if e <= v)
    return out


def searchsorted(t, edges):
    return torch.searchsorted(edges, t, right=True)


WRONG = [
    Variant("right=False", left_side, "boundary on the wrong side"),
    Variant("clamped into E − 1 buckets", merged_ends, "ends merged"),
    Variant("fixed width modulo n", modulo, "modulo wrap"),
    Variant("no code 0", no_zero, "no bucket 0"),
    Variant("float codes", float_codes, "dtype"),
    Variant("fixed 5 °C width", fixed_width, "even width assumed"),
    Variant("edges < t", greater_only, "boundary on the wrong side"),
]
CORRECT = [Variant("loop", loop_codes), Variant("searchsorted", searchsorted)]


def kept_the_edge_axis(t, edges):
    """Counted the edges ≤ t with keepdim=True: one column too many."""
    return (t[:, None] >= edges[None, :]).sum(dim=1, keepdim=True)


RELATIONAL = [Variant("keepdim=True on the count", kept_the_edge_axis, "missing_reduction")]
