"""Database engine and request-scoped sessions.

Plain SQLAlchemy 2: one engine per database URL in a process (so one per
app in a worker), one session per request (or per CLI command), removed at
teardown, where a transaction that only read ends in COMMIT and any other
in ROLLBACK (:func:`_end_request` says why).  Service functions never
reach for a global session; views pass :func:`session` to them explicitly.

An unreachable database is an outage, not a bug: :func:`is_outage` tells
the error handlers which exceptions mean "try again later" (503), and
every request that needs the database finds out before its view runs.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, request
from sqlalchemy import (
    Connection,
    Dialect,
    Engine,
    Select,
    create_engine,
    event,
    make_url,
    text,
)
from sqlalchemy.exc import (
    DBAPIError,
    InterfaceError,
    InvalidatePoolError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from registry.models.writelock import BUSY_TIMEOUT_MS

_EXTENSION = "registry.db"

# Seconds a connection attempt to PostgreSQL may take.  Without a bound, an
# unreachable host (packets dropped, not refused) holds a worker for the
# kernel's TCP timeout of minutes, and the person gets the front server's
# bare timeout page instead of the outage page.
CONNECT_TIMEOUT_SECONDS = 5

# Endpoints that answer without the database, even while it is down.
# "Leave now" and its empty page must work in every state of the site: a
# person in danger who presses it must not be shown an error page naming
# the registry.  The language switcher lets the outage page be read in the
# person's language; static files let it be styled.
WITHOUT_DATABASE = frozenset({"static", "intake.leave", "intake.neutral", "lang.set_language"})

# Blueprints whose views check out a connection only when they query.
# WHY the published evidence: its pages are answered from the worker's
# memory most of the time (registry/evidence/views.py), and a connection
# checked out for nothing costs a rollback on PostgreSQL (after a pause a
# ping too), which would halve the pages' throughput.  During an outage a cached page
# (published figures only) is still served; one that must query raises in
# its view, and the error handlers answer the outage page as for any other.
# No default-deny check runs against the database there: every evidence
# endpoint is public (registry/web/security.py).
LAZY_DATABASE_BLUEPRINTS = frozenset({"evidence"})


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Foreign keys keep withdrawn reports from leaving orphaned rows;
    # secure_delete overwrites freed pages so deleted ciphertext and wraps do
    # not linger in the file for a seized disk to recover.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create an engine with the settings this project relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return _tracking_writes(engine)
    connect_args: dict[str, Any] = {}
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    # pool_use_lifo: the connection used last is taken again, so the few a
    # worker keeps busy hold the statements psycopg prepared on them (see
    # _end_request); taken in turn, each would have to see a query five
    # times before preparing it.
    engine = create_engine(url, pool_use_lifo=True, connect_args=connect_args)
    # A new connection has just answered: it counts as used, not idle.
    event.listen(engine, "connect", _note_checkin)
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _ping_if_idle(engine.dialect))
    return _tracking_writes(engine)


# A pooled connection idle for longer than this is pinged when it is taken
# again; one back from a request within this time is not.
PING_AFTER_IDLE_SECONDS = 0.5
_IDLE_SINCE = "registry.db.idle_since"


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _ping_if_idle(dialect: Dialect) -> Callable[[Any, Any, Any], None]:
    """A checkout hook: does a connection that sat idle still reach the server?

    A connection that died with the server (restart, failover) is then
    replaced before the request uses it, so the site recovers by itself
    when the database returns, without a restart of the workers.  WHY not
    SQLAlchemy's pool_pre_ping, which pings at every checkout: that is a
    round trip on every request (and, on a loaded machine, a wait for the
    server's turn on the CPU), spent mostly on connections that answered a
    moment ago.  As in HikariCP (its alive-bypass window, 500 ms), a
    connection back from a request less than half a second ago is trusted.
    If the server went away within that half second, the request that
    takes it fails as in any outage (the outage page; nothing it sent is
    kept), and SQLAlchemy then replaces every older pooled connection.
    A ping that finds a dead connection does the same at once: the other
    pooled connections went with the server, trusted or not.
    """

    def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if not dialect.is_disconnect(error, dbapi_connection, None):
                raise  # a database error, not a lost connection: the outage page
            # The pool replaces this connection and every older one.
            raise InvalidatePoolError() from error
        if not alive:
            raise InvalidatePoolError()

    return ping


# Ending a request's transaction (see _end_request).  Kept in the pooled
# connection's info: False when the connection begins a transaction, True
# after any statement that is not a SELECT.  Absent (a connection this
# module did not watch) counts as written.
_WROTE = "registry.db.wrote"
# The connection of the session's current transaction (session.info).
_CONNECTION = "registry.db.connection"


def _tracking_writes(engine: Engine) -> Engine:
    """``engine``, noting in each connection whether its transaction wrote."""
    event.listen(engine, "begin", _forget_writes)
    event.listen(engine, "before_cursor_execute", _note_write)
    return engine


def _forget_writes(conn: Connection) -> None:
    conn.info[_WROTE] = False


# Words of a data-changing statement, as SQLAlchemy writes them (upper case).
_CHANGES = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE)\b")


def _note_write(
    conn: Connection, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
) -> None:
    # Conservative on purpose: a read is a plain SELECT (SELECT … FOR UPDATE
    # included: a read whose lock any ending releases), or a query built
    # as a SELECT whose common table expressions change nothing (the
    # queue's filters by proposal and violation).  Everything else counts
    # as a write: DML, a data-changing CTE, SQL text, BEGIN IMMEDIATE.
    head = statement.lstrip()[:6].upper()
    if head == "SELECT":
        return
    built = getattr(getattr(context, "compiled", None), "statement", None)
    if head.startswith("WITH") and isinstance(built, Select) and not _CHANGES.search(statement):
        return
    conn.info[_WROTE] = True


def _end_request(factory: scoped_session[Session], error: BaseException | None) -> None:
    """End the request's transaction: COMMIT when it only read, else ROLLBACK.

    WHY not always a rollback: psycopg forgets every prepared statement of
    a connection when it rolls back (it cannot tell what the rollback
    undid), so a pool whose requests all end in ROLLBACK never prepares a
    statement, and PostgreSQL parses and plans every query of every page
    afresh: 1.4 of the 2.6 ms of its CPU per case page (bench, issue 10).
    For a transaction that only read, COMMIT and ROLLBACK are the same.
    Everything else is rolled back exactly as before: a session holding
    objects it never flushed, a transaction that sent anything but a
    SELECT, one whose connection was lost, and one ended by an exception
    that reached this teardown (the error pages answer most of them
    first; what they answered is judged by what it sent, as above).  So a
    view that wrote and did not commit still writes nothing.

    The session is removed whatever happens here: a thread whose session
    stayed behind would fail every later request it serves.
    """
    try:
        if factory.registry.has():
            session = factory()
            # Should judging or COMMIT fail (a lost connection), the rollback
            # in remove() ends the transaction: a read loses nothing.
            with contextlib.suppress(SQLAlchemyError):
                if error is None and session.in_transaction() and _only_read(session):
                    session.commit()
    finally:
        factory.remove()


def _keep_connection(session: Session, _transaction: Any, connection: Connection) -> None:
    session.info[_CONNECTION] = connection


def _only_read(session: Session) -> bool:
    if session.new or session.dirty or session.deleted:
        return False
    # The connection the transaction holds, never a new one: during an
    # outage the transaction began but no connection was made, and trying
    # again here would wait out the connect timeout once more.
    conn: Connection | None = session.info.get(_CONNECTION)
    if conn is None or conn.closed or conn.invalidated or not conn.in_transaction():
        return False
    return conn.info.get(_WROTE, True) is False


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` means the database is unreachable or unusable for now.

    OperationalError covers a refused or lost connection, a server shutting
    down, and SQLite's "database is locked", read-only or missing file;
    InterfaceError a connection already closed; a pool timeout every
    connection taken.  Any other DBAPI error counts only when SQLAlchemy
    saw the connection die under it.  Constraint violations and SQL errors
    are bugs and stay 500s.
    """
    if isinstance(error, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


_ALIVE = text("SELECT 1")


def _require_database() -> None:
    """Reach the database before the view runs (raises when it is down).

    Checking out the request's connection here means that during an outage
    every page answers the outage page, not only those that happen to
    query, and that the default-deny login check after this hook never
    runs against a dead database.  The connection is the one the view then
    uses, so a page that queries anyway pays nothing extra.  Within half a
    second of the server's death a pooled connection is trusted unpinged
    (_ping_if_idle): a page that sends no statement may then still show,
    and the login check fails closed (its query raises: the outage page).
    """
    if request.endpoint in WITHOUT_DATABASE or request.blueprint in LAZY_DATABASE_BLUEPRINTS:
        return
    if request.mimetype == "multipart/form-data":
        # WHY check and hand back: a multipart body (an upload) is read after
        # this hook and may take half an hour over Tor.  Holding a pooled
        # connection all that time would let a few slow uploads take every
        # connection and stop the site; the view checks one out again once
        # the body is in.  A statement, not a checkout alone: a connection
        # trusted unpinged (_ping_if_idle) must not let a half-hour upload
        # begin against a server that is gone.
        with engine().connect() as conn:
            conn.execute(_ALIVE)
            return
    session().connection()


# One engine per database URL for the apps of one process.  A gunicorn
# worker or a CLI command creates one app, so this changes nothing there;
# a process that creates many apps on one database (the test suite makes
# one per test) reuses the engine's compiled statements and its pool
# instead of compiling every statement and opening every connection anew.
_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _shared_engine(url: str) -> Engine:
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = make_engine(url)
        return engine


def init_app(app: Flask, url: str) -> None:
    """Attach an engine and a scoped session factory to ``app``.

    Called before the other extensions, so the database check runs before
    the CSRF, rate-limit and login hooks.
    """
    engine = _shared_engine(url)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    event.listen(sessions, "after_begin", _keep_connection)
    factory = scoped_session(sessions)
    app.extensions[_EXTENSION] = (engine, factory)
    app.before_request(_require_database)

    @app.teardown_appcontext
    def _remove_session(error: BaseException | None) -> None:
        _end_request(factory, error)


def session() -> Session:
    """The current app's session for this request or command."""
    _engine, factory = current_app.extensions[_EXTENSION]
    return factory()  # type: ignore[no-any-return]


def engine() -> Engine:
    """The current app's engine."""
    eng, _factory = current_app.extensions[_EXTENSION]
    return eng  # type: ignore[no-any-return]
