"""Slow networks against a real gunicorn: nobody's slowness stops the site.

With gunicorn's ``sync`` workers, two idle connections stopped every page
for 30 s and any upload slower than the worker timeout was killed.  These
tests run the real ``gunicorn.conf.py`` with reduced sizes and timeouts:
an upload lasting longer than the worker ``timeout`` arrives whole, idle
and slow-header connections leave pages answering, and a head or body that
stops arriving frees what it held.
"""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.support import RECEIPT, LiveServer, WebClient, csrf_token, multipart_body, row_counts
from tests.serving.support import (
    connect,
    cookie_header,
    drained,
    prepare_server,
    read_response,
    request_head,
    send_slowly,
    server_address,
    slow_post,
)

pytestmark = pytest.mark.slow

# Tor from Belarus: about 25 KB/s.
TOR_SPEED = 25_000
WORKER_TIMEOUT = 4
HEAD_TIMEOUT = 3
IDLE_TIMEOUT = 3
UPLOAD_THREADS = 2


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """gunicorn with the real configuration, but short timeouts and a small upload pool."""
    live = prepare_server(
        tmp_path_factory.mktemp("slow"),
        extra_env={
            # gunicorn's own option: the arbiter kills a worker silent this long.
            # Keep-alive is off in production (gunicorn.conf.py) but the
            # worker's path for it is tested here.
            "GUNICORN_CMD_ARGS": f"--timeout {WORKER_TIMEOUT} --keep-alive 5",
            "REGISTRY_HEAD_TIMEOUT_SECONDS": str(HEAD_TIMEOUT),
            "REGISTRY_IDLE_TIMEOUT_SECONDS": str(IDLE_TIMEOUT),
            "REGISTRY_UPLOAD_THREADS": str(UPLOAD_THREADS),
        },
    )
    live.start()
    try:
        yield live
    finally:
        live.stop()


def _report_fields(token: str) -> list[tuple[str, str]]:
    return [
        ("csrf_token", token),
        ("narrative", "They took my phone at the station and beat me."),
        ("region", "grodno"),
        ("remove_metadata", "y"),
    ]


def _pdf(size: int) -> bytes:
    return b"%PDF-1.7\n" + bytes(range(256)) * (size // 256)


def _get_root(server: LiveServer, timeout: float) -> int:
    host, port = server_address(server)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _incoming(server: LiveServer) -> list[Path]:
    folder = server.storage_dir / "tmp"
    return [p for p in folder.iterdir() if p.is_file()] if folder.exists() else []


def test_an_upload_slower_than_the_worker_timeout_arrives_whole(server: LiveServer) -> None:
    citizen = WebClient(server.base_url, {"Accept-Language": "en"})
    form = citizen.get("/report")
    pdf = _pdf(200_000)  # 8 s at Tor speed, twice the worker timeout
    body, content_type = multipart_body(
        _report_fields(csrf_token(form.text)), [("files", "medical.pdf", pdf)]
    )
    before = row_counts(server.database_url, ["reports", "attachments"])
    began = time.monotonic()
    status, page = slow_post(
        server, "/report", body, content_type, cookie_header(citizen), TOR_SPEED
    )
    assert time.monotonic() - began > 2 * WORKER_TIMEOUT
    assert status == 200, page[:2000]
    assert RECEIPT.search(page), page[:2000]
    after = row_counts(server.database_url, ["reports", "attachments"])
    assert after["reports"] == before["reports"] + 1
    assert after["attachments"] == before["attachments"] + 1


def test_idle_and_slow_header_connections_leave_pages_answering(server: LiveServer) -> None:
    idle = [connect(server) for _ in range(100)]
    trickling = [connect(server) for _ in range(100)]
    try:
        for sock in trickling:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for _ in range(2):
            for sock in trickling:
                sock.sendall(b"X-Slow: 1\r\n")
            # Every page still answers, and well within any slow client's wait:
            # with sync workers the first request here waited for gunicorn's
            # 30 s timeout (a liveness bound, not a speed measurement: the
            # figures are in bench/).
            assert [_get_root(server, timeout=10) for _ in range(10)] == [200] * 10
            time.sleep(0.5)
    finally:
        for sock in idle + trickling:
            sock.close()


def test_a_head_that_does_not_arrive_in_time_is_closed(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        began = time.monotonic()
        for _ in range(int(HEAD_TIMEOUT * 4)):
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except OSError:
                break  # closed by the server, as it should be
            time.sleep(0.5)
        assert drained(sock, wait=HEAD_TIMEOUT * 2) == b""
        assert time.monotonic() - began < HEAD_TIMEOUT * 4


def test_stalled_uploads_free_their_threads_and_leave_no_blob(server: LiveServer) -> None:
    citizen = WebClient(server.base_url, {"Accept-Language": "en"})
    form = citizen.get("/report")
    body, content_type = multipart_body(
        _report_fields(csrf_token(form.text)), [("files", "scan.pdf", _pdf(100_000))]
    )
    headers = {"Content-Type": content_type, "Cookie": cookie_header(citizen)}
    stalled: list[socket.socket] = []
    try:
        # Fill the whole upload pool with bodies that stop half way.
        for _ in range(UPLOAD_THREADS):
            sock = connect(server)
            sock.sendall(request_head("POST", "/report", headers, len(body)))
            sock.sendall(body[: len(body) // 2])
            stalled.append(sock)
        # Pages are answered meanwhile: uploads have a pool of their own.
        assert _get_root(server, timeout=10) == 200
        # Each stalled body frees its thread after the idle timeout ...
        for sock in stalled:
            drained(sock, wait=IDLE_TIMEOUT * 3)
        # ... so a new upload is served, and the halves were discarded.
        status, page = slow_post(
            server, "/report", body, content_type, cookie_header(citizen), 10 * TOR_SPEED
        )
        assert status == 200, page[:2000]
        assert RECEIPT.search(page)
        assert _incoming(server) == []
    finally:
        for sock in stalled:
            sock.close()


def test_a_head_larger_than_any_browser_sends_is_refused(server: LiveServer) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        send_slowly(sock, b"X-Big: " + b"a" * 20_000 + b"\r\n\r\n", 1_000_000)
        status, _page = read_response(sock)
    assert status == 431


def test_kept_alive_connections_serve_several_requests(server: LiveServer) -> None:
    host, port = server_address(server)
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        for _ in range(3):
            conn.request("GET", "/")
            response = conn.getresponse()
            response.read()
            assert response.status == 200
            assert response.getheader("Connection", "").lower() != "close"
    finally:
        conn.close()
