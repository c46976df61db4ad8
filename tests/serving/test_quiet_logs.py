"""Promise 3 at every layer: no log line holds anything about a request.

A real gunicorn with the real ``gunicorn.conf.py`` receives malformed
requests, ordinary ones, uploads that stall until the idle timeout, and
(served by tests/serving/crash_app.py) requests that crash the app, crash it
after the headers went out, make a library log a traceback, or hang the
worker until the arbiter kills it.  Every request carries a canary word in
its path, query, headers or body, and comes from 127.0.0.3.  Afterwards no
canary, and not that address, may appear in anything the server wrote.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import pytest

from tests.e2e.support import LiveServer
from tests.serving.support import (
    SOURCE_IP,
    connect,
    drained,
    prepare_server,
    request_head,
)

pytestmark = pytest.mark.slow

IDLE_TIMEOUT = 2


def _canary(tag: str) -> str:
    return f"CANARY{tag}{secrets.token_hex(6)}"


def _exchange(server: LiveServer, data: bytes, wait: float = 10.0) -> bytes:
    with connect(server) as sock:
        sock.sendall(data)
        return drained(sock, wait)


def _requests_with_canaries(server: LiveServer, canaries: list[str]) -> None:
    """Everything a client can send that a log might quote."""

    def canary(tag: str) -> str:
        word = _canary(tag)
        canaries.append(word)
        return word

    headers = {
        "User-Agent": canary("ua"),
        "Referer": f"http://x/{canary('ref')}",
        "Connection": "close",
    }
    plain: list[bytes] = [
        f"GARBAGE-{canary('line')}\r\n\r\n".encode(),
        f"GET /{canary('bad')} HTTP/1.1\r\nHost: x\r\nBad Name{canary('hdr')}: 1\r\n\r\n".encode(),
        f"GET /{canary('long') * 800} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        f"GET /{canary('ver')} HTTP/9.9\r\nHost: x\r\n\r\n".encode(),
        f"POST /{canary('chunk')} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        f"zz{canary('size')}\r\n".encode(),
        request_head("GET", f"/{canary('path')}?q={canary('query')}", headers),
        request_head("GET", f"/review/?q={canary('search')}", headers),
        request_head("GET", f"/lang/be?next=/{canary('next')}", headers),
        request_head("GET", f"/followup/?receipt={canary('receipt')}", headers),
    ]
    for data in plain:
        _exchange(server, data)


def _stalled_upload(server: LiveServer, canaries: list[str]) -> None:
    word = _canary("stall")
    canaries.append(word)
    body = f'--b\r\nContent-Disposition: form-data; name="narrative"\r\n\r\n{word}'.encode()
    head = request_head(
        "POST",
        f"/report?from={word}",
        {"Content-Type": "multipart/form-data; boundary=b"},
        len(body) + 100_000,
    )
    # Half a body, then silence until the server gives up on it.
    _exchange(server, head + body, wait=IDLE_TIMEOUT * 4)


def _assert_nothing_leaked(server: LiveServer, canaries: list[str]) -> None:
    output = server.server_output()
    assert output.strip(), "the server wrote nothing at all; is it logging?"
    lowered = output.lower()
    leaked = [word for word in canaries if word.lower() in lowered]
    assert leaked == [], output[-3000:]
    assert SOURCE_IP not in output, output[-3000:]


def _serve(
    tmp_path_factory: pytest.TempPathFactory, name: str, wsgi_app: str, extra: dict[str, str]
) -> LiveServer:
    server = prepare_server(
        tmp_path_factory.mktemp(name),
        # Debug level: even the most talkative setting must not quote a request.
        extra_env={
            "REGISTRY_IDLE_TIMEOUT_SECONDS": str(IDLE_TIMEOUT),
            "GUNICORN_CMD_ARGS": f"--log-level debug {extra.pop('GUNICORN_CMD_ARGS', '')}",
            **extra,
        },
    )
    server.wsgi_app = wsgi_app
    return server


def test_the_registry_logs_nothing_about_requests(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    server = _serve(tmp_path_factory, "quiet", "registry.wsgi:app", {})
    canaries: list[str] = []
    server.start()
    try:
        _requests_with_canaries(server, canaries)
        _stalled_upload(server, canaries)
    finally:
        server.stop()
    _assert_nothing_leaked(server, canaries)


def _crash_requests(server: LiveServer, canaries: list[str]) -> Callable[[], None]:
    def send(path_prefix: str, wait: float = 10.0) -> None:
        word = _canary(path_prefix.strip("/"))
        canaries.append(word)
        head = request_head(
            "GET", f"{path_prefix}{word}?q={word}", {"User-Agent": word, "Connection": "close"}
        )
        _exchange(server, head, wait)

    def run() -> None:
        send("/raise/")
        send("/late/")
        send("/logged/")
        send("/hang/", wait=15)

    return run


def test_crashes_and_killed_workers_log_nothing_about_requests(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    server = _serve(
        tmp_path_factory,
        "crash",
        "tests.serving.crash_app:app",
        {"GUNICORN_CMD_ARGS": "--timeout 3"},
    )
    canaries: list[str] = []
    server.start()
    try:
        _crash_requests(server, canaries)()
        time.sleep(1)
    finally:
        server.stop()
    output = server.server_output()
    # The failures did happen and were logged, by type only.
    assert "RuntimeError" in output
    assert "WORKER TIMEOUT" in output
    _assert_nothing_leaked(server, canaries)
