"""Fixtures of the end-to-end tests: a real gunicorn on SQLite or PostgreSQL.

``live_server`` (one per module) serves the registry from temporary
directories with cheap Argon2 costs; ``server_factory`` builds a fresh one
inside a test that needs to stop it itself (the leak test).  A PostgreSQL
deployment gets a database of its own, dropped afterwards; without a
PostgreSQL server that half is skipped with a loud message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import create_engine, text

from tests.e2e.support import LiveServer, Reviewer, enrol_reviewer, prepare_server
from tests.helpers import PG_ADMIN_URL, fresh_pg_database

E2E_PG_SKIPPED: list[str] = []
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; skipped loudly when it is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"!!! {CHROMIUM} is missing: the real-browser tests are NOT RUN "
            "(install it with: apt-get install chromium) !!!"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            # No sandbox inside this container; no GPU; and no background
            # requests of the browser's own, so every request seen is the page's.
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-proxy-server",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _pg_problem() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as error:  # any failure to connect means "no PostgreSQL here"
        return f"{type(error).__name__}: {error}".splitlines()[0]
    return None


@pytest.fixture
def pg_fresh_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    problem = _pg_problem()
    if problem:
        E2E_PG_SKIPPED.append(problem)
        pytest.skip(
            f"!!! PostgreSQL at {PG_ADMIN_URL} does not answer ({problem}): "
            "the PostgreSQL end-to-end test is NOT RUN !!!"
        )
    with fresh_pg_database("sviedka_e2e") as url:
        yield url


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """gunicorn (2 workers) on SQLite in a temporary instance directory."""
    server = prepare_server(tmp_path_factory.mktemp("live"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[[str | None], LiveServer]]:
    """Build and start a fresh server (optionally on ``database_url``); stopped at teardown."""
    started: list[LiveServer] = []

    def make(database_url: str | None = None) -> LiveServer:
        server = prepare_server(tmp_path / f"server{len(started)}", database_url)
        started.append(server)
        server.start()
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def reviewer_factory() -> Callable[[LiveServer, str], Reviewer]:
    """Invite, enrol (password + TOTP) and log in a reviewer over HTTP."""
    return enrol_reviewer


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say loudly when the PostgreSQL end-to-end test did not run."""
    if E2E_PG_SKIPPED:
        terminalreporter.section("PostgreSQL E2E NOT TESTED", sep="!", red=True, bold=True)
        terminalreporter.line(f"No PostgreSQL at {PG_ADMIN_URL}: {E2E_PG_SKIPPED[0]}", red=True)
