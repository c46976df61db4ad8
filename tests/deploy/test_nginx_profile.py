"""The production profile, run for real: nginx (TLS) → gunicorn → PostgreSQL + Redis.

``deploy/nginx/sviedka.conf`` runs with only its ports, certificate and
folders changed, in front of a real gunicorn with the project's
``gunicorn.conf.py`` and the settings of ``deploy/sviedka.env``.  A person
uploads a large file holding a canary from their own address (127.0.0.3),
follows their report up with the receipt, and a reviewer downloads the file.

While the upload and the download are half-way, no file nginx holds open in
its temporary folders exists: no plaintext reached the proxy's disk.  (nginx
unlinks a temporary file the moment it creates it, so the probe reads its
open descriptors; a second nginx with buffering and logs at Debian's
defaults shows that the probe and the log check do catch a leak.)
Afterwards nothing nginx or gunicorn wrote holds the canaries, the receipt,
the person's address or a path they opened, even after a request that nginx
fails to pass on (gunicorn stopped), which nginx's error log would record
with the client's address and request line.
"""

from __future__ import annotations

import functools
import http.client
import re
import secrets
import socket
import ssl
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.support import Nginx, env_file_settings, self_signed, site_for_test, substituted
from tests.e2e.conftest import pg_fresh_database  # noqa: F401  (a fixture)
from tests.e2e.support import (
    FILE_LINK,
    RECEIPT,
    LiveServer,
    WebClient,
    _NoRedirect,
    csrf_token,
    enrol_reviewer,
    free_port,
    multipart_body,
    only_case_path,
    prepare_server,
)
from tests.serving.support import SOURCE_IP, cookie_header, request_head

pytestmark = pytest.mark.slow

# Larger than every buffer on the way (nginx's 128 KiB, the sockets'), with a
# canary in every 64 KiB: any piece spooled anywhere holds one.
PIECES = 96
PIECE = 64 * 1024
ONION = "sviedkatestsviedkatestsviedkatestsviedkatestsviedkatest.onion"
# Settings of deploy/sviedka.env the test sets itself: where this deployment
# lives and what it is called.  Every other REGISTRY_* setting is used as is.
LOCAL = frozenset(
    {
        "REGISTRY_DATABASE_URL",
        "REGISTRY_INSTANCE_DIR",
        "REGISTRY_STORAGE_DIR",
        "REGISTRY_KEYS_DIR",
        "REGISTRY_BASE_URL",
        "REGISTRY_ONION_ADDRESS",
    }
)


@dataclass
class Profile:
    """gunicorn, nginx with deploy's site, and a control nginx with Debian's defaults."""

    server: LiveServer
    nginx: Nginx
    control: Nginx


def _redis_answers(uri: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(uri, socket_timeout=1).ping())
    except redis.exceptions.RedisError:
        return False


def _control_site(site: str) -> str:
    """The site with its protections undone: nginx's and Debian's defaults."""
    return substituted(
        site,
        {
            "proxy_request_buffering off;": ("proxy_request_buffering on;", 1),
            "proxy_buffering off;": ("proxy_buffering on;", 1),
            "proxy_max_temp_file_size 0;": ("", 1),
            "access_log off;": ("", 2),
            "sviedka-error.log emerg;": ("sviedka-error.log info;", 2),
        },
    )


@pytest.fixture
def profile(
    tmp_path: Path,
    pg_fresh_database: str,  # noqa: F811  (the fixture imported above)
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Profile]:
    """The whole profile on PostgreSQL and Redis, as deploy/README.md sets it up."""
    production = env_file_settings()
    storage_uri = production["REGISTRY_RATELIMIT_STORAGE_URI"]
    if not _redis_answers(storage_uri):
        pytest.skip(f"!!! Redis at {storage_uri} does not answer: the profile is NOT TESTED !!!")
    cert, key = self_signed(tmp_path)
    nginx_port, control_port = free_port(), free_port()
    settings = {
        name: value
        for name, value in production.items()
        if name.startswith("REGISTRY_") and name not in LOCAL
    }
    server = prepare_server(
        tmp_path / "registry",
        pg_fresh_database,
        extra_env={
            **settings,
            "REGISTRY_BASE_URL": f"https://127.0.0.1:{nginx_port}",
            "REGISTRY_ONION_ADDRESS": ONION,
            # One worker: the proxy is under test here, not gunicorn's spread.
            "WORKERS": "1",
        },
    )
    server.start()
    upstream = int(server.base_url.rsplit(":", 1)[1])
    site = functools.partial(site_for_test, upstream_port=upstream, cert=cert, key=key)
    nginx = Nginx(tmp_path / "nginx", "", nginx_port)
    nginx.site = site(nginx.root, nginx_port, free_port())
    control = Nginx(tmp_path / "control", "", control_port)
    control.site = _control_site(site(control.root, control_port, free_port()))
    # The test's clients trust the test's certificate, as browsers trust a real one.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    try:
        nginx.start()
        control.start()
        # From here on, every link the registry prints and every client goes through nginx.
        server.base_url = nginx.base_url
        yield Profile(server, nginx, control)
    finally:
        nginx.stop()
        control.stop()
        server.stop()


class _FromSourceAddress(urllib.request.HTTPSHandler):
    """HTTPS from :data:`SOURCE_IP`, so the person's address is easy to look for."""

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = functools.partial(http.client.HTTPSConnection, source_address=(SOURCE_IP, 0))
        return self.do_open(connection, req)


class PersonClient(WebClient):
    """A browser on the person's own address."""

    def __post_init__(self) -> None:
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            _NoRedirect(),
            urllib.request.HTTPCookieProcessor(self.jar),
            _FromSourceAddress(),
        )


def _connect(nginx: Nginx) -> ssl.SSLSocket:
    """A TLS connection to ``nginx`` from the person's address, with a small receive window."""
    raw = socket.socket()
    # A slow reader, as over Tor: nginx cannot push a whole file into our buffers.
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    raw.bind((SOURCE_IP, 0))
    raw.settimeout(30)
    raw.connect(("127.0.0.1", nginx.https_port))
    return ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1")


def _eventually(condition: Callable[[], Any], seconds: float) -> Any:
    """``condition()`` once it is truthy, or its last falsy value after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not (result := condition()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return result


def _holding(canary: str) -> Callable[[list[bytes]], bool]:
    return lambda files: any(canary.encode() in data for data in files)


def _sealing_started(server: LiveServer) -> bool:
    incoming = server.storage_dir / "tmp"
    return any(path.stat().st_size > PIECE * 8 for path in incoming.iterdir())


def _upload_half(nginx: Nginx, body: bytes, content_type: str, cookies: str) -> ssl.SSLSocket:
    sock = _connect(nginx)
    headers = {"Content-Type": content_type, "Cookie": cookies, "Accept-Language": "en"}
    sock.sendall(request_head("POST", "/report", headers, len(body)) + body[: len(body) // 2])
    return sock


def _download_begun(sock: ssl.SSLSocket, path: str, cookies: str) -> http.client.HTTPResponse:
    """A download of ``path`` on ``sock``, its first piece read, the rest waiting."""
    sock.sendall(request_head("GET", path, {"Cookie": cookies}))
    response = http.client.HTTPResponse(sock)
    response.begin()
    assert response.status == 200
    response.read(PIECE)
    return response


def test_no_plaintext_on_the_proxy_disk_and_nothing_about_people_in_any_log(
    profile: Profile,
) -> None:
    server, nginx, control = profile.server, profile.nginx, profile.control
    canary = f"CANARY{secrets.token_hex(8)}"
    narrative = f"NARRATIVE{secrets.token_hex(8)}"
    agent = f"AGENT{secrets.token_hex(8)}"
    document = b"%PDF-1.7\n" + b"".join(
        f"%{canary} {n:04d}\n".encode().ljust(PIECE, b"0") for n in range(PIECES)
    )
    reviewer = enrol_reviewer(server, "deploy-reviewer@example.org")
    person = PersonClient(nginx.base_url, {"Accept-Language": "en", "User-Agent": agent})

    form = person.get("/report")
    assert form.status == 200
    assert form.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert form.headers["Onion-Location"] == f"http://{ONION}/report"
    assert form.headers["Server"] == "nginx"  # no version
    assert "Secure" in form.headers["Set-Cookie"]
    body, content_type = multipart_body(
        [("csrf_token", csrf_token(form.text)), ("narrative", narrative), ("region", "brest")],
        [("files", "evidence.pdf", document)],
    )

    # Half-way through the upload, gunicorn is already sealing it, and nginx
    # holds no temporary file.
    with _upload_half(nginx, body, content_type, cookie_header(person)) as sock:
        assert _eventually(lambda: _sealing_started(server), 10)
        assert nginx.spooled() == []
        sock.sendall(body[len(body) // 2 :])
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        page = answer.read().decode()
    assert answer.status == 200, page[:2000]
    found = RECEIPT.search(page)
    assert found, page[:2000]
    receipt = found.group(1)
    # The control nginx writes the same upload to its disk before passing it on.
    with _upload_half(control, body, content_type, cookie_header(person)):
        assert _eventually(lambda: _holding(canary)(control.spooled()), 10), control.diagnosis()

    # The person comes back with the receipt.
    opened = person.submit("/followup/", [("receipt", receipt)])
    assert opened.status == 303, opened.text[:2000]
    assert "Withdraw and delete my report" in person.get("/followup/case").text

    # The reviewer downloads the file, reading slowly: nothing is spooled.
    case = reviewer.client.get(only_case_path(reviewer))
    links = FILE_LINK.findall(case.text)
    assert [name for _link, name in links] == ["evidence.pdf"]
    file_path = links[0][0]
    staff_cookies = cookie_header(reviewer.client)
    with _connect(nginx) as sock:
        download = _download_begun(sock, file_path, staff_cookies)
        assert _eventually(nginx.spooled, 0.5) == []
        assert download.read() == document[PIECE:]
    with _connect(control) as sock:
        _download_begun(sock, file_path, staff_cookies)
        assert _eventually(lambda: _holding(canary)(control.spooled()), 10), control.diagnosis()

    # nginx cannot reach gunicorn: its error log would name the client and the request.
    server.stop()
    for proxy in (nginx, control):
        sent = PersonClient(proxy.base_url, {"Accept-Language": "en", "User-Agent": agent})
        assert sent.get(f"/followup/case?{canary}").status == 502
    nginx.stop()
    control.stop()

    assert SOURCE_IP in control.written()  # the check below would see a leak
    written = {"nginx": nginx.written(), "gunicorn": server.server_output()}
    secrets_of_person = {
        "canary": canary,
        "narrative": narrative,
        "user agent": agent,
        "receipt": receipt,
        "receipt (normalized)": receipt.replace("-", ""),
        "address": SOURCE_IP,
        "follow-up path": "/followup",
        "report path": "/report",
        "case path": file_path,
    }
    for program_name, text in written.items():
        for label, secret in secrets_of_person.items():
            assert secret not in text, f"{label} in what {program_name} wrote:\n{text[-3000:]}"
    for folder in nginx.temp_folders:
        assert folder.is_dir()
        assert list(folder.iterdir()) == []
    assert not re.search(r"\b(GET|POST) /", written["nginx"])
