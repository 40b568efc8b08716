"""MF-BPR and NGCF trained to convergence on the embedded data (notebook 12's CONVERGE = True).

Early stopping on validation recall@20 (every 5 epochs, patience 5, at most 400 epochs), the best epoch
restored, test recall@20 / ndcg@20; seeds 0, 1, 2.  Each model with its own regulariser (DEFAULT_L2).
Prints the table notebook 12 quotes for its converged comparison; ``--write`` also writes it to
``benchmarks/RESULTS_converged.md``, where ``tests/test_prose_numbers.py`` finds the figures the notebook
quotes.  One thread; a few minutes of CPU.

    PYTHONPATH=. python benchmarks/bench_converged.py [--write]
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from recsys_ref.data.implicit import make_implicit
from recsys_ref.graph import laplacian_from_interactions
from recsys_ref.metrics import evaluate_model
from recsys_ref.mf import MF
from recsys_ref.ngcf import NGCF
from recsys_ref.train_bpr import set_seed, train_bpr


def main(seeds=(0, 1, 2), write: bool = False) -> None:
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    rows = {"MF-BPR": [], "NGCF": []}
    for seed in seeds:
        data = make_implicit(seed=seed)
        L = laplacian_from_interactions(data.train, "sym")
        makers = {
            "MF-BPR": lambda data=data: MF(data.n_users, data.n_items, dim=32),
            "NGCF": lambda data=data, L=L: NGCF(
                data.n_users,
                data.n_items,
                L,
                dim=32,
                layer_dims=(32,) * 3,
                message_dropout=0.1,
                normalize_layers=True,
            ),
        }
        for name, make in makers.items():
            set_seed(seed)
            m = make()
            w, c = time.perf_counter(), time.process_time()
            h = train_bpr(
                m,
                data.train,
                data.val,
                epochs=400,
                lr=5e-3,
                eval_every=5,
                patience=5,
                seed=seed,
                device="cpu",
                progress=False,
            )
            r = evaluate_model(m, data.train + data.val, data.test)
            rows[name].append(
                (
                    r["recall"],
                    r["ndcg"],
                    h.best_epoch,
                    time.perf_counter() - w,
                    time.process_time() - c,
                )
            )
    load = open("/proc/loadavg").read().split()[0]
    lines = [
        f"{'model':8s} {'recall@20':>16s} {'ndcg@20':>16s} {'best epoch':>11s} {'wall s':>7s} {'cpu s':>6s}"
    ]
    for name, rs in rows.items():
        a = np.array(rs)
        lines.append(
            f"{name:8s} {a[:, 0].mean():8.3f} ± {a[:, 0].std():.3f} {a[:, 1].mean():8.3f} ± {a[:, 1].std():.3f} "
            f"{a[:, 2].mean():11.0f} {a[:, 3].mean():7.1f} {a[:, 4].mean():6.1f}"
        )
    lines.append(f"(seeds {list(seeds)}; mean ± std; one thread; load {load})")
    print("\n".join(lines))
    if write:
        out = Path(__file__).with_name("RESULTS_converged.md")
        out.write_text(
            "# Converged MF-BPR and NGCF on the embedded data (notebook 12)\n\n"
            "Written by `PYTHONPATH=. python benchmarks/bench_converged.py --write`: early stopping on "
            "validation recall@20 (every 5 epochs, patience 5, at most 400 epochs), best epoch restored, "
            "test recall@20 / ndcg@20, seeds 0–2, mean ± std (population), one thread.\n\n```\n"
            + "\n".join(lines)
            + "\n```\n"
        )
        print("wrote", out)


if __name__ == "__main__":
    main(write="--write" in sys.argv[1:])
