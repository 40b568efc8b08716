"""MF, NGCF and LightGCN on real data: recall@20, ndcg@20 and seconds per epoch, 3 seeds.

    python benchmarks/bench_realdata.py --ml100k PATH [--ml1m DIR] [--gowalla DIR] [--quick]

PATH: MovieLens-100K as ``u.data`` (or the folder holding it), RecBole's atomic
``ml-100k.inter``, or the ``recbole`` wheel itself, which ships the latter under
``recbole/dataset_example/ml-100k/`` (``pip download --no-deps recbole -d /tmp/recbole``;
the benchmark reads the file from inside the zip).  ``--ml1m DIR`` (``ratings.dat``) and
``--gowalla DIR`` (the NGCF split) add those data sets.  Nothing is downloaded here and no data
is stored in the repository; without ``--ml100k`` the benchmark says so and exits.

Protocol (the same for every model and setting):
  implicit feedback = rating ≥ 4; per-user 80/20 train/test split (seed 0), then 10 % of each
  user's training items held out for validation (seed 1); full ranking over the items the user
  did not interact with in train; recall@20 and ndcg@20 on test at the epoch with the best
  validation recall@20 (its parameters restored); mean ± std over 3 model seeds.

Settings:
  course    ``train_bpr``'s and the models' own defaults, nothing overridden except the schedule
            (whatever the course ships is what is measured: lr, λ, where the L2 goes, batch size,
            layer sizes, dropouts).
  library   RecBole 1.2.1's default hyperparameters for the same models ("library-matched"):
            d = 64, batch 2048, Adam lr 1e-3; MF-BPR without a regulariser (RecBole's BPR has
            none); NGCF layers (64, 64, 64), message dropout 0.1, node dropout 0, λ = 1e-5 on the
            batch's ego rows; LightGCN 2 layers (``n_layers: 2`` in the wheel's
            ``recbole/properties/model/LightGCN.yaml``), λ = 1e-5 on the batch's ego rows
            (LightGCN paper's objective).  Differences left: RecBole's NGCF regularises the rows'
            norms, not their squares, and adds (L + I) inside the layer; this package uses L (sym).

Models: ``MF-BPR``; ``NGCF`` (eq. 7 with the symmetric L, no normalisation); ``NGCF-norm`` (the
course's default in notebooks 10–14: eq. 7, symmetric L, each layer's output L2-normalised,
``normalize_layers=True``); ``NGCF-official`` (the official code's variant: row-normalised L + I,
normalisation and its other differences); ``LightGCN``.

Schedules: ``--epochs N`` and ``--eval-every N`` override the schedule's.  ``--quick`` (the default on a shared machine): at most 80 epochs, validation every 5,
stop after 2 evaluations without improvement.  ``--full``: at most 300 epochs, validation every
epoch, patience 10 (RecBole's schedule; for a quiet machine).  The schedule is printed with
the table.  Seconds per epoch: wall-clock median of the training epochs (evaluation excluded),
with the process CPU seconds per epoch (training and evaluation) beside it.
"""

from __future__ import annotations

import argparse
import io
import re
import statistics
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from machine import describe  # benchmarks/machine.py  # noqa: E402

from recsys_ref.data.implicit import ImplicitData  # noqa: E402
from recsys_ref.data.loaders import (  # noqa: E402
    load_movielens_1m,
    load_ngcf_split,
    read_ml100k_ratings,
    read_recbole_inter,
)
from recsys_ref.data.split import per_user_split  # noqa: E402
from recsys_ref.graph import laplacian_from_interactions  # noqa: E402
from recsys_ref.lightgcn import LightGCN  # noqa: E402
from recsys_ref.metrics import evaluate_model  # noqa: E402
from recsys_ref.mf import MF  # noqa: E402
from recsys_ref.ngcf import NGCF  # noqa: E402
from recsys_ref.train_bpr import set_seed, train_bpr  # noqa: E402

WHEEL_INTER = "recbole/dataset_example/ml-100k/ml-100k.inter"
SCHEDULES = {
    "quick": dict(epochs=80, eval_every=5, patience=2),
    "full": dict(epochs=300, eval_every=1, patience=10),
}


def read_ml100k_any(path: Path) -> np.ndarray:
    """(n, 3) 0-based user, item, rating from u.data, its folder, an .inter file or the wheel."""
    if path.is_dir():
        path = path / "u.data"
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as z:
            text = z.read(WHEEL_INTER).decode("utf-8")
        return read_recbole_inter(io.StringIO(text), name=f"{path}!{WHEEL_INTER}")
    if path.suffix == ".inter":
        return read_recbole_inter(path)
    return read_ml100k_ratings(path)


def implicit_from_ratings(ratings: np.ndarray, name: str, threshold: int = 4) -> ImplicitData:
    n_users, n_items = int(ratings[:, 0].max()) + 1, int(ratings[:, 1].max()) + 1
    liked = ratings[ratings[:, 2] >= threshold]
    R = sp.csr_matrix(
        (np.ones(len(liked), np.float32), (liked[:, 0], liked[:, 1])), shape=(n_users, n_items)
    )
    R.sum_duplicates()
    R.data[:] = 1.0
    train_full, test = per_user_split(R, 0.2, seed=0)
    train, val = per_user_split(train_full, 0.1, seed=1)
    return ImplicitData(train=train, test=test, val=val, name=f"{name} (rating ≥ {threshold})")


def with_val(data: ImplicitData) -> ImplicitData:
    if data.val is not None:
        return data
    train, val = per_user_split(data.train, 0.1, seed=1)
    return ImplicitData(train=train, test=data.test, val=val, name=data.name)


def build(model: str, setting: str, data: ImplicitData):
    """(model, train_bpr keyword arguments) for one model and setting."""
    U, M = data.n_users, data.n_items
    if model == "MF-BPR":
        m = MF(U, M, dim=64)
        lib = dict(batch_size=2048, lr=1e-3, lam=0.0)
    elif model.startswith("NGCF"):
        official = model.endswith("official")
        norm = True if model.endswith("norm") else None  # None: the variant's own default
        L = laplacian_from_interactions(data.train, "row_self" if official else "sym")
        if setting == "course":
            m = NGCF(U, M, L, official=official, normalize_layers=norm)
        else:
            m = NGCF(
                U,
                M,
                L,
                dim=64,
                layer_dims=(64, 64, 64),
                message_dropout=0.1,
                node_dropout=0.0,
                official=official,
                normalize_layers=norm,
            )
        lib = dict(batch_size=2048, lr=1e-3, lam=1e-5, l2_on="batch")
    elif model == "LightGCN":
        m = LightGCN(
            U,
            M,
            laplacian_from_interactions(data.train, "sym"),
            **({} if setting == "course" else dict(dim=64, n_layers=2)),  # RecBole: 2 layers
        )
        lib = dict(batch_size=2048, lr=1e-3, lam=1e-5, l2_on="batch")
    else:
        raise ValueError(model)
    return m, ({} if setting == "course" else lib)


def run_one(model_name: str, setting: str, data: ImplicitData, seed: int, schedule: dict) -> dict:
    set_seed(seed)
    model, kw = build(model_name, setting, data)
    c0 = time.process_time()
    h = train_bpr(
        model, data.train, data.val, seed=seed, progress=False, device="cpu", **schedule, **kw
    )
    cpu = time.process_time() - c0
    test = evaluate_model(model, data.train + data.val, data.test, k=20)
    n_epochs = len(h["seconds"])
    return {
        "recall": test["recall"],
        "ndcg": test["ndcg"],
        "best_epoch": h.best_epoch,
        "epochs": n_epochs,
        "wall": statistics.median(h["seconds"]),
        "cpu": cpu / n_epochs,
    }


def mean_std(xs: list[float]) -> str:
    return f"{np.mean(xs):.4f} ± {np.std(xs):.4f}"


def bench(
    data: ImplicitData, models: list[str], settings: list[str], seeds: list[int], schedule: dict
) -> list[dict]:
    print(data.summary(), flush=True)
    results = []
    for model_name in models:
        for setting in settings:
            runs = []
            for seed in seeds:  # one model and setting at a time: seeds back to back
                r = run_one(model_name, setting, data, seed, schedule)
                runs.append(r)
                print(
                    f"  {model_name:<14} {setting:<8} seed {seed}: recall@20 {r['recall']:.4f} "
                    f"ndcg@20 {r['ndcg']:.4f} best epoch {r['best_epoch']} of {r['epochs']} "
                    f"· {r['wall']:.3f} s/epoch wall, {r['cpu']:.3f} s CPU",
                    flush=True,
                )
            results.append({"model": model_name, "setting": setting, "runs": runs})
    return results


def table(data_name: str, results: list[dict], schedule_name: str, schedule: dict) -> str:
    lines = [
        f"\n{data_name} — schedule '{schedule_name}' {schedule}; mean ± std over the runs (seeds); "
        "best epoch, s/epoch: medians",
        f"{'model':<15}{'setting':<9}{'recall@20':>18}{'ndcg@20':>18}{'best ep.':>10}"
        f"{'s/epoch wall':>14}{'CPU s/ep.':>11}{'runs':>6}",
    ]
    for r in results:
        runs = r["runs"]
        lines.append(
            f"{r['model']:<15}{r['setting']:<9}{mean_std([x['recall'] for x in runs]):>18}"
            f"{mean_std([x['ndcg'] for x in runs]):>18}"
            f"{statistics.median([x['best_epoch'] or 0 for x in runs]):>10.0f}"
            f"{statistics.median([x['wall'] for x in runs]):>14.3f}"
            f"{statistics.median([x['cpu'] for x in runs]):>11.3f}{len(runs):>6}"
        )
    return "\n".join(lines)


RUN_LINE = re.compile(
    r"^\s+(?P<model>\S+)\s+(?P<setting>\S+)\s+seed (?P<seed>\d+): recall@20 (?P<recall>[\d.]+) "
    r"ndcg@20 (?P<ndcg>[\d.]+) best epoch (?P<best_epoch>\d+) of (?P<epochs>\d+) · "
    r"(?P<wall>[\d.]+) s/epoch wall, (?P<cpu>[\d.]+) s CPU"
)


def results_from_logs(paths: list[Path]) -> list[dict]:
    """The per-run lines of earlier runs' output (e.g. models run as separate processes) → results."""
    groups: dict[tuple[str, str], list[dict]] = {}
    seen: set[tuple[str, str, str]] = set()
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            m = RUN_LINE.match(line)
            if (
                m and (m["model"], m["setting"], m["seed"]) not in seen
            ):  # a seed run twice counts once
                seen.add((m["model"], m["setting"], m["seed"]))
                d = m.groupdict()
                run = {k: float(d[k]) for k in ("recall", "ndcg", "wall", "cpu")}
                run.update(best_epoch=int(d["best_epoch"]), epochs=int(d["epochs"]))
                groups.setdefault((d["model"], d["setting"]), []).append(run)
    return [{"model": m, "setting": s, "runs": runs} for (m, s), runs in groups.items()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--ml100k", type=Path, help="u.data (or its folder), ml-100k.inter, or the recbole wheel"
    )
    ap.add_argument("--ml1m", type=Path, help="folder with ratings.dat (MovieLens-1M)")
    ap.add_argument("--gowalla", type=Path, help="folder with the NGCF split train.txt/test.txt")
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="the short schedule (default)")
    group.add_argument(
        "--full", action="store_true", help="RecBole's schedule: 300 epochs, patience 10"
    )
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument(
        "--first-seed", type=int, default=0, help="seeds first-seed … first-seed + seeds − 1"
    )
    ap.add_argument(
        "--patience",
        default=None,
        help="override the schedule's patience (an integer, or 'none': no early stopping; "
        "the best validation epoch is still restored)",
    )
    ap.add_argument("--epochs", type=int, default=None, help="override the schedule's epochs")
    ap.add_argument(
        "--eval-every", type=int, default=None, help="override the schedule's validation interval"
    )
    ap.add_argument("--models", default="MF-BPR,NGCF,NGCF-norm,NGCF-official,LightGCN")
    ap.add_argument("--settings", default="course,library")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--from-logs",
        type=Path,
        nargs="+",
        metavar="LOG",
        help="print the table from the per-run lines of earlier runs' output (no training)",
    )
    args = ap.parse_args(argv)
    name = "full" if args.full else "quick"
    schedule = dict(SCHEDULES[name])
    if args.patience is not None:
        schedule["patience"] = None if args.patience.lower() == "none" else int(args.patience)
        name += f", patience {args.patience}"
    for key in ("epochs", "eval_every"):
        if getattr(args, key) is not None:
            schedule[key] = getattr(args, key)
            name += f", {key.replace('_', ' ')} {getattr(args, key)}"
    if args.from_logs:  # the schedule flags given must be those the logged runs used
        print(
            table(
                "from " + ", ".join(p.name for p in args.from_logs),
                results_from_logs(args.from_logs),
                name,
                schedule,
            )
        )
        return 0

    sets: list[tuple[str, object]] = []
    if args.ml100k:
        sets.append(
            (
                "MovieLens-100K",
                lambda: implicit_from_ratings(read_ml100k_any(args.ml100k), "ml-100k"),
            )
        )
    if args.ml1m:
        sets.append(
            (
                "MovieLens-1M",
                lambda: with_val(load_movielens_1m(args.ml1m, threshold=4, test_frac=0.2, seed=0)),
            )
        )
    if args.gowalla:
        sets.append(("Gowalla", lambda: with_val(load_ngcf_split(args.gowalla, name="gowalla"))))
    if not sets:
        print(
            "skipped: give --ml100k PATH (u.data, ml-100k.inter or the recbole wheel), --ml1m DIR or "
            "--gowalla DIR; nothing is downloaded"
        )
        return 0
    torch.set_num_threads(args.threads)
    print(describe())
    print(f"schedule '{name}': {schedule}; {args.threads} torch thread(s)")
    t0 = time.perf_counter()
    out = []
    for data_name, load in sets:
        data = load()
        res = bench(
            data,
            args.models.split(","),
            args.settings.split(","),
            list(range(args.first_seed, args.first_seed + args.seeds)),
            schedule,
        )
        out.append(table(data_name, res, name, schedule))
        print(out[-1], flush=True)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s wall; {describe()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
