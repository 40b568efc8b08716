"""``data fetch`` against a local HTTP server on 127.0.0.1 (a thread), serving archives the tests
write: a good download and its resume, a checksum mismatch, a truncated transfer, a 404, offline.
No test reaches the network."""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from recsys_ref.course import cli
from recsys_ref.data import fetch as F
from recsys_ref.data.loaders import load_movielens_100k

U_DATA = b"".join(
    b"%d\t%d\t%d\t88125%04d\n" % (u, i, 3 + (u + i) % 3, u * 10 + i)
    for u in range(1, 6)
    for i in range(1, 9)
)


def ml_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("ml-100k/u.data", U_DATA)
        z.writestr("ml-100k/README", "fixture")
    return buf.getvalue()


class Server:
    """Files by URL path; ``truncate`` paths send a full Content-Length and half the bytes;
    ``no_range`` paths ignore Range headers; every request is recorded."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.truncate: set[str] = set()
        self.no_range: set[str] = set()
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                start = 0
                if rng and self.path not in server.no_range:
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    if start >= len(body):
                        self.send_error(416, "Range Not Satisfiable")
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                part = body[start:]
                self.send_header("Content-Length", str(len(part)))
                self.end_headers()
                if self.path in server.truncate:
                    self.wfile.write(part[: len(part) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(part)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


def dataset(url: str, sha: str | None, name: str = "toy") -> dict[str, F.Dataset]:
    src = F.Source(url, "ml-100k.zip", sha, None, {"ml-100k/u.data": "u.data"})
    return {
        name: F.Dataset(name, "a toy MovieLens", (src,), "loaders.load_movielens_100k('<dir>')")
    }


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_fetch_downloads_verifies_unpacks_and_skips_a_second_time(
    server: Server, tmp_path: Path
) -> None:
    blob = ml_zip()
    server.files["/ml.zip"] = blob
    logs: list[str] = []
    folder = F.fetch(
        "toy",
        tmp_path,
        progress=False,
        datasets=dataset(server.url + "/ml.zip", sha(blob)),
        log=logs.append,
    )
    assert folder == tmp_path / "toy"
    assert (folder / "ml-100k.zip").read_bytes() == blob and (
        folder / "u.data"
    ).read_bytes() == U_DATA
    assert load_movielens_100k(folder).train.nnz > 0  # what was fetched is what the loader reads
    assert any(line.startswith("verified ml-100k.zip") for line in logs)
    n = len(server.requests)
    F.fetch(
        "toy",
        tmp_path,
        progress=False,
        datasets=dataset(server.url + "/ml.zip", sha(blob)),
        log=logs.append,
    )
    assert len(server.requests) == n and any(line.startswith("already there") for line in logs)


def test_checksum_mismatch_keeps_the_file_aside(server: Server, tmp_path: Path) -> None:
    blob = ml_zip()
    server.files["/ml.zip"] = blob
    with pytest.raises(F.FetchError, match=r"checksum mismatch \(sha256 " + sha(blob)):
        F.fetch(
            "toy",
            tmp_path,
            progress=False,
            datasets=dataset(server.url + "/ml.zip", sha(b"other")),
            log=lambda s: None,
        )
    assert (tmp_path / "toy" / "ml-100k.zip.bad").read_bytes() == blob
    assert (
        not (tmp_path / "toy" / "ml-100k.zip").exists()
        and not (tmp_path / "toy" / "u.data").exists()
    )


def test_truncated_download_is_resumed(server: Server, tmp_path: Path) -> None:
    blob = ml_zip()
    server.files["/ml.zip"] = blob
    server.truncate.add("/ml.zip")
    ds = dataset(server.url + "/ml.zip", sha(blob))
    with pytest.raises(
        F.FetchError, match=r"the download stopped after .*run the command again to resume"
    ):
        F.fetch("toy", tmp_path, progress=False, datasets=ds, log=lambda s: None)
    part = tmp_path / "toy" / "ml-100k.zip.part"
    assert 0 < part.stat().st_size < len(blob) and not (tmp_path / "toy" / "ml-100k.zip").exists()
    have = part.stat().st_size
    server.truncate.clear()
    F.fetch("toy", tmp_path, progress=False, datasets=ds, log=lambda s: None)
    assert server.requests[-1] == ("/ml.zip", f"bytes={have}-")  # asked only for the rest
    assert (tmp_path / "toy" / "ml-100k.zip").read_bytes() == blob and not part.exists()


def test_a_server_without_range_support_starts_over(server: Server, tmp_path: Path) -> None:
    blob = ml_zip()
    server.files["/ml.zip"] = blob
    server.no_range.add("/ml.zip")
    folder = tmp_path / "toy"
    folder.mkdir()
    (folder / "ml-100k.zip.part").write_bytes(b"garbage, not the file's first bytes")
    logs: list[str] = []
    F.fetch(
        "toy",
        tmp_path,
        progress=False,
        datasets=dataset(server.url + "/ml.zip", sha(blob)),
        log=logs.append,
    )
    assert (folder / "ml-100k.zip").read_bytes() == blob
    assert any("does not resume" in line for line in logs)


def test_404_names_the_url_and_the_way_out(server: Server, tmp_path: Path) -> None:
    with pytest.raises(
        F.FetchError, match=r"/gone.zip: the server answered HTTP 404 .*download it by hand"
    ):
        F.fetch(
            "toy",
            tmp_path,
            progress=False,
            datasets=dataset(server.url + "/gone.zip", sha(b"x")),
            log=lambda s: None,
        )


def test_offline_says_so(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(
        F.FetchError, match=r"cannot reach http://127.0.0.1:\d+/ml.zip .*are you offline\?"
    ):
        F.fetch(
            "toy",
            tmp_path,
            progress=False,
            datasets=dataset(f"http://127.0.0.1:{port}/ml.zip", sha(b"x")),
            log=lambda s: None,
            timeout=5,
        )


def test_no_recorded_checksum_needs_unverified_and_prints_the_digest(
    server: Server, tmp_path: Path
) -> None:
    blob = ml_zip()
    server.files["/ml.zip"] = blob
    ds = dataset(server.url + "/ml.zip", None)
    with pytest.raises(F.FetchError, match=r"no checksum is recorded"):
        F.fetch("toy", tmp_path, progress=False, datasets=ds, log=lambda s: None)
    assert server.requests == []  # refused before any request
    logs: list[str] = []
    F.fetch("toy", tmp_path, progress=False, datasets=ds, unverified=True, log=logs.append)
    assert (
        f"UNVERIFIED ml-100k.zip: sha256 {sha(blob)} (no checksum recorded for this source)" in logs
    )


def test_registry_records_only_checksums_it_can_stand_behind() -> None:
    for ds in F.DATASETS.values():
        for src in ds.sources:
            assert src.sha256 is None or len(src.sha256) == 64 and int(src.sha256, 16) >= 0
            if src.sha256 is None:
                assert ds.note == F.UNREACHABLE  # said so, not invented
        assert ds.sources or ds.manual


def test_cli_data_fetch_unknown_and_manual(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["data", "fetch", "nonesuch", "--cache", str(tmp_path)]) == 1
    assert "unknown data set 'nonesuch'; known: " in capsys.readouterr().err
    assert cli.main(["data", "fetch", "avazu", "--cache", str(tmp_path)]) == 1
    assert f"put train.gz into {tmp_path / 'avazu'}" in capsys.readouterr().err
    assert cli.main(["data", "list"]) == 0
    assert "ml-100k-recbole" in capsys.readouterr().out


def test_cache_dir_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECSYS_COURSE_DATA", str(tmp_path / "env"))
    assert F.cache_dir() == tmp_path / "env"
    assert F.cache_dir(tmp_path / "given") == tmp_path / "given"
    monkeypatch.delenv("RECSYS_COURSE_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert F.cache_dir() == tmp_path / "xdg" / "recsys-course"
