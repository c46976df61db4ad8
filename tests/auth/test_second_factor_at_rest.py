"""Second factors at rest: a seized disk (rows + keys/secret.key) without a password opens none.

Also the lazy move of accounts stored the older way (seed under the local
key, recovery codes as bare SHA-256), at the first use of their password.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from registry import db, runtime
from registry.auth import recovery
from registry.auth import service as auth
from registry.crypto import (
    CannotOpen,
    is_recovery_code_tag,
    open_enrolment,
    open_local,
    open_totp_seed,
    recovery_code_tag,
    seal_local,
)
from registry.crypto.envelope import Kind, kind_of
from registry.keyring import SECRET_FILE
from registry.models import Account, Invite, RecoveryCode, Role
from tests.helpers import (
    Staff,
    StaffActions,
    csrf_token,
    english_client,
    factor_key_of,
    post_form,
)

WRONG = "Email, password or code is wrong."
NEW_PASSWORD = "a brand new passphrase, quite long 7"
OLD_CODES = ["0123456789ABCDEF", "GHJKMNPQRSTVWXYZ", "ZYXWVTSRQPNMKJHG"]
CODES = re.compile(r"<li><code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})</code></li>")


def _server_keys(app: Flask) -> list[bytes]:
    """Every key a thief of the disk holds: secret.key itself and all it derives."""
    with app.app_context():
        ring, cfg = runtime.keyring(), runtime.config()
        raw = (cfg.keys_dir / SECRET_FILE).read_bytes()
    return [raw, ring.local_key, ring.flask_secret, ring.throttle_key]


def _local_key(app: Flask) -> bytes:
    """The deployment's local key (what sealed seeds before)."""
    with app.app_context():
        return runtime.keyring().local_key


def _old_digest(account_id: int, canonical: str) -> bytes:
    # The stored form of a recovery code before codes were keyed (pinned here
    # on purpose: it is what old databases hold).
    return hashlib.sha256(
        b"sviedka/recovery-code\x00" + str(account_id).encode() + b"\x00" + canonical.encode()
    ).digest()


def _rows(app: Flask, person: Staff) -> tuple[bytes, list[bytes]]:
    with app.app_context():
        session = db.session()
        account = session.get(Account, person.account_id)
        assert account is not None
        assert account.sealed_totp_secret is not None
        hashes = session.scalars(
            select(RecoveryCode.code_hash).where(RecoveryCode.account_id == person.account_id)
        )
        return account.sealed_totp_secret, list(hashes)


def _login(app: Flask, person: Staff, code: str, password: str | None = None) -> int:
    response = post_form(
        english_client(app),
        "/staff/login",
        {"email": person.email, "password": password or person.password, "code": code},
    )
    return response.status_code


def test_a_thief_with_the_rows_and_secret_key_opens_no_second_factor(
    app: Flask, staff: StaffActions
) -> None:
    person = staff.create("target@example.org")
    key = factor_key_of(app, person)
    with app.app_context():
        codes = recovery.issue_codes(db.session(), person.account_id, key)
        db.session().commit()
    sealed, hashes = _rows(app, person)
    ref = f"account/{person.account_id}"
    assert kind_of(sealed) is Kind.TOTP_SEED
    assert person.totp_secret not in sealed
    # The thief tries the old way, and every server key as the factor key.
    with pytest.raises(CannotOpen):
        open_local(_local_key(app), sealed, context=f"totp-secret/{person.account_id}")
    for server_key in _server_keys(app):
        with pytest.raises(CannotOpen):
            open_totp_seed(server_key, sealed, account_ref=ref)
    # A guessed code (here: a real one) cannot be tested against the rows.
    server_keys = _server_keys(app)
    for shown in codes:
        digest = _old_digest(person.account_id, shown.replace("-", ""))
        guesses = {recovery_code_tag(k, digest, account_ref=ref) for k in server_keys}
        assert not (guesses | {digest}) & set(hashes)
    # Control: with the password, the same rows open and check.
    assert open_totp_seed(key, sealed, account_ref=ref) == person.totp_secret
    digest = _old_digest(person.account_id, codes[0].replace("-", ""))
    assert recovery_code_tag(key, digest, account_ref=ref) in hashes


def test_an_enrolment_in_progress_opens_only_in_its_browser(app: Flask) -> None:
    with app.app_context():
        session, cfg = db.session(), runtime.config()
        token = auth.create_invite(
            session, email="halfway@example.org", role=Role.REVIEWER, valid_for=timedelta(hours=1)
        )
        enrolment = auth.choose_password(
            session,
            auth.find_invite(session, token),
            email="",
            password=StaffActions.PASSWORD,
            params=runtime.password_params(cfg),
            browser_secret=None,
        )
        session.commit()
        account_id = enrolment.account.id
        sealed = enrolment.account.sealed_totp_secret
        ref = session.scalars(select(Invite.enrolment_ref)).one()
    assert sealed is not None
    assert ref is not None
    assert kind_of(sealed) is Kind.ENROLMENT
    # The database holds only a hash of the browser's secret.
    assert enrolment.browser_secret not in ref
    for server_key in [*_server_keys(app), ref]:
        with pytest.raises(CannotOpen):
            open_enrolment(server_key, sealed, account_ref=f"account/{account_id}")


def _make_old(app: Flask, person: Staff) -> None:
    """Store ``person``'s seed and recovery codes as the previous version did."""
    with app.app_context():
        session = db.session()
        account = session.get(Account, person.account_id)
        assert account is not None
        account.sealed_totp_secret = seal_local(
            runtime.keyring().local_key,
            person.totp_secret,
            context=f"totp-secret/{person.account_id}",
        )
        session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == person.account_id))
        for canonical in OLD_CODES:
            digest = _old_digest(person.account_id, canonical)
            session.add(RecoveryCode(account_id=person.account_id, code_hash=digest))
        session.commit()


def _assert_moved(app: Flask, person: Staff) -> None:
    sealed, hashes = _rows(app, person)
    assert kind_of(sealed) is Kind.TOTP_SEED
    with pytest.raises(CannotOpen):
        open_local(_local_key(app), sealed, context=f"totp-secret/{person.account_id}")
    ref = f"account/{person.account_id}"
    assert open_totp_seed(factor_key_of(app, person), sealed, account_ref=ref) == person.totp_secret
    assert all(is_recovery_code_tag(h) for h in hashes)
    old = {_old_digest(person.account_id, c) for c in OLD_CODES}
    assert not old & set(hashes)


def test_an_old_account_moves_at_login_with_a_recovery_code(
    app: Flask, staff: StaffActions
) -> None:
    person = staff.create("old-codes@example.org")
    _make_old(app, person)
    # A wrong password moves nothing (there is no key to move it under).
    assert _login(app, person, OLD_CODES[0], password="not the password at all") == 200
    sealed, _ = _rows(app, person)
    assert kind_of(sealed) is Kind.LOCAL
    assert _login(app, person, OLD_CODES[0]) == 303
    _assert_moved(app, person)
    # The spent code stays spent; the others work once each, in the new format.
    assert _login(app, person, OLD_CODES[0]) == 200
    assert _login(app, person, OLD_CODES[1].lower()) == 303
    assert _login(app, person, OLD_CODES[1]) == 200


def test_an_old_account_moves_at_login_with_totp(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    person = staff.create("old-totp@example.org")
    _make_old(app, person)
    staff.login(client, person)
    _assert_moved(app, person)
    # Its old codes were moved too, and still work.
    assert _login(app, person, OLD_CODES[2]) == 303
    assert client.get("/review/").status_code == 200


def test_password_change_moves_an_old_account_in_the_same_transaction(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    person = staff.create("old-change@example.org")
    # Logged in before the upgrade: the session outlives it.
    staff.login(client, person)
    _make_old(app, person)
    response = post_form(
        client,
        "/staff/account/password",
        {
            "current_password": person.password,
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
        form_page="/staff/account",
    )
    assert response.status_code == 303
    moved = Staff(person.email, NEW_PASSWORD, person.role, person.totp_secret, person.account_id)
    _assert_moved(app, moved)
    # Seed and codes need no re-sealing for a new password: the same factor key.
    assert _login(app, moved, OLD_CODES[0]) == 303
    assert _login(app, person, OLD_CODES[1]) == 200  # the old password is out


def test_new_codes_move_an_old_account_first(
    app: Flask, client: FlaskClient, staff: StaffActions
) -> None:
    person = staff.create("old-renew@example.org")
    staff.login(client, person)
    _make_old(app, person)
    shown = post_form(
        client,
        "/staff/account/recovery-codes",
        {"codes_password": person.password},
        form_page="/staff/account",
    )
    assert shown.status_code == 200
    new = CODES.findall(shown.get_data(as_text=True))
    assert len(new) == 10
    sealed, hashes = _rows(app, person)
    assert kind_of(sealed) is Kind.TOTP_SEED
    assert len(hashes) == 10
    assert all(is_recovery_code_tag(h) for h in hashes)
    assert _login(app, person, OLD_CODES[0]) == 200
    assert _login(app, person, new[0]) == 303


def test_an_enrolment_begun_before_the_upgrade_asks_for_the_password_again(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        session = db.session()
        token = auth.create_invite(
            session, email="straddle@example.org", role=Role.REVIEWER, valid_for=timedelta(hours=1)
        )
        session.commit()
    page = client.get(f"/staff/invite/{token}").get_data(as_text=True)
    data = {"password": StaffActions.PASSWORD, "confirm": StaffActions.PASSWORD}
    chosen = client.post(f"/staff/invite/{token}", data={"csrf_token": csrf_token(page), **data})
    assert chosen.headers["Location"].endswith("/staff/enrol")
    with app.app_context():
        session = db.session()
        account = session.scalars(select(Account)).one()
        account.sealed_totp_secret = seal_local(
            runtime.keyring().local_key, bytes(20), context=f"totp-secret/{account.id}"
        )
        session.commit()
    again = client.get("/staff/enrol")
    assert again.status_code == 303
    assert again.headers["Location"].endswith(f"/staff/invite/{token}")
    page = client.get(f"/staff/invite/{token}").get_data(as_text=True)
    assert "Please choose your password again" in page
    chosen = client.post(f"/staff/invite/{token}", data={"csrf_token": csrf_token(page), **data})
    assert chosen.headers["Location"].endswith("/staff/enrol")
    assert client.get("/staff/enrol").status_code == 200
