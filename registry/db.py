"""Database engine and request-scoped sessions.

Plain SQLAlchemy 2: one engine per app, one session per request (or per CLI
command), removed at teardown.  Service functions never reach for a global
session; views pass :func:`session` to them explicitly.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, scoped_session, sessionmaker

_EXTENSION = "registry.db"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Foreign keys keep withdrawn reports from leaving orphaned rows;
    # secure_delete overwrites freed pages so deleted ciphertext and wraps do
    # not linger in the file for a seized disk to recover.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create an engine with the settings this project relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def init_app(app: Flask, url: str) -> None:
    """Attach an engine and a scoped session factory to ``app``."""
    engine = make_engine(url)
    factory = scoped_session(sessionmaker(bind=engine, expire_on_commit=False))
    app.extensions[_EXTENSION] = (engine, factory)

    @app.teardown_appcontext
    def _remove_session(_exc: BaseException | None) -> None:
        factory.remove()


def session() -> Session:
    """The current app's session for this request or command."""
    _engine, factory = current_app.extensions[_EXTENSION]
    return factory()  # type: ignore[no-any-return]


def engine() -> Engine:
    """The current app's engine."""
    eng, _factory = current_app.extensions[_EXTENSION]
    return eng  # type: ignore[no-any-return]
