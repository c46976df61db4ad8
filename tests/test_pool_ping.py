"""PostgreSQL connections that sat idle are pinged at checkout; busy ones are trusted (registry.db).

A connection whose server process died (a restart, a failover) is found
out at checkout and replaced when it sat idle in the pool, so the site
recovers by itself.  One back from a request less than
``PING_AFTER_IDLE_SECONDS`` ago is not pinged: that round trip was spent on
every request before, on connections that had just answered.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from registry import db
from registry.db import make_engine

PID = text("select pg_backend_pid()")


@pytest.fixture
def engine(pg_database: str) -> Iterator[Engine]:
    made = make_engine(pg_database)
    yield made
    made.dispose()


def _end_backend(engine: Engine, pid: int) -> None:
    """End one server process from outside, as a server restart would."""
    with engine.connect() as other:
        assert other.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid}).scalar()


def _kill_pooled(engine: Engine) -> int:
    """The pid of the pool's one connection, ended behind the pool's back."""
    with engine.connect() as conn:
        pid = int(conn.execute(PID).scalar_one())
    killer = make_engine(str(engine.url.render_as_string(hide_password=False)))
    try:
        _end_backend(killer, pid)
    finally:
        killer.dispose()
    return pid


def test_an_idle_connection_whose_server_died_is_replaced(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # every pooled connection is "idle"
    dead = _kill_pooled(engine)
    with engine.connect() as conn:
        assert int(conn.execute(PID).scalar_one()) != dead


def test_a_connection_that_just_answered_is_not_pinged(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Trusted for a minute: the dead connection is handed out unpinged, the
    # request's first statement fails (an outage, the outage page), and the
    # pool then replaces it.  This is the price of skipping the ping, shown
    # here so that the test above is known to hang on the ping alone.
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 60.0)
    dead = _kill_pooled(engine)
    with engine.connect() as conn, pytest.raises(DBAPIError) as failed:
        conn.execute(PID)
    assert db.is_outage(failed.value)
    with engine.connect() as conn:
        assert int(conn.execute(PID).scalar_one()) != dead


def test_after_the_idle_time_a_dead_connection_is_found_out(engine: Engine) -> None:
    dead = _kill_pooled(engine)
    time.sleep(db.PING_AFTER_IDLE_SECONDS + 0.1)
    with engine.connect() as conn:
        assert int(conn.execute(PID).scalar_one()) != dead


def _spy_pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The connections the engine's pings were sent on (the real ping still runs)."""
    sent: list[object] = []
    real = engine.dialect.do_ping

    def ping(dbapi_connection: object) -> bool:
        sent.append(dbapi_connection)
        return bool(real(dbapi_connection))

    monkeypatch.setattr(engine.dialect, "do_ping", ping)
    return sent


def test_a_new_connection_is_not_pinged(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    sent = _spy_pings(engine, monkeypatch)
    with engine.connect() as conn:
        conn.execute(PID)
    assert sent == []


def test_a_dead_connection_found_by_a_ping_replaces_the_whole_pool(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two pooled connections whose server processes both die.
    first, second = engine.connect(), engine.connect()
    pids = [int(c.execute(PID).scalar_one()) for c in (first, second)]
    first.close()
    second.close()
    killer = make_engine(str(engine.url.render_as_string(hide_password=False)))
    try:
        for pid in pids:
            _end_backend(killer, pid)
    finally:
        killer.dispose()
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    sent = _spy_pings(engine, monkeypatch)
    with engine.connect() as conn:  # pinged: dead; the pool is invalidated
        assert int(conn.execute(PID).scalar_one()) not in pids
        assert sent  # the dead connection was found by a ping
        # The other one, taken now without a ping, was replaced too.
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
        pinged = len(sent)
        with engine.connect() as other:
            assert int(other.execute(PID).scalar_one()) not in pids
        assert len(sent) == pinged
