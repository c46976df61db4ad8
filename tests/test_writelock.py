"""SQLite's write lock taken on purpose (registry.models.writelock).

A connection that finds the lock taken tries again in short steps instead
of sleeping in SQLite's busy handler; it still never writes beside the
holder, it gives up after the same bound as SQLite's own wait, and it
leaves the connection's busy timeout as it found it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from registry.db import make_engine
from registry.models.writelock import BUSY_TIMEOUT_MS, take_sqlite_write_lock
from tests.helpers import listening


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'lock.sqlite3'}")
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield eng
    eng.dispose()


def _busy_timeout(conn: object) -> int:
    return int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one())  # type: ignore[attr-defined]


def test_a_second_writer_waits_for_the_first_and_then_writes(engine: Engine) -> None:
    order: list[str] = []
    taken = threading.Event()

    def second() -> None:
        with engine.connect() as conn:
            take_sqlite_write_lock(conn)
            order.append("second has the lock")
            conn.execute(text("INSERT INTO t VALUES (2)"))
            conn.commit()
            taken.set()

    with engine.connect() as first:
        take_sqlite_write_lock(first)
        first.execute(text("INSERT INTO t VALUES (1)"))
        waiter = threading.Thread(target=second)
        waiter.start()
        # The holder is still in its transaction: the second may not have it.
        assert not taken.wait(0.2)
        order.append("first commits")
        first.commit()
    waiter.join(timeout=BUSY_TIMEOUT_MS / 1000)
    assert order == ["first commits", "second has the lock"]
    with engine.connect() as conn:
        assert list(conn.execute(text("SELECT n FROM t ORDER BY n")).scalars()) == [1, 2]
        assert _busy_timeout(conn) == BUSY_TIMEOUT_MS


def test_it_gives_up_after_the_busy_timeout_and_leaves_the_timeout_as_it_was(
    engine: Engine,
) -> None:
    with engine.connect() as holder, engine.connect() as other:
        take_sqlite_write_lock(holder)
        other.exec_driver_sql("PRAGMA busy_timeout = 150")
        tries: list[str] = []

        def note(_conn: object, _cursor: object, sql: str, *_rest: object) -> None:
            tries.append(sql)

        with (
            listening(engine, before_cursor_execute=note),
            pytest.raises(OperationalError, match="locked"),
        ):
            take_sqlite_write_lock(other)
        # Tried again and again in short steps, not once by SQLite's handler.
        assert tries.count("BEGIN IMMEDIATE") > 5
        assert _busy_timeout(other) == 150
        holder.rollback()
        # Once the holder is gone, the same connection takes it at once.
        take_sqlite_write_lock(other)
        assert other.connection.driver_connection.in_transaction  # type: ignore[union-attr]
        assert _busy_timeout(other) == 150
        other.rollback()


def test_a_connection_already_writing_is_left_alone(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO t VALUES (3)"))  # the driver began and holds the lock
        seen: list[str] = []

        def note(*args: object) -> None:
            seen.append(str(args[2]))

        with listening(engine, before_cursor_execute=note):
            take_sqlite_write_lock(conn)
        assert seen == []
        conn.rollback()
