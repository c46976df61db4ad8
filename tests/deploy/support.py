"""The files in ``deploy/``, made runnable in a test: only paths and ports change.

Each template substitution names a literal that must occur in the file
exactly as often as expected, so an edit to ``deploy/`` that the test no
longer covers fails loudly instead of testing a different file.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.e2e.support import ROOT

DEPLOY = ROOT / "deploy"
NGINX_SITE = DEPLOY / "nginx" / "sviedka.conf"
TORRC = DEPLOY / "tor" / "torrc"
ENV_FILE = DEPLOY / "sviedka.env"
START_TIMEOUT = 10.0


def program(name: str) -> str:
    """The path of a Debian program (sbin may be missing from a user's PATH)."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    assert found, f"{name} is not installed (.ci/run installs it: apt-get install {name})"
    return found


def substituted(text: str, changes: Mapping[str, tuple[str, int]]) -> str:
    """``text`` with each literal replaced, checking how often it occurs first."""
    for literal, (replacement, times) in changes.items():
        found = text.count(literal)
        assert found == times, f"{literal!r} occurs {found} times in the template, not {times}"
        text = text.replace(literal, replacement)
    return text


def env_file_settings() -> dict[str, str]:
    """``deploy/sviedka.env`` as a mapping (the format systemd's EnvironmentFile reads)."""
    settings: dict[str, str] = {}
    for line in ENV_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            settings[name] = value
    return settings


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files in ``folder``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sviedka test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Nginx:
    """One nginx, single process, running ``deploy/nginx/sviedka.conf`` from ``root``."""

    root: Path
    site: str
    https_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def logs(self) -> Path:
        """Every log file nginx writes."""
        return self.root / "logs"

    @property
    def temp_folders(self) -> tuple[Path, Path]:
        """Where nginx spools request bodies and responses."""
        return self.root / "temp-body", self.root / "temp-proxy"

    @property
    def base_url(self) -> str:
        """The TLS server's address."""
        return f"https://127.0.0.1:{self.https_port}"

    def start(self) -> None:
        """Write the configuration, start nginx and wait (bounded) for its port."""
        self.logs.mkdir(parents=True)
        (self.root / "sviedka.conf").write_text(self.site, encoding="utf-8")
        # What Debian's /etc/nginx/nginx.conf sets around a site: an access log
        # for every server and an error log at "error" level; here at "info",
        # more talkative still.  The site file must override both.
        main = f"""
            daemon off;
            master_process off;
            user root;
            pid {self.root}/nginx.pid;
            error_log {self.logs}/main-error.log info;
            events {{ worker_connections 64; }}
            http {{
                access_log {self.logs}/access.log;
                error_log {self.logs}/http-error.log info;
                include {self.root}/sviedka.conf;
            }}
        """
        (self.root / "nginx.conf").write_text(main, encoding="utf-8")
        with (self.logs / "stderr.log").open("wb") as stderr:
            self.process = subprocess.Popen(
                [program("nginx"), "-p", str(self.root), "-c", str(self.root / "nginx.conf")],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.logs / "stderr.log").read_text()
            if _listening(self.https_port):
                return
            time.sleep(0.05)
        raise AssertionError("nginx did not listen in time")

    def stop(self) -> None:
        """Stop nginx (QUIT: finish and exit); idempotent."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=START_TIMEOUT)

    def spooled(self) -> list[bytes]:
        """The content of every file nginx holds open in its temporary folders now.

        nginx unlinks a temporary file right after creating it, so a folder
        listing never shows one; its open descriptor (``/proc/PID/fd``) does,
        and reading it there gives what was written to the disk.
        """
        assert self.process is not None
        found: list[bytes] = []
        prefixes = tuple(str(folder) for folder in self.temp_folders)
        for fd in Path(f"/proc/{self.process.pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith(prefixes):
                found.append(fd.read_bytes())
        return found

    def diagnosis(self) -> str:
        """What nginx holds open and what it logged, for a failed assertion."""
        assert self.process is not None
        held = []
        for fd in Path(f"/proc/{self.process.pid}/fd").iterdir():
            try:
                held.append(os.readlink(fd))
            except OSError:
                continue
        alive = "running" if self.process.poll() is None else "exited"
        return f"nginx {alive}, holding {held}\n{self.written()[-3000:]}"

    def written(self) -> str:
        """Everything nginx wrote: its log files and whatever remains in its temporary folders."""
        parts = [path.read_bytes() for path in sorted(self.logs.rglob("*")) if path.is_file()]
        for folder in self.temp_folders:
            if folder.exists():
                parts += [path.read_bytes() for path in folder.rglob("*") if path.is_file()]
        return b"\n".join(parts).decode("utf-8", errors="replace")


def site_for_test(
    root: Path, https_port: int, http_port: int, upstream_port: int, cert: Path, key: Path
) -> str:
    """``deploy/nginx/sviedka.conf`` with this test's ports, certificate and folders."""
    return substituted(
        NGINX_SITE.read_text(encoding="utf-8"),
        {
            "listen 443 ssl;": (f"listen 127.0.0.1:{https_port} ssl;", 1),
            "listen 80;": (f"listen 127.0.0.1:{http_port};", 1),
            "/etc/letsencrypt/live/registry.example.org/fullchain.pem": (str(cert), 1),
            "/etc/letsencrypt/live/registry.example.org/privkey.pem": (str(key), 1),
            "proxy_pass http://127.0.0.1:8000;": (
                f"proxy_pass http://127.0.0.1:{upstream_port};",
                1,
            ),
            "/var/log/nginx/": (f"{root}/logs/", 2),
            "/run/sviedka-nginx-body": (f"{root}/temp-body", 1),
            "/run/sviedka-nginx-proxy": (f"{root}/temp-proxy", 1),
        },
    )


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0
