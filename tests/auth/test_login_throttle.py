"""Login throttling that holds across workers (promise 5, docs/threat-model.md#promise-5).

Counters live in the database, so they hold with Flask-Limiter off (as in
the testing configuration), across app instances (workers) and under
races.  Time is the explicit ``now`` of ``authenticate``; nothing sleeps.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from registry import create_app, db, runtime
from registry.auth import loader, throttle
from registry.auth import service as auth
from registry.models import AuditEvent, LoginThrottle
from registry.models.base import utcnow
from tests.helpers import Staff, StaffActions, english_client, post_form, totp_code

WRONG = "Email, password or code is wrong."
WRONG_PASSWORD = "not the password at all"
PAUSED = "Too many failed attempts with this email address. Try again in 1 minute."
# The 5 free attempts and the 60 s first wait of the default configuration.
FREE = 5
FIRST_WAIT = timedelta(seconds=60)
LONGEST_WAIT = timedelta(hours=1)


def _post_login(client: FlaskClient, email: str, password: str, code: str) -> TestResponse:
    return post_form(client, "/staff/login", {"email": email, "password": password, "code": code})


def _step(now: datetime) -> int:
    return int(now.timestamp() // 30)


def _code(person: Staff, now: datetime) -> str:
    return totp_code(person.totp_secret, _step(now))


def _wrong_code(person: Staff, now: datetime) -> str:
    """A 6-digit code that no step around ``now`` accepts."""
    valid = {totp_code(person.totp_secret, _step(now) + d) for d in (-1, 0, 1)}
    return next(c for c in (f"{n:06d}" for n in range(10)) if c not in valid)


def _try(app: Flask, email: str, password: str, code: str, now: datetime) -> object:
    """Log in through the service like the view does: "ok", "wrong" or the wait left."""
    with app.app_context():
        session, cfg = db.session(), runtime.config()
        try:
            auth.authenticate(
                session,
                email=email,
                password=password,
                code=code,
                params=runtime.password_params(cfg),
                local_key=runtime.keyring().local_key,
                policy=loader.login_throttle(),
                now=now,
            )
        except auth.Throttled as throttled:
            session.commit()
            return throttled.retry_after
        except auth.LoginFailed:
            session.commit()
            return "wrong"
        session.commit()
        return "ok"


def _rows(app: Flask) -> list[LoginThrottle]:
    with app.app_context():
        return list(db.session().scalars(select(LoginThrottle)))


def _row(app: Flask, ref: bytes) -> LoginThrottle | None:
    with app.app_context():
        return db.session().get(LoginThrottle, ref)


def _refs(app: Flask, person: Staff) -> tuple[bytes, bytes]:
    with app.app_context():
        policy = loader.login_throttle()
        return throttle.name_ref(policy, person.email), throttle.code_ref(policy, person.account_id)


def _events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session().scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_wrong_passwords_throttle_the_account(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    person = staff.create("target@example.org")
    for _ in range(FREE):
        answer = _post_login(client, person.email, WRONG_PASSWORD, "123456")
        assert answer.status_code == 200
        assert WRONG in answer.get_data(as_text=True)
    refused = _post_login(client, person.email, WRONG_PASSWORD, "123456")
    assert refused.status_code == 429
    assert PAUSED in refused.get_data(as_text=True)
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    # The right password and a fresh code are refused too, and not checked:
    # the code is not spent and the attempt is not counted.
    before = staff.last_step(person)
    right = _post_login(
        client, person.email, person.password, staff.next_code(person.totp_secret, before)
    )
    assert right.status_code == 429
    assert staff.last_step(person) == before
    name_ref, _code_ref = _refs(app, person)
    row = _row(app, name_ref)
    assert row is not None
    assert row.failures == FREE
    assert _events(app, "account.login") == []


def test_unknown_emails_are_throttled_the_same_way(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    """An unknown email gets the same answers, so they tell nobody which emails exist."""
    staff.create("known@example.org")
    answers = {}
    for email in ("known@example.org", "nobody@example.org"):
        other = english_client(app)
        answers[email] = [
            (
                r.status_code,
                r.get_data(as_text=True).count(WRONG),
                PAUSED in r.get_data(as_text=True),
            )
            for r in (_post_login(other, email, WRONG_PASSWORD, "123456") for _ in range(FREE + 1))
        ]
    assert answers["known@example.org"] == answers["nobody@example.org"]
    assert answers["nobody@example.org"][-1] == (429, 0, True)
    # The rows hold an HMAC of the email, never the email.
    rows = _rows(app)
    assert len(rows) == 2
    for row in rows:
        assert len(row.ref) == 32
        assert b"example.org" not in row.ref
        assert row.failures == FREE
    # The email is normalised, as accounts are: another spelling is the same counter.
    assert _post_login(client, " NoBody@Example.ORG ", "x" * 12, "123456").status_code == 429


def test_wrong_codes_after_the_right_password_throttle(app: Flask, staff: StaffActions) -> None:
    person = staff.create("phished@example.org")
    now = utcnow() + timedelta(minutes=5)
    for _ in range(FREE):
        assert _try(app, person.email, person.password, _wrong_code(person, now), now) == "wrong"
    name_ref, code_ref = _refs(app, person)
    # The password was right each time: its counter is gone, the code counter blocks.
    assert _row(app, name_ref) is None
    row = _row(app, code_ref)
    assert row is not None
    assert row.failures == FREE
    # Right credentials, and a wrong password, are refused unchecked.
    assert _try(app, person.email, person.password, _code(person, now), now) == FIRST_WAIT
    assert _try(app, person.email, WRONG_PASSWORD, _code(person, now), now) == FIRST_WAIT
    (event,) = _events(app, "account.login-throttled")
    assert event.actor == f"account:{person.account_id}"
    assert event.detail == "stage=code,failures=5,wait=60"


def test_recovery_codes_count_as_codes(app: Flask, staff: StaffActions) -> None:
    person = staff.create("recovery@example.org")
    now = utcnow()
    for _ in range(FREE):
        assert _try(app, person.email, person.password, "AAAA-BBBB-CCCC-DDDD", now) == "wrong"
    assert _try(app, person.email, person.password, "AAAA-BBBB-CCCC-DDDD", now) == FIRST_WAIT


def test_the_wait_doubles_up_to_an_hour(app: Flask, staff: StaffActions) -> None:
    person = staff.create("slow@example.org")
    now = utcnow()
    for _ in range(FREE):
        assert _try(app, person.email, WRONG_PASSWORD, "123456", now) == "wrong"
    # 1, 2, 4, … 32 minutes, then capped at an hour.
    expected = [min(FIRST_WAIT * 2**k, LONGEST_WAIT) for k in range(9)]
    wait = FIRST_WAIT
    for following in expected[1:]:
        # Tries during the wait are refused and do not make it longer.
        assert _try(app, person.email, WRONG_PASSWORD, "123456", now) == wait
        half = now + wait / 2
        assert _try(app, person.email, WRONG_PASSWORD, "123456", half) == wait / 2
        now += wait
        assert _try(app, person.email, WRONG_PASSWORD, "123456", now) == "wrong"
        wait = min(following, LONGEST_WAIT)
        assert _try(app, person.email, WRONG_PASSWORD, "123456", now) == wait
    assert wait == LONGEST_WAIT
    # Every failure that started a wait is in the audit log, none for refusals.
    details = [e.detail for e in _events(app, "account.login-throttled")]
    assert details[0] == "stage=password,failures=5,wait=60"
    assert details[-1] == "stage=password,failures=13,wait=3600"
    assert len(details) == len(expected)


def test_right_credentials_are_refused_until_the_wait_ends_then_reset(
    app: Flask, staff: StaffActions
) -> None:
    person = staff.create("patient@example.org")
    now = utcnow()
    for _ in range(FREE):
        assert _try(app, person.email, WRONG_PASSWORD, "123456", now) == "wrong"
    later = now + FIRST_WAIT - timedelta(seconds=1)
    assert _try(app, person.email, person.password, _code(person, later), later) == timedelta(
        seconds=1
    )
    after = now + FIRST_WAIT
    assert _try(app, person.email, person.password, _code(person, after), after) == "ok"
    # A success forgets both counters: the next typo starts from zero.
    assert _rows(app) == []
    assert _try(app, person.email, WRONG_PASSWORD, "123456", after) == "wrong"
    (row,) = _rows(app)
    assert (row.failures, row.blocked_until) == (1, None)


def test_two_app_instances_share_the_counters(app: Flask, staff: StaffActions) -> None:
    """Two ``create_app`` on one database and one keys directory: like two workers."""
    person = staff.create("shared@example.org")
    other = create_app(app.extensions["registry.config"])
    try:
        first, second = english_client(app), english_client(other)
        for n in range(FREE):
            client = first if n % 2 else second
            assert _post_login(client, person.email, WRONG_PASSWORD, "123456").status_code == 200
        for client in (first, second):
            code = staff.next_code(person.totp_secret, staff.last_step(person))
            assert _post_login(client, person.email, person.password, code).status_code == 429
    finally:
        with other.app_context():
            db.engine().dispose()


def test_racing_workers_get_no_check_past_the_limit(app: Flask, staff: StaffActions) -> None:
    """One free attempt left, four workers at once: exactly one is checked."""
    person = staff.create("race@example.org")
    now = utcnow()
    for _ in range(FREE - 1):
        assert _try(app, person.email, WRONG_PASSWORD, "123456", now) == "wrong"
    other = create_app(app.extensions["registry.config"])
    start = threading.Barrier(4)
    outcomes: list[object] = []

    def attempt(worker: Flask) -> None:
        start.wait(timeout=10)
        outcomes.append(_try(worker, person.email, WRONG_PASSWORD, "123456", now))

    try:
        threads = [threading.Thread(target=attempt, args=(w,)) for w in (app, other, app, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        with other.app_context():
            db.engine().dispose()
    assert sorted(map(str, outcomes)) == sorted(["wrong", *[str(FIRST_WAIT)] * 3])
    name_ref, _code_ref = _refs(app, person)
    row = _row(app, name_ref)
    assert row is not None
    assert row.failures == FREE


def test_a_login_waits_for_a_counter_another_worker_holds(app: Flask, staff: StaffActions) -> None:
    """The check reads the counter under a lock: it sees what the holder wrote."""
    person = staff.create("held@example.org")
    now = utcnow()
    assert _try(app, person.email, WRONG_PASSWORD, "123456", now) == "wrong"
    name_ref, _code_ref = _refs(app, person)
    outcome: list[object] = []
    thread = threading.Thread(
        target=lambda: outcome.append(_try(app, person.email, WRONG_PASSWORD, "123456", now))
    )
    with app.app_context(), db.engine().connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        conn.execute(
            select(LoginThrottle.ref).where(LoginThrottle.ref == name_ref).with_for_update()
        )
        thread.start()
        time.sleep(1.0)
        waited = thread.is_alive()
        # Meanwhile "another worker" blocks the name.
        conn.execute(
            update(LoginThrottle)
            .where(LoginThrottle.ref == name_ref)
            .values(failures=FREE, blocked_until=now + FIRST_WAIT)
        )
        conn.commit()
    thread.join(timeout=20)
    assert waited, "the login did not wait for the counter's lock"
    assert outcome == [FIRST_WAIT]


def test_throttling_is_audited_without_what_was_typed(app: Flask, staff: StaffActions) -> None:
    person = staff.create("audited@example.org")
    now = utcnow()
    secret_guess = "Guess-Number-7-xyz"
    for email in (person.email, "ghost@example.org"):
        for _ in range(FREE + 2):
            _try(app, email, secret_guess, "654321", now)
    (event,) = _events(app, "account.login-throttled")
    assert event.actor == f"account:{person.account_id}"
    assert event.detail == "stage=password,failures=5,wait=60"
    with app.app_context():
        stored = [
            f"{e.actor} {e.action} {e.detail}" for e in db.session().scalars(select(AuditEvent))
        ]
    assert not any(secret_guess in text or "654321" in text for text in stored)
    assert not any("ghost" in text for text in stored)


def test_old_counters_are_forgotten_and_idle_ones_capped(app: Flask) -> None:
    """Random emails cannot grow the table: idle rows expire and are capped."""
    now = utcnow()
    with app.app_context():
        policy = loader.login_throttle()
        capped = throttle.ThrottlePolicy(
            key=policy.key, free_attempts=FREE, max_idle_rows=3, forget_after=timedelta(hours=24)
        )
        session = db.session()

        def fail(email: str, at: datetime) -> object:
            result = throttle.count_attempt(session, capped, throttle.name_ref(capped, email), at)
            session.commit()
            return result

        for _ in range(FREE):
            fail("blocked@example.org", now)
        for n in range(6):
            fail(f"random-{n}@example.org", now + timedelta(seconds=n + 1))
        refs = {row.ref for row in session.scalars(select(LoginThrottle))}
        # The blocked row and the 3 newest idle ones.
        newest = {throttle.name_ref(capped, f"random-{n}@example.org") for n in (3, 4, 5)}
        assert refs == newest | {throttle.name_ref(capped, "blocked@example.org")}
        # A day after the last failure, everything idle is forgotten.
        fail("late@example.org", now + timedelta(hours=25))
        (row,) = session.scalars(select(LoginThrottle))
        assert row.ref == throttle.name_ref(capped, "late@example.org")


def test_the_pause_is_explained_in_the_visitors_language(app: Flask) -> None:
    client = app.test_client()
    client.get("/lang/be")
    for _ in range(FREE):
        _post_login(client, "hto@example.org", WRONG_PASSWORD, "123456")
    page = _post_login(client, "hto@example.org", WRONG_PASSWORD, "123456")
    assert page.status_code == 429
    assert "Паспрабуйце зноў праз 1 хвіліну." in page.get_data(as_text=True)
