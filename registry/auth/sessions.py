"""Server-side staff sessions (docs/keys.md#session-keys).

The cookie holds a random session id and a random session secret.  The
server keeps only SHA-256 of the id and the account's private key sealed
under the secret: a copy of the database cannot use a live session's key,
and deleting the row (logout, password change, removal) revokes it.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, bindparam, delete, or_, select
from sqlalchemy.orm import Session

from config import Config
from registry.crypto import CannotOpen, new_session_secret, open_for_session, seal_for_session
from registry.models import Account, StaffSession
from registry.models.base import utcnow

COOKIE = "sv_staff"
# Writing last_seen on every request would turn each page view into a
# write; a minute of slack on a 30-minute idle timeout is harmless.
TOUCH_INTERVAL = timedelta(seconds=60)


@dataclass(frozen=True)
class Timeouts:
    """Idle and absolute lifetime of a staff session."""

    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_config(cls, cfg: Config) -> Timeouts:
        """The lifetimes the configuration sets."""
        return cls(
            idle=timedelta(minutes=cfg.session_idle_minutes),
            absolute=timedelta(hours=cfg.session_absolute_hours),
        )

    def expired(self, now: datetime) -> ColumnElement[bool]:
        """SQL: the sessions :func:`resume_session` refuses for their age at ``now``."""
        return or_(
            StaffSession.last_seen_at < now - self.idle,
            StaffSession.created_at < now - self.absolute,
        )


@dataclass(frozen=True)
class LiveSession:
    """A session that passed every check, for the current request."""

    row: StaffSession
    account: Account
    secret: bytes


def _ref(session_id: bytes) -> bytes:
    return hashlib.sha256(b"sviedka/session-ref\x00" + session_id).digest()


def _encode(session_id: bytes, secret: bytes) -> str:
    return base64.urlsafe_b64encode(session_id + secret).decode().rstrip("=")


def _decode(cookie: str) -> tuple[bytes, bytes] | None:
    try:
        raw = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) != 64:
        return None
    return raw[:32], raw[32:]


def start_session(db: Session, account: Account, private_key: bytes) -> str:
    """Create a session for ``account``; return the cookie value.

    A fresh id on every login (never reused from before authentication)
    rules out session fixation.
    """
    session_id = os.urandom(32)
    secret = new_session_secret()
    ref = _ref(session_id)
    db.add(
        StaffSession(
            ref=ref,
            account_id=account.id,
            sealed_private_key=seal_for_session(private_key, secret, session_ref=ref),
        )
    )
    return _encode(session_id, secret)


# Built once (registry.records.access says why).
_SESSION_AND_ACCOUNT = (
    select(StaffSession, Account)
    .outerjoin(Account, Account.id == StaffSession.account_id)
    .where(StaffSession.ref == bindparam("ref"))
)


def resume_session(
    db: Session, cookie: str | None, timeouts: Timeouts, now: datetime | None = None
) -> LiveSession | None:
    """Find the live session for ``cookie``; expired ones are deleted."""
    if not cookie:
        return None
    decoded = _decode(cookie)
    if decoded is None:
        return None
    session_id, secret = decoded
    # The session and its account in one round trip: every staff page asks
    # this first.  An outer join, so a session whose account row is gone is
    # still found, and judged below exactly as before (expired: deleted;
    # otherwise refused for want of an active account).
    found = db.execute(_SESSION_AND_ACCOUNT, {"ref": _ref(session_id)}).first()
    if found is None:
        return None
    row, account = found
    now = now or utcnow()
    if now - row.last_seen_at > timeouts.idle or now - row.created_at > timeouts.absolute:
        db.delete(row)
        db.commit()
        return None
    if account is None or not account.active:
        return None
    if now - row.last_seen_at > TOUCH_INTERVAL:
        row.last_seen_at = now
        db.commit()
    return LiveSession(row=row, account=account, secret=secret)


def session_private_key(live: LiveSession) -> bytes:
    """Open the private key sealed to this session.

    Raises :class:`CannotOpen` when the cookie's secret does not match.
    """
    return open_for_session(live.row.sealed_private_key, live.secret, session_ref=live.row.ref)


def end_session(db: Session, live: LiveSession) -> None:
    """Delete one session (logout)."""
    db.delete(live.row)


def end_all_sessions(db: Session, account_id: int) -> None:
    """Delete every session of an account (log out everywhere, removal)."""
    db.execute(delete(StaffSession).where(StaffSession.account_id == account_id))


def end_other_sessions(db: Session, live: LiveSession) -> None:
    """Delete every session of the account except ``live`` (password change)."""
    db.execute(
        delete(StaffSession).where(
            StaffSession.account_id == live.row.account_id, StaffSession.id != live.row.id
        )
    )


__all__ = [
    "COOKIE",
    "CannotOpen",
    "LiveSession",
    "Timeouts",
    "end_all_sessions",
    "end_other_sessions",
    "end_session",
    "resume_session",
    "session_private_key",
    "start_session",
]
