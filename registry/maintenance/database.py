"""Giving the database's freed space back: SQLite's WAL checkpoint, PostgreSQL's VACUUM.

WHY after the deletions: a deleted row is gone from queries at once but
not from the disk.  SQLite (with ``secure_delete``, registry.db) zeroes
freed pages in the database file, but the write-ahead log keeps copies of
the pages as they were until a checkpoint; ``TRUNCATE`` copies the log
back and cuts it to zero bytes.  PostgreSQL keeps deleted rows as dead
tuples until a VACUUM makes their space reusable, and nothing ran one
(autovacuum waits for a share of the table to be dead).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, text

from registry.models import Base


def checkpoint_sqlite(engine: Engine) -> bool:
    """Checkpoint and truncate SQLite's WAL; ``True`` when it completed.

    ``False`` means a reader kept it from finishing (the site was busy):
    not a failure, the next run tries again.
    """
    # AUTOCOMMIT: a checkpoint cannot complete inside this connection's own
    # read transaction.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        row = conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
    return int(row[0]) == 0


def vacuum_postgresql(engine: Engine, tables: Iterable[str]) -> list[str]:
    """``VACUUM (ANALYZE)`` the ``tables`` (those that lost rows); return them, sorted.

    Only names of the registry's own tables are accepted, quoted by the
    dialect: the statement is built from text, so nothing else may reach it.
    """
    known = Base.metadata.tables
    names = sorted(set(tables))
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"not a registry table: {', '.join(unknown)}")
    if not names:
        return []
    quote = engine.dialect.identifier_preparer.quote
    statement = "VACUUM (ANALYZE) " + ", ".join(quote(name) for name in names)
    # WHY AUTOCOMMIT: VACUUM refuses to run inside a transaction block, and
    # SQLAlchemy otherwise opens one before the first statement.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(statement))
    return names
