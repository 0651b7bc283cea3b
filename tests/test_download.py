"""tracekit.download against a local HTTP server on 127.0.0.1 (Range support, dropped links)."""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
import socket
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import tracekit.download as dl
from tracekit.download import CATALOG, DownloadError, ResumableDownloader, download

PHILLY_FILES = (
    "cluster_job_log",
    "cluster_gpu_util",
    "cluster_cpu_util",
    "cluster_mem_util",
    "cluster_machine_list",
)
LFS_POINTER = (
    b"version https://git-lfs.github.com/spec/v1\n"
    b"oid sha256:2037ccf63a725a02be718b0e1aeee6142c90b7f62d0d849295120e9f6ba13d2c\n"
    b"size 1055988361\n"
)


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.files``; honours ``Range: bytes=N-`` unless ``server.ignore_range``."""

    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        name = self.path.lstrip("/")
        srv = self.server
        srv.log.append((name, self.headers.get("Range")))
        data = srv.files.get(name)
        if data is None:
            self.send_error(404)
            return
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if match and not srv.ignore_range:
            start = int(match.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if srv.drops.get(name, 0) > 0:  # send half, then cut the connection
            srv.drops[name] -= 1
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(body)

    def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
        data = self.server.files.get(self.path.lstrip("/"))
        self.send_response(404 if data is None else 200)
        self.send_header("Content-Length", "0" if data is None else str(len(data)))
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.drops: dict[str, int] = {}
        self.ignore_range = False
        self.log: list[tuple[str, str | None]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dl, "_BACKOFF_S", 0.0)
    monkeypatch.setattr(dl, "TIMEOUT_S", (5.0, 5.0))  # bounded even if something stalls


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def philly_tar(size_per_file: int = 100_000, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name in PHILLY_FILES:
            # Incompressible content: the archive spans several download chunks.
            data = rng.randbytes(size_per_file)
            info = tarfile.TarInfo(f"trace-data/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def helios_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for cluster in ("Earth", "Saturn", "Uranus", "Venus"):
            zf.writestr(f"data/{cluster}/cluster_log.csv", "job_id,user\n1,u\n")
            zf.writestr(f"data/{cluster}/cluster_gpu_number.csv", "date,total\n2020-04-01,8\n")
    return buf.getvalue()


def files_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_good_download_philly(server: _Server, tmp_path: Path) -> None:
    tar = philly_tar()
    server.files["trace-data.tar.gz"] = tar
    out = download(
        "philly",
        tmp_path,
        mirror=server.url,
        registry={"trace-data.tar.gz": sha(tar)},
        progress=False,
    )
    folder = tmp_path / "philly"
    assert out == [folder / "trace-data.tar.gz", folder / "trace-data"]
    assert (folder / "trace-data.tar.gz").read_bytes() == tar
    assert sorted(p.name for p in (folder / "trace-data").iterdir()) == sorted(PHILLY_FILES)
    record = json.loads((folder / "DOWNLOADED.json").read_text())
    entry = record["files"]["trace-data.tar.gz"]
    assert entry["sha256"] == sha(tar) and entry["size_bytes"] == len(tar)
    assert entry["url"] == server.url + "trace-data.tar.gz"
    assert entry["extracted"] == ["trace-data"] and entry["downloaded_utc"]
    assert not (tmp_path / dl.PARTIAL_DIR).exists()
    # A second run verifies the checksum and fetches nothing.
    n_requests = len(server.log)
    assert (
        download(
            "philly", tmp_path, server.url, registry={"trace-data.tar.gz": sha(tar)}, progress=False
        )
        == out
    )
    assert len(server.log) == n_requests


def test_resume_after_dropped_connection(server: _Server, tmp_path: Path) -> None:
    tar = philly_tar()
    server.files["trace-data.tar.gz"] = tar
    server.drops["trace-data.tar.gz"] = 1
    download(
        "philly",
        tmp_path,
        server.url,
        registry={"trace-data.tar.gz": sha(tar)},
        progress=False,
        extract=False,
        retries=1,
    )
    assert (tmp_path / "philly/trace-data.tar.gz").read_bytes() == tar
    (first, no_range), (second, resume) = server.log
    assert first == second == "trace-data.tar.gz" and no_range is None
    resumed_at = int(re.fullmatch(r"bytes=(\d+)-", resume).group(1))
    assert 0 < resumed_at <= len(tar) // 2  # the kept prefix was not fetched again


def test_resume_from_existing_part_file(server: _Server, tmp_path: Path) -> None:
    tar = philly_tar()
    server.files["trace-data.tar.gz"] = tar
    part = tmp_path / dl.PARTIAL_DIR / "philly" / "trace-data.tar.gz.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(tar[:1000])
    download(
        "philly",
        tmp_path,
        server.url,
        registry={"trace-data.tar.gz": sha(tar)},
        progress=False,
        extract=False,
    )
    assert (tmp_path / "philly/trace-data.tar.gz").read_bytes() == tar
    assert server.log == [("trace-data.tar.gz", "bytes=1000-")]
    assert not part.exists()


def test_server_ignoring_range_restarts_from_zero(server: _Server, tmp_path: Path) -> None:
    tar = philly_tar()
    server.files["trace-data.tar.gz"] = tar
    server.ignore_range = True
    part = tmp_path / dl.PARTIAL_DIR / "philly" / "trace-data.tar.gz.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"garbage that must not be kept")
    download(
        "philly",
        tmp_path,
        server.url,
        registry={"trace-data.tar.gz": sha(tar)},
        progress=False,
        extract=False,
    )
    assert (tmp_path / "philly/trace-data.tar.gz").read_bytes() == tar


def test_part_longer_than_file_restarts(server: _Server, tmp_path: Path) -> None:
    server.files["x.bin"] = b"0123456789"
    part = tmp_path / "x.bin.part"
    part.write_bytes(b"0123456789AB")  # server answers 416 to bytes=12-
    out = tmp_path / "x.bin"
    ResumableDownloader(part, progress=False)(server.url + "x.bin", out)
    assert out.read_bytes() == b"0123456789" and not part.exists()


def test_checksum_mismatch_leaves_nothing(server: _Server, tmp_path: Path) -> None:
    tar = philly_tar()
    server.files["trace-data.tar.gz"] = tar
    with pytest.raises(DownloadError, match=r"checksum mismatch for trace-data\.tar\.gz"):
        download(
            "philly", tmp_path, server.url, registry={"trace-data.tar.gz": "0" * 64}, progress=False
        )
    assert files_in(tmp_path) == []


def test_lfs_pointer_is_recognised(server: _Server, tmp_path: Path) -> None:
    assert len(LFS_POINTER) == 135
    server.files["trace-data.tar.gz"] = LFS_POINTER
    with pytest.raises(DownloadError, match="Git LFS pointer file") as err:
        download(
            "philly", tmp_path, server.url, registry={"trace-data.tar.gz": None}, progress=False
        )
    assert "git lfs pull" in str(err.value) and "size 1055988361" in str(err.value)
    assert files_in(tmp_path) == []


def test_disconnecting_server_clear_error_no_partial_in_dest(server: _Server, tmp_path: Path):
    tar = philly_tar()
    server.files["trace-data.tar.gz"] = tar
    server.drops["trace-data.tar.gz"] = 100
    with pytest.raises(DownloadError, match="failed after 2 attempt") as err:
        download(
            "philly",
            tmp_path,
            server.url,
            registry={"trace-data.tar.gz": sha(tar)},
            progress=False,
            retries=1,
        )
    assert "run the download again to resume" in str(err.value)
    assert files_in(tmp_path / "philly") == []  # nothing partial where readers look
    # The resumable part lives apart, in dest/.partial/, and a later run completes it.
    assert files_in(tmp_path / dl.PARTIAL_DIR) == ["philly/trace-data.tar.gz.part"]
    server.drops.clear()
    download(
        "philly", tmp_path, server.url, registry={"trace-data.tar.gz": sha(tar)}, progress=False
    )
    assert (tmp_path / "philly/trace-data.tar.gz").read_bytes() == tar
    assert not (tmp_path / dl.PARTIAL_DIR).exists()


def test_http_error_and_refused_connection(server: _Server, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(
            "philly", tmp_path, server.url, registry={"trace-data.tar.gz": None}, progress=False
        )
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/"
    with pytest.raises(DownloadError, match="failed after 1 attempt"):
        download(
            "philly",
            tmp_path,
            dead,
            registry={"trace-data.tar.gz": None},
            progress=False,
            retries=0,
        )
    assert files_in(tmp_path / "philly") == []


def test_traversal_archive_refused_after_download(server: _Server, tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("../../escaped")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    server.files["trace-data.tar.gz"] = buf.getvalue()
    with pytest.raises(dl.TraceFormatError, match="refused"):
        download(
            "philly",
            tmp_path,
            server.url,
            registry={"trace-data.tar.gz": sha(buf.getvalue())},
            progress=False,
        )
    assert not (tmp_path.parent / "escaped").exists()
    # The archive itself was verified, so it stays (and is recorded); it is just not unpacked.
    assert files_in(tmp_path / "philly") == ["DOWNLOADED.json", "trace-data.tar.gz"]


def test_helios_without_official_checksum(server: _Server, tmp_path: Path) -> None:
    data = helios_zip()
    server.files["data.zip"] = data
    # No registry: the official entry has no checksum and a 36,437,672-byte expected size.
    with pytest.warns(UserWarning, match="no official checksum"):
        out = download("helios", tmp_path, server.url, progress=False)
    folder = tmp_path / "helios"
    assert out == [folder / "data.zip", folder / "data"]
    assert (folder / "data/Venus/cluster_log.csv").read_text() == "job_id,user\n1,u\n"
    entry = json.loads((folder / "DOWNLOADED.json").read_text())["files"]["data.zip"]
    assert entry["sha256"] == sha(data) and "none published" in entry["checksum"]
    # Re-run: the recorded hash identifies the file, nothing is fetched again.
    n = len(server.log)
    assert download("helios", tmp_path, server.url, progress=False) == out
    assert len(server.log) == n


def test_helios_corrupt_zip_refused(server: _Server, tmp_path: Path) -> None:
    data = bytearray(helios_zip())
    data[40] ^= 0xFF  # flip a byte inside the first member's compressed data
    server.files["data.zip"] = bytes(data)
    with pytest.raises(DownloadError, match="data.zip"):
        download("helios", tmp_path, server.url, registry={"data.zip": None}, progress=False)
    assert files_in(tmp_path) == []
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("data/Venus/other.csv", "x")
    server.files["data.zip"] = buf.getvalue()
    with pytest.raises(DownloadError, match="lacks expected members: cluster_gpu_number.csv"):
        download("helios", tmp_path, server.url, registry={"data.zip": None}, progress=False)
    assert files_in(tmp_path) == []


def test_pai_archives_and_headers(server: _Server, tmp_path: Path) -> None:
    registry: dict[str, str | None] = {}
    for f in CATALOG["pai"]:
        stem = f.name.split(".")[0]
        if f.name.endswith(".header"):
            data = b"a,b\n"
        else:
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w:gz") as tf:
                info = tarfile.TarInfo(f"{stem}.csv")
                info.size = 4
                tf.addfile(info, io.BytesIO(b"1,2\n"))
            data = buf.getvalue()
        server.files[f.name] = data
        registry[f.name] = sha(data)
    out = download("pai", tmp_path, server.url, registry=registry, progress=False)
    assert len(out) == 21  # 7 archives + 7 headers + 7 extracted CSVs
    names = files_in(tmp_path / "pai")
    assert "pai_job_table.csv" in names and "pai_job_table.header" in names
    assert "pai_machine_metric.tar.gz" in names and "DOWNLOADED.json" in names
    assert len(names) == 22


def test_disk_space_checked_before_any_request(
    server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dl, "_free_bytes", lambda path: 10_000_000)
    with pytest.raises(DownloadError, match="not enough free disk space") as err:
        download("all", tmp_path, server.url, progress=False)
    assert "philly: archives 1.1 GB + extracted 7.3 GB" in str(err.value)
    assert server.log == []


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="unknown trace 'google'"):
        download("google", tmp_path)
    with pytest.raises(DownloadError, match="registry names files not in 'helios': x.zip"):
        download("helios", tmp_path, registry={"x.zip": None})


def test_catalog_matches_formats_spec(real_data: Path) -> None:
    philly = CATALOG["philly"][0]
    assert philly.size_bytes == 1_055_988_361
    assert philly.url.startswith("https://media.githubusercontent.com/media/msr-fiddle/")
    pai = CATALOG["pai"]
    assert len(pai) == 14 and sum(f.size_bytes or 0 for f in pai if f.is_archive) > 1.46e9
    assert all(f.sha256 and len(f.sha256) == 64 for f in pai)
    assert CATALOG["helios"][0].sha256 is None
    real = real_data / "pai" / "pai_machine_spec.header"  # the one real header file held
    spec = next(f for f in pai if f.name == "pai_machine_spec.header")
    assert sha(real.read_bytes()) == spec.sha256 and real.stat().st_size == spec.size_bytes


def test_progress_bar_and_availability_check(
    server: _Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.files["x.bin"] = b"y" * 200_000
    downloader = ResumableDownloader(tmp_path / "x.bin.part", progress=True)
    assert downloader(server.url + "x.bin", None, None, check_only=True) is True
    assert downloader(server.url + "nothing", None, None, check_only=True) is False
    downloader(server.url + "x.bin", tmp_path / "x.bin")
    assert (tmp_path / "x.bin").stat().st_size == 200_000
    assert "x.bin" in capsys.readouterr().err  # the bar goes to stderr, named after the file


def test_symlink_chain_archive_refused_on_download(server: _Server, tmp_path: Path) -> None:
    # The chain "L -> z/..", then "z -> .", with L named like the record's temporary file: the
    # archive must be refused and no file outside --dest may change (hardening item 1).
    import stat

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, target in ((".DOWNLOADED.json.tmp", "z/.."), ("z", ".")):
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
        zf.writestr("data/Venus/cluster_log.csv", "job_id\n1\n")
        zf.writestr("data/Venus/cluster_gpu_number.csv", "date,total\n2020-04-01,8\n")
    server.files["data.zip"] = buf.getvalue()
    dest = tmp_path / "dest"
    outside = tmp_path / "precious.json"
    outside.write_text("keep me")
    (tmp_path / "DOWNLOADED.json").write_text("keep me too")
    before = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    with pytest.raises(dl.TraceFormatError, match="refused"):
        download("helios", dest, server.url, registry={"data.zip": None}, progress=False)
    after = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before
    assert not any(p.is_symlink() for p in dest.rglob("*"))


# ---- openb and Acme ------------------------------------------------------------------------------
def test_openb_catalog_has_every_published_variant() -> None:
    names = [f.name for f in CATALOG["openb"]]
    pods = [n for n in names if n.startswith("openb_pod_list_")]
    assert len(pods) == 24 and "openb_pod_list_default.csv" in pods
    assert {"openb_node_list_all_node.csv", "openb_node_list_gpu_node.csv"} <= set(names)
    assert all(f.sha256 and len(f.sha256) == 64 and f.size_bytes for f in CATALOG["openb"])
    assert all("/cluster-trace-gpu-v2023/csv/" in f.url for f in CATALOG["openb"])


def test_openb_download_of_the_real_files(
    server: _Server, tmp_path: Path, real_data: Path
) -> None:
    real = sorted((real_data / "openb").glob("openb_*.csv"))
    assert len(real) == 6  # both node lists and four pod lists
    for path in real:
        server.files[path.name] = path.read_bytes()
    names = [p.name for p in real]
    out = download("openb", tmp_path, server.url, only=names, progress=False)
    assert [p.name for p in out] == [f.name for f in CATALOG["openb"] if f.name in names]
    for path in real:
        assert (tmp_path / "openb" / path.name).read_bytes() == path.read_bytes()
    record = json.loads((tmp_path / "openb" / "DOWNLOADED.json").read_text())["files"]
    assert record["openb_pod_list_default.csv"]["checksum"].startswith("pinned")
    # A tampered variant is refused by its pinned checksum and never lands in dest.
    server.files["openb_pod_list_gpuspec33.csv"] += b"x"
    (tmp_path / "openb" / "openb_pod_list_gpuspec33.csv").unlink()
    with pytest.raises(DownloadError, match="checksum mismatch for openb_pod_list_gpuspec33"):
        download("openb", tmp_path, server.url, only=["openb_pod_list_gpuspec33.csv"],
                 progress=False)  # fmt: skip
    assert not (tmp_path / "openb" / "openb_pod_list_gpuspec33.csv").exists()
    with pytest.raises(DownloadError, match="no file named nope.csv"):
        download("openb", tmp_path, server.url, only=["nope.csv"], progress=False)


def test_acme_download_checks_git_blob_ids(
    server: _Server, tmp_path: Path, real_data: Path
) -> None:
    summary = (real_data / "acme" / "cluster_summary.csv").read_bytes()
    server.files["cluster_summary.csv"] = summary
    out = download("acme", tmp_path, server.url, only=["cluster_summary.csv"], progress=False)
    assert out == [tmp_path / "acme" / "cluster_summary.csv"]
    # The job traces have no published checksum: a file that is not the pinned commit's blob
    # is refused.
    server.files["trace_seren.csv"] = b"job_id,user\n1,u\n"
    with pytest.raises(DownloadError, match="git blob id differs"):
        download("acme", tmp_path, server.url, only=["trace_seren.csv"], progress=False)
    assert not (tmp_path / "acme" / "trace_seren.csv").exists()
    seren = next(f for f in CATALOG["acme"] if f.name == "trace_seren.csv")
    assert seren.sha256 is None and "no checksum published" in seren.checksum_source
    blob = dl._git_blob_id(tmp_path / "acme" / "cluster_summary.csv")
    assert blob == "c1a4e7dbd8397748c26e249661264ceb171ad604"  # git ls-tree of the pinned commit


def test_cli_download_files_option(server: _Server, tmp_path: Path, real_data: Path) -> None:
    from typer.testing import CliRunner

    from tracekit.cli import app

    path = real_data / "openb" / "openb_node_list_gpu_node.csv"
    server.files[path.name] = path.read_bytes()
    args = ["download", "openb", "--dest", str(tmp_path), "--mirror", server.url]
    result = CliRunner().invoke(app, [*args, "--files", path.name])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "openb" / path.name).read_bytes() == path.read_bytes()
