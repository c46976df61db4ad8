"""Staff rows that outlived their use: sessions, invites, recovery codes, login counters.

Each function takes an explicit session and the run's time, deletes in one
statement, and returns how many rows went; the caller commits.  WHY delete
what already no longer works: every such row is something a seized
database still shows (a sealed private key, an email, a code's tag, when
someone mistyped a password) for no purpose (promise 12).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, delete, or_, select
from sqlalchemy.orm import Session

from registry.auth.sessions import Timeouts
from registry.auth.throttle import forget_old
from registry.models import Account, Invite, RecoveryCode, StaffSession

# How long a used or expired invite row stays.  WHY not at once: a person
# whose link expires while they are on its page sends the form a moment
# later; with the row still there they are told the link expired
# (InviteInvalid), never given an error page because the row vanished
# under their request.  An hour is far longer than any page stays open
# for a request, and short enough that nothing lingers.
INVITE_GRACE = timedelta(hours=1)
# A session is deleted only a minute after it expired.  WHY: a request that
# found it live a moment before writes its last_seen_at next; deleting the
# row in between would turn that write into an error page.  A minute is far
# longer than that step takes, and the login check refuses the session from
# the moment it expires, so the minute gives no one anything.
SESSION_GRACE = timedelta(minutes=1)


def _deleted(db: Session, statement: Delete) -> int:
    # A bulk DELETE: no row is loaded into the session first.
    result = db.execute(statement.execution_options(synchronize_session=False))
    return int(cast(CursorResult[Any], result).rowcount or 0)


def delete_expired_sessions(db: Session, timeouts: Timeouts, now: datetime) -> int:
    """Delete sessions past their idle or absolute timeout, or of accounts that cannot log in.

    The rule is :func:`registry.auth.sessions.resume_session`'s, written as
    a query, applied :data:`SESSION_GRACE` late (tests/maintenance/test_accounts.py
    holds the two together): a session deleted here is one that function
    would refuse.  Until now an
    expired row went only when its cookie came back, so a browser that was
    simply closed left its sealed private key in the table for ever.
    """
    dead_accounts = select(Account.id).where(Account.active.is_(False))
    now = now - SESSION_GRACE
    return _deleted(
        db,
        delete(StaffSession).where(
            or_(timeouts.expired(now), StaffSession.account_id.in_(dead_accounts))
        ),
    )


def delete_spent_invites(db: Session, now: datetime) -> int:
    """Delete invites that expired or were used more than :data:`INVITE_GRACE` ago.

    Safe: :func:`registry.auth.service.find_invite` refuses used and expired
    invites alike, and a link whose row is gone is refused the same way, so
    deleting one changes no answer.  A used invite is kept no longer than
    an unused one: it names a person's email and role and opens nothing.
    """
    before = now - INVITE_GRACE
    return _deleted(
        db, delete(Invite).where(or_(Invite.expires_at < before, Invite.used_at < before))
    )


def delete_spent_recovery_codes(db: Session) -> int:
    """Delete used recovery codes and every code of a removed account.

    Deleting a used code cannot make it valid again:
    :func:`registry.auth.recovery.use_code` accepts only a row that exists
    *and* is unused, so a missing row is refused exactly like a used one,
    and new codes are only ever fresh random ones (80 bits) that replace
    all of an account's rows.  Removal already deletes the codes; the second
    condition catches rows left by an older version.
    """
    removed = select(Account.id).where(Account.removed_at.is_not(None))
    return _deleted(
        db,
        delete(RecoveryCode).where(
            or_(RecoveryCode.used_at.is_not(None), RecoveryCode.account_id.in_(removed))
        ),
    )


def delete_stale_throttle_rows(db: Session, forget_after: timedelta, now: datetime) -> int:
    """Delete login counters that no longer block and saw no failure for ``forget_after``.

    The rule is :func:`registry.auth.throttle.forget_old`'s, which otherwise
    runs only at the next failed login anywhere; until then each row says
    (to whoever holds ``keys/secret.key``) that some address was tried, and when.
    """
    return forget_old(db, forget_after, now)
