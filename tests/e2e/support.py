"""Support for the end-to-end tests: a real gunicorn, a stdlib client, staff enrolment.

Everything here drives the registry from outside, as an operator and a
browser would: ``registry`` commands in a subprocess, gunicorn on a free
127.0.0.1 port, plain HTTP with cookies.  Nothing imports the app.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.cookiejar import CookieJar
from pathlib import Path

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

# The repository root, from this file: the suite works from any clone.
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Cheap Argon2 so the suite stays fast; the benchmarks use the real costs.
CHEAP_KDF = {
    "REGISTRY_PASSWORD_MEMORY_KIB": "256",
    "REGISTRY_PASSWORD_ITERATIONS": "1",
    "REGISTRY_RECEIPT_MEMORY_KIB": "256",
    "REGISTRY_RECEIPT_ITERATIONS": "1",
    "REGISTRY_ESCROW_MEMORY_KIB": "256",
    "REGISTRY_ESCROW_ITERATIONS": "1",
}
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
PASSWORD = "correct horse battery staple 42"
CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
VALUE = re.compile(r'value="([^"]*)"')
TOTP_SECRET = re.compile(r'<code id="totp-secret">([A-Z2-7]+)</code>')
RECOVERY_CODES = re.compile(r"<li><code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})</code></li>")
RECEIPT = re.compile(r'<p class="receipt" id="receipt"><code>([A-Z0-9-]+)</code></p>')


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def registry_command() -> list[str]:
    """The ``registry`` console script of this interpreter's environment."""
    script = BIN / "registry"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from registry.cli import main; main()"]


def clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any ``REGISTRY_*`` or proxy setting, plus ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("REGISTRY_") and "proxy" not in key.lower()
    }
    # This clone's code comes first, whichever clone the venv was installed from.
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def totp_code(secret: bytes, step: int) -> str:
    """The TOTP code of ``secret`` at time step ``step`` (SHA-1, 6 digits, 30 s)."""
    totp = TOTP(secret, 6, SHA1(), 30)  # noqa: S303  (RFC 6238 uses SHA-1)
    return totp.generate(step * 30).decode()


def current_step() -> int:
    """The TOTP time step of now."""
    return int(time.time() // 30)


def decode_secret(text: str) -> bytes:
    """The raw TOTP seed from its unpadded base32 form."""
    return base64.b32decode(text + "=" * (-len(text) % 8))


@dataclass
class LiveServer:
    """A gunicorn serving the registry from temporary directories."""

    base_url: str
    root: Path
    instance_dir: Path
    keys_dir: Path
    storage_dir: Path
    output: Path
    database_url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    init_output: str = ""
    # What gunicorn serves; the serving tests swap in an app that crashes.
    wsgi_app: str = "registry.wsgi:app"

    def run_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``registry ARGS`` against this deployment; fail loudly on error."""
        done = subprocess.run(
            [*registry_command(), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"registry {' '.join(args)}: {done.stdout}{done.stderr}"
        return done

    def invite(self, email: str, role: str = "reviewer") -> str:
        """A fresh invite URL for ``email``, as ``registry invite`` prints it."""
        out = self.run_cli("invite", email, "--role", role).stdout
        match = re.search(rf"{re.escape(self.base_url)}/staff/invite/\S+", out)
        assert match, f"no invite URL in: {out!r}"
        return match.group(0)

    def start(self) -> None:
        """Start gunicorn and wait (bounded) until it answers."""
        port = urllib.parse.urlsplit(self.base_url).port
        env = {**self.env, "HOST": "127.0.0.1", "PORT": str(port)}
        env.setdefault("WORKERS", "2")
        with self.output.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", self.wsgi_app],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.server_output()}")
            try:
                with _opener().open(self.base_url + "/", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer in {START_TIMEOUT} s:\n{self.server_output()}")

    def stop(self) -> None:
        """Stop gunicorn gracefully (SIGTERM), then wait; idempotent."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT)

    def server_output(self) -> str:
        """Everything gunicorn and the app wrote to stdout and stderr."""
        return self.output.read_text(encoding="utf-8", errors="replace")

    def stored_files(self) -> list[Path]:
        """Every file the deployment keeps: instance, keys, storage, server output."""
        found = [self.output]
        for folder in (self.instance_dir, self.keys_dir, self.storage_dir):
            if folder.exists():
                found.extend(path for path in sorted(folder.rglob("*")) if path.is_file())
        return found


def prepare_server(
    root: Path, database_url: str | None = None, extra_env: Mapping[str, str] | None = None
) -> LiveServer:
    """Create directories, run ``registry init`` and an escrow key; do not start yet."""
    root.mkdir(parents=True, exist_ok=True)
    instance, keys, storage = root / "instance", root / "keys", root / "storage"
    url = database_url or f"sqlite:///{instance / 'registry.sqlite3'}"
    base_url = f"http://127.0.0.1:{free_port()}"
    env = clean_environment(
        {
            **CHEAP_KDF,
            "REGISTRY_DATABASE_URL": url,
            "REGISTRY_INSTANCE_DIR": str(instance),
            "REGISTRY_KEYS_DIR": str(keys),
            "REGISTRY_STORAGE_DIR": str(storage),
            "REGISTRY_BASE_URL": base_url,
            **(extra_env or {}),
        }
    )
    server = LiveServer(base_url, root, instance, keys, storage, root / "server.log", url, env)
    server.init_output = server.run_cli("init").stdout
    # An escrow key, so every report is also wrapped to escrow as in production.
    passphrase = root / "escrow-passphrase.txt"
    passphrase.write_text("a long escrow passphrase for tests\n", encoding="utf-8")
    server.run_cli(
        "escrow", "create", "--passphrase-file", str(passphrase), "--out", str(root / "escrow.key")
    )
    return server


@dataclass
class Page:
    """One HTTP answer, redirects not followed."""

    status: int
    url: str
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        """The body as UTF-8 text."""
        return self.body.decode("utf-8")

    @property
    def location(self) -> str:
        """The redirect target, or ``""``."""
        return self.headers.get("Location", "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand 3xx answers back to the caller instead of following them."""

    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


def _opener(jar: CookieJar | None = None) -> urllib.request.OpenerDirector:
    # ProxyHandler({}): never route a request through a proxy from the environment.
    handlers: list[urllib.request.BaseHandler] = [
        urllib.request.ProxyHandler({}),
        _NoRedirect(),
    ]
    if jar is not None:
        handlers.append(urllib.request.HTTPCookieProcessor(jar))
    return urllib.request.build_opener(*handlers)


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    tag = CSRF.search(html)
    assert tag, "no CSRF token in page"
    value = VALUE.search(tag.group(0))
    assert value, "CSRF input without a value"
    return value.group(1)


def multipart_body(
    fields: Iterable[tuple[str, str]], files: Iterable[tuple[str, str, bytes]] = ()
) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body and its Content-Type, as a browser sends a form."""
    boundary = f"----SviedkaE2E{secrets.token_hex(12)}"
    parts: list[bytes] = []
    for name, value in fields:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for name, filename, data in files:
        head = (
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@dataclass
class WebClient:
    """A cookie-keeping stdlib HTTP client for one server, like one browser."""

    base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    jar: CookieJar = field(default_factory=CookieJar)

    def __post_init__(self) -> None:
        self._opener = _opener(self.jar)

    def request(self, path: str, data: bytes | None = None, content_type: str = "") -> Page:
        """GET (or POST ``data``) ``path``; return the answer without following redirects."""
        url = path if path.startswith("http") else self.base_url + path
        assert url.startswith(self.base_url + "/"), f"refusing a request to another host: {url}"
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = content_type or "application/x-www-form-urlencoded"
        request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310
        try:
            with self._opener.open(request, timeout=30) as answer:
                return Page(answer.status, url, answer.headers, answer.read())
        except urllib.error.HTTPError as error:
            with error:
                return Page(error.code, url, error.headers, error.read())

    def get(self, path: str) -> Page:
        """GET ``path``."""
        return self.request(path)

    def post(self, path: str, fields: Iterable[tuple[str, str]]) -> Page:
        """POST url-encoded ``fields`` (a list of pairs, so names may repeat)."""
        return self.request(path, urllib.parse.urlencode(list(fields)).encode())

    def post_multipart(
        self,
        path: str,
        fields: Iterable[tuple[str, str]],
        files: Iterable[tuple[str, str, bytes]] = (),
    ) -> Page:
        """POST ``multipart/form-data``: ``fields`` and ``files`` as (field, filename, bytes)."""
        body, content_type = multipart_body(fields, files)
        return self.request(path, body, content_type)

    def submit(self, path: str, fields: Iterable[tuple[str, str]], *, form_page: str = "") -> Page:
        """GET ``form_page`` (default ``path``) for its CSRF token, then POST ``fields``."""
        page = self.get(form_page or path)
        assert page.status == 200, f"GET {form_page or path}: {page.status}"
        return self.post(path, [("csrf_token", csrf_token(page.text)), *fields])


@dataclass
class Reviewer:
    """A reviewer enrolled and logged in over HTTP."""

    email: str
    password: str
    totp_secret: bytes
    last_step: int
    client: WebClient
    # Shown once at enrolment; each logs in once in place of a TOTP code.
    recovery_codes: list[str] = field(default_factory=list)


def enrol_reviewer(server: LiveServer, email: str, *, role: str = "reviewer") -> Reviewer:
    """Invite ``email`` with the CLI, choose a password, enrol TOTP and log in over HTTP."""
    invite = server.invite(email, role)
    client = WebClient(server.base_url, {"Accept-Language": "en"})
    chosen = client.submit(invite, [("password", PASSWORD), ("confirm", PASSWORD)])
    assert chosen.status == 303, chosen.text[:2000]
    assert chosen.location.endswith("/staff/enrol"), chosen.location
    enrol = client.get("/staff/enrol")
    found = TOTP_SECRET.search(enrol.text)
    assert found, "no TOTP secret on the enrolment page"
    secret = decode_secret(found.group(1))
    # The current step enrols; the login below uses a later one, never the same.
    step = current_step()
    done = client.post(
        "/staff/enrol", [("csrf_token", csrf_token(enrol.text)), ("code", totp_code(secret, step))]
    )
    assert done.status == 200, done.text[:2000]
    # The recovery codes are shown once; continue after confirming they are saved.
    codes = RECOVERY_CODES.findall(done.text)
    assert len(codes) == 10, done.text[:2000]
    saved = client.post(
        "/staff/recovery-codes/saved",
        [("csrf_token", csrf_token(done.text)), ("codes", " ".join(codes)), ("saved", "y")],
    )
    assert saved.status == 303, saved.text[:2000]
    assert saved.location.endswith("/staff/login"), saved.location
    reviewer = Reviewer(email, PASSWORD, secret, step, client, list(codes))
    login(reviewer)
    return reviewer


def login(reviewer: Reviewer) -> None:
    """Log ``reviewer`` in with a TOTP step never used before (at most one step ahead)."""
    step = max(current_step(), reviewer.last_step + 1)
    answer = reviewer.client.submit(
        "/staff/login",
        [
            ("email", reviewer.email),
            ("password", reviewer.password),
            ("code", totp_code(reviewer.totp_secret, step)),
        ],
    )
    assert answer.status == 303, answer.text[:2000]
    assert answer.location.endswith("/review/"), answer.location
    reviewer.last_step = step


# A case link on the review queue, and a file link on a case page.
CASE_LINK = re.compile(r'<a href="/review/case/([A-Za-z0-9]+)">')
FILE_LINK = re.compile(r'<a href="(/review/case/[A-Za-z0-9]+/files/[A-Za-z0-9]+)">([^<]+)</a>')


def only_case_path(reviewer: Reviewer) -> str:
    """The path of the one case on ``reviewer``'s queue."""
    queue = reviewer.client.get("/review/")
    cases = CASE_LINK.findall(queue.text)
    assert len(cases) == 1, queue.text[:3000]
    return f"/review/case/{cases[0]}"


def download_files(reviewer: Reviewer, case_path: str) -> dict[str, Page]:
    """Every file of the case at ``case_path``, downloaded by ``reviewer``, by file name."""
    page = reviewer.client.get(case_path)
    assert page.status == 200, page.text[:3000]
    found: dict[str, Page] = {}
    for link, name in FILE_LINK.findall(page.text):
        answer = reviewer.client.get(link)
        assert answer.status == 200, f"GET {link}: {answer.status}"
        found[name] = answer
    return found


def row_counts(database_url: str, tables: Iterable[str]) -> dict[str, int]:
    """How many rows each of ``tables`` holds (SQLite opened read-only)."""
    from sqlalchemy import create_engine, text

    url = database_url
    if url.startswith("sqlite:///"):
        # Read-only: the test must not be the one that changes the file.
        url = f"sqlite:///file:{url.removeprefix('sqlite:///')}?mode=ro&uri=true"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                # The names come from the caller's fixed list, never from input.
                table: int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608
                for table in tables
            }
    finally:
        engine.dispose()


def reply_as(reviewer: Reviewer, case_path: str, text: str) -> None:
    """Post a reply to the submitter on ``case_path``."""
    answer = reviewer.client.submit(f"{case_path}/reply", [("text", text)], form_page=case_path)
    assert answer.status == 303, answer.text[:3000]
