"""Row locks for account checks that must not race (TOTP steps, recovery codes).

A check-then-store (read ``totp_last_step``, accept a code, store the new
step) is a replay hole if two requests run it at once: both read the old
state, both accept the same code.  The row is therefore re-read under a
lock that lasts until the transaction ends.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from registry.models import Base
from registry.models.writelock import take_sqlite_write_lock

Row = TypeVar("Row", bound=Base)


def write_lock(db: Session) -> None:
    """On SQLite, take the database write lock now (``BEGIN IMMEDIATE``).

    SQLite ignores ``SELECT … FOR UPDATE``; and the sqlite3 driver opens a
    transaction only before the first write, so a read before it sees no
    lock at all.  Taking the write lock first makes the read and the write
    that follows one atomic step, as ``audit._lock_chain`` does for the log.
    A no-op on PostgreSQL and inside an already open SQLite transaction
    (which holds the write lock once it has written).
    """
    conn = db.connection()
    if conn.dialect.name != "sqlite":
        return
    take_sqlite_write_lock(conn)


def locked(db: Session, model: type[Row], row_id: int) -> Row | None:
    """Re-read one row under a lock held until the transaction ends.

    PostgreSQL: ``SELECT … FOR UPDATE``; a second transaction waits, then
    (under READ COMMITTED) reads the first one's committed values.
    ``populate_existing`` refreshes an object already in the session, so
    the caller never checks against stale attributes.
    """
    write_lock(db)
    return db.get(model, row_id, with_for_update=True, populate_existing=True)
