"""Part d: submissions with a large attachment, and worker memory while one streams in.

Through gunicorn (2 workers, 5 reviewers enrolled), the same public form is
posted as ``multipart/form-data`` by a few client threads, first without a
file, then with one 5 MiB "PDF" (random bytes behind a ``%PDF-`` header, so
the sniffer accepts it).  Then ONE upload of 5 MiB and ONE of 50 MiB each go to a server
whose workers' peak RSS (``VmHWM``) was just reset through
``/proc/<pid>/clear_refs``; ``VmRSS`` is also sampled every 5 ms while the
file streams.  Uploads are sealed chunk by chunk as they arrive, so the
peak should not grow with the file.

``POST /report`` is limited to 120 per minute per worker: the defaults post
2 × 40 + 2 reports, under that even if one worker took them all.
"""

from __future__ import annotations

import http.client
import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.client import Client, csrf_token, timed_post
from bench.inprocess import ANSWERS, NARRATIVE_TEXT
from bench.load import ERROR, RECEIPT
from bench.server import Server
from bench.stats import latency_cell

MIB = 1024 * 1024
# How often the workers' VmRSS is read while one upload streams in.
SAMPLE_SECONDS = 0.005
# Bound on the RSS sampler: it stops by itself after this many reads.
MAX_SAMPLES = 200_000


@dataclass
class UploadLoad:
    """Latencies (seconds) of the POSTs, their statuses, and the wall time."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def failures(self) -> int:
        """POSTs that did not answer 200 with a receipt."""
        return sum(n for status, n in self.statuses.items() if status != 200)

    @property
    def per_second(self) -> float:
        """Accepted submissions per second of wall time."""
        return self.statuses[200] / self.seconds if self.seconds else 0.0


@dataclass
class Memory:
    """Worker memory around one upload, MiB (max over the workers)."""

    size_mib: int
    before: float
    peak_hwm: float
    peak_sampled: float
    seconds: float
    ok: bool


@dataclass
class UploadResult:
    """Everything part d measured on one backend."""

    plain: UploadLoad
    with_file: UploadLoad
    file_mib: int
    memory: list[Memory]
    stored_files: int
    expected_files: int


def fake_pdf(size: int) -> bytes:
    """``size`` bytes a sniffer takes for a PDF: a header, then random bytes."""
    head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    return head + os.urandom(size - len(head))


def multipart(
    fields: Iterable[tuple[str, str]], files: Iterable[tuple[str, bytes]]
) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body (files in the field ``files``) and its Content-Type."""
    boundary = f"----SviedkaBench{secrets.token_hex(12)}"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields
    ]
    for filename, data in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _form_fields(token: str) -> list[tuple[str, str]]:
    """The report form's fields (metadata removal ticked), with ``token``."""
    return [
        ("csrf_token", token),
        ("narrative", NARRATIVE_TEXT),
        ("region", "minsk-city"),
        ("month", "08"),
        ("year", "2020"),
        ("violations", "torture"),
        ("violations", "detention-conditions"),
        ("remove_metadata", "y"),
        *ANSWERS.items(),
    ]


def submit(port: int, data: bytes | None) -> tuple[int, float]:
    """GET the form, POST it (with ``data`` as one file if given); (status, POST seconds).

    The status is negated when a 200 page shows no receipt.
    """
    client = Client(port, {"Accept-Language": "be"})
    try:
        form = client.get("/report")
        files = [("scan.pdf", data)] if data is not None else []
        body, content_type = multipart(_form_fields(csrf_token(form.body)), files)
        headers = {
            "Content-Type": content_type,
            "Cookie": "; ".join(f"{k}={v}" for k, v in client.cookies.items()),
        }
        status, page, seconds = timed_post(port, "/report", body, headers)
    finally:
        client.close()
    ok = status == 200 and RECEIPT.search(page) is not None
    return (status if ok else -status), seconds


def submissions(port: int, total: int, clients: int, data: bytes | None) -> UploadLoad:
    """``total`` submissions by ``clients`` threads, each with ``data`` as a file if given."""
    result, lock = UploadLoad(), threading.Lock()
    remaining = [total]

    def citizen() -> None:
        while True:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            try:
                status, seconds = submit(port, data)
            except (OSError, RuntimeError, http.client.HTTPException):
                with lock:
                    result.statuses[ERROR] += 1
                continue
            with lock:
                result.latencies.append(seconds)
                result.statuses[status] += 1

    threads = [threading.Thread(target=citizen) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - began
    return result


def worker_pids(server: Server) -> list[int]:
    """The gunicorn workers: the master's children."""
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = _status_fields(status)
        except OSError:
            continue  # ended while we looked
        if fields.get("PPid") == str(server.process.pid):
            pids.append(int(status.parent.name))
    return sorted(pids)


def _status_fields(path: Path) -> dict[str, str]:
    return {
        key: value.strip()
        for key, value in (
            line.split(":", 1) for line in path.read_text().splitlines() if ":" in line
        )
    }


def _kib(pid: int, name: str) -> int:
    try:
        value = _status_fields(Path(f"/proc/{pid}/status")).get(name, "0 kB")
    except OSError:
        return 0
    return int(value.split()[0])


def _max_mib(pids: list[int], name: str) -> float:
    """The largest ``/proc/<pid>/status`` figure ``name`` of ``pids``, in MiB."""
    return max((_kib(pid, name) for pid in pids), default=0) / 1024


def one_upload(server: Server, size_mib: int) -> Memory:
    """Post ONE report with a ``size_mib`` MiB file; the workers' memory around it."""
    data = fake_pdf(size_mib * MIB)
    pids = worker_pids(server)
    for pid in pids:
        # "5" resets the peak RSS (VmHWM) to the current RSS (Linux ≥ 4.0).
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    before = _max_mib(pids, "VmRSS")
    sampled = [before]
    done = threading.Event()

    def sample() -> None:
        for _ in range(MAX_SAMPLES):
            if done.wait(SAMPLE_SECONDS):
                return
            sampled.append(_max_mib(pids, "VmRSS"))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        status, seconds = submit(server.port, data)
    finally:
        done.set()
        sampler.join()
    return Memory(size_mib, before, _max_mib(pids, "VmHWM"), max(sampled), seconds, status == 200)


def stored_attachments(database_url: str) -> int:
    """Rows in ``attachments``."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM attachments")).scalar_one())
    finally:
        engine.dispose()


def run(
    server: Server,
    database_url: str,
    reports: int,
    clients: int,
    file_mib: int,
    sizes: tuple[int, ...],
) -> UploadResult:
    """Part d on a running server (reviewers already enrolled)."""
    already = stored_attachments(database_url)
    plain = submissions(server.port, reports, clients, None)
    with_file = submissions(server.port, reports, clients, fake_pdf(file_mib * MIB))
    # After the load, so both workers have imported and cached all they need.
    memory = [one_upload(server, size) for size in sizes]
    expected = already + with_file.statuses[200] + sum(m.ok for m in memory)
    return UploadResult(
        plain, with_file, file_mib, memory, stored_attachments(database_url), expected
    )


def rows(result: UploadResult, reports: int, clients: int) -> list[tuple[str, str]]:
    """Part d as table rows."""
    size = result.file_mib
    out = [
        ("**d. attachments** (gunicorn, 2 workers, multipart form)", ""),
        (
            f"submissions/s without a file ({reports} reports, {clients} clients)",
            f"{result.plain.per_second:.1f}",
        ),
        (
            f"submissions/s with one {size} MiB file ({reports} reports, {clients} clients)",
            f"{result.with_file.per_second:.1f}",
        ),
        ("POST /report p50 / p95 ms without a file", latency_cell(result.plain.latencies)),
        (
            f"POST /report p50 / p95 ms with a {size} MiB file",
            latency_cell(result.with_file.latencies),
        ),
        (
            "failed submissions (without / with file); files stored / expected",
            f"{result.plain.failures} / {result.with_file.failures}; "
            f"{result.stored_files} / {result.expected_files}",
        ),
    ]
    for m in result.memory:
        out.append(
            (
                f"ONE {m.size_mib} MiB upload: worker RSS before → peak (VmHWM), MiB; POST s",
                f"{m.before:.0f} → {m.peak_hwm:.0f} (sampled {m.peak_sampled:.0f}); "
                f"{m.seconds:.2f}" + ("" if m.ok else " FAILED"),
            )
        )
    return out
