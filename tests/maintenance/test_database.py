"""The database job: SQLite's WAL is checkpointed to zero bytes; PostgreSQL vacuums what shrank."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session

from registry.maintenance.database import vacuum_postgresql
from registry.maintenance.framework import JobContext
from registry.maintenance.jobs import JOBS
from registry.maintenance.runner import run_once
from registry.models import Invite
from registry.models.base import utcnow


def _expired_invite(engine: Engine) -> None:
    with Session(engine) as db, db.begin():
        db.add(
            Invite(
                token_hash=os.urandom(32),
                email="late@example.org",
                role="reviewer",
                expires_at=utcnow() - timedelta(days=2),
            )
        )


def _last_vacuum(engine: Engine, table: str) -> object:
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        return conn.execute(
            text("SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = :t"), {"t": table}
        ).scalar()


def test_the_database_gives_freed_space_back(
    engine: Engine, context: Callable[[], JobContext]
) -> None:
    _expired_invite(engine)
    if engine.dialect.name == "sqlite":
        database = make_url(str(engine.url)).database
        assert database is not None
        wal = Path(database + "-wal")
        assert wal.stat().st_size > 0  # the deleted invite's page is still in the log
        report = run_once(context(), JOBS)
        assert report.ok
        assert report.summary().endswith(f", wal ok ({report.seconds:.2f} s)")
        assert wal.stat().st_size == 0
        return
    before = _last_vacuum(engine, "invites")
    report = run_once(context(), JOBS)
    assert report.ok
    assert ", vacuum 1 tables (" in report.summary()
    # The statistics arrive a moment after the VACUUM (no error, and it ran).
    deadline = time.monotonic() + 5
    while _last_vacuum(engine, "invites") == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _last_vacuum(engine, "invites") != before
    # Nothing shrank on the second run: nothing vacuumed.
    assert ", vacuum 0 tables (" in run_once(context(), JOBS).summary()


def test_only_registry_tables_reach_the_vacuum_statement() -> None:
    engine = create_engine("postgresql+psycopg://")  # refused before any connection
    with pytest.raises(ValueError, match="not a registry table"):
        vacuum_postgresql(engine, ["invites", 'invites"; DROP TABLE accounts; --'])
