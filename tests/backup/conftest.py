"""Backups: a fresh target install to restore onto, on the backend of ``app``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.backup.support import Target
from tests.helpers import fresh_pg_database


@pytest.fixture(scope="session")
def restore_database(database_url: str) -> Iterator[str]:
    """One spare PostgreSQL database to restore into, emptied before each test."""
    if make_url(database_url).get_backend_name() == "sqlite":
        yield ""
        return
    with fresh_pg_database("sviedka_restore") as url:
        yield url


@pytest.fixture
def target(restore_database: str, tmp_path: Path) -> Target:
    """A fresh install on the same backend as ``app``: for PostgreSQL an empty database.

    WHY one database emptied rather than one per test: creating and dropping
    a PostgreSQL database costs seconds; emptying its schema, milliseconds.
    """
    root = tmp_path / "target"
    if not restore_database:
        return Target(root, f"sqlite:///{root / 'instance' / 'registry.sqlite3'}")
    engine = create_engine(restore_database, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return Target(root, restore_database)
