"""Training history: what a training loop records, and one plot of it.

Shared by the BPR loop (NGCF, MF, LightGCN) and the CTR loop (LR, FM, FFM).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class History:
    """Per-epoch records: ``history.log(epoch=3, loss=0.41, recall=0.12)``.

    ``rows`` keeps one dict per call; ``history["loss"]`` gives the column,
    with the epochs it was logged at in ``history.epochs("loss")``.
    """

    rows: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    def log(self, **values: float) -> None:
        self.rows.append({k: float(v) for k, v in values.items()})

    def __getitem__(self, key: str) -> list[float]:
        return [r[key] for r in self.rows if key in r]

    def epochs(self, key: str) -> list[float]:
        return [r.get("epoch", i) for i, r in enumerate(self.rows) if key in r]

    def keys(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.rows:
            seen.update(dict.fromkeys(r))
        return [k for k in seen if k != "epoch"]

    def last(self, key: str) -> float:
        values = self[key]
        if not values:
            raise KeyError(f"nothing was logged under {key!r}; logged: {self.keys()}")
        return values[-1]

    def plot(self, keys: list[str] | None = None, ax=None, title: str | None = None):
        """Plot the given columns (default: all) against the epoch; returns the axes.

        Columns whose names start with ``train_``/``val_`` and share the rest
        are drawn in one panel so the generalisation gap is visible.
        """
        import matplotlib.pyplot as plt

        keys = keys or self.keys()
        groups: dict[str, list[str]] = {}
        for k in keys:
            base = k.split("_", 1)[1] if k.startswith(("train_", "val_")) else k
            groups.setdefault(base, []).append(k)
        axes: list[Any]
        if ax is None:
            _, grid = plt.subplots(1, len(groups), figsize=(4 * len(groups), 3), squeeze=False)
            axes = list(grid[0])
        else:
            axes = [ax] * len(groups)
        for a, (base, members) in zip(axes, groups.items()):
            for k in members:
                a.plot(self.epochs(k), self[k], marker=".", label=k)
            a.set_xlabel("epoch")
            a.set_title(base)
            if len(members) > 1:
                a.legend()
        if title:
            axes[0].figure.suptitle(title)
        axes[0].figure.tight_layout()
        return axes
