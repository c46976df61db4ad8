"""A minimal cookie-keeping HTTP client on ``http.client``, for 127.0.0.1 only."""

from __future__ import annotations

import http.client
import re
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
VALUE = re.compile(r'value="([^"]*)"')


@dataclass
class Answer:
    """Status, headers and body of one response, with its latency in seconds."""

    status: int
    headers: dict[str, str]
    body: str
    seconds: float


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    tag = CSRF_INPUT.search(html)
    value = VALUE.search(tag.group(0)) if tag else None
    if value is None:
        raise RuntimeError("no CSRF token in page")
    return value.group(1)


@dataclass
class Client:
    """One browser: a connection to ``127.0.0.1:port`` and its cookies."""

    port: int
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def request(self, method: str, path: str, body: str | None = None) -> Answer:
        """Send one request; keep cookies; do not follow redirects."""
        headers = dict(self.headers)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        start = time.perf_counter()
        # gunicorn's sync workers answer "Connection: close"; http.client then
        # opens a new connection for the next request by itself.
        self._conn.request(method, path, body=body.encode() if body else None, headers=headers)
        response = self._conn.getresponse()
        data = response.read()
        seconds = time.perf_counter() - start
        for header in response.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return Answer(response.status, dict(response.headers), data.decode(), seconds)

    def get(self, path: str) -> Answer:
        """GET ``path``."""
        return self.request("GET", path)

    def post(self, path: str, fields: Iterable[tuple[str, str]]) -> Answer:
        """POST url-encoded ``fields``."""
        return self.request("POST", path, urllib.parse.urlencode(list(fields)))

    def submit(self, path: str, fields: Iterable[tuple[str, str]]) -> Answer:
        """GET ``path`` for its CSRF token, then POST ``fields`` to it."""
        page = self.get(path)
        if page.status != 200:
            raise RuntimeError(f"GET {path}: {page.status}")
        return self.post(path, [("csrf_token", csrf_token(page.body)), *fields])

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


def timed_post(
    port: int, path: str, body: bytes, headers: dict[str, str], timeout: float = 120
) -> tuple[int, str, float]:
    """POST ``body`` on a fresh connection; (status, page, seconds until the page is read)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        began = time.perf_counter()
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        page = response.read().decode()
        return response.status, page, time.perf_counter() - began
    finally:
        conn.close()
