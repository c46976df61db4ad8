"""One maintenance run at a time.

WHY a lock when every job is safe to repeat: two runs at once would race
on the same rows and files for nothing, and a VACUUM started twice waits
on itself.  The second run does not wait either: it exits at once (status
0, saying so), because the run that holds the lock is doing the same work
and a timer that fires while a long run is busy must not pile up waiting
processes.

- PostgreSQL: a session-level advisory lock on a connection held for the
  whole run; it is visible to every server that shares the database, and
  the server drops it when the connection dies (kill -9 included).
- SQLite: ``flock`` on a file in the instance directory (the database
  lives on this machine); the kernel drops it when the process dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text

# pg_try_advisory_lock's key: "Svma" (Sviedka maintain), a constant no
# other part of the registry uses.
ADVISORY_KEY = 0x53766D61
LOCK_FILE = "maintain.lock"


@contextlib.contextmanager
def exclusive(engine: Engine, instance_dir: Path) -> Iterator[bool]:
    """Hold the maintenance lock for the ``with`` block; yield whether it was taken."""
    if engine.dialect.name == "postgresql":
        with _advisory(engine) as taken:
            yield taken
    else:
        with _file_lock(instance_dir / LOCK_FILE) as taken:
            yield taken


@contextlib.contextmanager
def _advisory(engine: Engine) -> Iterator[bool]:
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        taken = bool(
            conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}).scalar()
        )
        yield taken
        if taken:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
    except BaseException:
        # WHY invalidate: a session-level lock outlives the transaction, so a
        # connection that failed to unlock must not go back to the pool
        # holding it; closing the server connection drops the lock.
        conn.invalidate()
        raise
    finally:
        conn.close()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        # Closing the descriptor releases the lock.  The file stays: deleting
        # it while another process waits to open it would split the lock.
        os.close(fd)
