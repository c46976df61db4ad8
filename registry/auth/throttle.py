"""Staff login throttling that every worker shares (promise 5, docs/threat-model.md#promise-5).

Counters live in the database (:class:`~registry.models.LoginThrottle`),
not in a worker's memory: with a per-process counter, N workers let an
attacker try N times as often, and a request that lands on another worker
is not refused at all.  Two kinds of counter, one row each:

- **name**: every attempt with an email as typed (normalised) that does not
  log in, whether or not an account has that email.  Unknown emails get a
  row and a wait exactly like known ones, so the answers never tell which
  emails have accounts.
- **code**: wrong TOTP or recovery codes after the right password, per
  account.  Reaching it means someone else may know the password.

After ``free_attempts`` failures a counter blocks its key: every attempt is
refused *without checking the password or code* until the wait ends; each
further failure (checked after a wait ended) doubles the wait, up to
``longest_wait``.  Attempts refused while blocked do not count: they tested
nothing, and counting them would let anyone who knows a colleague's email
keep them locked out for ever with a cheap loop.

Rows are keyed by an HMAC under a key derived from ``keys/secret.key``, so
a copy of the database alone does not say which addresses were tried.
Nothing about a request's origin is ever a key or stored (promise 3): a
state attacker has addresses to spare, while an address would identify a
person.  Rows are forgotten a while after their last failure and the
number of idle rows is capped, so random emails cannot grow the table
without bound.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from registry import audit
from registry.auth.locking import write_lock
from registry.models import Account, LoginThrottle

PASSWORD = "password"  # noqa: S105  (a stage name, not a password)
CODE = "code"


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures are free, how long the waits are, and the HMAC key."""

    key: bytes
    free_attempts: int = 5
    first_wait: timedelta = timedelta(minutes=1)
    longest_wait: timedelta = timedelta(hours=1)
    forget_after: timedelta = timedelta(hours=24)
    max_idle_rows: int = 10_000

    def wait_after(self, failures: int) -> timedelta | None:
        """The wait that ``failures`` failures in a row impose, or ``None``."""
        if failures < self.free_attempts:
            return None
        # Bounded exponent: the product stays small before the cap applies.
        doublings = min(failures - self.free_attempts, 32)
        return min(self.first_wait * (1 << doublings), self.longest_wait)


@dataclass(frozen=True)
class Blocked:
    """The key is blocked: refuse unchecked until ``until``."""

    until: datetime


@dataclass(frozen=True)
class Counted:
    """This attempt is counted: ``failures`` so far (this one included).

    ``wait`` is the wait this failure imposes (already stored), or ``None``.
    """

    failures: int
    wait: timedelta | None


def normalise_email(email: str) -> str:
    """The email as accounts store it (``authenticate`` looks it up the same way)."""
    return email.strip().lower()


def _ref(policy: ThrottlePolicy, stage: str, value: str) -> bytes:
    return hmac.new(policy.key, f"{stage}\x00{value}".encode(), hashlib.sha256).digest()


def name_ref(policy: ThrottlePolicy, email: str) -> bytes:
    """The key of the counter for logins with ``email`` (as typed, normalised)."""
    return _ref(policy, PASSWORD, normalise_email(email))


def code_ref(policy: ThrottlePolicy, account_id: int) -> bytes:
    """The key of the counter for wrong codes after the right password."""
    return _ref(policy, CODE, str(account_id))


def _utc(now: datetime) -> datetime:
    # SQLite compares stored times as text: every time must be UTC.
    return now.astimezone(UTC)


def _idle(now: datetime) -> ColumnElement[bool]:
    return or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until <= now)


def forget_old(db: Session, forget_after: timedelta, now: datetime) -> int:
    """Delete counters that no longer block and saw no failure for ``forget_after``; how many.

    Run at every failed login, and by ``registry maintain`` (a registry
    with no failed login would otherwise keep them).
    """
    # A typo a day ago says nothing about an attack now; and rows for
    # random emails must not pile up.  A row that still blocks stays.
    result = db.execute(
        delete(LoginThrottle)
        .where(_idle(now), LoginThrottle.last_failure_at < now - forget_after)
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount or 0)


def _insert_missing(db: Session, ref: bytes, now: datetime) -> bool:
    """Insert an empty counter for ``ref`` unless one exists; True if inserted.

    ON CONFLICT DO NOTHING: two workers creating the same row at once on
    PostgreSQL must not fail one login with a unique violation.
    """
    dialect = sqlite if db.connection().dialect.name == "sqlite" else postgresql
    statement = (
        dialect.insert(LoginThrottle)
        .values(ref=ref, failures=0, last_failure_at=now, blocked_until=None)
        .on_conflict_do_nothing(index_elements=["ref"])
        # RETURNING, not rowcount: the ORM's insert does not report rowcount
        # on every driver; no row comes back when the row already existed.
        .returning(LoginThrottle.ref)
    )
    return db.execute(statement).first() is not None


def _evict(db: Session, policy: ThrottlePolicy, now: datetime, keep: bytes) -> None:
    """Keep at most ``max_idle_rows`` idle counters, dropping the oldest.

    WHY only idle rows, and all of them alike: a blocked row must hold
    however many rows a flood creates, and treating known and unknown
    emails the same way means eviction cannot reveal which is which.  A
    flood evicting a known account's idle count gains the attacker at most
    ``free_attempts - 1`` guesses per ``max_idle_rows`` attempts.
    """
    idle = db.scalar(select(func.count()).select_from(LoginThrottle).where(_idle(now))) or 0
    excess = idle - policy.max_idle_rows
    if excess <= 0:
        return
    oldest = (
        select(LoginThrottle.ref)
        .where(_idle(now), LoginThrottle.ref != keep)
        .order_by(LoginThrottle.last_failure_at)
        .limit(excess)
    )
    db.execute(delete(LoginThrottle).where(LoginThrottle.ref.in_(oldest)))


def _locked_row(db: Session, ref: bytes) -> LoginThrottle | None:
    return db.get(LoginThrottle, ref, with_for_update=True, populate_existing=True)


def count_attempt(
    db: Session, policy: ThrottlePolicy, ref: bytes, now: datetime
) -> Counted | Blocked:
    """Atomically check the counter ``ref`` and count one failure in advance.

    WHY in advance: the check that follows (Argon2id) is slow; counting
    only after it would let several workers all pass a counter that stands
    one below the limit.  Here the row is locked (``BEGIN IMMEDIATE`` on
    SQLite, ``FOR UPDATE`` on PostgreSQL), checked and incremented in one
    step, so at most one attempt gets the last free check.  A success then
    :func:`forgive` s the counter; a crash between leaves it counted, which
    fails safe.  The caller commits.
    """
    now = _utc(now)
    write_lock(db)
    forget_old(db, policy.forget_after, now)
    created = _insert_missing(db, ref, now)
    row = _locked_row(db, ref)
    if row is None:  # pragma: no cover  (inserted above, in this transaction)
        raise RuntimeError("throttle row vanished")
    if row.blocked_until is not None and row.blocked_until > now:
        return Blocked(row.blocked_until)
    if row.last_failure_at < now - policy.forget_after:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    wait = policy.wait_after(row.failures)
    if wait is not None:
        row.blocked_until = now + wait
    if created:
        _evict(db, policy, now, keep=ref)
    return Counted(row.failures, wait)


def blocked_until(db: Session, ref: bytes, now: datetime) -> datetime | None:
    """When the counter ``ref`` stops blocking, or ``None`` if it does not block.

    Read under the same lock as :func:`count_attempt`, so a check made just
    after another worker blocked the key sees the block.
    """
    now = _utc(now)
    write_lock(db)
    row = _locked_row(db, ref)
    if row is None or row.blocked_until is None or row.blocked_until <= now:
        return None
    return row.blocked_until


def begin_login(
    db: Session, policy: ThrottlePolicy, email: str, account_id: int | None, now: datetime
) -> Counted | Blocked:
    """Before a password is checked: refuse if blocked, else count the attempt.

    Blocked when the typed email's counter blocks, or when the account with
    that email has too many wrong codes: then the password is not checked
    either (a login needs both, and a checked password would still be an
    answer to the guesser).  The caller commits, before the slow check.
    """
    if account_id is not None:
        until = blocked_until(db, code_ref(policy, account_id), now)
        if until is not None:
            return Blocked(until)
    return count_attempt(db, policy, name_ref(policy, email), now)


def audit_block(db: Session, account_id: int | None, stage: str, counted: Counted) -> None:
    """Audit a failure that made an account wait (promise 7: admins see attacks).

    Codes only, never the password or code tried.  Unknown emails get no
    event: anyone could grow the append-only log with random ones (the
    people page counts them instead).
    """
    if account_id is None or counted.wait is None:
        return
    audit.record(
        db,
        actor=audit.account_actor(account_id),
        action="account.login-throttled",
        detail=f"stage={stage},failures={counted.failures},"
        f"wait={int(counted.wait.total_seconds())}",
    )


def forgive(db: Session, *refs: bytes) -> None:
    """Forget the counters ``refs`` (after a success, or an administrator's lift)."""
    db.execute(delete(LoginThrottle).where(LoginThrottle.ref.in_(refs)))


@dataclass(frozen=True)
class AccountBlock:
    """An account that cannot log in now, until when, and whether its password was right."""

    until: datetime
    # The code counter blocks: someone typed the right password with wrong codes.
    password_used: bool


@dataclass(frozen=True)
class Overview:
    """What administrators see: blocked accounts, and how many other emails are blocked."""

    accounts: dict[int, AccountBlock]
    other_names: int


def overview(
    db: Session, policy: ThrottlePolicy, accounts: Iterable[Account], now: datetime
) -> Overview:
    """Which of ``accounts`` are blocked now, and how many blocked rows match none.

    The rows hold HMACs only, so they are matched by computing the keys of
    each account (a few dozen HMACs).
    """
    now = _utc(now)
    keys: dict[bytes, tuple[int, str]] = {}
    for account in accounts:
        keys[name_ref(policy, account.email)] = (account.id, PASSWORD)
        keys[code_ref(policy, account.id)] = (account.id, CODE)
    blocking = LoginThrottle.blocked_until > now
    rows = db.execute(
        select(LoginThrottle.ref, LoginThrottle.blocked_until).where(
            blocking, LoginThrottle.ref.in_(list(keys))
        )
    ).all()
    found: dict[int, AccountBlock] = {}
    for row in rows:
        account_id, stage = keys[row.ref]
        until: datetime = row.blocked_until
        earlier = found.get(account_id)
        found[account_id] = AccountBlock(
            until=max(until, earlier.until) if earlier else until,
            password_used=stage == CODE or (earlier is not None and earlier.password_used),
        )
    total = db.scalar(select(func.count()).select_from(LoginThrottle).where(blocking)) or 0
    return Overview(accounts=found, other_names=total - len(rows))


def lift(db: Session, policy: ThrottlePolicy, account: Account) -> None:
    """Forget both of ``account``'s counters, so it can log in at once."""
    forgive(db, name_ref(policy, account.email), code_ref(policy, account.id))
