"""Loaders for real implicit-feedback data (read from a path the user gives; nothing is downloaded).

- The NGCF / LightGCN split format: ``train.txt`` and ``test.txt``, one line per user,
  space separated ``user item item ...``, 0-based dense ids.  A line with a user and no item is
  allowed (that user has no interaction in the file).
- MovieLens-100K: ``u.data`` (tab separated ``user item rating timestamp``, 1-based ids) →
  implicit feedback: an interaction is a rating ≥ ``threshold`` (default 4, "liked"; lower ratings
  are dropped, not used as negatives); ``u.item`` (``|`` separated, latin-1) gives the 19 genre
  flags as item features.  The interactions are split per user 80/20 (``split.per_user_split``).

Every malformed line raises ``DataFormatError`` naming the file and the line number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .implicit import ImplicitData
from .split import per_user_split

ML100K_GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
                 "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
                 "Romance", "Sci-Fi", "Thriller", "War", "Western"]


class DataFormatError(ValueError):
    """A file that does not fit its format; the message names the file and the line."""


def _int(token: str, path: Path, lineno: int, what: str) -> int:
    try:
        value = int(token)
    except ValueError:
        raise DataFormatError(f"{path}:{lineno}: {what} {token!r} is not an integer id") from None
    if value < 0:
        raise DataFormatError(f"{path}:{lineno}: {what} {value} is negative; ids are 0-based")
    return value


def read_user_item_lines(path: str | Path) -> tuple[np.ndarray, np.ndarray, int]:
    """Parse one ``user item item ...`` file → (users, items) int64 arrays and the number of lines.

    Blank lines are skipped; a line with only a user id is a user without items.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (expected the NGCF/LightGCN split format)")
    users: list[np.ndarray] = []
    items: list[np.ndarray] = []
    n_lines = 0
    max_user = -1
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            tokens = line.split()
            if not tokens:
                continue
            n_lines += 1
            u = _int(tokens[0], path, lineno, "user id")
            max_user = max(max_user, u)
            try:
                row = np.array(tokens[1:], dtype=np.int64)
            except ValueError:
                bad = next(t for t in tokens[1:] if not t.lstrip("-").isdigit())
                raise DataFormatError(f"{path}:{lineno}: item id {bad!r} is not an integer id") from None
            if len(row) and row.min() < 0:
                raise DataFormatError(f"{path}:{lineno}: item id {int(row.min())} is negative; ids are 0-based")
            users.append(np.full(len(row), u, dtype=np.int64))
            items.append(row)
    if n_lines == 0:
        raise DataFormatError(f"{path}: the file is empty; expected lines 'user item item ...'")
    u_all = np.concatenate(users) if users else np.zeros(0, np.int64)
    i_all = np.concatenate(items) if items else np.zeros(0, np.int64)
    return u_all, i_all, max_user


def _check_range(path: Path, ids: np.ndarray, limit: int | None, what: str) -> None:
    if limit is None or not len(ids) or ids.max() < limit:
        return
    # find the offending line for the message (only on the error path)
    bad = int(ids.max())
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            tokens = line.split()
            vals = tokens[:1] if what == "user id" else tokens[1:]
            if str(bad) in vals:
                raise DataFormatError(f"{path}:{lineno}: {what} {bad} is out of range (there are {limit})")
    raise DataFormatError(f"{path}: {what} {bad} is out of range (there are {limit})")


def load_ngcf_split(directory: str | Path, n_users: int | None = None, n_items: int | None = None,
                    name: str | None = None) -> ImplicitData:
    """Read ``train.txt`` and ``test.txt`` of the NGCF/LightGCN format from ``directory``.

    n_users, n_items: the id ranges, checked when given (else 1 + the largest id in either file).
    Returns ``ImplicitData`` with train and test binary CSR (no validation part: hold one out of
    train with ``split.per_user_split`` when early stopping is wanted).
    """
    directory = Path(directory)
    tr_path, te_path = directory / "train.txt", directory / "test.txt"
    tr_u, tr_i, tr_max_u = read_user_item_lines(tr_path)
    te_u, te_i, te_max_u = read_user_item_lines(te_path)
    for path, u, i in ((tr_path, tr_u, tr_i), (te_path, te_u, te_i)):
        _check_range(path, u, n_users, "user id")
        _check_range(path, i, n_items, "item id")
    n_users = n_users if n_users is not None else max(tr_max_u, te_max_u) + 1
    items_max = max([int(a.max()) for a in (tr_i, te_i) if len(a)], default=-1)
    n_items = n_items if n_items is not None else items_max + 1
    if n_items <= 0:
        raise DataFormatError(f"{tr_path} and {te_path} hold no item at all")

    def csr(u: np.ndarray, i: np.ndarray) -> sp.csr_matrix:
        m = sp.csr_matrix((np.ones(len(u), np.float32), (u, i)), shape=(n_users, n_items))
        m.sum_duplicates()
        m.data[:] = 1.0
        return m

    return ImplicitData(train=csr(tr_u, tr_i), test=csr(te_u, te_i), name=name or directory.name)


def read_ml100k_ratings(path: str | Path) -> np.ndarray:
    """``u.data`` → (n, 3) int64 array of 0-based user, 0-based item, rating."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (expected MovieLens-100K u.data)")
    rows = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) != 4:
                raise DataFormatError(f"{path}:{lineno}: expected 4 tab-separated columns "
                                      f"(user item rating timestamp), got {len(parts)}")
            try:
                u, i, r = int(parts[0]), int(parts[1]), int(parts[2])
            except ValueError:
                raise DataFormatError(f"{path}:{lineno}: user, item and rating must be integers, "
                                      f"got {parts[:3]}") from None
            if u < 1 or i < 1:
                raise DataFormatError(f"{path}:{lineno}: ids are 1-based in u.data, got user {u} item {i}")
            if not 1 <= r <= 5:
                raise DataFormatError(f"{path}:{lineno}: rating {r} is out of range 1..5")
            rows.append((u - 1, i - 1, r))
    if not rows:
        raise DataFormatError(f"{path}: the file is empty; expected 'user item rating timestamp' lines")
    return np.array(rows, dtype=np.int64)


def read_ml100k_genres(path: str | Path, n_items: int) -> np.ndarray:
    """``u.item`` → genre flags (n_items, 19) float32 (items absent from the file: all zeros)."""
    path = Path(path)
    feats = np.zeros((n_items, len(ML100K_GENRES)), dtype=np.float32)
    with path.open(encoding="latin-1") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("|")
            if len(parts) != 5 + len(ML100K_GENRES):
                raise DataFormatError(f"{path}:{lineno}: expected {5 + len(ML100K_GENRES)} '|'-separated "
                                      f"columns (id|title|date|video date|url|19 genre flags), got {len(parts)}")
            try:
                item = int(parts[0]) - 1
                flags = [int(x) for x in parts[5:]]
            except ValueError:
                raise DataFormatError(f"{path}:{lineno}: movie id and genre flags must be integers") from None
            if not 0 <= item < n_items:
                raise DataFormatError(f"{path}:{lineno}: movie id {item + 1} is out of range 1..{n_items}")
            feats[item] = flags
    return feats


def load_movielens_100k(directory: str | Path, threshold: int = 4, test_frac: float = 0.2,
                        seed: int = 0) -> ImplicitData:
    """MovieLens-100K as implicit feedback: rating ≥ ``threshold`` is an interaction, split per user.

    Reads ``u.data`` (required) and ``u.item`` (optional: genre flags → ``item_features``).
    """
    directory = Path(directory)
    ratings = read_ml100k_ratings(directory / "u.data")
    n_users, n_items = int(ratings[:, 0].max()) + 1, int(ratings[:, 1].max()) + 1
    liked = ratings[ratings[:, 2] >= threshold]
    R = sp.csr_matrix((np.ones(len(liked), np.float32), (liked[:, 0], liked[:, 1])), shape=(n_users, n_items))
    R.sum_duplicates()
    R.data[:] = 1.0
    train, test = per_user_split(R, test_frac, seed=seed)
    item_path = directory / "u.item"
    feats = read_ml100k_genres(item_path, n_items) if item_path.is_file() else None
    return ImplicitData(train=train, test=test, item_features=feats,
                        feature_names=list(ML100K_GENRES) if feats is not None else None,
                        name=f"ml-100k (rating ≥ {threshold})")
