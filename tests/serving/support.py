"""Raw-socket clients for the serving tests: slow, stalled and malformed requests.

Each speaks HTTP/1.1 by hand from a chosen loopback source address, so the
tests control exactly how fast bytes go out and can look for that address
in the server's output afterwards.
"""

from __future__ import annotations

import http.client
import io
import socket
import time
import urllib.parse
from collections.abc import Mapping

from tests.e2e.support import LiveServer, WebClient, prepare_server

# Connections come from this address, so a log that names it is easy to find.
SOURCE_IP = "127.0.0.3"


def server_address(server: LiveServer) -> tuple[str, int]:
    """Host and port the server listens on."""
    parts = urllib.parse.urlsplit(server.base_url)
    assert parts.hostname
    assert parts.port
    return parts.hostname, parts.port


def connect(server: LiveServer, timeout: float = 30.0) -> socket.socket:
    """A TCP connection to ``server`` from :data:`SOURCE_IP`."""
    sock = socket.create_connection(
        server_address(server), timeout=timeout, source_address=(SOURCE_IP, 0)
    )
    return sock


def cookie_header(client: WebClient) -> str:
    """The Cookie header ``client``'s browser would send."""
    return "; ".join(f"{c.name}={c.value}" for c in client.jar)


def request_head(
    method: str, path: str, headers: Mapping[str, str], body_length: int | None = None
) -> bytes:
    """An HTTP/1.1 request head."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body_length is not None:
        lines.append(f"Content-Length: {body_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def send_slowly(sock: socket.socket, data: bytes, bytes_per_second: int) -> None:
    """Send ``data`` at about ``bytes_per_second`` (ten pieces a second)."""
    piece = max(bytes_per_second // 10, 1)
    began = time.monotonic()
    for sent in range(0, len(data), piece):
        sock.sendall(data[sent : sent + piece])
        # Pace against the clock, not per piece, so the rate holds overall.
        ahead = began + (sent + piece) / bytes_per_second - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)


def read_response(sock: socket.socket) -> tuple[int, str]:
    """Status and body of the one response on ``sock``."""
    response = http.client.HTTPResponse(sock)  # type: ignore[arg-type]
    response.begin()
    body = response.read().decode("utf-8", errors="replace")
    return response.status, body


def slow_post(
    server: LiveServer,
    path: str,
    body: bytes,
    content_type: str,
    cookies: str,
    bytes_per_second: int,
) -> tuple[int, str]:
    """POST ``body`` to ``path`` at a Tor-like speed; the status and page."""
    with connect(server, timeout=120) as sock:
        headers = {"Content-Type": content_type, "Cookie": cookies, "Accept-Language": "en"}
        sock.sendall(request_head("POST", path, headers, len(body)))
        send_slowly(sock, body, bytes_per_second)
        return read_response(sock)


def drained(sock: socket.socket, wait: float) -> bytes:
    """Whatever the server sends until it closes ``sock`` (or ``wait`` seconds pass)."""
    sock.settimeout(wait)
    out = io.BytesIO()
    try:
        while chunk := sock.recv(65536):
            out.write(chunk)
    except TimeoutError:
        pass
    return out.getvalue()


__all__ = ["SOURCE_IP", "prepare_server"]
