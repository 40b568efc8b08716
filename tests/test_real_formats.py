"""Loaders on the real formats' awkward cases, on files the tests write: gzip, a byte-order mark,
a file of the wrong kind, empty and header-only files, MovieLens-1M, catalogue sizes."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import numpy as np
import pytest

from recsys_ref.data.avazu import AVAZU_COLUMNS, read_avazu
from recsys_ref.data.criteo import CRITEO_FIELDS, BadRowError, read_criteo
from recsys_ref.data.loaders import (
    DataFormatError,
    load_movielens_1m,
    load_movielens_100k,
    load_ngcf_split,
    read_recbole_inter,
)
from recsys_ref.data.textio import sniff

BOM = "\ufeff"
U_DATA = "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n"


def write(path: Path, text: str, *, gz: bool = False, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode(encoding)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def criteo_line(label: int, i1: str = "5") -> str:
    ints = [i1] + [str(v) for v in range(2, 14)]
    cats = [f"{c:08x}" for c in range(26)]
    return "\t".join([str(label), *ints, *cats]) + "\n"


def criteo_csv(lines: list[str]) -> str:
    header = ",".join(["label", *CRITEO_FIELDS]) + "\n"
    return header + "".join(line.replace("\t", ",") for line in lines)


def avazu_line(click: int, hour: str = "14102100") -> str:
    return (
        ",".join(
            ["1000009418151094273", str(click), hour, "1005", "0", *[f"v{c}" for c in range(19)]]
        )
        + "\n"
    )


AVAZU_HEADER = ",".join(AVAZU_COLUMNS) + "\n"


# ------------------------------------------------------------------ gzip, read transparently


def test_criteo_gzip_reads_like_the_plain_file(tmp_path: Path) -> None:
    text = criteo_line(1) + criteo_line(0, "") + criteo_line(0, "300")
    plain = read_criteo(write(tmp_path / "train.txt", text))
    packed = read_criteo(write(tmp_path / "train.txt.gz", text, gz=True))
    assert packed.rows == plain.rows and packed.y.tolist() == plain.y.tolist() == [1, 0, 0]


def test_avazu_kaggle_train_gz(tmp_path: Path) -> None:
    text = AVAZU_HEADER + avazu_line(0) + avazu_line(1, "14102913")
    plain = read_avazu(write(tmp_path / "train.csv", text))
    packed = read_avazu(write(tmp_path / "train.gz", text, gz=True))  # Kaggle's name, no .csv
    assert packed.rows == plain.rows and packed.y.tolist() == [0, 1]
    assert packed.rows[1][:2] == ["13", "Wed"]


def test_ngcf_split_and_movielens_gzip(tmp_path: Path) -> None:
    write(tmp_path / "g" / "train.txt.gz", "0 0 1\n1 2\n", gz=True)
    write(tmp_path / "g" / "test.txt", "0 2\n1 0\n")
    d = load_ngcf_split(tmp_path / "g")
    assert d.train.toarray().tolist() == [[1, 1, 0], [0, 0, 1]]
    write(
        tmp_path / "m" / "u.data", "1\t1\t5\t881250949\n1\t2\t4\t881250950\n", gz=True
    )  # gzip under the plain name
    m = load_movielens_100k(tmp_path / "m", test_frac=0.0)
    assert m.train.toarray().tolist() == [[1, 1]]


def test_truncated_gzip_names_file_and_line(tmp_path: Path) -> None:
    blob = gzip.compress((criteo_line(1) * 2000).encode())
    path = tmp_path / "day_0.gz"
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(
        DataFormatError, match=r"day_0.gz:\d+: the gzip stream is damaged or cut short"
    ):
        read_criteo(path)


def test_other_archives_name_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "train.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("train.csv", AVAZU_HEADER + avazu_line(0))
    with pytest.raises(DataFormatError, match=r"train.zip: this is a zip archive.*unzip it first"):
        read_avazu(path)


def test_bytes_that_are_not_utf8_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "train.txt"
    path.write_bytes(b"0 1 2\n1 3\n2 \xff\xfe 4\n")
    write(tmp_path / "test.txt", "0 3\n")
    with pytest.raises(DataFormatError, match=r"train.txt:3: not UTF-8 text"):
        load_ngcf_split(tmp_path)


# ------------------------------------------------------------------ byte-order mark (Excel)


def test_bom_is_stripped_everywhere(tmp_path: Path) -> None:
    t = read_criteo(write(tmp_path / "c.txt", BOM + criteo_line(1) + criteo_line(0)))
    assert (
        t.y.tolist() == [1, 0]
        and t.rows[0][0] == read_criteo(write(tmp_path / "c2.txt", criteo_line(1))).rows[0][0]
    )
    assert len(read_criteo(write(tmp_path / "c.csv", BOM + criteo_csv([criteo_line(1)])))) == 1
    assert read_avazu(write(tmp_path / "a.csv", BOM + AVAZU_HEADER + avazu_line(1))).y.tolist() == [
        1
    ]
    write(tmp_path / "g" / "train.txt", BOM + "0 0 1\n")
    write(tmp_path / "g" / "test.txt", BOM + "0 2\n")
    assert load_ngcf_split(tmp_path / "g").train.toarray().tolist() == [[1, 1, 0]]
    write(tmp_path / "m" / "u.data", BOM + "1\t1\t5\t881250949\n")
    assert load_movielens_100k(tmp_path / "m", test_frac=0.0).train.nnz == 1
    # a BOM written as latin-1 bytes (u.item is latin-1) must not break the id either
    write(
        tmp_path / "m" / "u.item",
        BOM + "1|A (1995)|01-Jan-1995||http://x|" + "|".join("0" * 19) + "\n",
    )
    assert load_movielens_100k(tmp_path / "m", test_frac=0.0).n_items == 1


# ------------------------------------------------------------------ a file of the wrong kind


def test_u_data_given_to_the_ngcf_loader_is_named(tmp_path: Path) -> None:
    write(tmp_path / "train.txt", U_DATA)
    write(tmp_path / "test.txt", U_DATA)
    with pytest.raises(
        DataFormatError,
        match=r"train.txt:1: this looks like MovieLens-100K u.data.*"
        r"load_movielens_100k",
    ):
        load_ngcf_split(tmp_path)


def test_ngcf_loader_refuses_tabs_commas_and_a_copied_train(tmp_path: Path) -> None:
    write(tmp_path / "train.txt", "0 1 2\n1\t3\n")
    write(tmp_path / "test.txt", "0 3\n")
    with pytest.raises(DataFormatError, match=r"train.txt:2: expected space-separated ids"):
        load_ngcf_split(tmp_path)
    write(tmp_path / "train.txt", "0 1 2\n1 3\n")
    write(tmp_path / "test.txt", "0 1 2\n1 3\n")
    with pytest.raises(
        DataFormatError, match=r"test.txt: holds exactly the interactions of .*train.txt"
    ):
        load_ngcf_split(tmp_path)


@pytest.mark.parametrize(
    "reader, text, named, use",
    [
        (read_criteo, AVAZU_HEADER + avazu_line(0), "an Avazu file", "read_avazu"),
        (read_avazu, criteo_line(1), "a Criteo file", "read_criteo"),
        (read_avazu, criteo_csv([criteo_line(1)]), "a Criteo file", "read_criteo"),
        (read_criteo, U_DATA, "MovieLens-100K u.data", "load_movielens_100k"),
        (
            read_criteo,
            "user_id,movie_id,rating,timestamp\n1,2,3,4\n",
            "a MovieLens CSV",
            "pandas.read_csv",
        ),
        (read_avazu, "<!DOCTYPE html><html>Access denied</html>\n", "an HTML page", None),
    ],
)
def test_ctr_readers_name_a_file_of_another_kind(tmp_path: Path, reader, text, named, use) -> None:
    with pytest.raises(BadRowError, match=f"f.txt:1: this looks like {named}") as info:
        reader(write(tmp_path / "f.txt", text))
    if use:
        assert f"read it with {use}" in str(info.value)


def test_ratings_dat_given_as_u_data_is_named(tmp_path: Path) -> None:
    write(tmp_path / "u.data", "1::1193::5::978300760\n")
    with pytest.raises(
        DataFormatError,
        match=r"u.data:1: this looks like MovieLens-1M ratings.dat.*load_movielens_1m",
    ):
        load_movielens_100k(tmp_path)


def test_sniff_tells_the_formats_apart() -> None:
    assert sniff("0 12 13 14") == "ngcf"
    assert sniff("0") == "ngcf"
    assert sniff(U_DATA.splitlines()[0]) == "ml100k"
    assert sniff("1::1193::5::978300760") == "ml1m"
    assert sniff("user_id:token\titem_id:token\trating:float") == "recbole"
    assert sniff(criteo_line(0)) == "criteo"
    assert sniff(AVAZU_HEADER) == "avazu"
    assert sniff("Toy Story (1995)|Animation") is None


# ------------------------------------------------------------------ empty and header-only files


@pytest.mark.parametrize(
    "reader, text, message",
    [
        (read_criteo, "", r"c.txt: the file is empty"),
        (read_criteo, "\n\n", r"c.txt: the file is empty"),
        (read_criteo, criteo_csv([]), r"c.txt: a header and no data row"),
        (read_avazu, "", r"c.txt: the file is empty"),
        (read_avazu, AVAZU_HEADER, r"c.txt: a header and no data row"),
    ],
)
def test_empty_and_header_only_ctr_files_raise(tmp_path: Path, reader, text, message) -> None:
    with pytest.raises(BadRowError, match=message):
        reader(write(tmp_path / "c.txt", text))


def test_a_file_of_bad_rows_only_raises_even_when_skipping(tmp_path: Path) -> None:
    path = write(tmp_path / "c.txt", criteo_line(1).replace("\t5\t", "\tx\t") * 3)
    with pytest.raises(BadRowError, match=r"all 3 rows are bad; the first: .*c.txt, line 1: I1"):
        read_criteo(path, skip_bad=True)


def test_empty_movielens_and_header_only_inter_raise(tmp_path: Path) -> None:
    write(tmp_path / "u.data", "")
    with pytest.raises(DataFormatError, match=r"u.data: the file is empty"):
        load_movielens_100k(tmp_path)
    write(tmp_path / "ratings.dat", "\n")
    with pytest.raises(DataFormatError, match=r"ratings.dat: the file is empty"):
        load_movielens_1m(tmp_path)
    path = write(
        tmp_path / "x.inter", "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    )
    with pytest.raises(DataFormatError, match=r"x.inter: holds a header and no interaction"):
        read_recbole_inter(path)


# ------------------------------------------------------------------ MovieLens-1M, catalogue sizes


def test_movielens_1m_renumbers_densely_from_the_catalogue(tmp_path: Path) -> None:
    ratings = [(1, 10, 5), (1, 3952, 4), (1, 20, 2), (2, 10, 4), (2, 20, 5), (6040, 3952, 4)]
    write(
        tmp_path / "ratings.dat",
        "".join(f"{u}::{i}::{r}::97830076{n}\n" for n, (u, i, r) in enumerate(ratings)),
    )
    write(
        tmp_path / "movies.dat",
        "10::GoldenEye (1995)::Action\n20::Movie (1995)::Drama\n"
        "30::Unrated (1995)::Drama\n3952::Contender (2000)::Drama\n",
        encoding="latin-1",
    )
    write(
        tmp_path / "users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n6040::M::25::6::11106\n"
    )
    d = load_movielens_1m(tmp_path, test_frac=0.0)
    assert (d.n_users, d.n_items) == (
        3,
        4,
    )  # from the catalogue: movie 30 has no rating, still an item
    assert d.item_ids.tolist() == [10, 20, 30, 3952] and d.user_ids.tolist() == [1, 2, 6040]
    expected = np.zeros((3, 4))
    for u, i, r in ratings:
        if r >= 4:
            expected[d.user_ids.tolist().index(u), d.item_ids.tolist().index(i)] = 1
    assert (d.train.toarray() == expected).all()


def test_movielens_1m_without_catalogue_and_with_a_stray_id(tmp_path: Path) -> None:
    write(tmp_path / "ratings.dat", "5::7::5::978300760\n9::7::4::978300761\n")
    d = load_movielens_1m(tmp_path, test_frac=0.0)
    assert (d.n_users, d.n_items) == (2, 1)
    write(tmp_path / "movies.dat", "8::Other (1995)::Drama\n")
    with pytest.raises(
        DataFormatError, match=r"ratings.dat: id 7 is not in the catalogue .*movies.dat"
    ):
        load_movielens_1m(tmp_path)


def test_movielens_100k_sizes_come_from_u_item_and_u_user(tmp_path: Path) -> None:
    write(tmp_path / "u.data", "1\t1\t5\t881250949\n2\t2\t4\t881250950\n")
    assert load_movielens_100k(tmp_path, test_frac=0.0).train.shape == (2, 2)  # largest ids seen
    write(tmp_path / "u.user", "1|24|M|technician|85711\n2|53|F|other|94043\n3|23|M|writer|32067\n")
    item = "|01-Jan-1995||http://x|" + "|".join("0" * 19) + "\n"
    write(
        tmp_path / "u.item",
        "".join(f"{i}|Movie {i}{item}" for i in range(1, 6)),
        encoding="latin-1",
    )
    d = load_movielens_100k(tmp_path, test_frac=0.0)
    assert d.train.shape == (3, 5)  # user 3 and items 3..5 have no rating, still in the catalogue
    write(tmp_path / "u.data", "1\t1\t5\t881250949\n2\t7\t4\t881250950\n")
    with pytest.raises(
        DataFormatError, match=r"u.data: id 7 is beyond the catalogue .*u.item \(ids 1..5\)"
    ):
        load_movielens_100k(tmp_path)


def test_recbole_inter_matches_u_data(tmp_path: Path) -> None:
    from recsys_ref.data.loaders import read_ml100k_ratings

    a = read_ml100k_ratings(write(tmp_path / "u.data", U_DATA))
    inter = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n" + U_DATA
    b = read_recbole_inter(write(tmp_path / "ml-100k.inter", inter))
    assert (a == b).all()
