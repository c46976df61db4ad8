"""Administrators see throttled logins on the people page and can lift them."""

from __future__ import annotations

import re
from datetime import UTC

from babel.dates import format_datetime
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import db
from registry.models import AuditEvent, LoginThrottle, Role
from tests.helpers import Staff, StaffActions, csrf_token, english_client, post_form

PAUSED = "Login paused after failed attempts, until"
PASSWORD_KNOWN = "someone else may know it"
WRONG_PASSWORD = "not the password"


def _fail(email: str, app: Flask, *, password: str = WRONG_PASSWORD, code: str = "123456") -> int:
    client = english_client(app)
    answer = post_form(client, "/staff/login", {"email": email, "password": password, "code": code})
    return answer.status_code


def _admin(app: Flask, staff: StaffActions) -> tuple[Staff, FlaskClient]:
    admin = staff.create("admin@example.org", role=Role.ADMIN)
    client = english_client(app)
    staff.login(client, admin)
    return admin, client


def test_admins_see_paused_logins(app: Flask, staff: StaffActions) -> None:
    guessed = staff.create("guessed@example.org")
    phished = staff.create("phished@example.org")
    staff.create("calm@example.org")
    for _ in range(5):
        _fail(guessed.email, app)
        _fail("nobody@example.org", app)
        _fail(phished.email, app, password=phished.password, code="AAAA-BBBB-CCCC-DDDD")
    _admin_person, client = _admin(app, staff)
    page = client.get("/staff/people").get_data(as_text=True)
    rows = {
        email: page.split(email, 1)[1].split("</tr>", 1)[0]
        for email in (guessed.email, phished.email, "calm@example.org")
    }
    assert PAUSED in rows[guessed.email]
    # The time in the page's words ("Dec 5, 2026, 1:52:07 AM"), not as ISO digits.
    with app.app_context():
        ends = db.session().scalars(select(LoginThrottle.blocked_until)).all()
    shown = {
        format_datetime(end.replace(tzinfo=UTC), "medium", tzinfo=UTC, locale="en")
        for end in ends
        if end is not None
    }
    assert any(f"{PAUSED} {time} UTC." in rows[guessed.email] for time in shown)
    assert re.search(r"\d{4}-\d\d-\d\d", rows[guessed.email]) is None
    assert PASSWORD_KNOWN not in rows[guessed.email]
    assert PAUSED in rows[phished.email]
    assert PASSWORD_KNOWN in rows[phished.email]
    assert PAUSED not in rows["calm@example.org"]
    assert "Allow login now" not in rows["calm@example.org"]
    # The unknown email is counted, not named (the row holds only an HMAC).
    assert "Login is also paused for 1 email address that has no account here." in page
    assert "nobody@example.org" not in page


def test_an_admin_lifts_a_pause_and_the_person_logs_in(app: Flask, staff: StaffActions) -> None:
    target = staff.create("locked-out@example.org")
    for _ in range(5):
        _fail(target.email, app)
    assert _fail(target.email, app, password=target.password) == 429
    admin, client = _admin(app, staff)
    page = client.get("/staff/people").get_data(as_text=True)
    assert "Allow login now" in page
    lifted = client.post(
        f"/staff/people/{target.account_id}/unthrottle", data={"csrf_token": csrf_token(page)}
    )
    assert lifted.status_code == 303
    assert "locked-out@example.org can log in again now." in client.get("/staff/people").get_data(
        as_text=True
    )
    with app.app_context():
        session = db.session()
        assert session.scalars(select(LoginThrottle)).all() == []
        (event,) = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "account.throttle-lifted")
        )
        assert (event.actor, event.detail) == (
            f"account:{admin.account_id}",
            f"account:{target.account_id}",
        )
    staff.login(english_client(app), target)


def test_only_admins_lift_pauses(app: Flask, staff: StaffActions) -> None:
    target = staff.create("target@example.org")
    for _ in range(5):
        _fail(target.email, app)
    reviewer = staff.create("reviewer@example.org")
    client = english_client(app)
    staff.login(client, reviewer)
    answer = post_form(
        client, f"/staff/people/{target.account_id}/unthrottle", {}, form_page="/staff/account"
    )
    assert answer.status_code == 404
    assert _fail(target.email, app, password=target.password) == 429
