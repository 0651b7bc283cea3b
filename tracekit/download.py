"""Download the official trace releases (Philly, Helios, PAI, openb, Acme) into
``data/raw/<trace>/``.

Fetching and hashing go through pooch (``pooch.retrieve`` with the SHA-256 of each file);
the transfer itself uses :class:`ResumableDownloader`, a pooch-compatible downloader that keeps
a ``.part`` file under ``<dest>/.partial/<trace>/`` and resumes it with an HTTP Range request.
Only verified files ever appear under ``<dest>/<trace>/``; archives are then extracted with
:func:`tracekit.sources._archive.safe_extract`. See docs/download.md for sizes, checksums,
licences and the Helios checksum decision.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
import warnings
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import pooch
import requests

from tracekit import __version__
from tracekit.errors import TraceFormatError, TracekitError
from tracekit.sources._archive import LFS_POINTER_PREFIX, iter_members, safe_extract
from tracekit.sources._common import find_by_basename

TRACES: tuple[str, ...] = ("philly", "helios", "pai", "openb", "acme")
RECORD_NAME = "DOWNLOADED.json"
PARTIAL_DIR = ".partial"
# (connect, read) timeouts in seconds: a stalled transfer fails instead of hanging forever.
TIMEOUT_S: tuple[float, float] = (30.0, 120.0)
_CHUNK = 1 << 16  # small chunks: a dropped link loses at most one chunk of the .part
_BACKOFF_S = 2.0  # first wait between automatic resume attempts (doubles, capped at 30 s)

_PHILLY_MEDIA = "https://media.githubusercontent.com/media/msr-fiddle/philly-traces/master"
_HELIOS_RAW = "https://raw.githubusercontent.com/S-Lab-System-Group/HeliosData/master"
_PAI_OSS = "https://aliopentrace.oss-cn-beijing.aliyuncs.com/v2020GPUTraces"
_PAI_HEADERS = (
    "https://raw.githubusercontent.com/alibaba/clusterdata/master/cluster-trace-gpu-v2020/data"
)
# Pinned commits: a file fetched from a commit URL never changes under its checksum.
_OPENB_COMMIT = "7a6c496e4f4b6ce6150be8f881cb051bf2abff42"
_OPENB_CSV = (
    f"https://raw.githubusercontent.com/alibaba/clusterdata/{_OPENB_COMMIT}"
    "/cluster-trace-gpu-v2023/csv"
)
_ACME_COMMIT = "6d6ac9cd15f3b01151ac6ba00ecddd9156f0dc73"
_ACME_DATA = f"https://raw.githubusercontent.com/InternLM/AcmeTrace/{_ACME_COMMIT}/data"


class DownloadError(TracekitError):
    """A trace file could not be downloaded, verified or unpacked."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of an official trace release.

    Attributes
    ----------
    name : str
        File name, kept unchanged in ``<dest>/<trace>/``.
    url : str
        Official URL.
    sha256 : str or None
        Expected SHA-256 (hex); None when no official checksum exists (Helios).
    size_bytes : int or None
        Expected size in bytes, when known.
    extracted_bytes : int
        Approximate size once extracted (0 for files that are not archives).
    max_member_bytes : int
        Extraction bound for one member (0 for files that are not archives).
    members : tuple of str
        Base names the archive must contain.
    checksum_source : str
        Where ``sha256`` comes from, copied into DOWNLOADED.json.
    git_blob : str or None
        Git blob id (SHA-1 of ``"blob <size>\\0" + content``) of the file at the pinned commit
        of its repository, checked after download when no SHA-256 is known.
    """

    name: str
    url: str
    sha256: str | None
    size_bytes: int | None
    extracted_bytes: int = 0
    max_member_bytes: int = 0
    members: tuple[str, ...] = ()
    checksum_source: str = "official"
    git_blob: str | None = None

    @property
    def is_archive(self) -> bool:
        """True for archives that are extracted after download."""
        return self.extracted_bytes > 0 or bool(self.members)

    @property
    def max_total_bytes(self) -> int:
        """Extraction bound for the whole archive (extracted size plus 50 % headroom)."""
        return max(int(self.extracted_bytes * 1.5), self.max_member_bytes)


_GB = 1_000_000_000
_MB = 1_000_000

# PAI: (name, archive bytes, archive sha256, CSV bytes, header sha256), from the official README.
# The header sha256 values match the prefixes/suffixes printed in the official README and the
# real pai_machine_spec.header (see docs/download.md).
_PAI_TABLES: tuple[tuple[str, int, str, int, str], ...] = (
    (
        "pai_job_table",
        62_065_432,
        "5aad7f7caac501136d14ed6a48e40546f825d7b0617a3a4f337e2348fe0a6cb0",
        133_300_000,
        "3ac33aefab9a4d81338794fa145fe280594a379444961a9c639f00181c508567",
    ),
    (
        "pai_task_table",
        35_514_117,
        "cd1d6dc3215d2a8607ccf6b6dd952b5db776df86926c73259fea7c1499ac40e5",
        113_400_000,
        "978bbaabfc8695874c605c01c144b2977f611ceca73aeb72189988cdfbfb0a9c",
    ),
    (
        "pai_instance_table",
        694_839_139,
        "1bf1e423a7ce3f8d086699801c362fd56a7182abdb234139e5ebbed97995ca06",
        1_980_000_000,
        "51f2585178eaaf30ad8cc88c50ec9243b0f7d9603603ab7602efccb7aa34f6b0",
    ),
    (
        "pai_sensor_table",
        406_119_947,
        "9a0b82e8bdf3949281e4ba1423d9b4b34847e52799eecb138966de46da69c7a0",
        1_060_000_000,
        "d3e26eb31fb3b833821373b487266312151a3bfb2f18fc62017a438546cc1362",
    ),
    (
        "pai_group_tag_table",
        55_064_781,
        "722fef30b7fb7aa50dabd79155614b5423a9d65cf45a9b26c590d57725423a14",
        115_500_000,
        "320470fa8f77182bc6052c95ff359b75542c748e9516b3d8148a6e2bafc1798d",
    ),
    (
        "pai_machine_spec",
        30_449,
        "cc0d38a4045af1b1af8179de8b1b54b1ddd995e6160d6d061a6b1000f1276c2d",
        73_311,
        "4c9ea25914ff3f0b73be9ff223fb91002e787138165abd3f584ba37281448e1c",
    ),
    (
        "pai_machine_metric",
        206_596_175,
        "53ad917193d3b1dd0f3055e723148b1f36c2f81789b014ea2930a7875892eef5",
        434_300_000,
        "300342613103c6192490f8990958903d837053c13adbc6c094d677074fbbb7ad",
    ),
)
_PAI_HEADER_BYTES = {
    "pai_job_table": 49,
    "pai_task_table": 91,
    "pai_instance_table": 84,
    "pai_sensor_table": 161,
    "pai_group_tag_table": 42,
    "pai_machine_spec": 41,
    "pai_machine_metric": 172,
}

_HELIOS_CLUSTERS = ("Earth", "Saturn", "Uranus", "Venus")

# openb (Weng et al., ATC'23): every published node list and pod-list variant of
# alibaba/clusterdata cluster-trace-gpu-v2023/csv/, as (name, bytes, sha256) of the files at the
# pinned commit. Upstream publishes no checksums; these pin the files the project was built on.
_OPENB_FILES: tuple[tuple[str, int, str], ...] = (
    ("openb_node_list_all_node.csv", 52_287,
     "5a85c2af79c66a1efff8bbcbda430400aae56d8431370d738480967e1a9c6b15"),
    ("openb_node_list_gpu_node.csv", 42_353,
     "2beca64b4d3dfa342036a34b56a495c6cef9225db836c81f541282cb1df320b5"),
    ("openb_pod_list_default.csv", 575_468,
     "1ee7ed79c27a3b0861cda8ddba86a004c6aba904caafa329a76ae93ca63834a8"),
    ("openb_pod_list_cpu0.csv", 499_765,
     "1bc3fd9ee5c1468ccd018f624d9222746e08d59f963f66b925804734271c0eaa"),
    ("openb_pod_list_cpu037.csv", 518_687,
     "8ed554026d041b15ff21ddc104d9a21dbd9a93c496262fa23ef7b5be27e220dc"),
    ("openb_pod_list_cpu050.csv", 525_811,
     "747f43247bffc2b0bb081d7f61f0705ca8d390dafc0b647e642c92f3baf3ba1e"),
    ("openb_pod_list_cpu072.csv", 537_576,
     "f8a2b031461b54d7b9f06d55473c2371eb3357b78a255c646bdca5e0833a8a2f"),
    ("openb_pod_list_cpu100.csv", 554_709,
     "bec1c33fbdde61fd463877534ec79b393aec73e1cbb22d55fab9f166ac480982"),
    ("openb_pod_list_cpu200.csv", 622_703,
     "b7e9d8a1a601da84d6e0b4110b19ef5001be5e4796d33e7b82f166ba95161f87"),
    ("openb_pod_list_cpu235.csv", 651_171,
     "87bebd4d012faa8305ce1fd82737f51cf03361aac28b75d42e34aa656d7f4ee0"),
    ("openb_pod_list_cpu250.csv", 663_708,
     "134c21ff96d57533df8a37b67632972884fec9396e77cd0898ddc370cc8e607d"),
    ("openb_pod_list_cpu300.csv", 710_698,
     "76528825f40ee662cb098b3b6e683c1efd9f87a0c8af7e628df1f32c639636d1"),
    ("openb_pod_list_gpushare20.csv", 574_603,
     "9be2d0efb52e242c32e23dd184cc5fcc1983478c6c9c02cbb6b4b62925c0ffcd"),
    ("openb_pod_list_gpushare40.csv", 572_662,
     "d83ce79a4eb6987524bedbb0c65e41aed3a36bf6c1b78b86234c3687a07e1d40"),
    ("openb_pod_list_gpushare60.csv", 566_361,
     "d31809628128a1f24491086eda4af3e23882b9213d3ef57a56ee2d1af69492fe"),
    ("openb_pod_list_gpushare80.csv", 563_740,
     "88b6649369ced40d0fde287d2498ea61ff4b05fccba8bdc95daf6042f2f8431e"),
    ("openb_pod_list_gpushare100.csv", 561_220,
     "12dbc07d6a49bf8641e2275a2ff5bf7be74b5df7d148d531e135b140b95f9a3d"),
    ("openb_pod_list_gpuspec05.csv", 577_176,
     "8f1c0ef7e4e511e982bd2818898ba22ee6d273bf5fce124b7ace285b5928cf4e"),
    ("openb_pod_list_gpuspec10.csv", 579_461,
     "2dc7e4cb9480484f08539720b433a9ec9ab5d76b396f3f7557c53a2ff78a7611"),
    ("openb_pod_list_gpuspec20.csv", 582_612,
     "6b9b89ab8913c1c074e994e98f548cf1a872fc5f76f2442ca8cd514a478b00a9"),
    ("openb_pod_list_gpuspec25.csv", 584_915,
     "9d030679a2ccd7e27a7ec9ff15baff34480d22a0012515691fc187e3f35ee68c"),
    ("openb_pod_list_gpuspec33.csv", 587_467,
     "eca4f746db1e5b25864ad021b55ece3943e101a3ebd4574d09dcb95c46117652"),
    ("openb_pod_list_multigpu20.csv", 271_530,
     "d9ec6f6c74fb980cc0b81239470c6353fceea077ea9abd610003b604c7cc2b01"),
    ("openb_pod_list_multigpu30.csv", 277_920,
     "a5e479c6444b1d83eef848159cf00c3cfa13441b2d1e2c113c391b91f1cc5b11"),
    ("openb_pod_list_multigpu40.csv", 286_202,
     "32c9e8731ca07ef96108aa65f2a289bb9aacb47f642ed9e3789f99b242df60eb"),
    ("openb_pod_list_multigpu50.csv", 297_219,
     "206f2f5959db30ecb7c44e7f13197c8ec50b7a35558ad3777cc3662ef0fe5373"),
)  # fmt: skip

CATALOG: dict[str, tuple[RemoteFile, ...]] = {
    "philly": (
        RemoteFile(
            "trace-data.tar.gz",
            f"{_PHILLY_MEDIA}/trace-data.tar.gz",
            "2037ccf63a725a02be718b0e1aeee6142c90b7f62d0d849295120e9f6ba13d2c",
            1_055_988_361,
            # README: 6.6 GB; a third-party `ls -lh` sums to 6.7 GiB = 7.2e9 B. Use the larger.
            extracted_bytes=7_300_000_000,
            max_member_bytes=4 * _GB,
            members=(
                "cluster_job_log",
                "cluster_gpu_util",
                "cluster_cpu_util",
                "cluster_mem_util",
                "cluster_machine_list",
            ),
            checksum_source="official Git LFS pointer (msr-fiddle/philly-traces @29a1b87)",
        ),
    ),
    "helios": (
        RemoteFile(
            "data.zip",
            f"{_HELIOS_RAW}/data.zip",
            None,
            36_437_672,
            extracted_bytes=343_069_364,
            max_member_bytes=400 * _MB,
            members=("cluster_log.csv", "cluster_gpu_number.csv"),
            checksum_source="none published; sha256 computed at download (zip CRC-32 checked)",
        ),
    ),
    "pai": tuple(
        f
        for name, size, sha, csv_bytes, header_sha in _PAI_TABLES
        for f in (
            RemoteFile(
                f"{name}.tar.gz",
                f"{_PAI_OSS}/{name}.tar.gz",
                sha,
                size,
                extracted_bytes=csv_bytes,
                max_member_bytes=int(csv_bytes * 1.5) + _MB,
                members=(f"{name}.csv",),
                checksum_source="official README (alibaba/clusterdata cluster-trace-gpu-v2020)",
            ),
            RemoteFile(
                f"{name}.header",
                f"{_PAI_HEADERS}/{name}.header",
                header_sha,
                _PAI_HEADER_BYTES[name],
                checksum_source="official README (alibaba/clusterdata cluster-trace-gpu-v2020)",
            ),
        )
    ),
    "openb": tuple(
        RemoteFile(
            name,
            f"{_OPENB_CSV}/{name}",
            sha,
            size,
            checksum_source="pinned: sha256 of the file at alibaba/clusterdata commit "
            f"{_OPENB_COMMIT[:7]} (no checksum published upstream)",
        )
        for name, size, sha in _OPENB_FILES
    ),
    # Acme (Hu et al., NSDI'24): the job traces of Seren and Kalos and the authors' cross-trace
    # summary, from InternLM/AcmeTrace at a pinned commit. No checksum is published; the job
    # traces are checked against their git blob ids at that commit.
    "acme": (
        RemoteFile(
            "cluster_summary.csv",
            f"{_ACME_DATA}/cluster_summary.csv",
            "cde7a7d4ba1596ea165cf4583137d2095020abebbc26b3cd834284c16e8e6ecf",
            1_269,
            checksum_source=f"pinned: sha256 of the file at InternLM/AcmeTrace commit "
            f"{_ACME_COMMIT[:7]} (no checksum published upstream)",
        ),
        RemoteFile(
            "trace_seren.csv",
            f"{_ACME_DATA}/job_trace/trace_seren.csv",
            None,
            None,
            checksum_source="no checksum published; sha256 computed at download, git blob id "
            f"checked (InternLM/AcmeTrace {_ACME_COMMIT[:7]})",
            git_blob="3133535311d36ecc404d4446e129036a1057c6f2",
        ),
        RemoteFile(
            "trace_kalos.csv",
            f"{_ACME_DATA}/job_trace/trace_kalos.csv",
            None,
            None,
            checksum_source="no checksum published; sha256 computed at download, git blob id "
            f"checked (InternLM/AcmeTrace {_ACME_COMMIT[:7]})",
            git_blob="6e6c11a6308e403a2b75f3dec2d9cf48263c1a52",
        ),
    ),
}


def _git_blob_id(path: Path) -> str:
    """Git's id of a file's content: SHA-1 of ``"blob <size>\\0"`` followed by the bytes."""
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode(), usedforsecurity=False)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _human(n: float) -> str:
    """Format a byte count for messages (decimal units, as the trace READMEs use)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n} B"  # pragma: no cover - loop always returns


def _free_bytes(path: Path) -> int:
    """Free bytes on the file system holding ``path`` (or its nearest existing parent)."""
    probe = path.absolute()
    while not probe.exists():
        probe = probe.parent
    return shutil.disk_usage(probe).free


def _is_lfs_pointer_bytes(head: bytes) -> bool:
    return head.startswith(LFS_POINTER_PREFIX)


def _content_range(response: requests.Response) -> tuple[int, int | None] | None:
    """Parse ``Content-Range: bytes start-end/total`` into (start, total)."""
    match = re.match(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", ""))
    if not match:
        return None
    total = None if match.group(2) == "*" else int(match.group(2))
    return int(match.group(1)), total


class _Incomplete(Exception):
    """The server closed the connection before sending every byte."""


class ResumableDownloader:
    """A pooch downloader that resumes an interrupted transfer from a ``.part`` file.

    Pooch calls ``downloader(url, output_file, pooch)``. The bytes go to ``part`` first (kept
    across runs); when complete, ``part`` is moved to ``output_file`` for pooch to hash. A
    resumed request sends ``Range: bytes=<size of part>-``; a server that ignores it (status 200)
    makes the download restart from zero.

    Parameters
    ----------
    part : Path
        The partial file (e.g. ``data/raw/.partial/philly/trace-data.tar.gz.part``).
    progress : bool
        Show a rich progress bar on stderr.
    retries : int
        Automatic resume attempts after a dropped connection (0 = fail at once).
    """

    def __init__(self, part: Path, *, progress: bool = True, retries: int = 3) -> None:
        self.part = Path(part)
        self.progress = progress
        self.retries = retries

    def __call__(
        self, url: str, output_file: Any, pooch_obj: Any = None, check_only: bool = False
    ) -> bool | None:
        """Download ``url`` into ``output_file`` (pooch's downloader protocol)."""
        if check_only:
            response = requests.head(url, allow_redirects=True, timeout=TIMEOUT_S)
            return response.status_code == 200
        self.part.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(self.retries + 1):
            try:
                self._fetch(url)
                break
            except (
                _Incomplete,
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                have = self.part.stat().st_size if self.part.exists() else 0
                if attempt == self.retries:
                    raise DownloadError(
                        f"download of {url} failed after {attempt + 1} attempt(s): {exc}. "
                        f"{_human(have)} kept in {self.part}; run the download again to resume."
                    ) from exc
                time.sleep(min(_BACKOFF_S * 2**attempt, 30.0))
        self._refuse_lfs_pointer(url)
        os.replace(self.part, output_file)
        return None

    def _fetch(self, url: str) -> None:
        offset = self.part.stat().st_size if self.part.exists() else 0
        # identity: the bytes on disk must be the file itself, never a transfer-decoded copy.
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        response = requests.get(url, headers=headers, stream=True, timeout=TIMEOUT_S)
        if response.status_code == 416:  # the .part is not a prefix of this file: start over
            response.close()
            self.part.unlink()
            del headers["Range"]
            offset, response = 0, requests.get(url, headers=headers, stream=True, timeout=TIMEOUT_S)
        with response:
            if response.status_code >= 500:  # transient server trouble: retry / resume
                raise _Incomplete(f"HTTP {response.status_code} {response.reason}")
            if response.status_code >= 400:
                raise DownloadError(f"{url}: HTTP {response.status_code} {response.reason}")
            content_range = _content_range(response)
            if response.status_code == 206 and content_range and content_range[0] == offset:
                mode, total = "ab", content_range[1]
            else:  # Range ignored (or first request): full body from byte 0
                length = response.headers.get("Content-Length")
                mode, offset, total = "wb", 0, int(length) if length else None
            if total is not None and total - offset > _free_bytes(self.part.parent):
                raise DownloadError(
                    f"not enough free disk space in {self.part.parent} for {url}: "
                    f"need {_human(total - offset)}, {_human(_free_bytes(self.part.parent))} free"
                )
            with open(self.part, mode) as fh, self._bar(url, total, offset) as advance:
                for chunk in response.iter_content(_CHUNK):
                    fh.write(chunk)
                    advance(len(chunk))
        size = self.part.stat().st_size
        if total is not None and size != total:
            raise _Incomplete(f"connection closed after {size:,} of {total:,} bytes")

    @contextmanager
    def _bar(self, url: str, total: int | None, done: int) -> Iterator[Any]:
        if not self.progress:
            yield lambda n: None
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=Console(stderr=True)) as bar:
            task = bar.add_task(url.rsplit("/", 1)[-1], total=total, completed=done)
            yield lambda n: bar.advance(task, n)

    def _refuse_lfs_pointer(self, url: str) -> None:
        with open(self.part, "rb") as fh:
            head = fh.read(1024)
        if self.part.stat().st_size <= 1024 and _is_lfs_pointer_bytes(head):
            self.part.unlink()
            pointer = head.decode("ascii", "replace").replace("\n", "; ").strip("; ")
            raise DownloadError(
                f"{url} returned a Git LFS pointer file ({len(head)} bytes: {pointer}), not the "
                "data. Use the LFS media URL (the default for Philly), `git lfs pull` in a clone "
                "of the repository, or a mirror that serves the real file."
            )


@contextmanager
def _quiet_pooch(quiet: bool) -> Iterator[None]:
    """Silence pooch's INFO log lines when no progress output is wanted."""
    logger = pooch.get_logger()
    level = logger.level
    if quiet:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _sha256(path: Path) -> str:
    return pooch.file_hash(str(path), alg="sha256")


def _plan(
    trace: str, mirror: str | None, registry: Mapping[str, str | None] | None
) -> tuple[RemoteFile, ...]:
    """The files of ``trace`` with the mirror and registry overrides applied."""
    files = []
    for f in CATALOG[trace]:
        if mirror:
            f = replace(f, url=f"{mirror.rstrip('/')}/{f.name}")
        if registry is not None and f.name in registry:
            sha = registry[f.name]
            sha = sha.split(":", 1)[-1].lower() if sha else None
            # An overridden file is a different file: the official sizes no longer apply.
            f = replace(
                f,
                sha256=sha,
                size_bytes=None,
                extracted_bytes=0,
                checksum_source="registry override",
            )
        files.append(f)
    return tuple(files)


def _read_record(folder: Path) -> dict[str, Any]:
    path = folder / RECORD_NAME
    if not path.is_file():
        return {}
    try:
        with open(path) as fh:
            record = json.load(fh)
        return record.get("files", {}) if isinstance(record, dict) else {}
    except (OSError, ValueError):
        return {}  # a damaged record only means files get re-verified


def _write_record(folder: Path, trace: str, files: dict[str, Any]) -> None:
    body = {"trace": trace, "tracekit_version": __version__, "files": files}
    # A fresh, exclusively created file: never a fixed name that an extracted archive could have
    # planted as a link pointing outside the folder (os.replace then swaps names, not targets).
    fd, tmp = tempfile.mkstemp(prefix=f".{RECORD_NAME}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(body, fh, indent=2, sort_keys=True)
            fh.write("\n")
        os.replace(tmp, folder / RECORD_NAME)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _present(path: Path, f: RemoteFile, entry: dict[str, Any]) -> str | None:
    """SHA-256 of ``path`` if it is already the expected file, else None."""
    if not path.is_file():
        return None
    expected = f.sha256 or entry.get("sha256")
    if not expected:
        return None  # unpinned file of unknown origin: fetch it again
    # Cheap size test before hashing (official size if pinned, else the recorded one).
    size = f.size_bytes if f.sha256 else entry.get("size_bytes")
    if size is not None and path.stat().st_size != size:
        return None
    actual = _sha256(path)
    return actual if actual == expected else None


def _verify_unpinned(path: Path, f: RemoteFile) -> None:
    """Integrity checks for a file without an official checksum (Helios ``data.zip``)."""
    if f.git_blob is not None and _git_blob_id(path) != f.git_blob:
        raise DownloadError(
            f"{f.name} from {f.url} is not the file of the pinned commit (git blob id differs)"
        )
    if f.size_bytes is not None and path.stat().st_size != f.size_bytes:
        warnings.warn(
            f"{f.name}: {path.stat().st_size:,} bytes, expected {f.size_bytes:,} (a third-party "
            "figure; no official checksum exists). Continuing after the archive checks passed.",
            stacklevel=3,
        )
    if not f.is_archive:
        return
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                bad = zf.testzip()  # reads every member and checks its CRC-32
            if bad is not None:
                raise DownloadError(f"{f.name} from {f.url}: member {bad!r} fails its CRC check")
        names = {PurePosixPath(m.name).name for m in iter_members(path) if m.is_file}
    except (TraceFormatError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DownloadError(f"{f.name} from {f.url} is not a readable archive: {exc}") from exc
    missing = sorted(set(f.members) - names)
    if missing:
        raise DownloadError(f"{f.name} from {f.url} lacks expected members: {', '.join(missing)}")


def _fetch(f: RemoteFile, final: Path, staging: Path, progress: bool, retries: int) -> str:
    """Download ``f`` via pooch into ``staging``, verify it, move it to ``final``; return sha."""
    staged = staging / f.name
    staged.unlink(missing_ok=True)
    downloader = ResumableDownloader(staging / f"{f.name}.part", progress=progress, retries=retries)
    try:
        with _quiet_pooch(not progress):
            pooch.retrieve(f.url, f.sha256, fname=f.name, path=staging, downloader=downloader)
    except ValueError as exc:  # pooch's hash mismatch; pooch already deleted the download
        raise DownloadError(
            f"checksum mismatch for {f.name} downloaded from {f.url}; the file was deleted. {exc}"
        ) from exc
    except requests.RequestException as exc:
        raise DownloadError(f"download of {f.name} from {f.url} failed: {exc}") from exc
    try:
        if f.sha256 is None:
            _verify_unpinned(staged, f)
        sha = f.sha256 or _sha256(staged)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, final)
    finally:
        staged.unlink(missing_ok=True)
    return sha


def _extract(f: RemoteFile, archive: Path, folder: Path) -> list[str]:
    """Extract ``archive`` into ``folder``; return the top-level names placed."""
    need = f.extracted_bytes
    if need > _free_bytes(folder):
        raise DownloadError(
            f"not enough free disk space in {folder} to extract {f.name}: need {_human(need)}, "
            f"{_human(_free_bytes(folder))} free"
        )
    placed = safe_extract(
        archive, folder, max_member_bytes=f.max_member_bytes, max_total_bytes=f.max_total_bytes
    )
    found = find_by_basename(folder, f.members)
    missing = sorted(set(f.members) - set(found))
    if missing:
        warnings.warn(f"{archive} lacks expected members: {', '.join(missing)}", stacklevel=3)
    return [p.name for p in placed]


def _check_space(dest: Path, plans: dict[str, tuple[RemoteFile, ...]], extract: bool) -> None:
    """Refuse to start when the known sizes of what is missing exceed the free space."""
    needed, parts = 0, []
    for trace, files in plans.items():
        records = _read_record(dest / trace)
        archive_b = extracted_b = 0
        for f in files:
            final = dest / trace / f.name
            if not final.is_file():
                part = dest / PARTIAL_DIR / trace / f"{f.name}.part"
                have = part.stat().st_size if part.is_file() else 0
                archive_b += max((f.size_bytes or 0) - have, 0)
            if extract and f.is_archive and not records.get(f.name, {}).get("extracted"):
                extracted_b += f.extracted_bytes
        if archive_b or extracted_b:
            parts.append(f"{trace}: archives {_human(archive_b)} + extracted {_human(extracted_b)}")
        needed += archive_b + extracted_b
    free = _free_bytes(dest)
    if needed > free:
        raise DownloadError(
            f"not enough free disk space in {dest}: need {_human(needed)} "
            f"({'; '.join(parts)}), only {_human(free)} available. Free some space or pass "
            "another destination (--dest)."
        )


def _download_trace(
    trace: str,
    files: tuple[RemoteFile, ...],
    dest: Path,
    *,
    progress: bool,
    extract: bool,
    retries: int,
) -> list[Path]:
    folder = dest / trace
    staging = dest / PARTIAL_DIR / trace
    folder.mkdir(parents=True, exist_ok=True)
    records = _read_record(folder)
    out: list[Path] = []
    try:
        for f in files:
            final = folder / f.name
            entry = dict(records.get(f.name, {}))
            sha = _present(final, f, entry)
            if sha is None or not entry.get("sha256"):
                fetched = sha is None
                if fetched:
                    sha = _fetch(f, final, staging, progress, retries)
                entry = {
                    "url": f.url,
                    "size_bytes": final.stat().st_size,
                    "sha256": sha,
                    "checksum": f.checksum_source,
                    # None: a verified file that was already in place (e.g. copied by hand)
                    "downloaded_utc": datetime.now(UTC).isoformat(timespec="seconds")
                    if fetched
                    else None,
                }
                # Recorded before extraction: a refused archive is still a verified download.
                records[f.name] = entry
                _write_record(folder, trace, records)
            out.append(final)
            if extract and f.is_archive:
                done = entry.get("extracted") or []
                if not done or not all((folder / name).exists() for name in done):
                    entry["extracted"] = _extract(f, final, folder)
                    records[f.name] = entry
                    _write_record(folder, trace, records)
                out.extend(folder / name for name in entry["extracted"])
    finally:
        # Keep .part files for resuming, but no empty staging folders.
        for empty in (staging, staging.parent):
            if empty.is_dir() and not any(empty.iterdir()):
                empty.rmdir()
    return out


def download(
    trace: str,
    dest: Path = Path("data/raw"),
    mirror: str | None = None,
    *,
    registry: Mapping[str, str | None] | None = None,
    only: Sequence[str] | None = None,
    progress: bool = True,
    extract: bool = True,
    retries: int = 3,
) -> list[Path]:
    """Download (and extract) an official trace release into ``dest/<trace>/``.

    Files already present with the expected checksum are not fetched again; interrupted
    transfers resume from ``dest/.partial/<trace>/<file>.part``. Each trace folder receives a
    ``DOWNLOADED.json`` with URL, size, SHA-256 and time of every file.

    Parameters
    ----------
    trace : str
        ``"philly"``, ``"helios"``, ``"pai"``, ``"openb"``, ``"acme"`` or ``"all"``.
    dest : Path
        Root of the raw data (default ``data/raw``).
    mirror : str, optional
        Base URL replacing the official hosts: each file is fetched from ``mirror/<file name>``.
    registry : mapping, optional
        Expected SHA-256 per file name (None = no check), overriding the official values.
    only : sequence of str, optional
        Fetch only these file names of the catalogue (e.g. one openb pod-list variant).
    progress : bool
        Show progress bars and pooch's log lines.
    extract : bool
        Extract the archives next to them (``trace-data/``, ``data/<Cluster>/``, ``pai_*.csv``).
    retries : int
        Automatic resume attempts per file after a dropped connection.

    Returns
    -------
    list of Path
        Downloaded files, then the extracted top-level entries, in catalogue order.

    Raises
    ------
    DownloadError
        Unknown trace, not enough disk space, network failure (partial kept for resuming),
        checksum mismatch (nothing kept), a Git LFS pointer instead of data, or a bad archive.
    TraceFormatError
        An archive member was refused by the safe extractor.
    """
    traces = TRACES if trace == "all" else (trace,)
    if any(t not in TRACES for t in traces):
        raise DownloadError(f"unknown trace {trace!r}; choose one of {', '.join(TRACES)}, all")
    plans = {t: _plan(t, mirror, registry) for t in traces}
    known = {f.name for files in plans.values() for f in files}
    unknown = sorted(set(registry or {}) - known)
    if unknown:
        raise DownloadError(f"registry names files not in {trace!r}: {', '.join(unknown)}")
    if only is not None:
        missing = sorted(set(only) - known)
        if missing:
            names = ", ".join(sorted(known))
            raise DownloadError(f"no file named {', '.join(missing)} in {trace!r}; known: {names}")
        plans = {t: tuple(f for f in files if f.name in only) for t, files in plans.items()}
    dest = Path(dest)
    _check_space(dest, plans, extract)
    out: list[Path] = []
    for t, files in plans.items():
        out.extend(
            _download_trace(t, files, dest, progress=progress, extract=extract, retries=retries)
        )
    return out
