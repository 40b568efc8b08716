"""Loaders for real implicit-feedback data (read from a path the user gives; nothing is downloaded).

- The NGCF / LightGCN split format: ``train.txt`` and ``test.txt``, one line per user,
  space separated ``user item item ...``, 0-based dense ids.  A line with a user and no item is
  allowed (that user has no interaction in the file).
- MovieLens-100K: ``u.data`` (tab separated ``user item rating timestamp``, 1-based ids) →
  implicit feedback: an interaction is a rating ≥ ``threshold`` (default 4, "liked"; lower ratings
  are dropped, not used as negatives); ``u.item`` (``|`` separated, latin-1) gives the 19 genre
  flags as item features and, with ``u.user``, the catalogue sizes.  Split per user 80/20
  (``split.per_user_split``).
- MovieLens-1M: ``ratings.dat`` (``UserID::MovieID::Rating::Timestamp``); ``movies.dat`` and
  ``users.dat``, when present, give the catalogue (movie ids are not dense: 3,883 movies with ids
  up to 3,952, so items are renumbered densely in catalogue order; ``item_ids`` keeps the originals).
- RecBole's atomic ``.inter`` files (header ``user_id:token item_id:token rating:float ...``).

Every file is opened by ``textio.open_text`` (gzip read transparently, a UTF-8 BOM stripped);
a file of another known kind is named as such (``textio.expect_kind``); an empty file raises;
every malformed line raises ``DataFormatError`` naming the file and the line number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .implicit import ImplicitData
from .recbole import read_recbole_inter
from .split import per_user_split
from .textio import DataFormatError, expect_kind, first_line, numbered_lines, open_text

__all__ = [
    "DataFormatError",
    "load_ngcf_split",
    "load_movielens_100k",
    "load_movielens_1m",
    "read_user_item_lines",
    "read_ml100k_ratings",
    "read_ml100k_genres",
    "read_ml1m_ratings",
    "read_recbole_inter",
    "read_catalogue_ids",
]

ML100K_GENRES = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]
NGCF_FORMAT = "the NGCF/LightGCN split format (space-separated 'user item item ...')"


def _int(token: str, path: Path, lineno: int, what: str) -> int:
    try:
        value = int(token)
    except ValueError:
        raise DataFormatError(f"{path}:{lineno}: {what} {token!r} is not an integer id") from None
    if value < 0:
        raise DataFormatError(f"{path}:{lineno}: {what} {value} is negative; ids are 0-based")
    return value


def read_user_item_lines(path: str | Path) -> tuple[np.ndarray, np.ndarray, int]:
    """Parse one ``user item item ...`` file → (users, items) int64 arrays and the largest user id.

    Blank lines are skipped; a line with only a user id is a user without items.  A file of
    another known kind (MovieLens ``u.data``, ``ratings.dat``, a CSV) is refused by name.
    """
    path = Path(path)
    expect_kind(path, first_line(path, NGCF_FORMAT), "ngcf")
    users: list[np.ndarray] = []
    items: list[np.ndarray] = []
    n_lines = 0
    max_user = -1
    with open_text(path, NGCF_FORMAT) as f:
        for lineno, line in numbered_lines(f, path):
            tokens = line.split()
            if not tokens:
                continue
            n_lines += 1
            if "\t" in line or "," in line:
                raise DataFormatError(
                    f"{path}:{lineno}: expected space-separated ids "
                    f"('user item item ...'), got {line[:40]!r}"
                )
            u = _int(tokens[0], path, lineno, "user id")
            max_user = max(max_user, u)
            try:
                row = np.array(tokens[1:], dtype=np.int64)
            except ValueError:
                bad = next(t for t in tokens[1:] if not t.lstrip("-").isdigit())
                raise DataFormatError(
                    f"{path}:{lineno}: item id {bad!r} is not an integer id"
                ) from None
            if len(row) and row.min() < 0:
                raise DataFormatError(
                    f"{path}:{lineno}: item id {int(row.min())} is negative; ids are 0-based"
                )
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
    with open_text(path, NGCF_FORMAT) as f:
        for lineno, line in numbered_lines(f, path):
            tokens = line.split()
            vals = tokens[:1] if what == "user id" else tokens[1:]
            if str(bad) in vals:
                raise DataFormatError(
                    f"{path}:{lineno}: {what} {bad} is out of range (there are {limit})"
                )
    raise DataFormatError(f"{path}: {what} {bad} is out of range (there are {limit})")


def _maybe_gz(path: Path) -> Path:
    """``path``, or ``path.gz`` when only the compressed file is there (read transparently)."""
    gz = path.with_name(path.name + ".gz")
    return gz if not path.exists() and gz.is_file() else path


def _binary_csr(u: np.ndarray, i: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    m = sp.csr_matrix((np.ones(len(u), np.float32), (u, i)), shape=shape)
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def load_ngcf_split(
    directory: str | Path,
    n_users: int | None = None,
    n_items: int | None = None,
    name: str | None = None,
) -> ImplicitData:
    """Read ``train.txt`` and ``test.txt`` of the NGCF/LightGCN format from ``directory``.

    n_users, n_items: the id ranges, checked when given (else 1 + the largest id in either file).
    Returns ``ImplicitData`` with train and test binary CSR (no validation part: hold one out of
    train with ``split.per_user_split`` when early stopping is wanted).  Raises when test holds
    exactly the training interactions (the same file twice: every metric would be meaningless).
    """
    directory = Path(directory)
    if directory.is_file():
        raise DataFormatError(
            f"{directory}: give the folder holding train.txt and test.txt, not a file"
        )
    tr_path, te_path = (_maybe_gz(directory / "train.txt"), _maybe_gz(directory / "test.txt"))
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
    train = _binary_csr(tr_u, tr_i, (n_users, n_items))
    test = _binary_csr(te_u, te_i, (n_users, n_items))
    if test.nnz and train.nnz == test.nnz and (train != test).nnz == 0:
        raise DataFormatError(
            f"{te_path}: holds exactly the interactions of {tr_path}; the test "
            "part must be the held-out interactions, not a copy of train"
        )
    return ImplicitData(train=train, test=test, name=name or directory.name)


# ------------------------------------------------------------------ MovieLens


def read_catalogue_ids(
    path: str | Path, sep: str, what: str, encoding: str = "latin-1"
) -> np.ndarray:
    """The ids (first column, 1-based as written) of a MovieLens catalogue file, in file order:
    ``u.item``/``u.user`` (sep ``|``), ``movies.dat``/``users.dat`` (sep ``::``)."""
    path = Path(path)
    ids: list[int] = []
    with open_text(path, what, encoding) as f:
        for lineno, line in numbered_lines(f, path):
            if not line.strip():
                continue
            token = line.split(sep, 1)[0]
            if sep not in line or not token.strip().isdigit():
                raise DataFormatError(
                    f"{path}:{lineno}: expected {what}, a line starting 'id{sep}', "
                    f"got {line[:40]!r}"
                )
            ids.append(int(token))
    if not ids:
        raise DataFormatError(f"{path}: the file is empty; expected {what}")
    return np.asarray(ids, dtype=np.int64)


def _ratings_rows(path: Path, sep: str, what: str, kind: str) -> np.ndarray:
    """(n, 3) int64 of the 1-based user id, 1-based item id and rating (1..5), line checked."""
    expect_kind(path, first_line(path, what), kind)
    rows: list[tuple[int, int, int]] = []
    with open_text(path, what) as f:
        for lineno, line in numbered_lines(f, path):
            if not line.strip():
                continue
            parts = line.split(sep)
            if len(parts) != 4:
                sep_name = "tab" if sep == "\t" else repr(sep)
                raise DataFormatError(
                    f"{path}:{lineno}: expected 4 {sep_name}-separated columns "
                    f"(user item rating timestamp), got {len(parts)}"
                )
            try:
                u, i, r = int(parts[0]), int(parts[1]), int(parts[2])
            except ValueError:
                raise DataFormatError(
                    f"{path}:{lineno}: user, item and rating must be integers, got {parts[:3]}"
                ) from None
            if u < 1 or i < 1:
                raise DataFormatError(
                    f"{path}:{lineno}: ids are 1-based in {path.name}, got user {u} item {i}"
                )
            if not 1 <= r <= 5:
                raise DataFormatError(f"{path}:{lineno}: rating {r} is out of range 1..5")
            rows.append((u, i, r))
    if not rows:
        raise DataFormatError(
            f"{path}: the file is empty; expected 'user{sep}item{sep}rating{sep}timestamp' lines"
        )
    return np.array(rows, dtype=np.int64)


def read_ml100k_ratings(path: str | Path) -> np.ndarray:
    """``u.data`` → (n, 3) int64 array of 0-based user, 0-based item, rating."""
    rows = _ratings_rows(
        Path(path), "\t", "MovieLens-100K u.data (user item rating timestamp)", "ml100k"
    )
    rows[:, :2] -= 1
    return rows


def read_ml1m_ratings(path: str | Path) -> np.ndarray:
    """``ratings.dat`` (``UserID::MovieID::Rating::Timestamp``) → (n, 3) int64 of the ids as
    written (1-based; movie ids are not dense) and the rating."""
    return _ratings_rows(
        Path(path), "::", "MovieLens-1M ratings.dat (UserID::MovieID::Rating::Timestamp)", "ml1m"
    )


def read_ml100k_genres(path: str | Path, n_items: int) -> np.ndarray:
    """``u.item`` → genre flags (n_items, 19) float32 (items absent from the file: all zeros)."""
    path = Path(path)
    feats = np.zeros((n_items, len(ML100K_GENRES)), dtype=np.float32)
    with open_text(path, "MovieLens-100K u.item", "latin-1") as f:
        for lineno, line in numbered_lines(f, path):
            if not line.strip():
                continue
            parts = line.split("|")
            if len(parts) != 5 + len(ML100K_GENRES):
                raise DataFormatError(
                    f"{path}:{lineno}: expected {5 + len(ML100K_GENRES)} '|'-separated "
                    f"columns (id|title|date|video date|url|19 genre flags), got {len(parts)}"
                )
            try:
                item = int(parts[0]) - 1
                flags = [int(x) for x in parts[5:]]
            except ValueError:
                raise DataFormatError(
                    f"{path}:{lineno}: movie id and genre flags must be integers"
                ) from None
            if not 0 <= item < n_items:
                raise DataFormatError(
                    f"{path}:{lineno}: movie id {item + 1} is out of range 1..{n_items}"
                )
            feats[item] = flags
    return feats


def _catalogue_size(path: Path, ids_seen: np.ndarray, sep: str, what: str, data_path: Path) -> int:
    """n from the catalogue file (its largest id, ids 1-based and dense in ML-100K) when present,
    else from the largest id seen; an id beyond the catalogue raises, naming both files."""
    if not path.is_file():
        return int(ids_seen.max())
    n = int(read_catalogue_ids(path, sep, what).max())
    if ids_seen.max() > n:
        raise DataFormatError(
            f"{data_path}: id {int(ids_seen.max())} is beyond the catalogue {path} "
            f"(ids 1..{n}); are the two files from the same release?"
        )
    return n


def load_movielens_100k(
    directory: str | Path, threshold: int = 4, test_frac: float = 0.2, seed: int = 0
) -> ImplicitData:
    """MovieLens-100K as implicit feedback: rating ≥ ``threshold`` is an interaction, split per user.

    Reads ``u.data`` (required), ``u.item`` (optional: genre flags → ``item_features``, and the
    number of items) and ``u.user`` (optional: the number of users); without the catalogue
    files the sizes are the largest ids seen in ``u.data``.
    """
    directory = Path(directory)
    data_path = _maybe_gz(directory / "u.data")
    ratings = read_ml100k_ratings(data_path)
    n_users = _catalogue_size(
        directory / "u.user", ratings[:, 0] + 1, "|", "MovieLens-100K u.user", data_path
    )
    n_items = _catalogue_size(
        directory / "u.item", ratings[:, 1] + 1, "|", "MovieLens-100K u.item", data_path
    )
    liked = ratings[ratings[:, 2] >= threshold]
    R = _binary_csr(liked[:, 0], liked[:, 1], (n_users, n_items))
    train, test = per_user_split(R, test_frac, seed=seed)
    item_path = directory / "u.item"
    feats = read_ml100k_genres(item_path, n_items) if item_path.is_file() else None
    return ImplicitData(
        train=train,
        test=test,
        item_features=feats,
        feature_names=list(ML100K_GENRES) if feats is not None else None,
        name=f"ml-100k (rating ≥ {threshold})",
    )


def load_movielens_1m(
    directory: str | Path, threshold: int = 4, test_frac: float = 0.2, seed: int = 0
) -> ImplicitData:
    """MovieLens-1M as implicit feedback (rating ≥ ``threshold``), split per user 80/20.

    Reads ``ratings.dat`` (required); ``movies.dat`` and ``users.dat`` (optional) give the
    catalogue: users and items are numbered densely in catalogue order (``user_ids``/``item_ids``
    hold the original ids), so a movie nobody rated is still an item; without them, the ids seen
    in ``ratings.dat`` are the catalogue.
    """
    directory = Path(directory)
    data_path = _maybe_gz(directory / "ratings.dat")
    ratings = read_ml1m_ratings(data_path)
    maps = []
    for col, fname, what in (
        (0, "users.dat", "MovieLens-1M users.dat"),
        (1, "movies.dat", "MovieLens-1M movies.dat"),
    ):
        cat_path = directory / fname
        ids = (
            read_catalogue_ids(cat_path, "::", what)
            if cat_path.is_file()
            else np.unique(ratings[:, col])
        )
        ids = np.unique(ids)  # sorted, dense positions
        pos = np.searchsorted(ids, ratings[:, col])
        pos_clip = np.minimum(pos, len(ids) - 1)
        missing = ids[pos_clip] != ratings[:, col]
        if missing.any():
            bad = int(ratings[np.argmax(missing), col])
            raise DataFormatError(
                f"{data_path}: id {bad} is not in the catalogue {cat_path}; are the "
                "files from the same release?"
            )
        maps.append((ids, pos))
    (user_ids, u), (item_ids, i) = maps
    liked = ratings[:, 2] >= threshold
    R = _binary_csr(u[liked], i[liked], (len(user_ids), len(item_ids)))
    train, test = per_user_split(R, test_frac, seed=seed)
    return ImplicitData(
        train=train,
        test=test,
        name=f"ml-1m (rating ≥ {threshold})",
        user_ids=user_ids,
        item_ids=item_ids,
    )
