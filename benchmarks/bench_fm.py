"""Speed of the FM track: Lemma 3.1 vs the naive pairwise term, and FM/FFM training throughput.

Run:  python benchmarks/bench_fm.py [--quick]

1. The pairwise term of FM eq. 1, naive O(k n²) vs Lemma 3.1 O(k n), B = 4096, k = 16,
   n = 10 … 1000 (the naive form is run in row chunks so its B×n×n tensor fits in memory).
2. Training throughput on Criteo-shaped batches (39 fields, ~1M features, B = 2048;
   FM k = 16, FFM k = 4): examples/s for a full train step (forward + loss + backward +
   optimiser step) and for forward + backward alone.  Ours: nn.Embedding(sparse=True) +
   Adagrad (libffm's optimiser), vectorised FFM.  Side by side with the ``torchfm`` package
   (pytorch-fm 0.7.0, ``pip install torchfm==0.7.0``) in its recommended setup (its example:
   dense Adam, sigmoid + BCELoss); that column is skipped with a message when not installed.
3. A smoke run on the real Criteo/Avazu samples in ../shared/data/samples (skipped when absent).

All timings on 2 torch threads; the machine is printed with the table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from machine import describe  # benchmarks/machine.py

from recsys_ref.data.avazu import read_avazu
from recsys_ref.data.criteo import read_criteo
from recsys_ref.data.encoding import FieldEncoder
from recsys_ref.ffm import FFM
from recsys_ref.fm import FM, fm_pairwise, fm_pairwise_naive
from recsys_ref.train_ctr import evaluate_ctr, train_ctr

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "samples"

# Criteo-like cardinalities: 13 discretised integer fields + 26 categorical ones, ~1M in all.
CRITEO_DIMS = [40, 90, 80, 60, 120, 80, 60, 70, 90, 10, 40, 50, 70,
               1_400, 560, 180_000, 120_000, 300, 24, 12_000, 630, 3, 70_000, 5_600, 170_000,
               3_200, 27, 14_000, 130_000, 10, 5_600, 2_100, 4, 150_000, 18, 15, 80_000, 100, 60_000]


def best_of(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


# ---------------------------------------------------------------- 1. naive vs Lemma 3.1


def naive_chunked(x: torch.Tensor, V: torch.Tensor, max_elems: int = 1 << 24) -> torch.Tensor:
    """fm_pairwise_naive on row chunks, so that each (chunk, n, n) tensor stays ≤ max_elems."""
    n = x.shape[1]
    rows = max(1, max_elems // (n * n))
    return torch.cat([fm_pairwise_naive(x[i:i + rows], V) for i in range(0, x.shape[0], rows)])


def bench_pairwise(quick: bool) -> None:
    B, k = 4096, 16
    ns = [10, 20, 39, 100, 200] + ([] if quick else [500, 1000])
    print(f"\n1. Pairwise term of eq. 1, B = {B}, k = {k}, float32: naive O(kn²) vs Lemma 3.1 O(kn)")
    print(f"{'n':>6}{'naive ms':>12}{'O(kn) ms':>11}{'ratio':>9}{'ratio / n':>11}")
    g = torch.Generator().manual_seed(0)
    for n in ns:
        x = torch.randn(B, n, generator=g)
        V = torch.randn(n, k, generator=g)
        assert torch.allclose(naive_chunked(x, V), fm_pairwise(x, V), rtol=1e-3, atol=1e-2 * n)
        t_naive = best_of(lambda x=x, V=V: naive_chunked(x, V), 3 if n <= 200 else 2)
        t_fast = best_of(lambda x=x, V=V: fm_pairwise(x, V), 20)
        r = t_naive / t_fast
        print(f"{n:>6}{1e3 * t_naive:>12.2f}{1e3 * t_fast:>11.3f}{r:>8.1f}×{r / n:>11.2f}")


# ---------------------------------------------------------------- 2. training throughput


def criteo_batches(n_batches: int, B: int, seed: int = 0) -> list[torch.Tensor]:
    """Per-field codes (B, 39) with Zipf-like frequencies (most rows hit popular values)."""
    rng = np.random.default_rng(seed)
    cols = []
    for d in CRITEO_DIMS:
        ranks = np.minimum(rng.zipf(1.3, size=n_batches * B), d) - 1  # long tail, capped
        cols.append(rng.permutation(d)[ranks])
    codes = torch.from_numpy(np.stack(cols, axis=1))  # (N, 39)
    return list(codes.split(B))


def bench_training(quick: bool) -> None:
    B, F_ = 2048, len(CRITEO_DIMS)
    n = sum(CRITEO_DIMS)
    offsets = torch.tensor([0, *CRITEO_DIMS[:-1]]).cumsum(0)
    batches = criteo_batches(8, B)
    labels = [torch.bernoulli(torch.full((B,), 0.25), generator=torch.Generator().manual_seed(i))
              for i in range(len(batches))]
    print(f"\n2. Training throughput, Criteo-shaped batches: {F_} fields, {n:,} features, B = {B}")
    try:
        import torchfm  # noqa: F401
        from torchfm.model.ffm import FieldAwareFactorizationMachineModel
        from torchfm.model.fm import FactorizationMachineModel
        have_torchfm = True
    except ImportError:
        have_torchfm = False
        print("   (torchfm not installed: `pip install torchfm==0.7.0` for the side-by-side column)")

    def ours_step(model, opt):
        def step(i: int, update: bool) -> None:
            idx = batches[i % len(batches)] + offsets  # (B, F) global indices
            loss = F.binary_cross_entropy_with_logits(model(idx), labels[i % len(labels)])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if update:
                with torch.sparse.check_sparse_tensor_invariants(enable=False):
                    opt.step()
        return step

    def torchfm_step(model, opt):
        def step(i: int, update: bool) -> None:
            codes = batches[i % len(batches)]  # torchfm adds the offsets itself
            loss = F.binary_cross_entropy(model(codes), labels[i % len(labels)])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if update:
                opt.step()
        return step

    def throughput(step, steps: int) -> tuple[float, float]:
        for i in range(2):
            step(i, True)  # warm-up (optimizer state allocated)
        out = []
        for update in (True, False):
            t0 = time.perf_counter()
            for i in range(steps):
                step(i, update)
            out.append(steps * B / (time.perf_counter() - t0))
        return out[0], out[1]

    rows = []
    configs = [("FM", 16), ("FFM", 4)]
    for name, k in configs:
        torch.manual_seed(0)
        model = FM(n, k) if name == "FM" else FFM(n, F_, k)
        opt = torch.optim.Adagrad(model.parameters(), lr=0.05)
        ours = throughput(ours_step(model, opt), 6 if quick else 15)
        del model, opt
        theirs = (float("nan"), float("nan"))
        if have_torchfm:
            torch.manual_seed(0)
            ref = (FactorizationMachineModel(CRITEO_DIMS, k) if name == "FM"
                   else FieldAwareFactorizationMachineModel(CRITEO_DIMS, k))
            opt = torch.optim.Adam(ref.parameters(), lr=1e-3, weight_decay=1e-6)
            theirs = throughput(torchfm_step(ref, opt), 3 if (quick or name == "FFM") else 6)
            del ref, opt
        rows.append((name, k, ours, theirs))
    print(f"{'model':6}{'k':>3}  {'ours: step ex/s':>16}{'fwd+bwd ex/s':>14}   "
          f"{'torchfm: step':>14}{'fwd+bwd':>10}   {'speed-up step':>13}{'fwd+bwd':>9}")
    for name, k, (o_step, o_fb), (t_step, t_fb) in rows:
        print(f"{name:6}{k:>3}  {o_step:>16,.0f}{o_fb:>14,.0f}   {t_step:>14,.0f}{t_fb:>10,.0f}   "
              f"{o_step / t_step:>12.1f}×{o_fb / t_fb:>8.1f}×")
    print("   ours: nn.Embedding(sparse=True) + Adagrad, FFM pairs vectorised;"
          " torchfm: its example's dense Adam (lr 1e-3, weight_decay 1e-6), FFM loop over field pairs")


# ---------------------------------------------------------------- 3. real samples


def smoke_real_samples() -> None:
    print("\n3. Real samples (loader + encoder + 3 epochs of FM; too small to judge quality)")
    crit, ava = SAMPLES / "criteo_sample.txt", SAMPLES / "avazu_sample.txt"
    if not (crit.exists() and ava.exists()):
        print(f"   skipped: samples not found under {SAMPLES}")
        return
    for path, reader in ((crit, read_criteo), (ava, read_avazu)):
        t0 = time.perf_counter()
        table = reader(path)
        enc = FieldEncoder(table.fields, min_count=2).fit(table.rows)
        idx = enc.transform(table.rows)
        y = torch.from_numpy(table.y.astype(np.float32))
        model = FM(enc.n_features, k=4, seed=0)
        train_ctr(model, (idx, y), epochs=3, batch_size=64, lr=0.05, progress=False)
        m = evaluate_ctr(model, (idx, y))
        print(f"   {path.name}: {len(table)} rows, {len(table.fields)} fields, {enc.n_features} features "
              f"(min_count 2), click rate {table.positive_rate:.3f}, train logloss {m['logloss']:.3f} "
              f"({time.perf_counter() - t0:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller n grid and fewer steps")
    args = parser.parse_args()
    torch.set_num_threads(2)
    print("FM track benchmark —", describe())
    bench_pairwise(args.quick)
    bench_training(args.quick)
    smoke_real_samples()


if __name__ == "__main__":
    main()
