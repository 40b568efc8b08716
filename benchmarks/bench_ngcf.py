"""NGCF on the real Gowalla split at the paper's settings: seconds per epoch, per full evaluation.

    python benchmarks/bench_ngcf.py [--data DIR] [--threads 1] [--max-batches 100] [--official]

Settings (NGCF §4.2): d = 64, three propagation layers of 64, batch 1024, message dropout 0.1.
Prints a table of wall-clock times with the process's CPU time beside each (wall is what a
learner waits; CPU time is printed, never substituted for it): adjacency build, one training
epoch (or ``--max-batches`` batches, extrapolated to the full epoch and labelled so), one full
evaluation (recall@20, ndcg@20 over all test users), and baselines measured in the same run:

- training step, interleaved repetitions (median and 10–90 % spread), three columns:
  * the package's step (``NGCF.bpr_scores`` + eq. 11 + backward + Adam);
  * its floor: the step's own sparse and dense products alone — per layer, L E forward and Lᵀ G
    backward, and the six (N×64)·(64×64) matrix products of the two weight matrices (two
    forward, four backward) — timed on their own and summed;
  * a straightforward implementation of the same step: ``torch.sparse.mm`` on a COO L with
    autograd, dense message-dropout masks, eq. 9 concatenated for all N nodes, advanced indexing;
- sampler: the per-triple Python sampler vs the vectorised ``BPRSampler``;
- evaluation: a dense per-user Python loop (score, mask, argsort, per user) on a subset of users,
  extrapolated to all test users.

One torch thread by default: on a loaded 2-core machine a second thread mostly waits.

Skips with a message when the data directory is absent (it is not part of the course).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from machine import describe, shared_data  # benchmarks/machine.py  # noqa: E402

from recsys_ref.data.loaders import load_ngcf_split  # noqa: E402
from recsys_ref.data.sampler import BPRSampler, sample_triples_loop  # noqa: E402
from recsys_ref.graph import laplacian_from_interactions  # noqa: E402
from recsys_ref.losses import bpr_loss  # noqa: E402
from recsys_ref.metrics import evaluate_model  # noqa: E402
from recsys_ref.ngcf import NGCF, ngcf_layer  # noqa: E402

DEFAULT_DATA = shared_data("gowalla", ROOT.parent / "shared" / "data" / "gowalla")


def ratio(slow: np.ndarray, fast: np.ndarray) -> str:
    """Median of the per-round ratios (the same interleaved round) with their 10–90 % spread."""
    p10, m, p90 = np.percentile(slow / fast, [10, 50, 90])
    return f"{m:.2f}× [{p10:.2f}–{p90:.2f}]"


def timed(fn, repeat: int = 1):
    """(wall seconds per call, CPU seconds per call, the last result)."""
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(repeat):
        out = fn()
    return (time.perf_counter() - t0) / repeat, (time.process_time() - c0) / repeat, out


def interleaved(fns: dict, reps: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """One call of each function per repetition, the order rotating; (wall, CPU) arrays per name."""
    names = list(fns)
    for n in names:
        fns[n]()  # warm-up
    out = {n: ([], []) for n in names}
    for r in range(reps):
        for n in names[r % len(names) :] + names[: r % len(names)]:
            t0, c0 = time.perf_counter(), time.process_time()
            fns[n]()
            out[n][0].append(time.perf_counter() - t0)
            out[n][1].append(time.process_time() - c0)
    return {n: (np.asarray(w), np.asarray(c)) for n, (w, c) in out.items()}


def med(t: np.ndarray) -> str:
    p10, m, p90 = np.percentile(t, [10, 50, 90]) * 1e3
    return f"{m:.0f} ms [{p10:.0f}–{p90:.0f}]"


def straightforward_step(
    emb, W1s, W2s, L_coo, n_users, users, pos, neg, opt, lam=1e-5, p=0.1
) -> None:
    """The same step written the plain way (as ports of the official code do)."""
    E, layers = emb, [emb]
    for W1, W2 in zip(W1s, W2s):
        side = torch.sparse.mm(L_coo, E)  # (N, d)
        E = F.leaky_relu((side + E) @ W1 + (side * E) @ W2, 0.2)
        E = F.dropout(E, p, True)  # a dense N×d mask per layer
        layers.append(E)
    all_e = torch.cat(layers, 1)  # eq. 9 for all N nodes
    u, i, j = all_e[users], all_e[n_users + pos], all_e[n_users + neg]
    loss = F.softplus(-((u * i).sum(1) - (u * j).sum(1))).mean()
    loss = loss + lam * sum(t.pow(2).sum() for t in [emb, *W1s, *W2s])
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def naive_eval_per_user(model: NGCF, train, test, users: np.ndarray, k: int = 20) -> float:
    """Per-user Python loop: score one user, mask, full argsort, count hits (the naive baseline)."""
    model.eval()
    with torch.no_grad():
        U, I = model.embeddings()
        total = 0.0
        for u in users:
            s = (I @ U[u]).numpy()  # (n_items,)
            s[train.indices[train.indptr[u] : train.indptr[u + 1]]] = -np.inf
            top = np.argsort(-s)[:k]
            truth = set(test.indices[test.indptr[u] : test.indptr[u + 1]].tolist())
            total += len(truth.intersection(top.tolist())) / len(truth)
    return total


def train_steps(model: NGCF, opt, batches, naive: bool = False) -> int:
    model.train()
    n = 0
    for users, pos, neg in batches:
        if naive:  # eq. 9 for all N nodes, then advanced indexing
            U, I = model.embeddings()
            u = U[users]
            pos_s, neg_s = (u * I[pos]).sum(1), (u * I[neg]).sum(1)
        else:
            pos_s, neg_s = model.bpr_scores(users, pos, neg)
        loss = bpr_loss(pos_s, neg_s, list(model.parameters()), 1e-5)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="directory with train.txt and test.txt"
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--max-batches",
        type=int,
        default=None,
        help="time only this many batches and extrapolate to the full epoch (labelled)",
    )
    ap.add_argument(
        "--official",
        action="store_true",
        help="the official code's variant (D̃⁻¹(A+I), biases, norm)",
    )
    ap.add_argument(
        "--step-reps", type=int, default=5, help="interleaved repetitions of the step comparison"
    )
    ap.add_argument("--naive-users", type=int, default=300)
    ap.add_argument(
        "--step-only",
        action="store_true",
        help="only the step comparison (skip the sampler, the epoch and the evaluations)",
    )
    args = ap.parse_args(argv)

    if not (args.data / "train.txt").is_file():
        print(f"skipped: no Gowalla split at {args.data} (train.txt/test.txt); pass --data DIR")
        return 0
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows: list[tuple[str, str, str, str]] = []

    def row(what: str, wall: float, cpu: float, note: str = "", unit: str = "s") -> None:
        k = 1e3 if unit == "ms" else 1.0
        rows.append(
            (
                what,
                f"{wall * k:.{1 if unit == 's' else 0}f} {unit}",
                f"{cpu * k:.{1 if unit == 's' else 0}f} {unit}",
                note,
            )
        )

    w, c, data = timed(lambda: load_ngcf_split(args.data, name="gowalla"))
    print(data.summary(), flush=True)
    row("load train.txt + test.txt", w, c)
    kind = "row_self" if args.official else "sym"
    w, c, L = timed(lambda: laplacian_from_interactions(data.train, kind))
    row(f"adjacency A and L ({kind}), torch CSR", w, c, "PyTorch port of the official code: ~60 s")

    model = NGCF(
        data.n_users,
        data.n_items,
        L,
        dim=64,
        layer_dims=(64, 64, 64),
        message_dropout=0.1,
        official=args.official,
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    sampler = BPRSampler(data.train, seed=0)
    n_full = sampler.n_batches(1024)

    if not args.step_only:
        # sampler: vectorised vs per-triple Python loop, 100k triples
        n_trip = 100_000
        w_vec, c_vec, _ = timed(
            lambda: [b for b in BPRSampler(data.train, seed=1).epoch(1024, n_trip // 1024)]
        )
        w_loop, _, _ = timed(lambda: sample_triples_loop(data.train, n_trip, seed=1))
        row(
            f"sampler, {n_trip // 1000}k triples: vectorised",
            w_vec,
            c_vec,
            f"per-triple loop {w_loop:.2f} s ({w_loop / w_vec:.0f}×)",
        )

    # the step, its floor and a straightforward implementation, interleaved
    N, d = data.n_users + data.n_items, 64
    E = torch.randn(N, d, requires_grad=False)
    G = torch.randn(N, d)
    Wt = torch.randn(d, d)
    Lt = L if kind == "sym" else model._operator().Lt
    batches = list(BPRSampler(data.train, seed=2).epoch(1024, 8))
    it = {"ours": 0, "plain": 0}

    def ours() -> None:
        train_steps(model, opt, [batches[it["ours"] % len(batches)]])
        it["ours"] += 1

    # the same model and step through the layer-by-layer autograd path (ngcf_layer called as a
    # plain function, no hand-written backward): what the package's step was before ngcf_fused
    unfused = NGCF(
        data.n_users,
        data.n_items,
        L,
        dim=64,
        layer_dims=(64, 64, 64),
        message_dropout=0.1,
        official=args.official,
        layer=None if args.official else (lambda E, L, W1, W2: ngcf_layer(E, L, W1, W2)),
    )
    unfused_opt = torch.optim.Adam(unfused.parameters(), lr=1e-4)
    it["unfused"] = 0

    def layer_by_layer() -> None:
        train_steps(unfused, unfused_opt, [batches[it["unfused"] % len(batches)]])
        it["unfused"] += 1

    base_emb = torch.nn.Parameter(model.embedding.detach().clone())
    base_W1 = [torch.nn.Parameter(W.detach().clone()) for W in model.W1]
    base_W2 = [torch.nn.Parameter(W.detach().clone()) for W in model.W2]
    base_opt = torch.optim.Adam([base_emb, *base_W1, *base_W2], lr=1e-4)
    L_coo = L.to_sparse_coo().coalesce() if kind == "sym" else L.to_sparse_coo().coalesce()

    def plain() -> None:
        u, i, j = batches[it["plain"] % len(batches)]
        straightforward_step(base_emb, base_W1, base_W2, L_coo, data.n_users, u, i, j, base_opt)
        it["plain"] += 1

    n_layers = len(model.W1)
    parts = {"spmm": lambda: L @ E, "spmm_t": lambda: Lt @ G, "gemm": lambda: E @ Wt}
    fns = {"ours": ours, "unfused": layer_by_layer, "plain": plain, **parts}
    t = interleaved(fns, args.step_reps)
    m = {k: float(np.median(v[0])) for k, v in t.items()}
    mc = {k: float(np.median(v[1])) for k, v in t.items()}
    floor = n_layers * (m["spmm"] + m["spmm_t"] + 6 * m["gemm"])
    per_round_floor = n_layers * (t["spmm"][0] + t["spmm_t"][0] + 6 * t["gemm"][0])  # (reps,)
    floor_c = n_layers * (mc["spmm"] + mc["spmm_t"] + 6 * mc["gemm"])
    variant = "official + message dropout" if args.official else "eq. 7 + message dropout"
    row(
        f"training step ({variant}), median of {args.step_reps}",
        m["ours"],
        mc["ours"],
        f"{med(t['ours'][0])}; {m['ours'] / floor:.2f}× the floor",
        "ms",
    )
    row(
        "  floor: its sparse and dense products alone",
        floor,
        floor_c,
        f"{n_layers} × (L E {m['spmm'] * 1e3:.0f} ms + Lᵀ G {m['spmm_t'] * 1e3:.0f} ms + 6 × E W "
        f"{m['gemm'] * 1e3:.1f} ms)",
        "ms",
    )
    row(
        "  the same step, layer by layer through autograd (no ngcf_fused)",
        m["unfused"],
        mc["unfused"],
        f"{med(t['unfused'][0])}; {m['unfused'] / floor:.2f}× the floor, "
        f"{ratio(t['unfused'][0], t['ours'][0])} the package's step",
        "ms",
    )
    rows.append(
        (
            "  step ÷ floor, per interleaved round",
            "",
            "",
            f"package {ratio(t['ours'][0], per_round_floor)}, "
            f"layer by layer {ratio(t['unfused'][0], per_round_floor)}",
        )
    )
    row(
        "  straightforward step (sparse.mm COO, dense dropout, all-node eq. 9)",
        m["plain"],
        mc["plain"],
        f"{med(t['plain'][0])}; {m['plain'] / m['ours']:.2f}× the package's step",
        "ms",
    )

    if args.step_only:
        _print(rows, args, data)
        return 0
    sampler = BPRSampler(data.train, seed=0)
    w, c, done = timed(lambda: train_steps(model, opt, sampler.epoch(1024, args.max_batches)))
    if done < n_full:
        rows.append(
            (
                f"training epoch ({done} of {n_full} batches, EXTRAPOLATED)",
                f"{w / done * n_full:.1f} s",
                f"{c / done * n_full:.1f} s",
                f"measured {w:.1f} s wall; budget 300 s; port ~1,050 s",
            )
        )
    else:
        row(f"training epoch ({n_full} batches)", w, c, "budget 300 s; port ~1,050 s")

    w, c, mt = timed(lambda: evaluate_model(model, data.train, data.test, k=20))
    n_test_users = int((np.diff(data.test.indptr) > 0).sum())
    row(
        f"full evaluation, {n_test_users:,} test users",
        w,
        c,
        f"recall@20 {mt['recall']:.4f}, ndcg@20 {mt['ndcg']:.4f}; budget 15 s; port 150–250 s",
    )
    users = np.flatnonzero(np.diff(data.test.indptr) > 0)[: args.naive_users]
    w_n, c_n, _ = timed(lambda: naive_eval_per_user(model, data.train, data.test, users))
    k = n_test_users / len(users)
    row(
        f"naive per-user evaluation ({len(users)} users, extrapolated)",
        w_n * k,
        c_n * k,
        f"{w_n * k / w:.1f}× the batched evaluation",
    )

    _print(rows, args, data)
    return 0


def _print(rows, args, data) -> None:
    print(
        f"\nNGCF on Gowalla — {describe()}, "
        f"{'official variant' if args.official else 'eq. 7 (paper)'}, d = 64, layers 64-64-64, batch 1024"
    )
    wd = max(len(r[0]) for r in rows)
    print(f"{'what':<{wd}}  {'wall':>10}  {'CPU':>10}  notes")
    for what, wall, cpu, note in rows:
        print(f"{what:<{wd}}  {wall:>10}  {cpu:>10}  {note}")
    print(
        f"\nwall = elapsed time (what a learner waits); CPU = this process's CPU time over the same span, "
        f"{torch.get_num_threads()} torch thread(s). CPU well below wall means the process was waiting "
        "for a core (a loaded machine)."
    )


if __name__ == "__main__":
    raise SystemExit(main())
