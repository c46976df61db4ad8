"""How a request's transaction ends when the view did not end it (registry.db).

A transaction that only read ends in COMMIT, so that psycopg keeps the
statements it prepared on the connection (a ROLLBACK makes it drop them
all, and PostgreSQL then plans every query of every page again).  Anything
a view wrote and did not commit is still rolled back: these tests write in
each way the code can (a Core statement, an object flushed, an object only
added, a write followed by reads, an error) and check that nothing stays.

The teardown under test is the app's own: it runs when the app context
ends, as at the end of every request.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from registry import db
from registry.models import LoginThrottle
from tests.helpers import listening

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _row(ref: bytes) -> LoginThrottle:
    return LoginThrottle(ref=ref, failures=1, last_failure_at=NOW)


def _stored(app: Flask, ref: bytes) -> bool:
    with app.app_context():
        found = db.session().scalar(select(LoginThrottle.ref).where(LoginThrottle.ref == ref))
    return found is not None


@contextmanager
def _endings(app: Flask) -> Iterator[list[str]]:
    """The ways the engine's transactions ended while the body ran, in order."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engine()

    def on_commit(_conn: object) -> None:
        seen.append("commit")

    def on_rollback(_conn: object) -> None:
        seen.append("rollback")

    with listening(engine, commit=on_commit, rollback=on_rollback):
        yield seen


def _core_insert(session: Session) -> None:
    session.execute(insert(LoginThrottle).values(ref=b"w", failures=1, last_failure_at=NOW))


def _flushed(session: Session) -> None:
    session.add(_row(b"w"))
    session.flush()


def _added_only(session: Session) -> None:
    session.add(_row(b"w"))


def _written_then_read(session: Session) -> None:
    _core_insert(session)
    session.scalar(select(func.count()).select_from(LoginThrottle))


def _raw_sql(session: Session) -> None:
    session.execute(
        text("  insert into login_throttles (ref, failures, last_failure_at) values (:r, 1, :t)"),
        {"r": b"w", "t": NOW},
    )


WRITES: dict[str, Callable[[Session], None]] = {
    "a Core insert": _core_insert,
    "an object flushed": _flushed,
    "an object added, never flushed": _added_only,
    "a write, then reads": _written_then_read,
    "lower-case SQL text after spaces": _raw_sql,
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_what_a_request_wrote_and_did_not_commit_is_rolled_back(
    app: Flask, write: Callable[[Session], None]
) -> None:
    with _endings(app) as seen, app.app_context():
        write(db.session())
    # An object only added never reached the database: nothing to roll back.
    assert "commit" not in seen
    assert not _stored(app, b"w")


def test_changes_to_a_loaded_row_are_rolled_back(app: Flask) -> None:
    with app.app_context():
        db.session().add(_row(b"kept"))
        db.session().commit()
    with app.app_context():
        session = db.session()
        session.execute(update(LoginThrottle).values(failures=9))
        session.execute(delete(LoginThrottle).where(LoginThrottle.ref == b"other"))
    with app.app_context():
        assert db.session().get(LoginThrottle, b"kept").failures == 1  # type: ignore[union-attr]
    with app.app_context():
        row = db.session().get(LoginThrottle, b"kept")
        assert row is not None
        row.failures = 5  # dirty, never flushed
    with app.app_context():
        assert db.session().get(LoginThrottle, b"kept").failures == 1  # type: ignore[union-attr]


def _failing_read(app: Flask) -> None:
    with app.app_context():
        db.session().scalar(select(func.count()).select_from(LoginThrottle))
        raise RuntimeError("the view failed")


def test_a_lost_connection_does_not_leave_the_session_behind(app: Flask) -> None:
    """A connection that died mid-request: teardown still removes the session.

    A session left registered would fail every later request its thread
    serves (a worker's threads outlive requests).
    """
    with app.app_context():
        db.session().scalar(select(func.count()).select_from(LoginThrottle))
        db.session().connection().invalidate()  # as when the server goes away
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(LoginThrottle)) == 0


def test_a_failed_statement_leaves_nothing_behind(app: Flask) -> None:
    """A statement that failed (the error pages answered it): teardown raises nothing.

    It only read, so however it ends (PostgreSQL answers COMMIT in an
    aborted transaction with a rollback), nothing is written, and the
    thread's next request works.
    """
    with app.app_context():
        session = db.session()
        with contextlib.suppress(DBAPIError):
            session.execute(text("SELECT no_such_column FROM login_throttles"))
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(LoginThrottle)) == 0


def test_a_deleted_object_never_flushed_is_rolled_back(app: Flask) -> None:
    with app.app_context():
        db.session().add(_row(b"kept"))
        db.session().commit()
    with _endings(app) as seen, app.app_context():
        session = db.session()
        row = session.get(LoginThrottle, b"kept")
        session.delete(row)  # pending, not flushed
    assert seen == ["rollback"]
    assert _stored(app, b"kept")


def test_a_request_that_failed_is_rolled_back_even_if_it_only_read(app: Flask) -> None:
    """An exception that reaches the teardown (tests and commands; the error
    pages answer the web's first, and those are judged by what they sent)."""
    with _endings(app) as seen, pytest.raises(RuntimeError, match="the view failed"):
        _failing_read(app)
    assert seen == ["rollback"]


def test_a_request_that_only_read_ends_in_commit(app: Flask) -> None:
    with _endings(app) as seen, app.app_context():
        session = db.session()
        session.scalar(select(func.count()).select_from(LoginThrottle))
        session.scalars(select(LoginThrottle).where(LoginThrottle.ref == b"x")).all()
    assert seen == ["commit"]


def test_a_query_whose_common_table_expression_only_reads_ends_in_commit(app: Flask) -> None:
    """As the queue's filters by proposal and violation: built as a SELECT, WITH first."""
    carriers = select(LoginThrottle.ref).where(LoginThrottle.failures > 1).cte("carriers")
    query = select(func.count()).select_from(carriers)
    with _endings(app) as seen, app.app_context():
        session = db.session()
        assert str(query.compile()).startswith("WITH")
        session.scalar(query)
    assert seen == ["commit"]


def _changing_cte(session: Session) -> None:
    added = (
        insert(LoginThrottle)
        .values(ref=b"w", failures=1, last_failure_at=NOW)
        .returning(LoginThrottle.ref)
        .cte("added")
    )
    session.execute(select(added.c.ref).add_cte(added))


def _changing_cte_text(session: Session) -> None:
    session.execute(
        text(
            "with added as (insert into login_throttles (ref, failures, last_failure_at)"
            " values (:r, 1, :t) returning ref) select ref from added"
        ),
        {"r": b"w", "t": NOW},
    )


@pytest.mark.parametrize(
    "write", [_changing_cte, _changing_cte_text], ids=["built as a SELECT", "SQL text"]
)
def test_a_common_table_expression_that_writes_is_rolled_back(
    app: Flask, write: Callable[[Session], None]
) -> None:
    with app.app_context():
        if db.engine().dialect.name != "postgresql":
            pytest.skip("SQLite allows no INSERT inside WITH")
    with _endings(app) as seen, app.app_context():
        write(db.session())
    assert seen == ["rollback"]
    assert not _stored(app, b"w")


def test_a_request_that_committed_its_write_keeps_it_and_ends_its_reads_in_commit(
    app: Flask,
) -> None:
    with _endings(app) as seen, app.app_context():
        session = db.session()
        _core_insert(session)
        session.commit()
        session.scalar(select(func.count()).select_from(LoginThrottle))
    assert seen == ["commit", "commit"]
    assert _stored(app, b"w")


def test_a_connection_keeps_its_prepared_statements_across_requests(app: Flask) -> None:
    """The reason for all this: psycopg prepares a query it saw 5 times, until a rollback.

    One request at a time, after the fixture emptied the pool: every request
    here takes the same pooled connection, the last one too.
    """
    with app.app_context():
        if db.engine().dialect.name != "postgresql":
            pytest.skip("prepared statements are psycopg's (PostgreSQL)")
    query = select(LoginThrottle.ref).where(LoginThrottle.failures > 3)
    for _ in range(8):
        with app.app_context():
            db.session().execute(query).all()
    with app.app_context():
        prepared = db.session().scalar(
            text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :like"),
            {"like": "%login_throttles.failures >%"},
        )
    assert prepared == 1
