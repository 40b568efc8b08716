"""Data for the NGCF track: loaders on files the tests write, the split, the BPR sampler, the generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_ref.data.implicit import make_implicit
from recsys_ref.data.loaders import DataFormatError, load_movielens_100k, load_ngcf_split
from recsys_ref.data.sampler import BPRSampler
from recsys_ref.data.split import per_user_split


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_ngcf_split_format_with_an_empty_user_line(tmp_path: Path) -> None:
    write(tmp_path / "train.txt", "0 0 1 2\n1\n2 3 1\n\n")
    write(tmp_path / "test.txt", "0 3\n1 4\n2 0\n")
    d = load_ngcf_split(tmp_path)
    assert (d.n_users, d.n_items) == (3, 5)
    assert d.train.toarray().tolist() == [[1, 1, 1, 0, 0], [0, 0, 0, 0, 0], [0, 1, 0, 1, 0]]
    assert d.test.toarray().tolist() == [[0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [1, 0, 0, 0, 0]]


@pytest.mark.parametrize(
    "train_text, message",
    [
        ("0 1 2\n1 x 3\n", r"train.txt:2: item id 'x' is not an integer id"),
        ("0 1 2\nu1 3\n", r"train.txt:2: user id 'u1' is not an integer id"),
        ("0 1 -2\n", r"train.txt:1: item id -2 is negative"),
        ("", r"train.txt: the file is empty"),
        ("0 1\n1 9\n", r"train.txt:2: item id 9 is out of range \(there are 5\)"),
        ("0 1\n7 2\n", r"train.txt:2: user id 7 is out of range \(there are 3\)"),
    ],
)
def test_ngcf_split_bad_files_name_file_and_line(
    tmp_path: Path, train_text: str, message: str
) -> None:
    write(tmp_path / "train.txt", train_text)
    write(tmp_path / "test.txt", "0 3\n")
    with pytest.raises(DataFormatError, match=message):
        load_ngcf_split(tmp_path, n_users=3, n_items=5)


def test_ngcf_split_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="train.txt"):
        load_ngcf_split(tmp_path)


def ml_item_line(i: int, genres: list[int]) -> str:
    flags = ["0"] * 19
    for g in genres:
        flags[g] = "1"
    return f"{i}|Movie {i} (1995)|01-Jan-1995||http://x|" + "|".join(flags) + "\n"


def test_movielens_100k(tmp_path: Path) -> None:
    rows = [(1, 1, 5), (1, 2, 3), (1, 3, 4), (1, 4, 4), (1, 5, 5), (2, 1, 4), (2, 3, 1), (2, 2, 4)]
    write(tmp_path / "u.data", "".join(f"{u}\t{i}\t{r}\t881250949\n" for u, i, r in rows))
    (tmp_path / "u.item").write_text(
        "".join(ml_item_line(i, [i % 19, 8]) for i in range(1, 6)), encoding="latin-1"
    )
    d = load_movielens_100k(tmp_path, threshold=4)
    full = (d.train + d.test).toarray()
    assert full.tolist() == [
        [1, 0, 1, 1, 1],
        [1, 1, 0, 0, 0],
    ]  # ratings ≥ 4 only, ids 1-based → 0-based
    assert np.asarray(d.test.sum(1)).ravel().tolist() == [
        1,
        0,
    ]  # round(0.2·4) = 1, round(0.2·2) = 0
    assert d.item_features.shape == (5, 19) and d.item_features[:, 8].sum() == 5
    assert d.feature_names[8] == "Drama"


@pytest.mark.parametrize(
    "text, message",
    [
        ("1\t1\t5\t0\n1\t2\n", r"u.data:2: expected 4 tab-separated columns"),
        ("1\t1\t5\t0\n1\ta\t5\t0\n", r"u.data:2: user, item and rating must be integers"),
        ("1\t1\t7\t0\n", r"u.data:1: rating 7 is out of range"),
        ("0\t1\t5\t0\n", r"u.data:1: ids are 1-based"),
        ("\n", r"u.data: the file is empty"),
    ],
)
def test_movielens_bad_files(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path / "u.data", text)
    with pytest.raises(DataFormatError, match=message):
        load_movielens_100k(tmp_path)


def test_movielens_bad_item_file(tmp_path: Path) -> None:
    write(tmp_path / "u.data", "1\t1\t5\t0\n1\t2\t5\t0\n")
    (tmp_path / "u.item").write_text(ml_item_line(1, [1]) + "2|Broken\n", encoding="latin-1")
    with pytest.raises(DataFormatError, match=r"u.item:2: expected 24"):
        load_movielens_100k(tmp_path)


def test_per_user_split_partitions_each_user() -> None:
    rng = np.random.default_rng(0)
    R = sp.random(50, 40, density=0.2, random_state=rng, format="csr")
    R.data[:] = 1
    train, test = per_user_split(R, 0.2, seed=3)
    assert (train.multiply(test)).nnz == 0
    assert ((train + test) != R).nnz == 0
    n = np.diff(R.indptr)
    assert np.array_equal(
        np.diff(test.indptr), np.minimum(np.floor(0.2 * n + 0.5), np.maximum(n - 1, 0))
    )
    a, _ = per_user_split(R, 0.2, seed=3)
    assert (a != train).nnz == 0
    with pytest.raises(TypeError, match="scipy.sparse"):
        per_user_split(R.toarray())


def test_sampler_negatives_never_in_train_and_epoch_covers_all() -> None:
    d = make_implicit(n_users=200, n_items=60, seed=4)  # dense enough that collisions happen often
    s = BPRSampler(d.train, seed=0)
    seen = []
    dense = d.train.toarray() > 0
    for u, i, j in s.epoch(batch_size=100):
        u, i, j = u.numpy(), i.numpy(), j.numpy()
        assert dense[u, i].all()
        assert not dense[u, j].any()
        seen.append(u * d.n_items + i)
    seen = np.sort(np.concatenate(seen))
    rows, cols = d.train.nonzero()
    assert np.array_equal(seen, np.sort(rows * d.n_items + cols))


def test_sampler_is_repeatable_and_rejects_full_users() -> None:
    d = make_implicit(n_users=50, n_items=40, seed=1)
    a = [t.numpy() for t in next(BPRSampler(d.train, seed=5).epoch(64))]
    b = [t.numpy() for t in next(BPRSampler(d.train, seed=5).epoch(64))]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    with pytest.raises(ValueError, match="every item"):
        BPRSampler(sp.csr_matrix(np.ones((2, 3))))
    with pytest.raises(TypeError, match="scipy.sparse"):
        BPRSampler(np.ones((2, 3)))


def test_generator_is_seeded_and_has_the_planted_structure() -> None:
    a, b, c = make_implicit(seed=0), make_implicit(seed=0), make_implicit(seed=1)
    assert (a.train != b.train).nnz == 0 and (a.train != c.train).nnz > 0
    full = a.train + a.val + a.test
    pop = np.sort(np.asarray(full.sum(0)).ravel())[::-1]
    assert pop[: len(pop) // 10].sum() > 0.3 * pop.sum()  # power law: top 10% of items > 30%
    act = np.diff(full.indptr)
    assert act.min() >= 3 and act.max() > 4 * np.median(act)  # uneven activity
    rows, cols = full.nonzero()
    same = (a.user_community[rows] == a.item_community[cols]).mean()
    assert same > 0.5  # communities: most interactions inside the user's community
    assert a.item_features.shape[0] == a.n_items and (a.item_features.sum(1) >= 1).all()
    with pytest.raises(ValueError, match="positive integer"):
        make_implicit(n_users=0)
