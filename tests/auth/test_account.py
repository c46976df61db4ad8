"""The account page: password change and logging out everywhere."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import db
from registry.auth import recovery
from registry.crypto import unlock_private_key
from registry.models import Account, AuditEvent, KeyWrap, Report, StaffSession
from tests.helpers import (
    Staff,
    StaffActions,
    english_client,
    factor_key_of,
    post_form,
    submit_report,
)

NEW_PASSWORD = "a brand new passphrase, quite long 7"
NARRATIVE = "They beat us in the bus."


def _case(app: Flask) -> str:
    submit_report(english_client(app), narrative=NARRATIVE)
    with app.app_context():
        return db.session().scalars(select(Report.public_id)).one()


def _wraps(app: Flask) -> list[tuple[int | None, bytes]]:
    with app.app_context():
        return [(w.account_id, w.wrapped) for w in db.session().scalars(select(KeyWrap))]


def _actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session().scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def _codes(app: Flask, person: Staff) -> list[str]:
    # Each test account has only three TOTP steps in the window; recovery
    # codes give the further logins a test needs.
    key = factor_key_of(app, person)
    with app.app_context():
        codes = recovery.issue_codes(db.session(), person.account_id, key)
        db.session().commit()
    return codes


def _login_with(client: FlaskClient, person: Staff, password: str, code: str) -> int:
    response = post_form(
        client, "/staff/login", {"email": person.email, "password": password, "code": code}
    )
    return response.status_code


def _change(client: FlaskClient, current: str, new: str, confirm: str | None = None) -> str:
    response = post_form(
        client,
        "/staff/account/password",
        {"current_password": current, "new_password": new, "confirm": confirm or new},
        form_page="/staff/account",
    )
    return str(response.status_code) + " " + response.get_data(as_text=True)


def test_password_change_keeps_the_key_and_ends_other_sessions(
    app: Flask, staff: StaffActions
) -> None:
    person = staff.create("change@example.org")
    codes = _codes(app, person)
    public_id = _case(app)
    wraps_before = _wraps(app)
    with app.app_context():
        account = db.session().get(Account, person.account_id)
        assert account is not None
        key_before = unlock_private_key(account.locked_private_key or b"", person.password)
    here, elsewhere = english_client(app), english_client(app)
    staff.login(here, person)
    staff.login(elsewhere, person)
    assert _change(here, person.password, NEW_PASSWORD).startswith("303")
    # This browser stays logged in and still opens the case; the other one is out.
    page = here.get(f"/review/case/{public_id}")
    assert page.status_code == 200
    assert NARRATIVE in page.get_data(as_text=True)
    assert elsewhere.get("/review/").status_code == 303
    with app.app_context():
        assert len(db.session().scalars(select(StaffSession)).all()) == 1
        account = db.session().get(Account, person.account_id)
        assert account is not None
        # The same private key, under the new password; no wrap changed.
        assert unlock_private_key(account.locked_private_key or b"", NEW_PASSWORD) == key_before
    assert _wraps(app) == wraps_before
    assert "account.password-changed" in _actions(app)
    # The old password no longer logs in; the new one does and opens the case.
    assert _login_with(english_client(app), person, person.password, codes[0]) == 200
    fresh = english_client(app)
    assert _login_with(fresh, person, NEW_PASSWORD, codes[0]) == 303
    assert NARRATIVE in fresh.get(f"/review/case/{public_id}").get_data(as_text=True)


def test_password_change_refusals_change_nothing(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    person = staff.create("keep@example.org")
    codes = _codes(app, person)
    staff.login(client, person)
    wrong = _change(client, "not the current password", NEW_PASSWORD)
    assert wrong.startswith("422")
    assert "The current password is wrong." in wrong
    weak = _change(client, person.password, "password1234")
    assert weak.startswith("422")
    assert "too easy to guess" in weak
    differ = _change(client, person.password, NEW_PASSWORD, NEW_PASSWORD + "x")
    assert "The passwords differ." in differ
    assert "account.password-changed" not in _actions(app)
    # Still the old password.
    assert _login_with(english_client(app), person, person.password, codes[0]) == 303


def test_log_out_everywhere(app: Flask, staff: StaffActions) -> None:
    person = staff.create("everywhere@example.org")
    other = staff.create("bystander@example.org")
    here, elsewhere, bystander = english_client(app), english_client(app), english_client(app)
    staff.login(here, person)
    staff.login(elsewhere, person)
    staff.login(bystander, other)
    cookie = here.get_cookie("sv_staff")
    assert cookie is not None
    assert "Browsers where you are logged in, this one included: 2." in here.get(
        "/staff/account"
    ).get_data(as_text=True)
    response = post_form(here, "/staff/account/sessions/end", {}, form_page="/staff/account")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/staff/login")
    assert "cookies" in response.headers["Clear-Site-Data"]
    assert elsewhere.get("/review/").status_code == 303
    assert elsewhere.get("/review/").headers["Location"].endswith("/staff/login")
    here.set_cookie("sv_staff", cookie.value)
    assert here.get("/review/").status_code == 303
    # Someone else's session is untouched.
    assert bystander.get("/review/").status_code == 200
    with app.app_context():
        rows = db.session().scalars(select(StaffSession)).all()
        assert [r.account_id for r in rows] == [other.account_id]
    assert "account.sessions-ended" in _actions(app)
