"""Shared fixtures: the app on each database backend, a client, staff helpers.

Every test that uses ``app`` runs twice: on SQLite (the embedded default)
and on the PostgreSQL server at 127.0.0.1:5432.  When no PostgreSQL
answers, the PostgreSQL half is skipped with a loud message.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from config import TestingConfig
from registry import create_app, db
from registry.keyring.escrow import create_escrow
from registry.models import Base
from registry.models.migrate import upgrade
from registry.reforms.service import load_catalogue
from registry.runtime import escrow_params
from registry.taxonomy.service import load_vocabularies
from tests.helpers import (
    ESCROW_PASSPHRASE,
    ESCROW_PRIVATE,
    PG_ADMIN_URL,
    StaffActions,
    english_client,
    fresh_pg_database,
    triggers_bypassed,
)

# Tables loaded once per backend and kept between tests.
REFERENCE_TABLES = {
    "vocabulary_terms",
    "reform_blocks",
    "reform_themes",
    "reform_proposals",
    "alembic_version",
}
PG_SKIPPED: list[str] = []


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as error:  # any failure to connect means "no PostgreSQL here"
        return f"{type(error).__name__}: {error}".splitlines()[0]
    return None


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped at the end."""
    problem = _pg_available()
    if problem:
        PG_SKIPPED.append(problem)
        pytest.skip(
            f"!!! PostgreSQL at {PG_ADMIN_URL} does not answer ({problem}): "
            "the PostgreSQL half of the suite is NOT RUN !!!"
        )
    with fresh_pg_database("sviedka_test") as url:
        yield url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database with reference data, one per backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'registry.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_database")
    return _prepared(url, tmp_path_factory)


@pytest.fixture(scope="session")
def sqlite_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite database, for tests of SQLite's own file format only."""
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite-only') / 'registry.sqlite3'}"
    return _prepared(url, tmp_path_factory)


def _prepared(url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    upgrade(url)
    root = tmp_path_factory.mktemp("seed")
    app = create_app(TestingConfig.for_paths(root / "instance", root / "keys", url))
    with app.app_context():
        session = db.session()
        load_vocabularies(session)
        load_catalogue(session)
        session.commit()
        db.engine().dispose()
    return url


def _clean(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        # The audit log refuses DELETE (append-only triggers): between tests it
        # is emptied the way only the database owner can, in one transaction.
        with triggers_bypassed(session):
            for table in reversed(Base.metadata.sorted_tables):
                if table.name not in REFERENCE_TABLES:
                    session.execute(table.delete())
        session.commit()
        db.engine().dispose()


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app on one backend with temporary instance and keys directories.

    The deployment has an escrow key, as every real one should: a report
    then always has a key holder, even in tests that create no reviewer
    (without any, the form refuses reports; see tests/intake/test_no_key_holder.py).
    Its locked private half is ``tmp_path / ESCROW_PRIVATE``.
    """
    yield from _app_on(database_url, tmp_path)


@pytest.fixture
def sqlite_app(sqlite_database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """Like ``app``, on SQLite only: for what only SQLite's file shows."""
    yield from _app_on(sqlite_database_url, tmp_path)


def _app_on(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    cfg = TestingConfig.for_paths(tmp_path / "instance", tmp_path / "keys", database_url)
    create_escrow(cfg.keys_dir, tmp_path / ESCROW_PRIVATE, ESCROW_PASSPHRASE, escrow_params(cfg))
    app = create_app(cfg)
    _clean(app)
    yield app
    _clean(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for ``app`` whose browser asks for English.

    Tests of other languages set the language cookie or header themselves.
    """
    return english_client(app)


@pytest.fixture
def staff(app: Flask) -> StaffActions:
    """Helper that creates and logs in staff members."""
    return StaffActions(app)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say loudly when the PostgreSQL half did not run."""
    if PG_SKIPPED:
        terminalreporter.section("PostgreSQL NOT TESTED", sep="!", red=True, bold=True)
        terminalreporter.line(f"No PostgreSQL at {PG_ADMIN_URL}: {PG_SKIPPED[0]}", red=True)


# Paths of tools' own caches: whatever else appears in the checkout during a
# run (a database, blobs, keys, any new file) fails the run, ignored or not.
TOOL_CACHES = (".pytest_cache", ".hypothesis", "__pycache__", ".mypy_cache", ".ruff_cache", ".venv")
CHECKOUT_BEFORE = pytest.StashKey[frozenset[str]]()


def _checkout_status(root: Path) -> frozenset[str] | None:
    """``git status`` lines of changed and new paths, None outside a git checkout.

    Besides untracked and modified paths, gitignored ones count too (the
    instance, storage and keys directories are ignored), except tools' caches.
    """
    lines: set[str] = set()
    # Untracked files one by one; ignored directories as a whole (.venv!).
    for options in (["--untracked-files=all"], ["--ignored=matching", "--untracked-files=normal"]):
        command = ["git", "--no-optional-locks", "status", "--porcelain", *options]
        try:
            run = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
        except OSError:
            return None
        if run.returncode != 0:
            return None
        lines.update(line for line in run.stdout.splitlines() if line)
    return frozenset(
        line for line in lines if not (line.startswith("!! ") and _is_tool_cache(line[3:]))
    )


def _is_tool_cache(path: str) -> bool:
    parts = Path(path.rstrip("/")).parts
    return any(part in TOOL_CACHES or part.endswith((".egg-info", ".pyc")) for part in parts)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Note what the checkout looks like before the run (see pytest_sessionfinish)."""
    status = _checkout_status(session.config.rootpath)
    if status is not None:
        session.config.stash[CHECKOUT_BEFORE] = status


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if it left anything new in the checkout (a test of ``git status``)."""
    before = session.config.stash.get(CHECKOUT_BEFORE, None)
    after = None if before is None else _checkout_status(session.config.rootpath)
    if before is None or after is None:
        return
    appeared = sorted(after - before)
    if not appeared:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        reporter.section("the test run changed the checkout", sep="!", red=True, bold=True)
        for line in appeared:
            reporter.line(f"  {line}", red=True)
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
