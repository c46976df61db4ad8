"""Invite → password → TOTP enrolment → login, through the real pages."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import db
from registry.auth import service as auth
from registry.models import Account, Role, StaffSession
from tests.helpers import StaffActions, csrf_token, english_client, post_form, totp_code


def _invite(app: Flask, email: str | None, role: Role = Role.REVIEWER) -> str:
    with app.app_context():
        session = db.session()
        token = auth.create_invite(session, email=email, role=role, valid_for=timedelta(hours=72))
        session.commit()
    return token


def _choose(client: FlaskClient, token: str, password: str, email: str = "") -> str:
    page = client.get(f"/staff/invite/{token}").get_data(as_text=True)
    response = client.post(
        f"/staff/invite/{token}",
        data={
            "csrf_token": csrf_token(page),
            "email": email,
            "password": password,
            "confirm": password,
        },
    )
    return (
        response.get_data(as_text=True)
        if response.status_code == 200
        else response.headers["Location"]
    )


def test_full_enrolment_and_login(app: Flask, client: FlaskClient) -> None:
    token = _invite(app, "new@example.org")
    assert _choose(client, token, StaffActions.PASSWORD).endswith("/staff/enrol")
    page = client.get("/staff/enrol").get_data(as_text=True)
    assert "<svg" in page  # the QR code is inline SVG, no external image
    secret_text = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page)
    assert secret_text
    import base64

    secret = base64.b32decode(secret_text.group(1) + "=" * (-len(secret_text.group(1)) % 8))
    now = int(time.time() // 30)
    done = client.post(
        "/staff/enrol", data={"csrf_token": csrf_token(page), "code": totp_code(secret, now - 1)}
    )
    # Recovery codes are shown once, and the page stays until they are saved.
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([0-9A-Z-]{19})</code></li>", done.get_data(as_text=True))
    assert len(codes) == 10
    kept = client.post(
        "/staff/recovery-codes/saved",
        data={"csrf_token": csrf_token(page), "codes": " ".join(codes)},
    )
    assert kept.status_code == 200
    assert "Please save your recovery codes first." in kept.get_data(as_text=True)
    assert codes[0] in kept.get_data(as_text=True)
    saved = client.post(
        "/staff/recovery-codes/saved",
        data={"csrf_token": csrf_token(page), "codes": " ".join(codes), "saved": "y"},
    )
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith("/staff/login")
    # The invite cannot be used again.
    assert client.get(f"/staff/invite/{token}").status_code == 404
    login = client.get("/staff/login").get_data(as_text=True)
    ok = client.post(
        "/staff/login",
        data={
            "csrf_token": csrf_token(login),
            "email": "NEW@example.org",
            "password": StaffActions.PASSWORD,
            "code": totp_code(secret, now),
        },
    )
    assert ok.status_code == 303
    assert client.get("/review/").status_code == 200


def test_weak_passwords_are_refused(app: Flask, client: FlaskClient) -> None:
    token = _invite(app, "weak@example.org")
    assert "at least 12 characters" in _choose(client, token, "short")
    assert "too easy to guess" in _choose(client, token, "password1234")
    assert "too easy to guess" in _choose(client, token, "qwertyuiop123")
    with app.app_context():
        assert db.session().scalars(select(Account)).all() == []


def test_setup_link_asks_for_email_and_makes_admin(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        session = db.session()
        token = auth.ensure_setup_invite(session, timedelta(hours=72))
        session.commit()
    assert token
    assert _choose(client, token, StaffActions.PASSWORD, email="boss@example.org").endswith(
        "/staff/enrol"
    )
    with app.app_context():
        account = db.session().scalars(select(Account)).one()
        assert (account.email, account.role, account.active) == ("boss@example.org", "admin", False)


def test_expired_invite_is_refused(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        session = db.session()
        token = auth.create_invite(
            session, email="late@example.org", role=Role.REVIEWER, valid_for=timedelta(seconds=-1)
        )
        session.commit()
    assert client.get(f"/staff/invite/{token}").status_code == 404


def test_login_failures_say_the_same_thing(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    reviewer = staff.create("same@example.org")
    messages = set()
    for email, password in [
        ("same@example.org", "wrong password here"),
        ("nobody@example.org", reviewer.password),
    ]:
        response = post_form(
            client,
            "/staff/login",
            {
                "email": email,
                "password": password,
                "code": "123456",
            },
        )
        assert response.status_code == 200
        messages.add(re.search(r"<li>([^<]+)</li>", response.get_data(as_text=True)).group(1))  # type: ignore[union-attr]
    assert messages == {"Email, password or code is wrong."}


def test_totp_code_cannot_be_replayed(app: Flask, client: FlaskClient, staff: StaffActions) -> None:
    reviewer = staff.create("replay@example.org")
    staff.login(client, reviewer)
    used = staff.last_step(reviewer)
    assert used is not None
    other = english_client(app)
    response = post_form(
        other,
        "/staff/login",
        {
            "email": reviewer.email,
            "password": reviewer.password,
            "code": totp_code(reviewer.totp_secret, used),
        },
    )
    assert response.status_code == 200
    assert "Email, password or code is wrong." in response.get_data(as_text=True)


def test_logout_deletes_server_session_and_clears_site_data(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    reviewer = staff.create("bye@example.org")
    staff.login(client, reviewer)
    cookie = client.get_cookie("sv_staff")
    assert cookie is not None
    page = client.get("/review/").get_data(as_text=True)
    response = client.post("/staff/logout", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303
    assert "cookies" in response.headers["Clear-Site-Data"]
    with app.app_context():
        assert db.session().scalars(select(StaffSession)).all() == []
    # The old cookie value no longer opens anything.
    client.set_cookie("sv_staff", cookie.value)
    assert client.get("/review/").status_code == 303


def test_session_row_holds_no_usable_key(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    reviewer = staff.create("row@example.org")
    staff.login(client, reviewer)
    cookie = client.get_cookie("sv_staff")
    assert cookie is not None
    # A forged cookie with the right id but a different secret cannot open the key.
    import base64

    raw = base64.urlsafe_b64decode(cookie.value + "=" * (-len(cookie.value) % 4))
    forged = base64.urlsafe_b64encode(raw[:32] + bytes(32)).decode().rstrip("=")
    client.set_cookie("sv_staff", forged)
    from tests.helpers import submit_report

    public = app.test_client()
    submit_report(public)
    with app.app_context():
        from registry.models import Report

        public_id = db.session().scalars(select(Report)).one().public_id
    assert client.get(f"/review/case/{public_id}").status_code == 401


def test_idle_session_expires(app: Flask, client: FlaskClient, staff: StaffActions) -> None:
    reviewer = staff.create("idle@example.org")
    staff.login(client, reviewer)
    with app.app_context():
        session = db.session()
        row = session.scalars(select(StaffSession)).one()
        row.last_seen_at = row.last_seen_at - timedelta(minutes=31)
        session.commit()
    assert client.get("/review/").status_code == 303
    with app.app_context():
        assert db.session().scalars(select(StaffSession)).all() == []


def test_invite_link_replayed_in_another_browser_cannot_take_over(
    app: Flask, client: FlaskClient
) -> None:
    token = _invite(app, "bound@example.org")
    assert _choose(client, token, StaffActions.PASSWORD).endswith("/staff/enrol")
    with app.app_context():
        before = db.session().scalars(select(Account)).one()
        key_before, seed_before = before.locked_private_key, before.sealed_totp_secret
    intruder = english_client(app)
    # The page itself says the invitation is in use elsewhere.
    page = intruder.get(f"/staff/invite/{token}")
    assert page.status_code == 404
    assert "in another browser" in page.get_data(as_text=True)
    # A form posted with a CSRF token from another page cannot restart enrolment either.
    form_page = intruder.get("/staff/login").get_data(as_text=True)
    restart = intruder.post(
        f"/staff/invite/{token}",
        data={
            "csrf_token": csrf_token(form_page),
            "password": "another long passphrase 99",
            "confirm": "another long passphrase 99",
        },
    )
    assert restart.status_code == 404
    # Nor reach the TOTP step, where the seed is shown.
    assert intruder.get("/staff/enrol").status_code == 404
    with app.app_context():
        after = db.session().scalars(select(Account)).one()
        assert (after.locked_private_key, after.sealed_totp_secret) == (key_before, seed_before)
    # The first browser can still restart (a new key pair) and finish.
    assert _choose(client, token, StaffActions.PASSWORD).endswith("/staff/enrol")
    assert client.get("/staff/enrol").status_code == 200


def test_enrolment_secret_is_checked_by_the_services(app: Flask) -> None:
    from registry import runtime

    token = _invite(app, "svc@example.org")
    with app.app_context():
        session, cfg = db.session(), runtime.config()
        invite = auth.find_invite(session, token)
        first = auth.choose_password(
            session,
            invite,
            email="",
            password=StaffActions.PASSWORD,
            params=runtime.password_params(cfg),
            browser_secret=None,
        )
        session.commit()
        stored = invite.enrolment_ref
        assert stored is not None
        assert first.browser_secret not in stored  # only a hash is kept
        for wrong in (None, b"x" * 32):
            with pytest.raises(auth.EnrolmentElsewhere):
                auth.choose_password(
                    session,
                    invite,
                    email="",
                    password=StaffActions.PASSWORD,
                    params=runtime.password_params(cfg),
                    browser_secret=wrong,
                )
            secret = auth.enrolment_totp_secret(first.account, first.browser_secret)
            # A wrong browser secret does not open the seed either.
            with pytest.raises(auth.EnrolmentOutdated):
                auth.enrolment_totp_secret(first.account, wrong)
            with pytest.raises(auth.EnrolmentElsewhere):
                auth.confirm_totp(
                    session,
                    invite,
                    first.account,
                    StaffActions(app).next_code(secret, None),
                    browser_secret=wrong,
                )
            session.rollback()
        account = session.get(Account, first.account.id)
        assert account is not None
        assert account.active is False
