"""Real mail servers for the notice tests: aiosmtpd, and one that never speaks."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

# Short, so a hanging server costs the tests half a second per attempt.
TIMEOUT = 0.5


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps what it receives, or refuses recipients with 550."""

    messages: list[tuple[list[str], bytes]] = field(default_factory=list)
    connections: int = 0
    refuse: bool = False

    async def handle_EHLO(  # noqa: N802  (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted"

    def reset(self) -> None:
        """Forget everything (between tests: the server lives for the session)."""
        self.messages.clear()
        self.connections = 0
        self.refuse = False


@dataclass
class MailServer:
    """Where the aiosmtpd server listens, and what it got."""

    port: int
    got: Recorder


@pytest.fixture(scope="session")
def _smtpd() -> Iterator[MailServer]:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield MailServer(port, recorder)
    finally:
        controller.stop()


@pytest.fixture
def smtpd(_smtpd: MailServer) -> MailServer:
    """The session's aiosmtpd server, emptied."""
    _smtpd.got.reset()
    return _smtpd


class HangingServer:
    """Accepts connections and never says a word (a mail server that hangs)."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        # Polled, so close() can stop the thread (close does not wake accept).
        self.listener.settimeout(0.05)
        self._stop = threading.Event()
        self.port: int = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        """Stop listening and drop every connection."""
        self._stop.set()
        self._thread.join(timeout=2)
        self.listener.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def hanging() -> Iterator[HangingServer]:
    """A server that accepts and never speaks."""
    server = HangingServer()
    yield server
    server.close()


def use_mail_server(app: Flask, port: int, **changes: Any) -> None:
    """Point ``app``'s configuration at the test mail server on ``port`` (no TLS)."""
    cfg = app.extensions["registry.config"]
    settings: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_timeout_seconds": TIMEOUT,
        "smtp_from": "registry@example.org",
        "base_url": "https://registry.example.org",
    }
    app.extensions["registry.config"] = cfg.with_overrides(**{**settings, **changes})
