"""NGCF on the real Gowalla split at the paper's settings: seconds per epoch, per full evaluation.

    python benchmarks/bench_ngcf.py [--data DIR] [--threads 2] [--max-batches 100] [--official]

Settings (NGCF §4.2): d = 64, three propagation layers of 64, batch 1024, message dropout 0.1.
Prints a table: adjacency build, one training epoch (or ``--max-batches`` batches, extrapolated
to the full epoch and labelled so), one full evaluation (recall@20, ndcg@20 over all test users),
and naive baselines measured in the same run with the ratio:

- sampler: the per-triple Python sampler vs the vectorised ``BPRSampler``;
- training step: scoring through ``model.embeddings()`` (eq. 9 for all N nodes) and advanced
  indexing vs ``bpr_scores`` (eq. 9 for the batch's rows only);
- evaluation: a dense per-user Python loop (score, mask, argsort, per user) on a subset of users,
  extrapolated to all test users.

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

from machine import describe  # benchmarks/machine.py  # noqa: E402

from recsys_ref.data.loaders import load_ngcf_split  # noqa: E402
from recsys_ref.data.sampler import BPRSampler, sample_triples_loop  # noqa: E402
from recsys_ref.graph import laplacian_from_interactions  # noqa: E402
from recsys_ref.losses import bpr_loss  # noqa: E402
from recsys_ref.metrics import evaluate_model  # noqa: E402
from recsys_ref.ngcf import NGCF  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "gowalla"


CPU_SECONDS: dict[str, float] = {}


def timed(fn, repeat: int = 1, key: str | None = None):
    """Wall-clock seconds per call; also records CPU seconds of this process under ``key``
    (on a machine shared with other jobs, CPU seconds / threads estimates the unshared wall time)."""
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(repeat):
        out = fn()
    if key:
        CPU_SECONDS[key] = (time.process_time() - c0) / repeat
    return (time.perf_counter() - t0) / repeat, out


def naive_eval_per_user(model: NGCF, train, test, users: np.ndarray, k: int = 20) -> float:
    """Per-user Python loop: score one user, mask, full argsort, count hits (the naive baseline)."""
    model.eval()
    with torch.no_grad():
        U, I = model.embeddings()
        total = 0.0
        for u in users:
            s = (I @ U[u]).numpy()  # (n_items,)
            s[train.indices[train.indptr[u]: train.indptr[u + 1]]] = -np.inf
            top = np.argsort(-s)[:k]
            truth = set(test.indices[test.indptr[u]: test.indptr[u + 1]].tolist())
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
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="directory with train.txt and test.txt")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-batches", type=int, default=None,
                    help="time only this many batches and extrapolate to the full epoch (labelled)")
    ap.add_argument("--official", action="store_true", help="the official code's variant (D̃⁻¹(A+I), biases, norm)")
    ap.add_argument("--naive-batches", type=int, default=5)
    ap.add_argument("--naive-users", type=int, default=300)
    args = ap.parse_args(argv)

    if not (args.data / "train.txt").is_file():
        print(f"skipped: no Gowalla split at {args.data} (train.txt/test.txt); pass --data DIR")
        return 0
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows: list[tuple[str, str, str]] = []

    t_load, data = timed(lambda: load_ngcf_split(args.data, name="gowalla"))
    print(data.summary(), flush=True)
    rows.append(("load train.txt + test.txt", f"{t_load:.2f} s", ""))
    kind = "row_self" if args.official else "sym"
    t_adj, L = timed(lambda: laplacian_from_interactions(data.train, kind), key="adjacency")
    rows.append((f"adjacency A and L ({kind}), torch CSR", f"{t_adj:.2f} s", "PyTorch port of the official code: ~60 s"))

    model = NGCF(data.n_users, data.n_items, L, dim=64, layer_dims=(64, 64, 64), message_dropout=0.1,
                 official=args.official)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    sampler = BPRSampler(data.train, seed=0)
    n_full = sampler.n_batches(1024)

    # sampler: vectorised vs per-triple Python loop, 100k triples
    n_trip = 100_000
    t_vec, _ = timed(lambda: [b for b in BPRSampler(data.train, seed=1).epoch(1024, n_trip // 1024)])
    t_loop, _ = timed(lambda: sample_triples_loop(data.train, n_trip, seed=1))
    rows.append((f"sampler, {n_trip // 1000}k triples: vectorised", f"{t_vec:.2f} s",
                 f"per-triple loop {t_loop:.2f} s ({t_loop / t_vec:.0f}×)"))

    # where the time goes in one step (isolated components, N×64)
    N = data.n_users + data.n_items
    E = torch.randn(N, 64)
    t_spmm, _ = timed(lambda: L @ E, 5)
    t_drop, _ = timed(lambda: F.dropout(E, 0.1, True), 5)
    t_gemm, _ = timed(lambda: E @ torch.randn(64, 64), 5)
    t_cat, _ = timed(lambda: torch.cat([E, E, E, E], 1), 5)
    rows.append(("one L @ E (N×64), forward", f"{t_spmm * 1e3:.1f} ms",
                 f"dropout on N×64 {t_drop * 1e3:.1f} ms; E W {t_gemm * 1e3:.1f} ms; cat 4 layers {t_cat * 1e3:.1f} ms"))

    # training: optimised step vs naive (all-node concatenation + advanced indexing)
    nb = args.naive_batches
    t_naive, _ = timed(lambda: train_steps(model, opt, sampler.epoch(1024, nb), naive=True))
    t_opt, _ = timed(lambda: train_steps(model, opt, sampler.epoch(1024, nb)))
    rows.append((f"training step (mean of {nb} batches)", f"{t_opt / nb:.3f} s",
                 f"all-node eq. 9 + indexing {t_naive / nb:.3f} s ({t_naive / t_opt:.2f}×)"))

    sampler = BPRSampler(data.train, seed=0)
    t0, c0 = time.perf_counter(), time.process_time()
    done = train_steps(model, opt, sampler.epoch(1024, args.max_batches))
    t_ep = time.perf_counter() - t0
    CPU_SECONDS["epoch"] = (time.process_time() - c0) / done * n_full
    if done < n_full:
        rows.append((f"training epoch ({done} of {n_full} batches, EXTRAPOLATED)",
                     f"{t_ep / done * n_full:.1f} s", f"measured {t_ep:.1f} s; budget 300 s; port ~1,050 s"))
    else:
        rows.append((f"training epoch ({n_full} batches)", f"{t_ep:.1f} s", "budget 300 s; port ~1,050 s"))

    t_eval, m = timed(lambda: evaluate_model(model, data.train, data.test, k=20), key="eval")
    n_test_users = int((np.diff(data.test.indptr) > 0).sum())
    rows.append((f"full evaluation, {n_test_users:,} test users", f"{t_eval:.1f} s",
                 f"recall@20 {m['recall']:.4f}, ndcg@20 {m['ndcg']:.4f}; budget 15 s; port 150–250 s"))
    users = np.flatnonzero(np.diff(data.test.indptr) > 0)[: args.naive_users]
    t_naive_eval, _ = timed(lambda: naive_eval_per_user(model, data.train, data.test, users))
    extrap = t_naive_eval / len(users) * n_test_users
    rows.append((f"naive per-user evaluation ({len(users)} users, extrapolated)", f"{extrap:.1f} s",
                 f"{extrap / t_eval:.1f}× the batched evaluation"))

    print(f"\nNGCF on Gowalla — {describe()}, "
          f"{'official variant' if args.official else 'eq. 7 (paper)'}, d = 64, layers 64-64-64, batch 1024")
    w = max(len(r[0]) for r in rows)
    print(f"{'what':<{w}}  {'time':>10}  notes")
    for what, t, note in rows:
        print(f"{what:<{w}}  {t:>10}  {note}")
    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    th = torch.get_num_threads()
    print(f"\nCPU seconds of this process / {th} threads (≈ wall time on an unshared machine; "
          f"load average now {load}):")
    for key, c in CPU_SECONDS.items():
        print(f"  {key:10s} {c / th:8.1f} s  (CPU {c:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
