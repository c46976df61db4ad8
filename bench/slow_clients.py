"""Part e: slow networks. Pages for everyone while 200 slow clients hang on.

One report with a file is uploaded at Tor speed (25 KB/s) from start to
finish, while 200 other connections sit on the server: a third idle, a
third sending their headers a line every few seconds, a third uploading
bodies at 25 KB/s that they never finish.  Meanwhile one client fetches
``GET /`` again and again; the workers' RSS is sampled throughout.  The
same ``GET /`` series without the slow clients comes first, for comparison.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from dataclasses import dataclass, field

from bench.client import Client, csrf_token
from bench.server import Server
from bench.stats import latency_cell
from bench.uploads import _form_fields, _max_mib, fake_pdf, multipart, worker_pids

TOR_BYTES_PER_SECOND = 25_000
MIB = 1024 * 1024
SAMPLE_SECONDS = 0.25


@dataclass
class SlowResult:
    """What part e measured."""

    quiet: list[float] = field(default_factory=list)
    under_attack: list[float] = field(default_factory=list)
    failed_pages: int = 0
    rss_before: float = 0.0
    rss_peak: float = 0.0
    tor_mib: float = 0.0
    tor_seconds: float = 0.0
    tor_ok: bool = False
    slow_clients: int = 0


def _get_root(port: int) -> float | None:
    began = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        response.read()
        ok = response.status == 200
    except OSError:
        ok = False
    finally:
        conn.close()
    return time.perf_counter() - began if ok else None


def _paced(sock: socket.socket, data: bytes, stop: threading.Event) -> bool:
    """Send ``data`` at Tor speed; False if stopped or the connection broke first."""
    piece = TOR_BYTES_PER_SECOND // 10
    began = time.monotonic()
    for sent in range(0, len(data), piece):
        if stop.is_set():
            return False
        try:
            sock.sendall(data[sent : sent + piece])
        except OSError:
            return False
        ahead = began + (sent + piece) / TOR_BYTES_PER_SECOND - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    return True


def _form(port: int, data: bytes) -> bytes:
    """A whole report request (head and multipart body) with ``data`` as its file."""
    client = Client(port, {"Accept-Language": "be"})
    try:
        form = client.get("/report")
        body, content_type = multipart(_form_fields(csrf_token(form.body)), [("scan.pdf", data)])
        cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    finally:
        client.close()
    head = (
        f"POST /report HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"Cookie: {cookies}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


def _tor_upload(port: int, size: int, result: SlowResult, stop: threading.Event) -> None:
    request = _form(port, fake_pdf(size))
    began = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=600) as sock:
        sent = _paced(sock, request, stop)
        if sent:
            response = http.client.HTTPResponse(sock)
            response.begin()
            page = response.read().decode(errors="replace")
            result.tor_ok = response.status == 200 and 'id="receipt"' in page
    result.tor_seconds = time.perf_counter() - began


def _slow_client(port: int, kind: int, stop: threading.Event, opened: list[socket.socket]) -> None:
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=600)
    except OSError:
        return
    opened.append(sock)
    if kind == 0:  # idle
        stop.wait()
    elif kind == 1:  # a header line every 5 s
        try:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            while not stop.wait(5):
                sock.sendall(b"X-Slow: 1\r\n")
        except OSError:
            return
    else:  # an upload that goes on at Tor speed and never ends
        request = _form(port, fake_pdf(50 * MIB))
        _paced(sock, request, stop)


def run(server: Server, tor_mib: float, slow_clients: int, pages: int) -> SlowResult:
    """Part e on a running server (an escrow key exists, so reports are accepted)."""
    result = SlowResult(tor_mib=tor_mib, slow_clients=slow_clients)
    for _ in range(pages):
        latency = _get_root(server.port)
        if latency is not None:
            result.quiet.append(latency)
    pids = worker_pids(server)
    result.rss_before = _max_mib(pids, "VmRSS")
    stop, opened = threading.Event(), list[socket.socket]()
    slow = [
        threading.Thread(target=_slow_client, args=(server.port, i % 3, stop, opened))
        for i in range(slow_clients)
    ]
    tor = threading.Thread(target=_tor_upload, args=(server.port, int(tor_mib * MIB), result, stop))
    for thread in [*slow, tor]:
        thread.start()
    time.sleep(2)  # every slow client connected and started
    peak = result.rss_before
    while tor.is_alive():
        latency = _get_root(server.port)
        if latency is None:
            result.failed_pages += 1
        else:
            result.under_attack.append(latency)
        peak = max(peak, _max_mib(pids, "VmRSS"))
        time.sleep(SAMPLE_SECONDS)
    stop.set()
    for sock in opened:
        sock.close()
    for thread in slow:
        thread.join()
    result.rss_peak = peak
    return result


def rows(result: SlowResult) -> list[tuple[str, str]]:
    """Part e as table rows."""
    return [
        ("**e. slow networks** (gunicorn, 2 workers, `registry.serving.worker`)", ""),
        ("GET / p50 / p95 ms, nobody else connected", latency_cell(result.quiet)),
        (
            f"GET / p50 / p95 ms with {result.slow_clients} slow clients hanging on "
            "(budget p95 ≤ 200)",
            latency_cell(result.under_attack)
            + (f" ({result.failed_pages} FAILED)" if result.failed_pages else ""),
        ),
        (
            f"ONE {result.tor_mib:g} MiB report upload at 25 KB/s: seconds, outcome",
            f"{result.tor_seconds:.0f}, " + ("stored" if result.tor_ok else "FAILED"),
        ),
        (
            "worker RSS before → peak while they hang, MiB (budget ≤ 200)",
            f"{result.rss_before:.0f} → {result.rss_peak:.0f}",
        ),
    ]
