"""Expired staff rows go, live ones stay, and a second run finds nothing (both backends)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from config import Config
from registry.auth import recovery
from registry.auth.sessions import Timeouts, resume_session, start_session
from registry.maintenance.framework import JobContext
from registry.maintenance.jobs import JOBS
from registry.maintenance.runner import run_once
from registry.models import Account, Invite, LoginThrottle, RecoveryCode, StaffSession
from registry.models.base import utcnow
from tests.helpers import StaffActions, factor_key_of

MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)


def _session(db: Session, account: Account, *, created: timedelta, seen: timedelta) -> str:
    """A staff session started ``created`` ago and last seen ``seen`` ago; its cookie."""
    cookie = start_session(db, account, os.urandom(96))
    db.flush()
    row = db.scalars(select(StaffSession).order_by(StaffSession.id.desc())).first()
    assert row is not None
    now = utcnow()
    row.created_at, row.last_seen_at = now - created, now - seen
    return cookie


def _invite(db: Session, *, expires: timedelta, used: timedelta | None = None) -> int:
    """An invite expiring ``expires`` from now (negative: past), used ``used`` ago."""
    now = utcnow()
    invite = Invite(
        token_hash=os.urandom(32),
        email=f"{os.urandom(4).hex()}@example.org",
        role="reviewer",
        expires_at=now + expires,
        used_at=None if used is None else now - used,
    )
    db.add(invite)
    db.flush()
    return invite.id


def _throttle(db: Session, *, failed: timedelta, blocked_for: timedelta | None = None) -> bytes:
    now, ref = utcnow(), os.urandom(32)
    db.add(
        LoginThrottle(
            ref=ref,
            failures=5,
            last_failure_at=now - failed,
            blocked_until=None if blocked_for is None else now + blocked_for,
        )
    )
    return ref


def _count(db: Session, model: type[object]) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_expired_rows_go_live_ones_stay_and_the_next_run_finds_nothing(
    app: Flask,
    staff: StaffActions,
    cfg: Config,
    engine: Engine,
    context: Callable[[], JobContext],
) -> None:
    person = staff.create("kept@example.org")
    factor_key = factor_key_of(app, person)
    with Session(engine) as db, db.begin():
        account = db.get(Account, person.account_id)
        assert account is not None
        gone = Account(email="gone@example.org", role="reviewer", active=False)
        removed = Account(email="removed@example.org", role="reviewer", removed_at=utcnow())
        db.add_all([gone, removed])
        db.flush()
        # Sessions (idle 30 min, absolute 12 h in the testing configuration).
        fresh = _session(db, account, created=MINUTE, seen=MINUTE * 0)
        almost_idle = _session(db, account, created=HOUR, seen=MINUTE * 29)
        _session(db, account, created=HOUR, seen=MINUTE * 32)
        _session(db, account, created=HOUR * 12 + MINUTE * 2, seen=MINUTE)
        _session(db, gone, created=MINUTE, seen=MINUTE)
        # Invites: live, expired within the grace hour, expired, used long ago.
        live = _invite(db, expires=HOUR * 72)
        just_expired = _invite(db, expires=-MINUTE * 30)
        _invite(db, expires=-HOUR * 2)
        _invite(db, expires=HOUR, used=HOUR * 2)
        # Recovery codes: ten fresh ones, one spent; three of a removed account.
        codes = recovery.issue_codes(db, person.account_id, factor_key)
        assert recovery.use_code(db, person.account_id, codes[0], factor_key)
        for _ in range(3):
            db.add(RecoveryCode(account_id=removed.id, code_hash=os.urandom(32)))
        # Login counters: stale (forgotten after 24 h), recent, stale but still blocking.
        _throttle(db, failed=HOUR * 25)
        recent = _throttle(db, failed=HOUR)
        blocking = _throttle(db, failed=HOUR * 25, blocked_for=HOUR)
    # staff.create's own invite was used a moment ago: inside the grace hour.
    with Session(engine) as db:
        invites_before = _count(db, Invite)

    first = run_once(context(), JOBS)

    assert first.ok
    summary = first.summary()
    assert "sessions 3, invites 2, recovery codes 4, login throttle 1" in summary
    assert not summary.startswith("maintain: nothing to do")
    with Session(engine) as db:
        timeouts = Timeouts(
            idle=timedelta(minutes=cfg.session_idle_minutes),
            absolute=timedelta(hours=cfg.session_absolute_hours),
        )
        # What maintenance keeps, the login check still accepts (one rule).
        assert _count(db, StaffSession) == 2
        assert resume_session(db, fresh, timeouts) is not None
        assert resume_session(db, almost_idle, timeouts) is not None
        remaining = set(db.scalars(select(Invite.id)))
        assert {live, just_expired} <= remaining
        assert len(remaining) == invites_before - 2
        assert recovery.unused_count(db, person.account_id) == 9
        assert _count(db, RecoveryCode) == 9
        # The spent code, its row deleted, is refused exactly as before.
        assert not recovery.use_code(db, person.account_id, codes[0], factor_key)
        assert recovery.use_code(db, person.account_id, codes[1], factor_key)
        db.rollback()
        assert set(db.scalars(select(LoginThrottle.ref))) == {recent, blocking}

    second = run_once(context(), JOBS)

    assert second.ok
    assert second.idle
    assert second.summary().startswith("maintain: nothing to do; sessions 0, invites 0, ")


def test_a_session_login_refuses_as_idle_is_one_maintenance_deletes(
    cfg: Config, engine: Engine, context: Callable[[], JobContext]
) -> None:
    with Session(engine) as db, db.begin():
        account = Account(email="idle@example.org", role="reviewer", active=True)
        db.add(account)
        db.flush()
        # Idle for the timeout and the grace minute, and a moment more.
        for_login = _session(db, account, created=HOUR, seen=MINUTE * 31 + timedelta(seconds=1))
        _session(db, account, created=HOUR, seen=MINUTE * 31 + timedelta(seconds=1))
    timeouts = Timeouts(
        idle=timedelta(minutes=cfg.session_idle_minutes),
        absolute=timedelta(hours=cfg.session_absolute_hours),
    )
    with Session(engine) as db:
        # The login check refuses (and deletes) its copy; maintenance the other.
        assert resume_session(db, for_login, timeouts) is None
        assert _count(db, StaffSession) == 1
    assert "sessions 1," in run_once(context(), JOBS).summary()
    with Session(engine) as db:
        assert _count(db, StaffSession) == 0
