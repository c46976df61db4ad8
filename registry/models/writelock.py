"""SQLite's write lock, taken on purpose and waited for in short steps.

SQLite lets one connection write at a time.  The writers that must read
and then write as one step (the audit chain's append, the next position of
a message or file, an account check) take the lock first with ``BEGIN
IMMEDIATE`` (``registry.audit``, ``registry.records.positions``,
``registry.auth.locking``), and every case page is such a writer: opening a
case appends to the audit chain.

WHY not SQLite's own waiting: a connection that finds the lock taken is
put to sleep by SQLite's busy handler for 1, 2, 5, 10, 15, 20, 25 … up
to 100 ms between tries, whatever the holder is doing.  The holder here
keeps the lock for about a millisecond (the last event, the insert, the
commit), so a page that missed it by a moment slept 5 or 10 ms more, and
with four reviewers at once the case page's p95 ran to three times its
median (bench part c, issue 10).  Here the lock is tried again after
:data:`FIRST_RETRY_SECONDS`, then every :data:`LONGEST_RETRY_SECONDS`,
until the connection's busy timeout (:data:`BUSY_TIMEOUT_MS`) has
passed, the same bound as every other wait for it.

Only this one statement is retried.  Writes that reach the lock another
way (a submission's first INSERT) still wait with SQLite's handler, as
before, and so try less often than these: under a long run of case pages
they wait longer than before, never past the same 5 s bound.  Nothing
here can deadlock: a connection that retries holds no lock yet, so the
holder it waits for never waits for it.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

BUSY_TIMEOUT_MS = 5000
"""How long a SQLite connection waits for the write lock before it fails (PRAGMA busy_timeout)."""

FIRST_RETRY_SECONDS = 0.0005
"""First pause before ``BEGIN IMMEDIATE`` is tried again; each next pause is twice as long."""

LONGEST_RETRY_SECONDS = 0.001
"""Longest pause between two tries.  A holder keeps the lock about a millisecond;
longer pauses measurably lengthened the case page's tail (bench part c: p95
32–34 ms at 4 ms against 29.5–30 ms at 0.5 ms), shorter ones cost a waiter
more CPU in failed tries while a long transaction (a retention run) writes."""


def take_sqlite_write_lock(conn: Connection) -> None:
    """Take SQLite's write lock now, unless ``conn`` already is in a transaction.

    A connection already in a transaction holds the write lock (the
    driver begins one only before a data-changing statement), so its
    snapshot is the latest.  Raises SQLAlchemy's ``OperationalError``
    ("database is locked") when the lock stays taken as long as the
    connection's busy timeout (:data:`BUSY_TIMEOUT_MS` as registry.db sets
    it), as SQLite's own wait would; the timeout is left as it was.
    """
    driver: Any = conn.connection.driver_connection
    if driver.in_transaction:
        return
    # The busy timeout is a setting of the connection, not a statement of
    # the transaction: set on the driver itself, unseen by the statement
    # hooks (registry.db counts and judges only what the transaction sends).
    (before,) = driver.execute("PRAGMA busy_timeout").fetchone()
    driver.execute("PRAGMA busy_timeout = 0")
    try:
        deadline = time.monotonic() + before / 1000
        pause = FIRST_RETRY_SECONDS
        while True:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as error:
                if "locked" not in str(error.orig) or time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(2 * pause, LONGEST_RETRY_SECONDS)
    finally:
        driver.execute(f"PRAGMA busy_timeout = {int(before)}")
