"""Recovery codes: one-time stand-ins for a TOTP code."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from registry import db
from registry.auth import recovery
from registry.models import AuditEvent, RecoveryCode
from tests.helpers import Staff, StaffActions, english_client, factor_key_of, post_form

WRONG = "Email, password or code is wrong."
CODES = re.compile(r"<li><code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})</code></li>")


def _issue(app: Flask, person: Staff) -> list[str]:
    key = factor_key_of(app, person)
    with app.app_context():
        session = db.session()
        codes = recovery.issue_codes(session, person.account_id, key)
        session.commit()
    return codes


def _login(app: Flask, person: Staff, code: str) -> TestResponse:
    return post_form(
        english_client(app),
        "/staff/login",
        {"email": person.email, "password": person.password, "code": code},
    )


def _actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session().scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_a_recovery_code_logs_in_once(app: Flask, staff: StaffActions) -> None:
    person = staff.create("lost-phone@example.org")
    codes = _issue(app, person)
    # Typed sloppily: lower case, spaces instead of dashes.
    assert _login(app, person, codes[0].lower().replace("-", " ")).status_code == 303
    assert _actions(app)[-2:] == ["account.recovery-code-used", "account.login"]
    again = _login(app, person, codes[0])
    assert again.status_code == 200
    assert WRONG in again.get_data(as_text=True)
    # The other codes still work, each once.
    assert _login(app, person, codes[1].replace("-", "")).status_code == 303
    with app.app_context():
        used = db.session().scalars(select(RecoveryCode).where(RecoveryCode.used_at.is_not(None)))
        assert len(list(used)) == 2
        assert recovery.unused_count(db.session(), person.account_id) == 8


def test_a_wrong_code_gets_the_generic_answer(app: Flask, staff: StaffActions) -> None:
    person = staff.create("guess@example.org")
    codes = _issue(app, person)
    other = staff.create("other@example.org")
    others = _issue(app, other)
    for attempt in ("ABCD-EFGH-JKMN-PQRS", others[0], codes[0][:-1]):
        response = _login(app, person, attempt)
        assert response.status_code == 200
        assert WRONG in response.get_data(as_text=True)
    assert "account.recovery-code-used" not in _actions(app)
    # A right code with a wrong password is refused too, and not spent.
    wrong_password = post_form(
        english_client(app),
        "/staff/login",
        {"email": person.email, "password": "not the password at all", "code": codes[0]},
    )
    assert WRONG in wrong_password.get_data(as_text=True)
    assert _login(app, person, codes[0]).status_code == 303


def test_codes_are_stored_as_hashes_bound_to_the_account(app: Flask, staff: StaffActions) -> None:
    person = staff.create("hash@example.org")
    other = staff.create("thief@example.org")
    codes = _issue(app, person)
    with app.app_context():
        session = db.session()
        rows = list(session.scalars(select(RecoveryCode)))
        stored = b"".join(r.code_hash for r in rows)
        for code in codes:
            assert code.replace("-", "").encode() not in stored
        # Someone with write access moves the hashes to their own account: useless.
        for row in rows:
            if row.account_id == person.account_id:
                row.account_id = other.account_id
        session.commit()
    assert WRONG in _login(app, other, codes[0]).get_data(as_text=True)


def test_normalising_typed_codes() -> None:
    canonical = recovery.normalize_code("abcd efgh-jkmn-pqrs")
    assert canonical == "ABCDEFGHJKMNPQRS"
    # O and I/L read as 0 and 1, as on receipts.
    assert recovery.normalize_code("O1L0-0000-0000-0000") == "0110000000000000"
    for bad in ("ABCD-EFGH-JKMN-PQR", "ABCD-EFGH-JKMN-PQRSS", "ÄBCD-EFGH-JKMN-PQRS", "U" * 16, ""):
        assert recovery.normalize_code(bad) is None
    assert recovery.shown_form("A" * 16) == "AAAA-AAAA-AAAA-AAAA"


def test_new_codes_need_the_password_and_replace_the_old(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    person = staff.create("renew@example.org")
    old = _issue(app, person)
    staff.login(client, person)
    refused = post_form(
        client,
        "/staff/account/recovery-codes",
        {"codes_password": "not my password really"},
        form_page="/staff/account",
    )
    assert refused.status_code == 422
    assert "The password is wrong." in refused.get_data(as_text=True)
    assert CODES.findall(refused.get_data(as_text=True)) == []
    shown = post_form(
        client,
        "/staff/account/recovery-codes",
        {"codes_password": person.password},
        form_page="/staff/account",
    )
    assert shown.status_code == 200
    new = CODES.findall(shown.get_data(as_text=True))
    assert len(set(new)) == 10
    assert not set(new) & set(old)
    assert "account.recovery-codes-replaced" in _actions(app)
    # Saving them leads back to the account page (this person is logged in).
    saved = post_form(
        client,
        "/staff/recovery-codes/saved",
        {"codes": " ".join(new), "saved": "y"},
        form_page="/staff/account",
    )
    assert saved.headers["Location"].endswith("/staff/account")
    assert WRONG in _login(app, person, old[0]).get_data(as_text=True)
    assert _login(app, person, new[0]).status_code == 303


def test_the_saved_step_reshows_only_code_shaped_text(app: Flask, client: FlaskClient) -> None:
    codes = " ".join(["ABCD-EFGH-JKMN-PQRS"] * 9 + ["<b>hello</b>"])
    response = post_form(
        client, "/staff/recovery-codes/saved", {"codes": codes}, form_page="/staff/login"
    )
    assert response.status_code == 400
    short = post_form(
        client,
        "/staff/recovery-codes/saved",
        {"codes": "ABCD-EFGH-JKMN-PQRS"},
        form_page="/staff/login",
    )
    assert short.status_code == 400
