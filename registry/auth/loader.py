"""Who is logged in: Flask-Login fed from the server-side session cookie."""

from __future__ import annotations

from datetime import timedelta

from flask import Request, abort, g

from registry import db, runtime
from registry.auth.sessions import (
    COOKIE,
    CannotOpen,
    LiveSession,
    Timeouts,
    resume_session,
    session_private_key,
)
from registry.auth.throttle import ThrottlePolicy
from registry.models import Account
from registry.web.extensions import login_manager


def timeouts() -> Timeouts:
    """Session lifetimes from configuration."""
    return Timeouts.from_config(runtime.config())


def skip_identity() -> None:
    """Treat this request as anonymous from now on, without the database.

    Error pages call this before they render.  Flask-Login's template
    context asks for the user on every render; on an error page that would
    be database work in the error path, and while the database is down it
    would fail again and turn the error page into the server's bare 500.
    No error page shows anything that depends on who is logged in.
    """
    g.skip_identity = True


@login_manager.request_loader
def load_account(request: Request) -> Account | None:
    """Identity comes only from the staff session cookie, checked server-side."""
    if g.get("skip_identity") or request.endpoint in db.WITHOUT_DATABASE:
        # Pages that must work during an outage ("Leave now" and its empty
        # page) need nobody's identity, so they never consult the database.
        return None
    live = resume_session(db.session(), request.cookies.get(COOKIE), timeouts())
    if live is None:
        return None
    g.live_session = live
    return live.account


def live_session() -> LiveSession:
    """The current request's staff session (the view must be login-protected)."""
    live: LiveSession | None = g.get("live_session")
    if live is None:
        abort(401)
    return live


def private_key() -> bytes:
    """The logged-in person's private key, opened with the cookie's secret."""
    try:
        return session_private_key(live_session())
    except CannotOpen:
        abort(401)


def login_throttle() -> ThrottlePolicy:
    """The staff login throttle: limits from configuration, key from the keyring."""
    cfg = runtime.config()
    return ThrottlePolicy(
        key=runtime.keyring().throttle_key,
        free_attempts=cfg.login_free_attempts,
        first_wait=timedelta(seconds=cfg.login_first_wait_seconds),
        longest_wait=timedelta(seconds=cfg.login_longest_wait_seconds),
        forget_after=timedelta(hours=cfg.login_forget_hours),
        max_idle_rows=cfg.login_throttle_rows,
    )
